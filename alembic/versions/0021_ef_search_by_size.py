"""Vector and hybrid search read the HNSW graph with an ef_search that follows the corpus's size
when the caller names none: 100 up to 250,000 chunks, growing with the corpus to 400 at 1M (the
default of revision 0012 at every size) and pgvector's limit of 1,000 from 2.5M.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05

Revision 0012 set 400 for recall at 1M synthetic chunks (0.996-0.999 there; 100 gave 0.93-0.99
over five builds of the graph). Smaller graphs find their whole top 10 with less: recall@10 at
ef_search 100 was 0.999 at 10k and 1.0 at 100k, where 400 only costs time. A-B-A-B between 0020
and 0021 on one database each, p50: hybrid search at 10k 8.41 / 4.74 / 8.22 / 4.61 ms, at 100k
17.08 / 7.13 / 16.19 / 7.01; vector search at 100k 13.25 / 2.96 / 13.58 / 2.99 (BENCHMARKS.md).
The size is `corpus_stats.chunks`, which every load keeps; a caller's ef_search is used as before.
"""

from collections.abc import Sequence

from alembic import op

from hfsearch.migrations import replace_in_function

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_EF_SEARCH = """
CREATE FUNCTION hfsearch_default_ef_search() RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE
-- 100 per 250,000 chunks, at least 100 and at most pgvector's 1,000 (revision 0021).
RETURN (SELECT least(greatest(ceil(coalesce(max(s.chunks), 0) / 2500.0), 100), 1000)::integer
        FROM corpus_stats s);

REVOKE EXECUTE ON FUNCTION hfsearch_default_ef_search FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hfsearch_default_ef_search TO hfsearch_reader;
"""

SET_EF_SEARCH = "PERFORM set_config('hnsw.ef_search', least(ef_search, 1000)::text, true);"
SET_EF_SEARCH_OR_DEFAULT = (
    "PERFORM set_config('hnsw.ef_search',"
    " least(coalesce(ef_search, hfsearch_default_ef_search()), 1000)::text, true);"
)
# How pg_get_functiondef prints the defaults (the downgrade replaces what it printed).
GIVEN_DEFAULT = "ef_search integer DEFAULT 400,"
SIZED_DEFAULT = "ef_search integer DEFAULT NULL::integer,"


def upgrade() -> None:
    op.execute(DEFAULT_EF_SEARCH)
    bind = op.get_bind()
    # hfsearch_search checks ef_search (1 to 1,000) as before: NULL fails no comparison.
    for function in ("hfsearch_vector", "hfsearch_search"):
        replace_in_function(bind, function, GIVEN_DEFAULT, SIZED_DEFAULT)
    replace_in_function(bind, "hfsearch_vector", SET_EF_SEARCH, SET_EF_SEARCH_OR_DEFAULT)


def downgrade() -> None:
    bind = op.get_bind()
    replace_in_function(bind, "hfsearch_vector", SET_EF_SEARCH_OR_DEFAULT, SET_EF_SEARCH)
    for function in ("hfsearch_vector", "hfsearch_search"):
        replace_in_function(bind, function, SIZED_DEFAULT, GIVEN_DEFAULT)
    op.execute("DROP FUNCTION hfsearch_default_ef_search()")

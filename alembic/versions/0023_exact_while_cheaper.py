"""A filtered vector search ranks the filter's chunks exactly only while that is cheaper than
walking the graph: up to `exact_limit` (20,000) chunks as before, and no more than the square
root of 1,000 times the corpus's chunks (3,162 at 10k, 10,000 at 100k, 31,623 at 1M, so
`exact_limit` decides from about 400k chunks). Figures in BENCHMARKS.md.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05

Exact search reads each of the filter's chunks once, about 3 us a chunk whatever the corpus
(revision 0022). The graph walk visits about `depth` / share candidates to find `depth` that
pass, so it costs roughly the unfiltered walk over the share the filter passes. The two cost
the same where chunks x share (= chunks^2 / corpus) is about 1,000; measured crossovers at
depth 100 (scratch script, 30 queries under the harness's date windows): about 3,000 chunks at
10k and 12,000 at 100k. Above it the graph's recall@10 was 0.993-1.0. The size is
`corpus_stats.chunks`, which every load keeps; with no statistics `exact_limit` alone decides.
"""

from collections.abc import Sequence

from alembic import op

from hfsearch.migrations import replace_in_function

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EXACT_PAYS = """
CREATE FUNCTION hfsearch_exact_pays(filtered_chunks bigint, exact_limit integer)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
-- Exact search while the filter's chunks times the share of the corpus that passes (chunks^2 /
-- corpus) is at most 1,000, past which the graph walk costs less, and never past exact_limit.
-- With no statistics (nothing loaded yet) exact_limit alone decides.
RETURN filtered_chunks <= exact_limit
       AND coalesce(filtered_chunks::numeric ^ 2
                    <= 1000 * (SELECT nullif(max(s.chunks), 0) FROM corpus_stats s), true);

REVOKE EXECUTE ON FUNCTION hfsearch_exact_pays FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hfsearch_exact_pays TO hfsearch_reader;
"""

UP_TO_THE_LIMIT = "exact := candidates <= exact_limit;"
WHILE_IT_PAYS = "exact := hfsearch_exact_pays(candidates, exact_limit);"


def upgrade() -> None:
    op.execute(EXACT_PAYS)
    replace_in_function(op.get_bind(), "hfsearch_vector", UP_TO_THE_LIMIT, WHILE_IT_PAYS)


def downgrade() -> None:
    replace_in_function(op.get_bind(), "hfsearch_vector", WHILE_IT_PAYS, UP_TO_THE_LIMIT)
    op.execute("DROP FUNCTION hfsearch_exact_pays(bigint, integer)")

"""BM25 looks up a query's probed terms for the chunks that can reach the top, instead of reading
all their postings, and splits a query when its probed terms hold half its postings (two thirds
before). At 1M synthetic chunks, `hfsearch_bm25` at depth 100 over 200 queries, each run by both
in turn: p50 13.49 -> 12.24 ms, mean 25.44 -> 22.73, p95 90.80 -> 81.98, the same rankings;
BENCHMARKS.md.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05

Revision 0013's split (0013_bm25_bounds.sql) scores the postings of the terms that are not
probed, the "essential" ones, and matches the probed terms' postings against the chunks those
hold: it read every posting of the probed terms and kept those of an essential chunk (a hash
join). Now the probed terms' postings are looked up in the index by (lexeme, chunk id) for the
essential chunks alone, in chunk order, so a common term's list is read only where those
chunks are. Reading fewer postings makes the split pay sooner: at 1M, with half the query's
postings probed, 80 of 200 queries took under 0.87 of their time and 10 over 1.15 (with two
thirds, as before, 47 and 5; splitting whenever a term can be probed, 80 and 23).
"""

from collections.abc import Sequence

from alembic import op

from hfsearch.migrations import replace_in_function

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

READ_AND_MATCHED = """
            WHERE p.chunk_id IN (SELECT e.chunk_id FROM essential e)
"""
LOOKED_UP = """
            -- Looked up for the essential chunks, in the index's order (revision 0019).
            WHERE p.chunk_id = ANY (ARRAY(SELECT e.chunk_id FROM essential e ORDER BY e.chunk_id))
"""

# Whether the first `probed` terms hold at least times_all / times_probed of the query's
# postings (revision 0013's comment on the function says why a split can cost more than it saves).
SPLIT_PAYS = """
CREATE OR REPLACE FUNCTION hfsearch_split_pays(term_postings bigint[], probed integer)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (
    SELECT {times_probed} * coalesce(sum(u.postings) FILTER (WHERE u.nth <= probed), 0)
           >= {times_all} * coalesce(sum(u.postings), 0)
    FROM unnest(term_postings) WITH ORDINALITY AS u (postings, nth))
"""


def upgrade() -> None:
    replace_in_function(op.get_bind(), "hfsearch_bm25", READ_AND_MATCHED, LOOKED_UP)
    op.execute(SPLIT_PAYS.format(times_probed=2, times_all=1))


def downgrade() -> None:
    replace_in_function(op.get_bind(), "hfsearch_bm25", LOOKED_UP, READ_AND_MATCHED)
    op.execute(SPLIT_PAYS.format(times_probed=3, times_all=2))

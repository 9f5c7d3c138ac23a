"""hfsearch_search and hfsearch_bm25 plan their statements once per session instead of at every
call, which took 0.6-0.9 ms of each search (10k synthetic chunks, 150 queries a mode, each run by
both versions in turn on one database: lexical p50 3.24 -> 2.38 ms, vector 6.67 -> 5.87, hybrid
9.83 -> 9.57) and 0.3-0.4 ms of each BM25 ranking (hfsearch_bm25 alone, 200 queries: 1.11 ->
0.72 ms at 10k, 14.61 -> 14.33 ms at 1M, the same rankings); BENCHMARKS.md.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05

PL/pgSQL keeps a statement's plan, but for a statement with parameters PostgreSQL's plan cache
compares a generic plan with plans made for each call's values, and keeps planning per call
while those look cheaper. For hfsearch_search's one statement they always do: a plan made for
one mode leaves out the side that mode does not run. Yet the plans made per call are no faster
to run (the side not asked for is skipped at run time by a one-time filter either way), and
planning the whole fusion statement took 0.71 ms against 0.11 ms to bind a generic plan
(EXPLAIN ANALYZE of the statement prepared on its own, 10k chunks). hfsearch_bm25's statement
that reads the query terms' statistics (by primary key, whatever the terms) is the same case. So
both functions run with `plan_cache_mode = force_generic_plan`. BM25's postings statements are
run by EXECUTE, which plans each call for its values whatever the setting (see 0013).

A function's setting holds for whatever it calls, and the functions whose plans depend on the
caller's values (the post filter, and the vector side's count of the filtered posts' vectors,
which picks between the graph and an exact scan) keep PostgreSQL's default, `auto`, for
themselves: their plans stay what they were. (hfsearch_vector with a generic plan measured the
same, 150 queries at 10k; left as it was.)
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLANNED_ONCE = ("hfsearch_search", "hfsearch_bm25")
PLANNED_FOR_THEIR_VALUES = ("hfsearch_filtered_posts", "hfsearch_vector")


def upgrade() -> None:
    for function in PLANNED_ONCE:
        op.execute(f"ALTER FUNCTION {function} SET plan_cache_mode = force_generic_plan")
    for function in PLANNED_FOR_THEIR_VALUES:
        op.execute(f"ALTER FUNCTION {function} SET plan_cache_mode = auto")


def downgrade() -> None:
    for function in (*PLANNED_ONCE, *PLANNED_FOR_THEIR_VALUES):
        op.execute(f"ALTER FUNCTION {function} RESET plan_cache_mode")

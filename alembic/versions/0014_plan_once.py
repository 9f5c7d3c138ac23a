"""hfsearch_search plans its statement once per session instead of at every call, which took
0.6-0.9 ms of each search (10k synthetic chunks, 150 queries a mode, each run by both versions
in turn on one database: lexical p50 3.24 -> 2.38 ms, vector 6.67 -> 5.87, hybrid 9.83 -> 9.57;
BENCHMARKS.md).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05

PL/pgSQL keeps a statement's plan, but for a statement with parameters PostgreSQL's plan cache
compares a generic plan with plans made for each call's values, and keeps planning per call
while those look cheaper. For hfsearch_search's one statement they always do: a plan made for
one mode leaves out the side that mode does not run. Yet the plans made per call are no faster
to run (the side not asked for is skipped at run time by a one-time filter either way), and
planning the whole fusion statement took 0.71 ms against 0.11 ms to bind a generic plan
(EXPLAIN ANALYZE of the statement prepared on its own, 10k chunks). So the function runs with
`plan_cache_mode = force_generic_plan`.

A function's setting holds for whatever it calls, and the functions that read tables with the
caller's values (the post filter, BM25's statistics, the vector side's count of filtered
vectors) keep PostgreSQL's default, `auto`, for themselves: their plans stay what they were.
Their searches (hfsearch_bm25's and hfsearch_vector's EXECUTE) are planned at each call whatever
the setting.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLANNED_ONCE = "hfsearch_search"
PLANNED_FOR_THEIR_VALUES = ("hfsearch_filtered_posts", "hfsearch_bm25", "hfsearch_vector")


def upgrade() -> None:
    op.execute(f"ALTER FUNCTION {PLANNED_ONCE} SET plan_cache_mode = force_generic_plan")
    for function in PLANNED_FOR_THEIR_VALUES:
        op.execute(f"ALTER FUNCTION {function} SET plan_cache_mode = auto")


def downgrade() -> None:
    for function in (PLANNED_ONCE, *PLANNED_FOR_THEIR_VALUES):
        op.execute(f"ALTER FUNCTION {function} RESET plan_cache_mode")

"""The search functions tell the planner they return about 100 rows (the default `depth`), not
PostgreSQL's default guess of 1,000 for a set-returning function: hfsearch_search joins their
rows to chunks and posts, and for 1,000 rows at 10k chunks reading every chunk is the likely
plan rather than 1,000 lookups. Through hfsearch_search at 10k synthetic chunks, medians of 40
queries: vector 9.5-14.4 -> 3.8-5.5 ms, lexical 8.2-12.0 -> 2.4-4.0 ms, hybrid 14.1-17.4 ->
7.6-9.9 ms; at 100k vector 9.5 -> 4.4-5.7 ms. (The plan itself was not seen: PL/pgSQL hides it
and the embedded server has no auto_explain; the times fell with the estimate alone.)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

A later CREATE OR REPLACE of one of these functions puts back 1,000 unless it says ROWS 100.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTIONS = ("hfsearch_vector", "hfsearch_lexical", "hfsearch_bm25")


def upgrade() -> None:
    for function in FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function} ROWS 100")


def downgrade() -> None:
    for function in FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function} ROWS 1000")

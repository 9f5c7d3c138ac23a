"""hfsearch_search runs its statement on a plan made once per session (a generic plan) instead
of one made for each call's values: a vector search through it took 16.0 ms at 100k synthetic
chunks against 8.4 ms with the generic plan, a lexical one 16.0 against 8.0.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

Why the generic plan is enough: the statement only joins, fuses and pages what the two sides
return (at most `depth` rows each); the sides choose their own plans for the call's values
(hfsearch_bm25 and hfsearch_vector run their statements through EXECUTE). PL/pgSQL's default
(`plan_cache_mode = auto`) kept making a custom plan on every call (8 ms more a call; whether
that went to planning or to the custom plan's execution was not separated: the embedded
server has no auto_explain).

A later CREATE OR REPLACE of hfsearch_search drops this setting unless it repeats it.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER FUNCTION hfsearch_search SET plan_cache_mode = force_generic_plan")


def downgrade() -> None:
    op.execute("ALTER FUNCTION hfsearch_search RESET plan_cache_mode")

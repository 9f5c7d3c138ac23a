"""Search reads less: BM25 top-k without scoring every common-term match; one-side pages fetch k.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

The SQL is in 0004_bm25_top_k.sql beside this file; the downgrade puts back revision 0002's
hfsearch_bm25, kept in 0004_bm25_top_k_down.sql. CREATE OR REPLACE keeps the grants of 0003.
"""

from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HERE = Path(__file__).parent


def upgrade() -> None:
    op.execute((HERE / "0004_bm25_top_k.sql").read_text(encoding="utf-8"))


def downgrade() -> None:
    op.execute((HERE / "0004_bm25_top_k_down.sql").read_text(encoding="utf-8"))

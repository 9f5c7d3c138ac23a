"""Vector search fetches `depth` vectors first, four times as many only when windows need them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

The SQL is in 0005_vector_fetch.sql beside this file; the downgrade puts back revision 0002's
hfsearch_vector, kept in 0005_vector_fetch_down.sql. CREATE OR REPLACE keeps the grants of 0003.
"""

from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HERE = Path(__file__).parent


def upgrade() -> None:
    op.execute((HERE / "0005_vector_fetch.sql").read_text(encoding="utf-8"))


def downgrade() -> None:
    op.execute((HERE / "0005_vector_fetch_down.sql").read_text(encoding="utf-8"))

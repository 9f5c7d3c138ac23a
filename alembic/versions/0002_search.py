"""Search: BM25 statistics and the SQL functions hfsearch_search() and its parts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

The SQL lives beside this file in 0002_search.sql, read as it is: this revision's own copy,
never edited once released (a later change to the functions is a later revision).
"""

from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQL = (Path(__file__).parent / "0002_search.sql").read_text(encoding="utf-8")


def upgrade() -> None:
    op.execute(SQL)


def downgrade() -> None:
    op.execute(
        """
        DROP FUNCTION hfsearch_search;
        DROP FUNCTION hfsearch_vector;
        DROP FUNCTION hfsearch_model;
        DROP FUNCTION hfsearch_lexical;
        DROP FUNCTION hfsearch_bm25;
        DROP FUNCTION hfsearch_filtered_posts;
        DROP FUNCTION hfsearch_any_lexeme;
        DROP FUNCTION hfsearch_query_lexemes;
        DROP FUNCTION hfsearch_refresh_stats;
        DROP TABLE corpus_stats;
        DROP TABLE lexeme_stats;
        ALTER TABLE chunks DROP COLUMN token_count;
        DROP FUNCTION hfsearch_token_count;
        """
    )

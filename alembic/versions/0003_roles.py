"""Least privilege: hfsearch_reader and hfsearch_writer roles, and a definer-rights index builder.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

The SQL is in 0003_roles.sql beside this file, this revision's own copy.
"""

from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQL = (Path(__file__).parent / "0003_roles.sql").read_text(encoding="utf-8")
TABLES = "posts, chunks, embedding_models, embeddings, lexeme_stats, corpus_stats"
FUNCTIONS = (
    "hfsearch_search, hfsearch_lexical, hfsearch_bm25, hfsearch_vector, hfsearch_model,"
    " hfsearch_filtered_posts,"
    " hfsearch_any_lexeme, hfsearch_query_lexemes, hfsearch_document, hfsearch_token_count,"
    " hfsearch_refresh_stats"
)


def upgrade() -> None:
    op.execute(SQL)


def downgrade() -> None:
    # The roles stay: they are the cluster's, and other databases may use them.
    op.execute(
        f"""
        REVOKE ALL ON {TABLES}, alembic_version FROM hfsearch_reader, hfsearch_writer;
        REVOKE ALL ON SCHEMA public FROM hfsearch_reader, hfsearch_writer;
        DROP FUNCTION hfsearch_ensure_vector_index;
        GRANT EXECUTE ON FUNCTION {FUNCTIONS} TO PUBLIC;
        REVOKE ALL ON FUNCTION {FUNCTIONS} FROM hfsearch_reader, hfsearch_writer;
        """
    )

"""Initial schema: posts, chunks with full text, embedding models and their vectors.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import VECTOR
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One definition of a chunk's searchable document, used by the loader for every row:
# the post title weighs more (A) than the chunk's own text (B).
CREATE_DOCUMENT_FUNCTION = """
CREATE FUNCTION hfsearch_document(title text, body text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN setweight(to_tsvector('english', title), 'A')
    || setweight(to_tsvector('english', body), 'B')
"""


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.execute(CREATE_DOCUMENT_FUNCTION)

    op.create_table(
        "posts",
        sa.Column("id", sa.Integer(), sa.Identity(always=True), nullable=False),
        sa.Column("slug", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=False),
        sa.Column("authors", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("tags", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_posts"),
        sa.UniqueConstraint("slug", name="uq_posts_slug"),
    )
    op.create_index("ix_posts_tags", "posts", ["tags"], postgresql_using="gin")
    op.create_index("ix_posts_published_on", "posts", ["published_on"])

    op.create_table(
        "chunks",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.LargeBinary(), nullable=False),
        sa.Column("search_vector", postgresql.TSVECTOR(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_chunks"),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name="fk_chunks_post_id_posts", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("post_id", "content_hash", name="uq_chunks_post_id_content_hash"),
        sa.CheckConstraint(
            "octet_length(content_hash) = 32", name="ck_chunks_content_hash_is_sha256"
        ),
        sa.CheckConstraint("position >= 0", name="ck_chunks_position_not_negative"),
    )
    op.create_index("ix_chunks_search_vector", "chunks", ["search_vector"], postgresql_using="gin")
    op.create_index("ix_chunks_post_id_position", "chunks", ["post_id", "position"])

    op.create_table(
        "embedding_models",
        sa.Column("id", sa.Integer(), sa.Identity(always=True), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("dimensions", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name="pk_embedding_models"),
        sa.UniqueConstraint("name", name="uq_embedding_models_name"),
        sa.UniqueConstraint("id", "dimensions", name="uq_embedding_models_id_dimensions"),
        sa.CheckConstraint(
            "dimensions BETWEEN 1 AND 16000", name="ck_embedding_models_dimensions_in_range"
        ),
    )

    op.create_table(
        "embeddings",
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("chunk_id", sa.BigInteger(), nullable=False),
        sa.Column("segment", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("dimensions", sa.Integer(), nullable=False),
        sa.Column("embedding", VECTOR(), nullable=False),
        sa.PrimaryKeyConstraint("model_id", "chunk_id", "segment", name="pk_embeddings"),
        sa.ForeignKeyConstraint(
            ["chunk_id"], ["chunks.id"], name="fk_embeddings_chunk_id_chunks", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["model_id", "dimensions"],
            ["embedding_models.id", "embedding_models.dimensions"],
            name="fk_embeddings_model_id_dimensions_embedding_models",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "vector_dims(embedding) = dimensions", name="ck_embeddings_length_matches_model"
        ),
        sa.CheckConstraint("segment >= 0", name="ck_embeddings_segment_not_negative"),
    )
    op.create_index("ix_embeddings_chunk_id", "embeddings", ["chunk_id"])


def downgrade() -> None:
    # Dropping the table drops every per-model HNSW index made at run time with it.
    op.drop_table("embeddings")
    op.drop_table("embedding_models")
    op.drop_table("chunks")
    op.drop_table("posts")
    op.execute("DROP FUNCTION hfsearch_document(text, text)")
    # The vector extension stays: other schemas in this database may use it.

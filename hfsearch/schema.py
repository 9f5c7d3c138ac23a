"""The database schema as SQLAlchemy models: what Alembic's migrations must produce.

`alembic check` compares these models with the migrated database, so the two cannot drift.

Vector storage is one table for every embedding model. The `vector` column has no fixed
dimension; each row carries its model and that model's dimension, and the database itself
refuses a vector whose length differs from its model's (a CHECK plus a foreign key on
(model_id, dimensions)). Each model gets its own partial HNSW index over
`embedding::vector(n)` (or `::halfvec(n)` above 2,000 dimensions), created when its vectors
arrive, so adding a model needs no migration and two models' vectors are never compared.
"""

from __future__ import annotations

import datetime as dt

from pgvector.sqlalchemy import VECTOR
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    Date,
    DateTime,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# pgvector's own limit for a stored vector.
MAX_DIMENSIONS = 16000


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Post(Base):
    """A blog post: the metadata every chunk of it shares."""

    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(Integer, Identity(always=True), primary_key=True)
    slug: Mapped[str] = mapped_column(Text, unique=True)  # the dataset's `local`
    title: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    published_on: Mapped[dt.date] = mapped_column(Date)
    authors: Mapped[list[str]] = mapped_column(ARRAY(Text))
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text))

    __table_args__ = (
        Index("ix_posts_tags", "tags", postgresql_using="gin"),
        Index("ix_posts_published_on", "published_on"),
    )


class Chunk(Base):
    """A section of a post, the unit that search returns."""

    __tablename__ = "chunks"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # order within the post, from 0
    text: Mapped[str] = mapped_column(Text)
    # sha256 of the text: with post_id, the key that makes reloading the same data a no-op.
    content_hash: Mapped[bytes] = mapped_column(LargeBinary)
    # The post title (weight A) and the chunk text (weight B), see hfsearch_document().
    search_vector: Mapped[str] = mapped_column(TSVECTOR)
    # BM25's document length: how many tokens search_vector holds.
    token_count: Mapped[int] = mapped_column(
        Integer, Computed("hfsearch_token_count(search_vector)", persisted=True)
    )

    __table_args__ = (
        UniqueConstraint("post_id", "content_hash"),
        CheckConstraint("octet_length(content_hash) = 32", name="content_hash_is_sha256"),
        CheckConstraint("position >= 0", name="position_not_negative"),
        # With the chunk id (revision 0017): a filter's chunk ids come from the index alone.
        Index("ix_chunks_post_id_position", "post_id", "position", postgresql_include=["id"]),
    )


class EmbeddingModel(Base):
    """A model whose vectors are stored: vectors are only ever compared within one model."""

    __tablename__ = "embedding_models"

    id: Mapped[int] = mapped_column(Integer, Identity(always=True), primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    dimensions: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (
        CheckConstraint(f"dimensions BETWEEN 1 AND {MAX_DIMENSIONS}", name="dimensions_in_range"),
        # The target of embeddings' (model_id, dimensions) foreign key.
        UniqueConstraint("id", "dimensions"),
    )


class Embedding(Base):
    """One vector of one chunk under one model.

    `segment` numbers the windows of a long chunk's text (0 for a chunk embedded whole), so
    a model that reads fewer tokens than a chunk holds can still see all of it.
    """

    __tablename__ = "embeddings"

    model_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chunk_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("chunks.id", ondelete="CASCADE"), primary_key=True
    )
    segment: Mapped[int] = mapped_column(SmallInteger, primary_key=True, server_default="0")
    dimensions: Mapped[int] = mapped_column(Integer)
    embedding: Mapped[list[float]] = mapped_column(VECTOR())

    __table_args__ = (
        ForeignKeyConstraint(
            ["model_id", "dimensions"],
            ["embedding_models.id", "embedding_models.dimensions"],
            ondelete="CASCADE",
        ),
        CheckConstraint("vector_dims(embedding) = dimensions", name="length_matches_model"),
        CheckConstraint("segment >= 0", name="segment_not_negative"),
        Index("ix_embeddings_chunk_id", "chunk_id"),
    )


class LexemeStats(Base):
    """How many chunks hold each lexeme (BM25's document frequencies), and the most it occurs
    in one chunk and the shortest chunk holding it: what bounds its score (revision 0013)."""

    __tablename__ = "lexeme_stats"

    lexeme: Mapped[str] = mapped_column(Text(collation="C"), primary_key=True)
    chunks: Mapped[int] = mapped_column(Integer)
    max_occurrences: Mapped[int | None] = mapped_column(Integer)
    max_title_occurrences: Mapped[int | None] = mapped_column(Integer)
    min_token_count: Mapped[int | None] = mapped_column(Integer)


# The full-text index: one row per (lexeme, chunk), what BM25 needs of a term in a chunk,
# read through the btree alone. Triggers on chunks (revision 0008) keep it in step; a table
# without a key, so Core. Lexemes are only looked up by equality: byte order ("C") sorts
# them fastest (revision 0010).
postings = Table(
    "postings",
    Base.metadata,
    Column("lexeme", Text(collation="C"), nullable=False),
    Column("chunk_id", BigInteger, nullable=False),
    Column("occurrences", Integer, nullable=False),
    Column("title_occurrences", Integer, nullable=False),
    Column("token_count", Integer, nullable=False),
    Column("post_id", Integer, nullable=False),
    Index(
        "ix_postings_lexeme_chunk_id",
        "lexeme",
        "chunk_id",
        postgresql_include=["occurrences", "title_occurrences", "token_count", "post_id"],
    ),
)


class CorpusStats(Base):
    """One row: how many chunks there are and their mean token count, for BM25, and whether
    lexeme_stats' bounds still hold (false once postings are added after the last refresh)."""

    __tablename__ = "corpus_stats"

    singleton: Mapped[bool] = mapped_column(Boolean, primary_key=True, server_default="true")
    chunks: Mapped[int] = mapped_column(BigInteger)
    average_tokens: Mapped[float] = mapped_column(Double)
    bounds_current: Mapped[bool] = mapped_column(Boolean, server_default="false")

    __table_args__ = (CheckConstraint("singleton", name="one_row"),)


# Per-model HNSW indexes are named by this prefix; Alembic's drift check skips them by it.
HNSW_INDEX_PREFIX = "embeddings_model_"


def hnsw_index_name(model_id: int) -> str:
    """The name of a model's vector index (hfsearch_ensure_vector_index() builds it)."""
    return f"{HNSW_INDEX_PREFIX}{model_id}_hnsw"

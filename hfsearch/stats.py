"""What the database holds: counts, embedding models and their vectors, indexes."""

from __future__ import annotations

from dataclasses import dataclass

from hfsearch.database import Connection
from hfsearch.migrations import current_revision
from hfsearch.schema import hnsw_index_name


@dataclass(frozen=True)
class ModelStats:
    name: str
    dimensions: int
    vectors: int
    chunks: int  # chunks with at least one vector under this model
    index: str | None  # its HNSW index, if built


@dataclass(frozen=True)
class IndexStats:
    name: str
    table: str
    method: str
    size_bytes: int


@dataclass(frozen=True)
class Stats:
    schema_revision: str | None
    posts: int
    chunks: int
    models: list[ModelStats]
    indexes: list[IndexStats]
    # Vectors kept out of their rows (TOAST): longer than a row holds, or written before revision
    # 0016 and not rewritten since (`VACUUM FULL embeddings` moves those into their rows).
    vectors_out_of_line_bytes: int


MODELS = """
SELECT m.id, m.name, m.dimensions, count(e.chunk_id), count(DISTINCT e.chunk_id)
FROM embedding_models m LEFT JOIN embeddings e ON e.model_id = m.id
GROUP BY m.id ORDER BY m.name
"""

INDEXES = """
SELECT i.indexrelid::regclass::text, t.relname, am.amname, pg_relation_size(i.indexrelid)
FROM pg_index i
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_class ix ON ix.oid = i.indexrelid
JOIN pg_am am ON am.oid = ix.relam
WHERE t.relname IN ('posts', 'chunks', 'embedding_models', 'embeddings')
  AND t.relnamespace = to_regnamespace(current_schema())
ORDER BY t.relname, 1
"""


COUNTS = """
SELECT (SELECT count(*) FROM posts), (SELECT count(*) FROM chunks),
       (SELECT coalesce(pg_relation_size(reltoastrelid), 0) FROM pg_class
        WHERE oid = 'embeddings'::regclass)
"""


def collect_stats(conn: Connection) -> Stats:
    counts = conn.execute(COUNTS).fetchone()
    assert counts is not None
    indexes = [IndexStats(*row) for row in conn.execute(INDEXES).fetchall()]
    index_names = {index.name for index in indexes}
    models = [
        ModelStats(
            name=name,
            dimensions=dimensions,
            vectors=vectors,
            chunks=chunks,
            index=hnsw_index_name(model_id) if hnsw_index_name(model_id) in index_names else None,
        )
        for model_id, name, dimensions, vectors, chunks in conn.execute(MODELS).fetchall()
    ]
    return Stats(
        schema_revision=current_revision(conn),
        posts=counts[0],
        chunks=counts[1],
        models=models,
        indexes=indexes,
        vectors_out_of_line_bytes=counts[2],
    )

"""Where vectors live: embedding models, and each model's own HNSW index.

Shared by the loader (vectors that come with the data) and the embedder (vectors computed
here), so both record models and build indexes the same way.
"""

from __future__ import annotations

from psycopg import sql

from hfsearch.database import Connection
from hfsearch.errors import ModelMismatchError
from hfsearch.schema import (
    MAX_HALFVEC_INDEX_DIMENSIONS,
    MAX_VECTOR_INDEX_DIMENSIONS,
    hnsw_index_name,
)


def model_dimensions(conn: Connection, name: str) -> int | None:
    row = conn.execute(
        "SELECT dimensions FROM embedding_models WHERE name = %s", (name,)
    ).fetchone()
    return int(row[0]) if row else None


def ensure_model(conn: Connection, name: str, dimensions: int) -> int:
    """The id of model `name`, recorded now if new; refuses another vector length."""
    conn.execute(
        "INSERT INTO embedding_models (name, dimensions) VALUES (%s, %s)"
        " ON CONFLICT (name) DO NOTHING",
        (name, dimensions),
    )
    row = conn.execute(
        "SELECT id, dimensions FROM embedding_models WHERE name = %s", (name,)
    ).fetchone()
    assert row is not None
    model_id, model_dims = int(row[0]), int(row[1])
    if model_dims != dimensions:
        raise ModelMismatchError(
            f"model '{name}' has {model_dims}-dimensional vectors in the database, "
            f"this load has {dimensions}: name another model with --vectors-model"
        )
    return model_id


def ensure_hnsw_index(conn: Connection, model_id: int, dimensions: int) -> list[str]:
    """Create the model's cosine HNSW index if it is missing; return its name if made."""
    name = hnsw_index_name(model_id)
    exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()
    if exists and exists[0]:
        return []
    if dimensions <= MAX_VECTOR_INDEX_DIMENSIONS:
        vector_type, operator_class = "vector", "vector_cosine_ops"
    elif dimensions <= MAX_HALFVEC_INDEX_DIMENSIONS:
        vector_type, operator_class = "halfvec", "halfvec_cosine_ops"
    else:
        return []  # pgvector indexes nothing this wide: such a model is searched exactly
    conn.execute(
        sql.SQL(
            "CREATE INDEX {name} ON embeddings"
            " USING hnsw ((embedding::{vector_type}({dimensions})) {operator_class})"
            " WHERE model_id = {model_id}"
        ).format(
            name=sql.Identifier(name),
            vector_type=sql.SQL(vector_type),
            dimensions=sql.Literal(dimensions),
            operator_class=sql.SQL(operator_class),
            model_id=sql.Literal(model_id),
        )
    )
    return [name]

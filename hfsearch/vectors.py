"""Where vectors live: embedding models, and each model's own HNSW index.

Shared by the loader (vectors that come with the data) and the embedder (vectors computed
here), so both record models and build indexes the same way.
"""

from __future__ import annotations

from hfsearch.database import Connection
from hfsearch.errors import ModelMismatchError


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


def ensure_hnsw_index(conn: Connection, model_id: int) -> list[str]:
    """Build the model's cosine HNSW index if it is missing; return its name if built.

    The SQL function runs with its owner's rights, so a writer role that may not create
    indexes itself can still index a new model's vectors.
    """
    row = conn.execute("SELECT hfsearch_ensure_vector_index(%s)", (model_id,)).fetchone()
    return [str(row[0])] if row and row[0] else []

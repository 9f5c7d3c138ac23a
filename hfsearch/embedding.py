"""Embedding chunks and queries with a sentence-transformers model.

A model reads a limited number of word pieces (all-MiniLM-L6-v2: 256) and silently drops
the rest, so a chunk longer than that is embedded as overlapping windows of about 150 words,
one vector per window (`segment`); search scores a chunk by its best window. Vectors are
normalised, so cosine similarity is their dot product.

torch and sentence-transformers are imported only here, and only when a model is loaded:
loading data and lexical search never pay for them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from hfsearch import locks
from hfsearch.database import Connection
from hfsearch.errors import HfsearchError
from hfsearch.vectors import ensure_hnsw_index, ensure_model

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

WINDOW_WORDS = 150
WINDOW_OVERLAP_WORDS = 30
DEFAULT_BATCH_CHUNKS = 64
DEFAULT_MAX_TOKENS = 512  # for a model that does not say how much it reads


@dataclass(frozen=True)
class Embedder:
    """A loaded model and the name its vectors are stored under."""

    name: str
    model: SentenceTransformer
    dimensions: int
    max_tokens: int

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        vectors: Any = self.model.encode(
            list(texts),
            batch_size=32,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def encode_query(self, query: str) -> npt.NDArray[np.float32]:
        return np.asarray(self.encode([query])[0], dtype=np.float32)

    def token_count(self, text: str) -> int:
        # verbose=False: counting a long text is the point, not a mistake to warn about
        tokens = self.model.tokenizer(text, add_special_tokens=True, verbose=False)
        return len(tokens["input_ids"])

    def segments(self, text: str) -> list[str]:
        """The text itself if the model reads all of it, else overlapping word windows."""
        if self.token_count(text) <= self.max_tokens:
            return [text]
        return word_windows(text, WINDOW_WORDS, WINDOW_OVERLAP_WORDS)


def word_windows(text: str, size: int, overlap: int) -> list[str]:
    words = text.split()
    step = size - overlap
    starts = range(0, max(len(words) - overlap, 1), step)
    return [" ".join(words[start : start + size]) for start in starts]


def load_embedder(name_or_path: str) -> Embedder:
    """Load a sentence-transformers model by Hub name or local folder, on the CPU."""
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:  # pragma: no cover - a dependency of hfsearch
        raise HfsearchError("embedding needs sentence-transformers installed") from exc
    try:
        model = SentenceTransformer(name_or_path, device="cpu")
    except Exception as exc:  # it raises OSError, ValueError, HTTP errors... for a bad name
        raise HfsearchError(f"cannot load the embedding model {name_or_path!r}: {exc}") from exc
    dimensions = model.get_embedding_dimension()
    if dimensions is None:
        raise HfsearchError(f"{name_or_path!r} does not say its embedding size")
    max_tokens = model.max_seq_length or DEFAULT_MAX_TOKENS
    return Embedder(name_or_path, model, int(dimensions), int(max_tokens))


@dataclass(frozen=True)
class EmbedResult:
    model: str
    chunks: int
    vectors: int
    index_built: bool


CHUNKS_WITHOUT_VECTORS = """
SELECT c.id, c.text FROM chunks c
WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.model_id = %(model_id)s AND e.chunk_id = c.id)
ORDER BY c.id
"""


def embed_chunks(
    conn: Connection,
    embedder: Embedder,
    *,
    batch_chunks: int = DEFAULT_BATCH_CHUNKS,
    on_start: Callable[[int], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> EmbedResult:
    """Embed every chunk that has no vector under the model, a batch per transaction.

    Each batch commits on its own, with all segments of its chunks, so an interrupted run
    loses at most one batch and the next run continues where it stopped.
    """
    with conn.transaction():
        model_id = ensure_model(conn, embedder.name, embedder.dimensions)
    conn.execute("SELECT pg_advisory_lock(%s, %s)", (locks.EMBED_NAMESPACE, model_id))
    try:
        return _embed_pending(conn, embedder, model_id, batch_chunks, on_start, progress)
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s, %s)", (locks.EMBED_NAMESPACE, model_id))


def _embed_pending(
    conn: Connection,
    embedder: Embedder,
    model_id: int,
    batch_chunks: int,
    on_start: Callable[[int], None] | None,
    progress: Callable[[int], None] | None,
) -> EmbedResult:
    pending = conn.execute(CHUNKS_WITHOUT_VECTORS, {"model_id": model_id}).fetchall()
    if on_start is not None:
        on_start(len(pending))
    written = 0
    for start in range(0, len(pending), batch_chunks):
        batch = pending[start : start + batch_chunks]
        rows = [
            (chunk_id, i, text)
            for chunk_id, chunk_text in batch
            for i, text in enumerate(embedder.segments(chunk_text))
        ]
        vectors = embedder.encode([text for _, _, text in rows])
        written += _write_batch(conn, model_id, embedder.dimensions, rows, vectors)
        if progress is not None:
            progress(len(batch))
    with conn.transaction():
        built = ensure_hnsw_index(conn, model_id)
        conn.execute("ANALYZE embeddings")
    return EmbedResult(embedder.name, len(pending), written, bool(built))


def _write_batch(
    conn: Connection,
    model_id: int,
    dimensions: int,
    rows: list[tuple[int, int, str]],
    vectors: npt.NDArray[np.float32],
) -> int:
    """Store one batch's vectors in one transaction; return how many were stored.

    A load may have removed some of the batch's chunks while it was being embedded: their
    vectors are dropped. Holding the load lock shared keeps any other from going away now.
    """
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock_shared(%s)", (locks.LOAD,))
        ids = sorted({chunk_id for chunk_id, _, _ in rows})
        still_there = {
            chunk_id
            for (chunk_id,) in conn.execute(
                "SELECT id FROM chunks WHERE id = ANY(%s)", (ids,)
            ).fetchall()
        }
        kept = [
            (chunk_id, segment, vector)
            for (chunk_id, segment, _), vector in zip(rows, vectors, strict=True)
            if chunk_id in still_there
        ]
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY embeddings (model_id, chunk_id, segment, dimensions, embedding)"
                " FROM STDIN (FORMAT BINARY)"
            ) as copy,
        ):
            copy.set_types(["integer", "bigint", "smallint", "integer", "vector"])
            for chunk_id, segment, vector in kept:
                copy.write_row((model_id, chunk_id, segment, dimensions, vector))
    return len(kept)

"""Embedding chunks with a real (offline) sentence-transformers model."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import SAMPLE

from hfsearch.client import cached_embedder
from hfsearch.database import Connection
from hfsearch.embedding import embed_chunks, word_windows
from hfsearch.loading import load_records
from hfsearch.sources import open_source
from hfsearch.validation import validate


@pytest.fixture
def loaded(conn: Connection) -> Connection:
    source = open_source(str(SAMPLE))
    load_records(conn, validate(source.name, source.rows, has_vectors=True))
    return conn


def vectors_by_chunk(conn: Connection, model: str) -> dict[tuple[int, int], list[float]]:
    rows = conn.execute(
        "SELECT e.chunk_id, e.segment, e.embedding FROM embeddings e"
        " JOIN embedding_models m ON m.id = e.model_id WHERE m.name = %s",
        (model,),
    ).fetchall()
    return {(chunk, segment): vector.to_list() for chunk, segment, vector in rows}


def test_word_windows_overlap_and_cover_the_text() -> None:
    def starts(count: int) -> list[str]:
        windows = word_windows(" ".join(f"w{i}" for i in range(count)), 150, 30)
        assert windows[-1].split()[-1] == f"w{count - 1}"  # nothing left out at the end
        assert all(len(w.split()) <= 150 for w in windows)
        return [w.split()[0] for w in windows]

    assert starts(390) == ["w0", "w120", "w240"]
    assert starts(400) == ["w0", "w120", "w240", "w360"]
    assert word_windows("short text", 150, 30) == ["short text"]


def test_every_chunk_gets_normalised_vectors_and_long_ones_windows(
    loaded: Connection, minilm: str
) -> None:
    embedder = cached_embedder(minilm)
    result = embed_chunks(loaded, embedder)
    assert result.chunks == 100 and result.index_built
    vectors = vectors_by_chunk(loaded, minilm)
    assert {chunk for chunk, _ in vectors} == set(range(1, 101))
    assert result.vectors == len(vectors) > 100  # long chunks have several windows
    norms = np.linalg.norm(np.array(list(vectors.values())), axis=1)
    assert np.allclose(norms, 1.0, atol=1e-5)
    (longest,) = loaded.execute(
        "SELECT id FROM chunks ORDER BY length(text) DESC LIMIT 1"
    ).fetchone()
    assert max(segment for chunk, segment in vectors if chunk == longest) >= 10
    index = loaded.execute(
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'embeddings_model_2_hnsw'"
    ).fetchone()
    assert index is not None
    assert "vector(384)) vector_cosine_ops) WITH (m='24', ef_construction='128')" in index[0]


def test_an_interrupted_embed_resumes_where_it_stopped(loaded: Connection, minilm: str) -> None:
    embedder = cached_embedder(minilm)

    def stop_after_first_batch(done: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        embed_chunks(loaded, embedder, batch_chunks=30, progress=stop_after_first_batch)
    partial = vectors_by_chunk(loaded, minilm)
    assert len({chunk for chunk, _ in partial}) == 30  # the first batch, whole

    resumed = embed_chunks(loaded, embedder, batch_chunks=30)
    assert resumed.chunks == 70
    complete = vectors_by_chunk(loaded, minilm)
    assert {chunk for chunk, _ in complete} == set(range(1, 101))
    assert all(np.allclose(complete[key], partial[key]) for key in partial)

    again = embed_chunks(loaded, embedder)
    assert (again.chunks, again.vectors, again.index_built) == (0, 0, False)

"""The benchmark code, run at a smoke size so it cannot rot (the real runs are never tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.__main__ import run
from benchmarks.corpus import generate, query_vectors


def test_the_synthetic_corpus_is_reproducible_and_shaped_like_the_real_one() -> None:
    first, second = generate(3000, seed=3), generate(3000, seed=3)
    assert first.equals(second)
    assert first.column_names == [
        "title",
        "author",
        "date",
        "local",
        "tags",
        "URL",
        "chunk",
        "embedding",
    ]
    vectors = np.asarray(first.column("embedding").combine_chunks().values).reshape(-1, 768)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    # clustered (3,000 chunks around 300 centres): a query vector lies much closer to its
    # nearest chunks than to a random one
    similarity = query_vectors(5, seed=3) @ vectors.T
    assert np.all(similarity.max(axis=1) > 0.5) and abs(float(np.median(similarity))) < 0.1


def test_a_smoke_run_reports_every_figure(tmp_path: Path) -> None:
    results = run(size=500, queries=20, workdir=tmp_path)
    assert results["chunks"] == 500
    load = results["load"]
    assert load["hfsearch_seconds"] > 0 and load["bare_seconds"] > 0  # type: ignore[index]
    assert set(results["latency_ms"]) == {"bare_hnsw", "lexical", "vector", "hybrid"}  # type: ignore[arg-type]
    recall = results["recall_at_10_by_ef_search"]
    assert all(0 <= value <= 1 for value in recall.values())  # type: ignore[attr-defined]
    assert recall[200] >= 0.9  # type: ignore[index]

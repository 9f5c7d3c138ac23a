"""langchain-postgres 0.0.19 on the benchmark's rows (run in .bench-venvs/langchain).

Two of its stores, as its documentation shows them:
- the legacy `PGVector` and its bulk `add_embeddings` (batches of 10,000: one call with more
  than 13,107 rows exceeds PostgreSQL's 65,535 bind parameters), then an HNSW index;
  vector search only.
- the newer `PGVectorStore` with a `HybridSearchConfig` (a stored tsvector column and a GIN
  index) and its HNSW index: vector and hybrid search (two statements, fused in Python).
Queries ask for 10 results with hnsw.ef_search 100 and 100 candidates per side, as hfsearch's do.
With `--rows copy` only `PGVectorStore` runs, its table filled by COPY with what
`add_embeddings` writes, and its load is not timed.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence

import numpy as np
import psycopg
import sqlalchemy
from langchain_core.embeddings import Embeddings
from langchain_postgres import PGEngine, PGVector, PGVectorStore
from langchain_postgres.v2.hybrid_search_config import HybridSearchConfig
from langchain_postgres.v2.indexes import HNSWIndex, HNSWQueryOptions
from psycopg.types.json import Json

from benchmarks.peers import EF_SEARCH
from benchmarks.peers.inputs import (
    PeerInputs,
    copy_rows,
    load_figures,
    read_inputs,
    rows_in,
    sqlalchemy_url,
    text_matches,
)
from benchmarks.timing import latency

K = 10
DEPTH = 100  # candidates from each side before fusion, as hfsearch takes


class PrecomputedEmbeddings(Embeddings):
    """The queries' vectors, computed by the harness: no model runs in this process."""

    def __init__(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        self.by_text = {
            text: [float(x) for x in vector] for text, vector in zip(texts, vectors, strict=True)
        }

    def embed_query(self, text: str) -> list[float]:
        return self.by_text[text]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.by_text[text] for text in texts]


def hybrid_config(query: str = "") -> HybridSearchConfig:
    """A new config per query: the store writes the first query's text into a shared one
    (`fts_query`) and would search every later query's words with it."""
    return HybridSearchConfig(
        tsv_column="content_tsv",
        tsv_lang="pg_catalog.english",
        fts_query=query,
        primary_top_k=DEPTH,
        secondary_top_k=DEPTH,
    )


def legacy(inputs: PeerInputs, embeddings: Embeddings) -> dict[str, object]:
    engine = sqlalchemy.create_engine(
        sqlalchemy_url(inputs.url, "psycopg"),
        connect_args={"options": f"-c hnsw.ef_search={EF_SEARCH}"},
    )
    store = PGVector(
        embeddings,
        connection=engine,
        embedding_length=inputs.dimensions,
        collection_name="bench",
        pre_delete_collection=True,
    )
    started = time.perf_counter()
    for batch in inputs.batches():
        store.add_embeddings(
            batch.texts,
            batch.vectors.tolist(),
            metadatas=[{"title": title} for title in batch.titles],
        )
    rows_seconds = time.perf_counter() - started
    with engine.begin() as conn:
        conn.execute(
            sqlalchemy.text(
                "CREATE INDEX ON langchain_pg_embedding USING hnsw (embedding vector_cosine_ops)"
            )
        )
    seconds = time.perf_counter() - started

    def vector(i: int) -> list[object]:
        return store.similarity_search_with_score_by_vector(inputs.query_vectors[i].tolist(), k=K)

    return {
        **load_figures(inputs, seconds, rows_seconds),
        "table_rows": rows_in(inputs.url, "langchain_pg_embedding"),
        "latency_ms": {"vector": latency(vector, len(inputs.query_texts)).__dict__},
        "hits_for_first_query": {"vector": len(vector(0))},
    }


def hybrid_store(inputs: PeerInputs, embeddings: Embeddings) -> dict[str, object]:
    engine = PGEngine.from_connection_string(sqlalchemy_url(inputs.url, "asyncpg"))
    config = hybrid_config()
    engine.init_vectorstore_table(
        "bench_v2",
        inputs.dimensions,
        hybrid_search_config=config,
        overwrite_existing=True,
    )
    store = PGVectorStore.create_sync(
        engine,
        embeddings,
        "bench_v2",
        hybrid_search_config=config,
        index_query_options=HNSWQueryOptions(ef_search=EF_SEARCH),
    )
    started = time.perf_counter()
    if inputs.rows == "copy":
        copy_into_hybrid_table(inputs)
    else:
        for batch in inputs.batches():
            store.add_embeddings(
                batch.texts,
                batch.vectors.tolist(),
                ids=[str(uuid.uuid4()) for _ in batch.texts],
            )
    rows_seconds = time.perf_counter() - started
    store.apply_vector_index(HNSWIndex())
    store.apply_hybrid_search_index()
    seconds = time.perf_counter() - started

    def vector(i: int) -> list[object]:
        # No hybrid config here: it would widen the vector side to DEPTH results.
        return store.similarity_search_by_vector(
            inputs.query_vectors[i].tolist(), k=K, hybrid_search_config=None
        )

    def hybrid(i: int) -> list[object]:
        text = inputs.query_texts[i]
        return store.similarity_search(text, k=K, hybrid_search_config=hybrid_config(text))

    count = len(inputs.query_texts)
    return {
        **load_figures(inputs, seconds, rows_seconds),
        "table_rows": rows_in(inputs.url, "bench_v2"),
        "latency_ms": {
            "vector": latency(vector, count).__dict__,
            "hybrid": latency(hybrid, count).__dict__,
        },
        "hits_for_first_query": {"vector": len(vector(0)), "hybrid": len(hybrid(0))},
        # its full-text side: `plainto_tsquery`, every word of the query in the chunk
        "text_matches": text_matches(
            inputs.url,
            "SELECT count(*) FROM (SELECT 1 FROM bench_v2 WHERE content_tsv @@"
            f" plainto_tsquery('{hybrid_config().tsv_lang}', %s) LIMIT {DEPTH}) AS matches",
            inputs.query_texts,
        ),
    }


def copy_into_hybrid_table(inputs: PeerInputs) -> None:
    """The rows `add_embeddings` inserts (a new id, the text, its vector, no metadata), by COPY,
    with the tsvector its INSERT computes (`to_tsvector(tsv_lang, content)`) computed by a
    trigger for the COPY's while (not a copy of the rows in a second table: 6 GB at 1M)."""
    copy_rows(
        inputs.url,
        "COPY bench_v2 (langchain_id, content, embedding, langchain_metadata)"
        " FROM STDIN (FORMAT BINARY)",
        ["uuid", "text", "vector", "json"],
        (
            (uuid.uuid4(), text, vector, Json({}))
            for batch in inputs.batches()
            for text, vector in zip(batch.texts, batch.vectors, strict=True)
        ),
        before=[
            "CREATE FUNCTION pg_temp.content_tsv() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN NEW.content_tsv := to_tsvector('{hybrid_config().tsv_lang}', NEW.content);"
            " RETURN NEW; END $$",
            "CREATE TRIGGER content_tsv BEFORE INSERT ON bench_v2"
            " FOR EACH ROW EXECUTE FUNCTION pg_temp.content_tsv()",
        ],
        after=["DROP TRIGGER content_tsv ON bench_v2"],
    )
    with psycopg.connect(inputs.url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) bench_v2")


def main() -> None:
    inputs = read_inputs(__doc__.split("\n\n")[0])
    embeddings = PrecomputedEmbeddings(inputs.query_texts, inputs.query_vectors)
    results = {}
    if inputs.rows == "add":  # vector search only; `PGVectorStore` has it too
        results["PGVector.add_embeddings"] = legacy(inputs, embeddings)
    results["PGVectorStore (hybrid)"] = hybrid_store(inputs, embeddings)
    print(json.dumps(results))


if __name__ == "__main__":
    main()

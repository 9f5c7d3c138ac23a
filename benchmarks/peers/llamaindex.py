"""llama-index-vector-stores-postgres 0.9.0 on the benchmark rows (in .bench-venvs/llamaindex).

`PGVectorStore` as its documentation shows it for hybrid search: `hybrid_search=True` (a
stored tsvector column) and `hnsw_kwargs` (an HNSW index made with the table, so rows are
indexed as they arrive), then `add` with the precomputed vectors in batches of 10,000.
Queries ask for 10 results with hnsw.ef_search 100 (and 100 text candidates for hybrid).
"""

from __future__ import annotations

import json
import time

from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery, VectorStoreQueryMode
from llama_index.vector_stores.postgres import PGVectorStore

from benchmarks.peers.inputs import read_inputs, sqlalchemy_url
from benchmarks.timing import latency

BATCH = 10_000
K = 10
DEPTH = 100


def main() -> None:
    inputs = read_inputs(__doc__.split("\n\n")[0])
    store = PGVectorStore(
        connection_string=sqlalchemy_url(inputs.url, "psycopg2"),
        async_connection_string=sqlalchemy_url(inputs.url, "asyncpg"),
        table_name="bench",
        embed_dim=inputs.vectors.shape[1],
        hybrid_search=True,
        text_search_config="english",
        hnsw_kwargs={
            "hnsw_m": 16,
            "hnsw_ef_construction": 64,
            "hnsw_ef_search": 100,
            "hnsw_dist_method": "vector_cosine_ops",
        },
    )
    started = time.perf_counter()
    for start in range(0, len(inputs.texts), BATCH):
        store.add(
            [
                TextNode(text=text, embedding=vector.tolist(), metadata={"title": title})
                for text, vector, title in zip(
                    inputs.texts[start : start + BATCH],
                    inputs.vectors[start : start + BATCH],
                    inputs.titles[start : start + BATCH],
                    strict=True,
                )
            ]
        )
    seconds = time.perf_counter() - started

    def query(i: int, mode: VectorStoreQueryMode) -> int:
        found = store.query(
            VectorStoreQuery(
                query_embedding=inputs.query_vectors[i].tolist(),
                query_str=inputs.query_texts[i],
                similarity_top_k=K,
                sparse_top_k=DEPTH,
                mode=mode,
            )
        )
        return len(found.ids or [])

    count = len(inputs.query_texts)
    modes = {"vector": VectorStoreQueryMode.DEFAULT, "hybrid": VectorStoreQueryMode.HYBRID}
    result = {
        "load_seconds": round(seconds, 2),
        "rows_per_second": round(len(inputs.texts) / seconds),
        "latency_ms": {
            name: latency(lambda i, mode=mode: query(i, mode), count).__dict__
            for name, mode in modes.items()
        },
        "hits_for_first_query": {name: query(0, mode) for name, mode in modes.items()},
    }
    print(json.dumps({"PGVectorStore.add (hybrid, HNSW)": result}))


if __name__ == "__main__":
    main()

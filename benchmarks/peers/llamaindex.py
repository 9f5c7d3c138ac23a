"""llama-index-vector-stores-postgres 0.9.0 on the benchmark rows (in .bench-venvs/llamaindex).

`PGVectorStore` as its documentation shows it for hybrid search: `hybrid_search=True` (a
stored tsvector column) and `hnsw_kwargs` (an HNSW index made with the table, so rows are
indexed as they arrive), then `add` with the precomputed vectors in batches of 10,000.
Queries ask for 10 results with hnsw.ef_search 100 (and 100 text candidates for hybrid).
With `--rows copy` the store's table is filled by COPY with the rows `add` writes, its vector
and full-text indexes dropped before and made again after (inserting a million rows into a
live HNSW index one by one would take hours), and the load is not timed.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from itertools import islice

import psycopg
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery, VectorStoreQueryMode
from llama_index.core.vector_stores.utils import node_to_metadata_dict
from llama_index.vector_stores.postgres import PGVectorStore
from psycopg import sql
from psycopg.types.json import Json

from benchmarks.peers import EF_SEARCH
from benchmarks.peers.inputs import (
    Batch,
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
DEPTH = 100
TABLE = "data_bench"  # the store's table_name "bench", with its prefix


def nodes(batch: Batch, with_vectors: bool) -> list[TextNode]:
    return [
        TextNode(
            text=text,
            embedding=vector.tolist() if with_vectors else None,
            metadata={"title": title},
        )
        for text, vector, title in zip(batch.texts, batch.vectors, batch.titles, strict=True)
    ]


def sparse_query_text(query: str) -> str:
    """The tsquery text `PGVectorStore._build_sparse_query` makes of a query: punctuation
    dropped, words joined by "|" (OR)."""
    return re.sub(r"(?!\b\.\b)\W+", " ", query).strip().replace(" ", "|")


def copy_into_table(inputs: PeerInputs, store: PGVectorStore) -> None:
    """The rows `add` inserts (`_node_to_table_row`: node id, vector, text, metadata as JSON),
    by COPY. The first row goes through `add`, which makes the table and its indexes."""
    store.add(nodes(next(inputs.batches()), with_vectors=True)[:1])
    with psycopg.connect(inputs.url, autocommit=True) as conn:
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes"
            " WHERE tablename = %s AND indexdef ~ 'USING (hnsw|gin)'",
            [TABLE],
        ).fetchall()
        for name, _ in indexes:
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))

    def rows() -> Iterator[tuple[object, ...]]:
        pairs = (
            (vector, node)
            for batch in inputs.batches()
            for vector, node in zip(batch.vectors, nodes(batch, with_vectors=False), strict=True)
        )
        for vector, node in islice(pairs, 1, None):  # after the row `add` wrote
            metadata = node_to_metadata_dict(
                node, remove_text=True, flat_metadata=store.flat_metadata
            )
            yield (node.node_id, vector, node.text, Json(metadata))

    copy_rows(
        inputs.url,
        f"COPY {TABLE} (node_id, embedding, text, metadata_) FROM STDIN (FORMAT BINARY)",
        ["varchar", "vector", "varchar", "json"],
        rows(),
    )
    with psycopg.connect(inputs.url, autocommit=True) as conn:
        for _, definition in indexes:
            conn.execute(definition)
        conn.execute(f"VACUUM (ANALYZE) {TABLE}")


def main() -> None:
    inputs = read_inputs(__doc__.split("\n\n")[0])
    store = PGVectorStore(
        connection_string=sqlalchemy_url(inputs.url, "psycopg2"),
        async_connection_string=sqlalchemy_url(inputs.url, "asyncpg"),
        table_name="bench",
        embed_dim=inputs.dimensions,
        hybrid_search=True,
        text_search_config="english",
        hnsw_kwargs={
            "hnsw_m": 16,
            "hnsw_ef_construction": 64,
            "hnsw_ef_search": EF_SEARCH,
            "hnsw_dist_method": "vector_cosine_ops",
        },
    )
    started = time.perf_counter()
    if inputs.rows == "copy":
        copy_into_table(inputs, store)
    else:
        for batch in inputs.batches():
            store.add(nodes(batch, with_vectors=True))
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
        **load_figures(inputs, seconds),
        "table_rows": rows_in(inputs.url, TABLE),
        "latency_ms": {
            name: latency(lambda i, mode=mode: query(i, mode), count).__dict__
            for name, mode in modes.items()
        },
        "hits_for_first_query": {name: query(0, mode) for name, mode in modes.items()},
        # its full-text side: any word of the query (`_build_sparse_query` joins them by "|")
        "text_matches": text_matches(
            inputs.url,
            f"SELECT count(*) FROM (SELECT 1 FROM {TABLE} WHERE text_search_tsv @@"
            f" to_tsquery('english', %s) LIMIT {DEPTH}) AS matches",
            [sparse_query_text(text) for text in inputs.query_texts],
        ),
    }
    print(json.dumps({"PGVectorStore.add (hybrid, HNSW)": result}))


if __name__ == "__main__":
    main()

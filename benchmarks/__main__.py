"""hfsearch benchmarks, side by side on one embedded server in one run.

    python -m benchmarks run --size 10k [--queries 200] [--out results.json]

Load: `hfsearch load` (read, check, COPY, upsert, full-text and HNSW indexes, statistics)
against the bare path doing the same work (read the same file, COPY BINARY into an unindexed
table that computes the same tsvector, build the same GIN and HNSW indexes).
Query: p50/p95/p99 of lexical, vector and hybrid search against a bare HNSW top-10 query.
Recall: HNSW recall@10 against exact search across ef_search values.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from benchmarks.corpus import generate, parse_size, query_texts, query_vectors
from hfsearch import migrations
from hfsearch.database import Connection, connect, start_embedded, stop_embedded
from hfsearch.loading import load_records
from hfsearch.search import SearchRequest, search
from hfsearch.sources import open_source
from hfsearch.validation import validate

MODEL = "synthetic-768"
MAINTENANCE_WORK_MEM = "1GB"


@dataclass(frozen=True)
class Latency:
    p50_ms: float
    p95_ms: float
    p99_ms: float


def latency(run: Callable[[int], object], count: int) -> Latency:
    for i in range(count):  # warm the caches first
        run(i)
    times = []
    for i in range(count):
        started = time.perf_counter()
        run(i)
        times.append((time.perf_counter() - started) * 1000)
    cuts = statistics.quantiles(times, n=100)
    return Latency(round(cuts[49], 2), round(cuts[94], 2), round(cuts[98], 2))


def load_hfsearch(conn: Connection, path: Path) -> float:
    started = time.perf_counter()
    source = open_source(str(path))
    records = validate(source.name, source.rows, has_vectors=True)
    load_records(conn, records, vectors_model=MODEL, maintenance_work_mem=MAINTENANCE_WORK_MEM)
    return time.perf_counter() - started


BARE_TABLE = """
CREATE TABLE bare (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title text, body text,
    search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A')
        || setweight(to_tsvector('english', body), 'B')
    ) STORED,
    embedding vector(768)
)
"""


def load_bare(conn: Connection, path: Path) -> float:
    """The physical limit: the same file and indexes, nothing checked, nothing upserted."""
    started = time.perf_counter()
    table = pq.read_table(path, columns=["title", "chunk", "embedding"])
    titles = table.column("title").to_pylist()
    bodies = table.column("chunk").to_pylist()
    vectors = np.asarray(table.column("embedding").combine_chunks().values).reshape(-1, 768)
    with conn.transaction():
        conn.execute(BARE_TABLE)
        conn.execute("SELECT set_config('maintenance_work_mem', %s, true)", (MAINTENANCE_WORK_MEM,))
        with (
            conn.cursor() as cur,
            cur.copy("COPY bare (title, body, embedding) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.set_types(["text", "text", "vector"])
            for title, body, vector in zip(titles, bodies, vectors, strict=True):
                copy.write_row((title, body, vector))
        conn.execute("CREATE INDEX ON bare USING gin (search_vector)")
        conn.execute("CREATE INDEX ON bare USING hnsw (embedding vector_cosine_ops)")
        conn.execute("ANALYZE bare")
    return time.perf_counter() - started


def recall_at_10(conn: Connection, vectors: np.ndarray, ef_values: list[int]) -> dict[int, float]:
    exact = [
        {
            h.chunk_id
            for h in search(conn, SearchRequest("", mode="vector", exact=True), v, MODEL).hits
        }
        for v in vectors
    ]
    result = {}
    for ef in ef_values:
        found = [
            {
                h.chunk_id
                for h in search(conn, SearchRequest("", mode="vector", ef_search=ef), v, MODEL).hits
            }
            for v in vectors
        ]
        result[ef] = round(
            float(np.mean([len(f & e) / 10 for f, e in zip(found, exact, strict=True)])), 4
        )
    return result


def run(size: int, queries: int, workdir: Path) -> dict[str, object]:
    corpus = workdir / f"synthetic-{size}.parquet"
    pq.write_table(generate(size), corpus)
    url = start_embedded(workdir / "server")
    try:
        migrations.upgrade(url)
        with connect(url) as conn:
            hfsearch_seconds = load_hfsearch(conn, corpus)
            bare_seconds = load_bare(conn, corpus)
            texts, vectors = query_texts(queries), query_vectors(queries)

            def lexical(i: int) -> object:
                return search(conn, SearchRequest(texts[i], mode="lexical"))

            def vector(i: int) -> object:
                return search(conn, SearchRequest("", mode="vector"), vectors[i], MODEL)

            def hybrid(i: int) -> object:
                return search(conn, SearchRequest(texts[i], mode="hybrid"), vectors[i], MODEL)

            def bare_hnsw(i: int) -> object:
                conn.execute("SET hnsw.ef_search = 100")
                return conn.execute(
                    "SELECT id FROM bare ORDER BY embedding <=> %s LIMIT 10", (vectors[i],)
                ).fetchall()

            latencies = {
                name: asdict(latency(fn, queries))
                for name, fn in [
                    ("bare_hnsw", bare_hnsw),
                    ("lexical", lexical),
                    ("vector", vector),
                    ("hybrid", hybrid),
                ]
            }
            recall = recall_at_10(conn, vectors[: min(queries, 100)], [10, 20, 40, 100, 200])
            sizes = dict(
                conn.execute(
                    "SELECT 'database_bytes', pg_database_size(current_database())"
                ).fetchall()
            )
    finally:
        stop_embedded(workdir / "server")
    return {
        "chunks": size,
        "load": {
            "hfsearch_seconds": round(hfsearch_seconds, 2),
            "hfsearch_rows_per_second": round(size / hfsearch_seconds),
            "bare_seconds": round(bare_seconds, 2),
            "bare_rows_per_second": round(size / bare_seconds),
            "hfsearch_speed_vs_bare": round(bare_seconds / hfsearch_seconds, 3),
        },
        "latency_ms": latencies,
        "hybrid_p50_vs_bare_hnsw": round(
            latencies["hybrid"]["p50_ms"] / latencies["bare_hnsw"]["p50_ms"], 2
        ),
        "recall_at_10_by_ef_search": recall,
        **sizes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run", help="load, query and recall at one size")
    run_parser.add_argument("--size", default="10k", help="1k, 10k, 100k, 1m or a number")
    run_parser.add_argument("--queries", type=int, default=200)
    run_parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hfsearch-bench-") as workdir:
        results = run(parse_size(args.size), args.queries, Path(workdir))
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()

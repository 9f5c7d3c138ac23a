"""HNSW index builds on the bare table: the settings that speed them up, and `vector` against
`halfvec` storage (index size, build time, recall against exact float32 search)."""

from __future__ import annotations

import time

import numpy as np

from benchmarks.queries import index_scans_only
from hfsearch.database import Connection

# (maintenance_work_mem, max_parallel_maintenance_workers): PostgreSQL's defaults first.
BUILD_SETTINGS = [("64MB", 0), ("1GB", 0), ("1GB", 1)]
VECTOR_INDEX = "CREATE INDEX bare_hnsw ON bare USING hnsw (embedding vector_cosine_ops)"
HALFVEC_INDEX = (
    "CREATE INDEX bare_hnsw_halfvec ON bare"
    " USING hnsw ((embedding::halfvec(768)) halfvec_cosine_ops)"
)
EXACT_TOP_10 = "SELECT id FROM bare ORDER BY embedding <=> %s, id LIMIT 10"
HNSW_TOP_10 = {
    "vector": "SELECT id FROM bare ORDER BY embedding <=> %s LIMIT 10",
    "halfvec": "SELECT id FROM bare ORDER BY embedding::halfvec(768) <=> %s::halfvec(768) LIMIT 10",
}


def build(conn: Connection, definition: str, memory: str, workers: int) -> float:
    conn.execute("SELECT set_config('maintenance_work_mem', %s, false)", (memory,))
    conn.execute(
        "SELECT set_config('max_parallel_maintenance_workers', %s, false)", (str(workers),)
    )
    started = time.perf_counter()
    conn.execute(definition)
    return round(time.perf_counter() - started, 2)


def index_mb(conn: Connection, name: str) -> float:
    row = conn.execute("SELECT pg_relation_size(%s::regclass)", (name,)).fetchone()
    assert row is not None
    return round(row[0] / 2**20, 1)


def recall(
    conn: Connection, query: str, vectors: np.ndarray, exact: list[set[int]], ef: int
) -> float:
    with index_scans_only(conn, ef):
        found = [{row[0] for row in conn.execute(query, (v,))} for v in vectors]
    return round(float(np.mean([len(f & e) / 10 for f, e in zip(found, exact, strict=True)])), 4)


def hnsw_builds(
    conn: Connection, vectors: np.ndarray, settings: list[tuple[str, int]], ef_values: list[int]
) -> dict[str, object]:
    """Rebuild the bare table's HNSW index under each setting; then add a halfvec one."""
    conn.autocommit = True
    builds = []
    for memory, workers in settings:
        conn.execute("DROP INDEX IF EXISTS bare_hnsw")
        seconds = build(conn, VECTOR_INDEX, memory, workers)
        builds.append(
            {"maintenance_work_mem": memory, "parallel_workers": workers, "seconds": seconds}
        )
    memory, workers = settings[-1]
    halfvec_seconds = build(conn, HALFVEC_INDEX, memory, workers)
    conn.execute("SET enable_indexscan = off")
    exact = [{row[0] for row in conn.execute(EXACT_TOP_10, (v,))} for v in vectors]
    conn.execute("RESET enable_indexscan")
    result = {
        "builds": builds,
        "storage": {
            kind: {
                "index_mb": index_mb(conn, name),
                "build_seconds": seconds,
                "recall_at_10_by_ef_search": {
                    ef: recall(conn, HNSW_TOP_10[kind], vectors, exact, ef) for ef in ef_values
                },
            }
            for kind, name, seconds in [
                ("vector", "bare_hnsw", builds[-1]["seconds"]),
                ("halfvec", "bare_hnsw_halfvec", halfvec_seconds),
            ]
        },
    }
    conn.execute("DROP INDEX bare_hnsw_halfvec")
    return result

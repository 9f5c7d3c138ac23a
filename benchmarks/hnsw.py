"""HNSW index builds on the bare table: the settings that speed them up, `vector` against
`halfvec` storage (index size, build time, recall against exact float32 search), and the graph's
own parameters (m, ef_construction, parallel or one-process build) against recall."""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass

import numpy as np

from benchmarks.loads import BARE_HNSW, HNSW_GRAPH, bare_hnsw_index
from benchmarks.queries import index_scans_only
from hfsearch.database import Connection

BuildSetting = tuple[str, int]  # (maintenance_work_mem, max_parallel_maintenance_workers)
# PostgreSQL's defaults first; `run --hnsw-builds` sets others (at 1M, 64MB would take hours).
BUILD_SETTINGS: list[BuildSetting] = [("64MB", 0), ("1GB", 0), ("1GB", 1)]
VECTOR_INDEX = BARE_HNSW
HALFVEC_INDEX = (
    "CREATE INDEX bare_hnsw_halfvec ON bare"
    f" USING hnsw ((embedding::halfvec(768)) halfvec_cosine_ops) {HNSW_GRAPH}"
)
EXACT_TOP_10 = "SELECT id FROM bare ORDER BY embedding <=> %s, id LIMIT 10"
HNSW_TOP_10 = {
    "vector": "SELECT id FROM bare ORDER BY embedding <=> %s LIMIT 10",
    "halfvec": "SELECT id FROM bare ORDER BY embedding::halfvec(768) <=> %s::halfvec(768) LIMIT 10",
}


@dataclass(frozen=True)
class Graph:
    """pgvector's HNSW build parameters, and the parallel workers that build the graph."""

    m: int  # links per node (pgvector's default 16)
    ef_construction: int  # candidates kept while linking a node (default 64)
    parallel_workers: int  # PostgreSQL's default max_parallel_maintenance_workers is 2


# Built after the load's own index (hfsearch's graph, the server's workers): pgvector's
# defaults, built by three processes and by one, then wider candidate lists alone.
GRAPHS = [Graph(16, 64, 2), Graph(16, 64, 0), Graph(16, 128, 2)]


def parse_build_settings(text: str) -> list[BuildSetting]:
    """Read "64MB:0,1GB:1" as [("64MB", 0), ("1GB", 1)]: maintenance_work_mem and workers."""
    settings = []
    for item in text.split(","):
        memory, _, workers = item.strip().partition(":")
        if not memory or not workers.isdigit():
            raise ValueError(
                f"{item.strip()!r}: expected maintenance_work_mem:workers, such as 1GB:1"
            )
        settings.append((memory, int(workers)))
    return settings


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


def exact_top_10(conn: Connection, vectors: np.ndarray) -> list[set[int]]:
    conn.execute("SET enable_indexscan = off")
    try:
        return [{row[0] for row in conn.execute(EXACT_TOP_10, (v,))} for v in vectors]
    finally:
        conn.execute("RESET enable_indexscan")


def recall(
    conn: Connection, query: str, vectors: np.ndarray, exact: list[set[int]], ef: int
) -> float:
    with index_scans_only(conn, ef):
        found = [{row[0] for row in conn.execute(query, (v,))} for v in vectors]
    return round(float(np.mean([len(f & e) / 10 for f, e in zip(found, exact, strict=True)])), 4)


def hnsw_builds(
    conn: Connection, vectors: np.ndarray, settings: list[BuildSetting], ef_values: list[int]
) -> dict[str, object]:
    """Rebuild the bare table's HNSW index under each setting; then add a halfvec one, built
    under the last setting.

    Each build is printed as it is measured: at 1M chunks one takes many minutes.
    """
    conn.autocommit = True
    builds = []
    for memory, workers in settings:
        conn.execute("DROP INDEX IF EXISTS bare_hnsw")
        seconds = build(conn, VECTOR_INDEX, memory, workers)
        builds.append(
            {"maintenance_work_mem": memory, "parallel_workers": workers, "seconds": seconds}
        )
        print(f"hnsw: {builds[-1]}", file=sys.stderr, flush=True)
    memory, workers = settings[-1]
    halfvec_seconds = build(conn, HALFVEC_INDEX, memory, workers)
    print(f"hnsw: halfvec {halfvec_seconds} s", file=sys.stderr, flush=True)
    exact = exact_top_10(conn, vectors)
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


def built_graph(conn: Connection) -> dict[str, int]:
    """The bare index's m and ef_construction (pgvector's defaults unless set), and the workers
    a build gets on this server."""
    row = conn.execute(
        """
        SELECT coalesce(max(split_part(o, '=', 2)) FILTER (WHERE o LIKE 'm=%%'), '16'),
               coalesce(max(split_part(o, '=', 2)) FILTER (WHERE o LIKE 'ef_construction=%%'),
                        '64'),
               current_setting('max_parallel_maintenance_workers')
        FROM pg_class c LEFT JOIN LATERAL unnest(c.reloptions) o ON true
        WHERE c.oid = 'bare_hnsw'::regclass
        """
    ).fetchone()
    assert row is not None
    return {"m": int(row[0]), "ef_construction": int(row[1]), "parallel_workers": int(row[2])}


def graph_builds(
    conn: Connection,
    vectors: np.ndarray,
    graphs: list[Graph],
    memory: str,
    ef_values: list[int],
    loaded_seconds: float,
) -> list[dict[str, object]]:
    """Recall of the load's HNSW index, then of the index rebuilt as each graph in turn.

    Each line is printed as it is measured: at 1M chunks a build takes many minutes.
    """
    conn.autocommit = True
    exact = exact_top_10(conn, vectors)
    loaded = Graph(**built_graph(conn))
    results = []
    for graph in [loaded, *graphs]:
        if graph is loaded:
            seconds = loaded_seconds
        else:
            conn.execute("DROP INDEX bare_hnsw")
            definition = bare_hnsw_index(graph.m, graph.ef_construction)
            seconds = build(conn, definition, memory, graph.parallel_workers)
        figures = {
            **asdict(graph),
            "seconds": seconds,
            "index_mb": index_mb(conn, "bare_hnsw"),
            "recall_at_10_by_ef_search": {
                ef: recall(conn, HNSW_TOP_10["vector"], vectors, exact, ef) for ef in ef_values
            },
        }
        print(f"graph: {figures}", file=sys.stderr, flush=True)
        results.append(figures)
    return results

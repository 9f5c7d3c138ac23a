"""Query latency, recall against exact search (with and without filters), and throughput
through a connection pool."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict

import numpy as np
from pgvector.psycopg import register_vector
from psycopg_pool import ConnectionPool

from benchmarks.loads import MODEL
from benchmarks.timing import latency, percentiles
from hfsearch.database import Connection
from hfsearch.search import SearchRequest, search

BARE_TOP_10 = "SELECT id FROM bare ORDER BY embedding <=> %s LIMIT 10"


# hfsearch's ef_search from revision 0012 to 0020, for --reuse on a database at one of them.
FIXED_EF_SEARCH = 400


def default_ef_search(conn: Connection) -> int:
    """The ef_search hfsearch searches with when a request names none (since revision 0021 it
    follows the corpus's size)."""
    row = conn.execute("SELECT to_regproc('hfsearch_default_ef_search') IS NOT NULL").fetchone()
    if not (row and row[0]):
        return FIXED_EF_SEARCH
    row = conn.execute("SELECT hfsearch_default_ef_search()").fetchone()
    assert row is not None
    return int(row[0])


def latencies(
    conn: Connection, texts: list[str], vectors: np.ndarray, ef_search: int
) -> dict[str, dict[str, float]]:
    """hfsearch's searches, and the bare top-10, at hfsearch's default ef_search (named, not
    left to the database, so that a database before revision 0021 is timed too)."""

    def lexical(i: int) -> object:
        return search(conn, SearchRequest(texts[i], mode="lexical"))

    def bare_hnsw(i: int) -> object:
        return conn.execute(BARE_TOP_10, (vectors[i],)).fetchall()

    with index_scans_only(conn, ef_search):
        results = {"bare_hnsw": asdict(latency(bare_hnsw, len(texts)))}
    results["lexical"] = asdict(latency(lexical, len(texts)))
    return results | latencies_at_ef_search(conn, texts, vectors, ef_search)


def latencies_at_ef_search(
    conn: Connection, texts: list[str], vectors: np.ndarray, ef_search: int
) -> dict[str, dict[str, float]]:
    """hfsearch's vector and hybrid search at an ef_search: its default, or the peers' 100
    beside their figures (the recall section says what each finds)."""

    def vector(i: int) -> object:
        return search(
            conn, SearchRequest("", mode="vector", ef_search=ef_search), vectors[i], MODEL
        )

    def hybrid(i: int) -> object:
        request = SearchRequest(texts[i], mode="hybrid", ef_search=ef_search)
        return search(conn, request, vectors[i], MODEL)

    modes = [("vector", vector), ("hybrid", hybrid)]
    return {name: asdict(latency(run, len(texts))) for name, run in modes}


@contextmanager
def index_scans_only(conn: Connection, ef_search: int) -> Iterator[None]:
    """The bare queries through their HNSW index, at an ef_search (hfsearch's, to compare).

    Vectors of 768 floats are stored out of line (TOAST), which the planner does not cost:
    on small tables, and at a large ef_search on any, it picks an exact scan and a sort
    (measured at 10k: 62 ms instead of about 1 ms), and the "HNSW" figures would be exact
    search. Only the index returns rows in order without a sort, so sorts are disabled, as
    hfsearch_vector does for its own graph walk (revision 0012).
    """
    conn.execute("SET enable_sort = off")
    conn.execute("SELECT set_config('hnsw.ef_search', %s, false)", (str(ef_search),))
    try:
        yield
    finally:
        conn.execute("RESET enable_sort")
        conn.execute("RESET hnsw.ef_search")


def chunk_ids(conn: Connection, request: SearchRequest, vector: np.ndarray) -> list[int]:
    return [hit.chunk_id for hit in search(conn, request, vector, MODEL).hits]


def recall_by_ef_search(
    conn: Connection, vectors: np.ndarray, ef_values: list[int]
) -> dict[int, float]:
    exact = [set(chunk_ids(conn, SearchRequest("", mode="vector", exact=True), v)) for v in vectors]
    result = {}
    for ef in ef_values:
        request = SearchRequest("", mode="vector", ef_search=ef)
        found = [set(chunk_ids(conn, request, v)) for v in vectors]
        result[ef] = round(
            float(np.mean([len(f & e) / 10 for f, e in zip(found, exact, strict=True)])), 4
        )
    return result


def date_windows(
    conn: Connection, share: float, count: int, seed: int = 11
) -> list[tuple[dt.date, dt.date]]:
    """`count` date ranges each holding about `share` of the chunks (posts have dates)."""
    dates = [
        row[0]
        for row in conn.execute(
            "SELECT p.published_on FROM chunks c JOIN posts p ON p.id = c.post_id"
            " ORDER BY p.published_on"
        )
    ]
    rng = np.random.default_rng(seed)
    span = max(int(share * len(dates)), 1)
    windows = []
    for start in rng.integers(0, len(dates) - span + 1, size=count):
        windows.append((dates[start], dates[start + span - 1]))
    return windows


def filtered_recall(
    conn: Connection, vectors: np.ndarray, shares: list[float]
) -> dict[str, dict[str, float]]:
    """Recall@10 of filtered vector search against exact search under the same filter, how
    many queries came back short although at least 10 chunks passed the filter, and the
    filtered search's latency (each query timed once, after the exact search under the same
    filter has read its posts)."""
    total = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]  # type: ignore[index]
    result = {}
    for share in shares:
        recalls, short, passing, times = [], 0, [], []
        for vector, (since, until) in zip(
            vectors, date_windows(conn, share, len(vectors)), strict=True
        ):
            matches = conn.execute(
                "SELECT count(*) FROM chunks c JOIN posts p ON p.id = c.post_id"
                " WHERE p.published_on BETWEEN %s AND %s",
                (since, until),
            ).fetchone()[0]  # type: ignore[index]
            passing.append(matches / total)
            request = SearchRequest("", mode="vector", since=since, until=until)
            exact = chunk_ids(
                conn, SearchRequest("", mode="vector", exact=True, since=since, until=until), vector
            )
            started = time.perf_counter()
            found = chunk_ids(conn, request, vector)
            times.append((time.perf_counter() - started) * 1000)
            if matches >= 10 and len(found) < 10:
                short += 1
            if exact:
                recalls.append(len(set(found) & set(exact)) / len(exact))
        result[f"{share:.1%}"] = {
            "mean_share_passing": round(float(np.mean(passing)), 5),
            "recall_at_10": round(float(np.mean(recalls)), 4),
            "short_results": short,
            "queries": len(vectors),
            "vector_latency_ms": asdict(percentiles(times)),
        }
    return result


def throughput(
    url: str, texts: list[str], vectors: np.ndarray, clients: list[int], seconds: float
) -> dict[int, dict[str, float]]:
    """Hybrid queries per second with N threads sharing a pool of N connections, configured
    as SearchClient configures its pool."""
    result = {}
    for count in clients:
        with ConnectionPool(
            url,
            min_size=count,
            max_size=count,
            kwargs={"autocommit": True},
            configure=register_vector,
            open=True,
        ) as pool:
            pool.wait()
            done = [0] * count
            deadline = time.perf_counter() + seconds
            threads = [
                threading.Thread(
                    target=_client, args=(pool, texts, vectors, s, count, deadline, done)
                )
                for s in range(count)
            ]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
        result[count] = {"queries": sum(done), "queries_per_second": round(sum(done) / elapsed, 1)}
    return result


def _client(
    pool: ConnectionPool[Connection],
    texts: list[str],
    vectors: np.ndarray,
    slot: int,
    stride: int,
    deadline: float,
    done: list[int],
) -> None:
    i = slot
    while time.perf_counter() < deadline:
        with pool.connection() as conn:
            request = SearchRequest(texts[i % len(texts)], mode="hybrid")
            search(conn, request, vectors[i % len(texts)], MODEL)
        done[slot] += 1
        i += stride

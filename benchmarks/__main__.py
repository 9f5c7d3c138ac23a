"""hfsearch benchmarks, side by side on one embedded server in one run.

    python -m benchmarks run --size 100k [--queries 200] [--sections ...] [--out results.json]
    python -m benchmarks quality [--out quality.json]
    python -m benchmarks plot results-*.json --out-dir docs/benchmarks
    python -m benchmarks report results-*.json

`run` generates a synthetic corpus (benchmarks/corpus.py), starts an embedded server in a
temporary folder (or --workdir, kept; --reuse measures its database again without loading, for
every section but load and graph) and measures, section by section:
  load         `hfsearch load` against the bare path doing the same work (benchmarks/loads.py)
  query        p50/p95/p99 of lexical, vector and hybrid search and of a bare HNSW top-10
  recall       HNSW recall@10 against exact search across ef_search values
  filters      recall@10 and short results under filters passing 50%, 5% and 0.1% of chunks
  concurrency  hybrid queries per second with 1, 2, 4 and 8 clients through a pool
  hnsw         HNSW build time by maintenance_work_mem and parallel workers (--hnsw-builds);
               vector vs halfvec
  graph        HNSW recall@10 and build time by m, ef_construction and parallel workers
  peers        langchain-postgres and llama-index, each in its own virtual environment
               (--peer-rows copy: their tables filled by COPY, for their query figures at
               sizes their own loads would take hours on; with --reuse too; --peers names
               which run, one at a time where each own load takes an hour)
`quality` compares hfsearch's rankings on the sample with bm25s and numpy (benchmarks/quality.py).
`report` prints the results as the Markdown tables of BENCHMARKS.md (benchmarks/report.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import psycopg
from psycopg import sql

from benchmarks import corpus as synthetic
from benchmarks import hnsw, loads, peers, queries
from benchmarks.corpus import parse_size, query_texts, query_vectors
from benchmarks.peers.run import PEERS, run_peer
from hfsearch import migrations
from hfsearch.database import (
    Connection,
    connect,
    pgdata_path,
    running_shared_buffers,
    start_embedded,
    stop_embedded,
)

SECTIONS = ("load", "query", "recall", "filters", "concurrency", "hnsw", "graph", "peers")
# Sections that need `hfsearch load`; the others measure the bare table only.
HFSEARCH_SECTIONS = {"load", "query", "recall", "filters", "concurrency", "peers"}
# Sections that time a load, which --reuse does not run.
LOAD_SECTIONS = {"load", "graph"}
EF_VALUES = [10, 20, 40, 100, 200, 400, 1000]
FILTER_SHARES = [0.5, 0.05, 0.001]
CLIENTS = [1, 2, 4, 8]
# Recall, filters and graph builds use the first 100 query vectors: exact search is the slow part.
RECALL_QUERIES = 100


def versions(conn: Connection) -> dict[str, str]:
    row = conn.execute(
        "SELECT current_setting('server_version'),"
        " (SELECT extversion FROM pg_extension WHERE extname = 'vector')"
    ).fetchone()
    assert row is not None
    return {
        "postgresql": row[0],
        "pgvector": row[1],
        "python": platform.python_version(),
        "psycopg": version("psycopg"),
        "pgvector-python": version("pgvector"),
        "cpus": str(os.cpu_count()),
    }


def sizes_mb(conn: Connection) -> dict[str, float]:
    rows = conn.execute(
        """
        SELECT 'database', pg_database_size(current_database())
        UNION ALL
        SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c
        WHERE c.relname IN
            ('chunks', 'embeddings', 'posts', 'lexeme_stats', 'postings', 'bare', 'bare_postings')
        """
    ).fetchall()
    return {name: round(size / 2**20, 1) for name, size in rows}


def log_slow_statements(conn: Connection) -> None:
    """Have the server log each statement of a second or more, and notices.

    The harness times `hfsearch load` as a whole; its steps (COPY, inserts, each index
    build) are in the server's log, server/pgdata/log in --workdir. Notices include pgvector's
    "hnsw graph no longer fits into maintenance_work_mem", which makes a build much slower.
    """
    conn.execute("ALTER SYSTEM SET log_min_duration_statement = 1000")
    conn.execute("ALTER SYSTEM SET log_min_messages = notice")
    conn.execute("SELECT pg_reload_conf()")


def run(
    size: int,
    query_count: int,
    sections: list[str],
    workdir: Path,
    maintenance_work_mem: str,
    shared_buffers: str | None = None,
    reuse: bool = False,
    peer_rows: str = "add",
    hnsw_builds: list[hnsw.BuildSetting] = hnsw.BUILD_SETTINGS,
    peer_names: tuple[str, ...] = PEERS,
) -> dict[str, object]:
    results: dict[str, object] = {
        "chunks": size,
        "queries": query_count,
        "sections": sections,
        "maintenance_work_mem": maintenance_work_mem,
    }
    server = workdir / "server"
    texts, vectors = query_texts(query_count), query_vectors(query_count)
    if reuse:
        if not pgdata_path(server).exists():
            raise SystemExit(f"--reuse: no server in {server}: run once with --workdir first")
        url = start_embedded(server, shared_buffers)
        try:
            with connect(url) as conn:
                row = conn.execute("SELECT count(*) FROM chunks").fetchone()
                size = results["chunks"] = row[0] if row else 0
                results["versions"] = versions(conn)
                results["shared_buffers"] = running_shared_buffers(url)
                measure(results, conn, url, sections, texts, vectors, size)
                if "hnsw" in sections:
                    results["hnsw"] = hnsw.hnsw_builds(
                        conn, vectors[:RECALL_QUERIES], hnsw_builds, EF_VALUES
                    )
            if "peers" in sections:
                corpus = workdir / f"synthetic-{size}.parquet"
                if not corpus.exists():  # seeded: the rows the database was loaded with
                    synthetic.write(corpus, size)
                results["peers"] = run_peers(
                    url,
                    corpus,
                    workdir,
                    texts,
                    vectors,
                    maintenance_work_mem,
                    peer_rows,
                    peer_names,
                )
        finally:
            stop_embedded(server)
        return results
    corpus = workdir / f"synthetic-{size}.parquet"
    started = time.perf_counter()
    synthetic.write(corpus, size)
    results["generate_seconds"] = round(time.perf_counter() - started, 1)
    results["corpus_file_mb"] = round(corpus.stat().st_size / 2**20, 1)
    url = start_embedded(server, shared_buffers)
    pgdata = pgdata_path(server)
    try:
        migrations.upgrade(url)
        with connect(url) as conn:
            log_slow_statements(conn)
            results["versions"] = versions(conn)
            results["shared_buffers"] = running_shared_buffers(url)
            # The bare path always loads: every section needs its rows or its baseline.
            mine = None
            if HFSEARCH_SECTIONS & set(sections):
                mine = loads.load_hfsearch(url, corpus, pgdata, maintenance_work_mem)
            # Vacuumed between and after the loads (untimed), so that autovacuum of one
            # path's tables runs neither during the other's load nor during timed queries.
            conn.execute("VACUUM (ANALYZE)")
            bare = loads.load_bare(conn, corpus, pgdata, maintenance_work_mem)
            started = time.perf_counter()
            conn.execute("VACUUM (ANALYZE)")
            results["vacuum_seconds"] = round(time.perf_counter() - started, 1)
            load: dict[str, object] = {
                "bare": {**asdict(bare), "rows_per_second": round(size / bare.seconds)}
            }
            if mine is not None:
                load["hfsearch"] = {**asdict(mine), "rows_per_second": round(size / mine.seconds)}
                load["hfsearch_speed_vs_bare"] = round(bare.seconds / mine.seconds, 3)
                # against a bare path whose full-text index is a GIN index, not postings
                bare_with_gin = bare.seconds - bare.phase_seconds["postings"] + bare.gin_seconds
                load["hfsearch_speed_vs_bare_with_gin"] = round(bare_with_gin / mine.seconds, 3)
            results["load"] = load
            results["sizes_mb"] = sizes_mb(conn)
            measure(results, conn, url, sections, texts, vectors, size)
            recall_vectors = vectors[:RECALL_QUERIES]
            # Before `hnsw`, which rebuilds the load's index.
            if "graph" in sections:
                results["hnsw_graphs"] = hnsw.graph_builds(
                    conn,
                    recall_vectors,
                    hnsw.GRAPHS,
                    maintenance_work_mem,
                    EF_VALUES,
                    loaded_seconds=bare.phase_seconds["hnsw"],
                )
            if "hnsw" in sections:
                results["hnsw"] = hnsw.hnsw_builds(conn, recall_vectors, hnsw_builds, EF_VALUES)
        if "peers" in sections:
            results["peers"] = run_peers(
                url, corpus, workdir, texts, vectors, maintenance_work_mem, peer_rows, peer_names
            )
    finally:
        stop_embedded(server)
    results["harness_peak_rss_mb"] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
    )
    return results


def measure(
    results: dict[str, object],
    conn: Connection,
    url: str,
    sections: list[str],
    texts: list[str],
    vectors: np.ndarray,
    size: int,
) -> None:
    """The query sections, on a loaded database: latency, recall, filters, concurrency."""
    default_ef_search = results["default_ef_search"] = queries.default_ef_search(conn)
    if "query" in sections:
        latency = queries.latencies(conn, texts, vectors, default_ef_search)
        results["latency_ms"] = latency
        results["hybrid_p50_vs_bare_hnsw"] = round(
            latency["hybrid"]["p50_ms"] / latency["bare_hnsw"]["p50_ms"], 2
        )
    recall_vectors = vectors[:RECALL_QUERIES]
    if "recall" in sections:
        results["recall_at_10_by_ef_search"] = queries.recall_by_ef_search(
            conn, recall_vectors, sorted({*EF_VALUES, default_ef_search})
        )
    if "filters" in sections:
        results["filtered_recall"] = queries.filtered_recall(conn, recall_vectors, FILTER_SHARES)
    if "concurrency" in sections:
        results["throughput_hybrid"] = queries.throughput(
            url, texts, vectors, CLIENTS, seconds=10 if size >= 100_000 else 3
        )
    if "peers" in sections:  # hfsearch beside them at the ef_search they search at
        results["latency_ms_at_peers_ef_search"] = queries.latencies_at_ef_search(
            conn, texts, vectors, peers.EF_SEARCH
        )


@contextmanager
def peer_database(url: str, peer: str, maintenance_work_mem: str) -> Iterator[str]:
    """A new, empty database for one peer on hfsearch's server at `url` (one left by an
    earlier run dropped), its URL given, dropped once the peer is measured (at 1M each holds
    10 GB or more; kept when the peer failed, to look into)."""
    name = f"peer_{peer}"
    database = sql.Identifier(name)
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(database))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(database))
        # Its index builds get the memory hfsearch's get, whichever connection of the peer's
        # builds them, or a million rows' graph is built on disk for hours.
        admin.execute(
            sql.SQL("ALTER DATABASE {} SET maintenance_work_mem = {}").format(
                database, sql.Literal(maintenance_work_mem)
            )
        )
        # Its slow statements carry its rows, vectors as text: logged, llama-index's inserts of
        # a million rows would write about 19 GB to the server's log.
        admin.execute(
            sql.SQL("ALTER DATABASE {} SET log_min_duration_statement = -1").format(database)
        )
        yield urlsplit(url)._replace(path=f"/{name}").geturl()
        admin.execute(sql.SQL("DROP DATABASE {}").format(database))


def run_peers(
    url: str,
    corpus: Path,
    workdir: Path,
    texts: list[str],
    vectors: object,
    maintenance_work_mem: str,
    rows: str,
    peer_names: tuple[str, ...] = PEERS,
) -> dict[str, object]:
    """Each peer in a database of its own on the same server."""
    query_file = workdir / "queries.json"
    query_file.write_text(json.dumps({"texts": texts, "vectors": vectors.tolist()}))  # type: ignore[attr-defined]
    results: dict[str, object] = {}
    for peer in peer_names:
        with peer_database(url, peer, maintenance_work_mem) as peer_url:
            results.update(run_peer(peer, peer_url, corpus, query_file, rows))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 2)[2],
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run", help="load, query and recall at one size")
    run_parser.add_argument("--size", default="10k", help="1k, 10k, 100k, 1m or a number")
    run_parser.add_argument("--queries", type=int, default=200)
    run_parser.add_argument(
        "--sections", default=",".join(SECTIONS), help=f"comma-separated, of {','.join(SECTIONS)}"
    )
    run_parser.add_argument(
        "--maintenance-work-mem",
        default="1GB",
        help="for both loads' index builds; HNSW builds are fast while the graph fits in it",
    )
    run_parser.add_argument(
        "--shared-buffers",
        help="the embedded server's page cache (default: hfsearch's, a quarter of the memory)",
    )
    run_parser.add_argument(
        "--peer-rows",
        choices=("add", "copy"),
        default="add",
        help="add: the peers load by their own API, timed; copy: their tables are filled by"
        " COPY (query figures only, for sizes their loads would take hours on)",
    )
    run_parser.add_argument(
        "--peers",
        default=",".join(PEERS),
        help="the peers section's peers, comma separated (default: %(default)s)",
    )
    run_parser.add_argument(
        "--hnsw-builds",
        default=",".join(f"{memory}:{workers}" for memory, workers in hnsw.BUILD_SETTINGS),
        help="the hnsw section's builds, maintenance_work_mem:parallel workers each, comma"
        " separated; halfvec is built under the last (default: %(default)s)",
    )
    run_parser.add_argument("--out", type=Path)
    run_parser.add_argument("--workdir", type=Path, help="default: a temporary folder")
    run_parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure again, without loading, the database a run left in --workdir (every"
        " section but load and graph)",
    )
    quality_parser = sub.add_parser("quality", help="hfsearch vs bm25s and numpy on the sample")
    quality_parser.add_argument("--out", type=Path)
    plot_parser = sub.add_parser("plot", help="PNG plots from run results")
    plot_parser.add_argument("results", type=Path, nargs="+")
    plot_parser.add_argument("--out-dir", type=Path, default=Path("docs/benchmarks"))
    report_parser = sub.add_parser("report", help="Markdown tables from run results")
    report_parser.add_argument("results", type=Path, nargs="+")
    args = parser.parse_args()

    if args.command == "run":
        sections = [s for s in args.sections.split(",") if s]
        unknown = sorted(set(sections) - set(SECTIONS))
        if unknown:
            parser.error(f"unknown sections: {', '.join(unknown)}")
        if args.reuse and not args.workdir:
            parser.error("--reuse needs the --workdir of an earlier run")
        if args.reuse and LOAD_SECTIONS & set(sections):
            parser.error(f"--reuse does not load: leave out {', '.join(sorted(LOAD_SECTIONS))}")
        peer_names = tuple(p for p in args.peers.split(",") if p)
        unknown_peers = sorted(set(peer_names) - set(PEERS))
        if unknown_peers or not peer_names:
            named = ", ".join(unknown_peers) or "none"
            parser.error(f"--peers: {named}; expected some of {','.join(PEERS)}")
        try:
            hnsw_builds = hnsw.parse_build_settings(args.hnsw_builds)
        except ValueError as error:
            parser.error(f"--hnsw-builds: {error}")
        if args.workdir:
            args.workdir.mkdir(parents=True, exist_ok=True)
            results = run(
                parse_size(args.size),
                args.queries,
                sections,
                args.workdir,
                args.maintenance_work_mem,
                args.shared_buffers,
                args.reuse,
                args.peer_rows,
                hnsw_builds,
                peer_names,
            )
        else:
            with tempfile.TemporaryDirectory(prefix="hfsearch-bench-") as workdir:
                results = run(
                    parse_size(args.size),
                    args.queries,
                    sections,
                    Path(workdir),
                    args.maintenance_work_mem,
                    args.shared_buffers,
                    peer_rows=args.peer_rows,
                    hnsw_builds=hnsw_builds,
                    peer_names=peer_names,
                )
    elif args.command == "quality":
        from benchmarks.quality import compare

        results = compare()
    elif args.command == "report":
        from benchmarks.report import report

        print(report(args.results), end="")
        return
    else:
        from benchmarks.plots import plot

        for written in plot(args.results, args.out_dir):
            print(written)
        return
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()

"""Markdown tables from `run` results, for BENCHMARKS.md: every figure next to its baseline.

python -m benchmarks report results-10k.json results-100k.json results-1m.json
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from benchmarks.peers import EF_SEARCH

Run = dict[str, Any]
MODES = {
    "bare_hnsw": "bare HNSW top-10",
    "vector": "hfsearch vector",
    "lexical": "hfsearch lexical (BM25)",
    "hybrid": "hfsearch hybrid (RRF)",
}


def report(result_files: list[Path]) -> str:
    runs = sorted(
        (json.loads(path.read_text()) for path in result_files), key=lambda r: r["chunks"]
    )
    sections = [
        _load(runs),
        _sizes(runs),
        _latency(runs),
        _throughput(runs),
        _recall(runs),
        _filtered(runs),
        _hnsw(runs),
        _graphs(runs),
        _peers(runs),
    ]
    return "\n\n".join(section for section in sections if section) + "\n"


def table(header: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def size(run: Run) -> str:
    chunks = int(run["chunks"])
    return f"{chunks // 1_000_000}M" if chunks % 1_000_000 == 0 else f"{chunks // 1000}k"


def with_key(runs: list[Run], key: str) -> list[Run]:
    return [run for run in runs if key in run]


def _load(runs: list[Run]) -> str:
    rows = []
    for run in with_key(runs, "load"):
        load = run["load"]
        # Before revision 0010 the bare path built a GIN index as hfsearch did; since, it
        # builds hfsearch's postings and times a GIN index apart (benchmarks/loads.py).
        with_postings = "postings" in load["bare"]["phase_seconds"]
        bare_label = "bare COPY BINARY + " + ("postings" if with_postings else "GIN") + " + HNSW"
        for path, label in (("bare", bare_label), ("hfsearch", "`hfsearch load`")):
            if path not in load:
                continue  # a run of the bare-table sections only
            figures = load[path]
            speed = "1.00" if path == "bare" else f"{load['hfsearch_speed_vs_bare']:.2f}"
            if path == "hfsearch" and with_postings:
                speed += f" ({load['hfsearch_speed_vs_bare_with_gin']:.2f} vs bare with GIN)"
            steps = figures.get("phase_seconds", {})
            if figures.get("gin_seconds"):
                steps = {**steps, "GIN apart": figures["gin_seconds"]}
            rows.append(
                [
                    size(run),
                    label,
                    f"{figures['seconds']:,}",
                    f"{figures['rows_per_second']:,}",
                    speed,
                    f"{figures['peak_rss_mb']:,}" if figures["peak_rss_mb"] else "(harness)",
                    f"{figures['server_peak_pss_mb']:,}",
                    ", ".join(f"{k} {v}" for k, v in steps.items()),
                ]
            )
    return table(
        [
            "chunks",
            "path",
            "seconds",
            "rows/s",
            "speed vs bare",
            "loader peak RSS MB",
            "server peak PSS MB",
            "steps (s)",
        ],
        rows,
    )


def _sizes(runs: list[Run]) -> str:
    tables = [
        "database",
        "chunks",
        "postings",
        "embeddings",
        "lexeme_stats",
        "posts",
        "bare",
        "bare_postings",
    ]
    rows = [
        [size(run), f"{run['corpus_file_mb']:,}"]
        # "-": not measured in that run (older runs did not list the postings)
        + [f"{run['sizes_mb'][name]:,}" if name in run["sizes_mb"] else "-" for name in tables]
        for run in with_key(runs, "sizes_mb")
    ]
    return table(["chunks", "Parquet file MB", *(f"{name} MB" for name in tables)], rows)


def _latency(runs: list[Run]) -> str:
    measured = with_key(runs, "latency_ms")
    if not measured:
        return ""

    def cell(run: Run, mode: str) -> str:
        figures = run["latency_ms"][mode]
        ratio = figures["p50_ms"] / run["latency_ms"]["bare_hnsw"]["p50_ms"]
        return f"{figures['p50_ms']} / {figures['p95_ms']} / {figures['p99_ms']} ({ratio:.1f}x)"

    def heading(run: Run) -> str:
        # the ef_search of vector and hybrid search and of the bare top-10 (since revision 0021
        # it follows the corpus's size; the runs before it did not record it)
        ef_search = run.get("default_ef_search")
        return f"{size(run)} chunks" + (f" (ef_search {ef_search})" if ef_search else "")

    rows = [[label, *(cell(run, mode) for run in measured)] for mode, label in MODES.items()]
    return table(["p50 / p95 / p99 ms (p50 vs bare HNSW)", *map(heading, measured)], rows)


def _throughput(runs: list[Run]) -> str:
    measured = with_key(runs, "throughput_hybrid")
    if not measured:
        return ""
    clients = sorted({int(c) for run in measured for c in run["throughput_hybrid"]})

    def cell(run: Run, count: int) -> str:
        figures = run["throughput_hybrid"]
        one = figures["1"]["queries_per_second"]  # JSON keys are strings
        qps = figures[str(count)]["queries_per_second"]
        return f"{qps} ({qps / one:.2f}x)"

    return table(
        ["hybrid queries/s (vs 1 client)", *(f"{size(r)} chunks" for r in measured)],
        [[f"{count} clients", *(cell(run, count) for run in measured)] for count in clients],
    )


def _recall(runs: list[Run]) -> str:
    measured = with_key(runs, "recall_at_10_by_ef_search")
    if not measured:
        return ""
    efs = sorted({ef for run in measured for ef in run["recall_at_10_by_ef_search"]}, key=int)
    rows = [[ef, *(run["recall_at_10_by_ef_search"].get(ef, "") for run in measured)] for ef in efs]
    return table(["ef_search", *(f"{size(r)} chunks" for r in measured)], rows)


def _filtered(runs: list[Run]) -> str:
    rows = []
    for run in with_key(runs, "filtered_recall"):
        for share, figures in run["filtered_recall"].items():
            rows.append(
                [
                    size(run),
                    share,
                    f"{figures['mean_share_passing']:.2%}",
                    figures["recall_at_10"],
                    f"{figures['short_results']} of {figures['queries']}",
                    _filtered_latency(figures),
                ]
            )
    if not rows:
        return ""
    return table(
        [
            "chunks",
            "filter passes",
            "measured share",
            "recall@10",
            "short results",
            "vector p50 / p95 ms",
        ],
        rows,
    )


def _filtered_latency(figures: dict[str, Any]) -> str:
    timed = figures.get("vector_latency_ms")  # not measured before revision 0015's runs
    return f"{timed['p50_ms']} / {timed['p95_ms']}" if timed else ""


def _hnsw(runs: list[Run]) -> str:
    parts = []
    for run in with_key(runs, "hnsw"):
        builds = run["hnsw"]["builds"]
        first = builds[0]["seconds"]
        parts.append(
            table(
                [
                    f"HNSW build, {size(run)} x 768",
                    "parallel workers",
                    "seconds",
                    "speed-up vs the first row",
                ],
                [
                    [
                        b["maintenance_work_mem"],
                        b["parallel_workers"],
                        b["seconds"],
                        f"{first / b['seconds']:.1f}x",
                    ]
                    for b in builds
                ],
            )
        )
        storage = run["hnsw"]["storage"]
        efs = sorted(storage["vector"]["recall_at_10_by_ef_search"], key=int)
        parts.append(
            table(
                [
                    f"storage, {size(run)}",
                    "index MB",
                    "build s",
                    *(f"recall@10 ef {ef}" for ef in efs),
                ],
                [
                    [
                        kind,
                        figures["index_mb"],
                        figures["build_seconds"],
                        *(figures["recall_at_10_by_ef_search"][ef] for ef in efs),
                    ]
                    for kind, figures in storage.items()
                ],
            )
        )
    return "\n\n".join(parts)


def _graphs(runs: list[Run]) -> str:
    parts = []
    for run in with_key(runs, "hnsw_graphs"):
        graphs = run["hnsw_graphs"]
        efs = sorted(graphs[0]["recall_at_10_by_ef_search"], key=int)
        first = graphs[0]["seconds"]
        rows = [
            [
                g["m"],
                g["ef_construction"],
                g["parallel_workers"],
                f"{g['seconds']} ({g['seconds'] / first:.2f}x)",
                g["index_mb"],
                *(g["recall_at_10_by_ef_search"][ef] for ef in efs),
            ]
            for g in graphs
        ]
        header = [
            f"HNSW graph, {size(run)} x 768: m",
            "ef_construction",
            "parallel workers",
            "build s (vs first row)",
            "index MB",
            *(f"recall@10 ef {ef}" for ef in efs),
        ]
        parts.append(table(header, rows))
    return "\n\n".join(parts)


def _peers(runs: list[Run]) -> str:
    parts = []
    for run in with_key(runs, "peers"):
        # Peers whose rows were copied in (--peer-rows copy) have no load figures.
        loaded = {name: peer for name, peer in run["peers"].items() if "rows_per_second" in peer}
        if loaded and "hfsearch" in run.get("load", {}):
            mine = run["load"]["hfsearch"]["rows_per_second"]
            rows = [["`hfsearch load` (full-text + HNSW)", f"{mine:,}", "1.0"]]
            for name, peer in loaded.items():
                ratio = peer["rows_per_second"] / mine
                rows.append([name, f"{peer['rows_per_second']:,}", f"{ratio:.3f}"])
            parts.append(table([f"load, {size(run)} rows", "rows/s", "vs hfsearch"], rows))
        latency = run.get("latency_ms", {})
        rows = []
        at_peers_ef_search = run.get("latency_ms_at_peers_ef_search", {})
        for mode in ("vector", "hybrid"):
            if mode in latency:
                rows.append([f"hfsearch {mode}", _percentiles(latency[mode]), "1.0"])
            if mode in at_peers_ef_search and mode in latency:
                figures = at_peers_ef_search[mode]
                ratio = f"{figures['p50_ms'] / latency[mode]['p50_ms']:.2f}"
                name = f"hfsearch {mode} at the peers' ef_search ({EF_SEARCH})"
                rows.append([name, _percentiles(figures), ratio])
            for name, peer in run["peers"].items():
                if mode in peer["latency_ms"]:
                    figures = peer["latency_ms"][mode]
                    ratio = (
                        f"{figures['p50_ms'] / latency[mode]['p50_ms']:.2f}"
                        if mode in latency
                        else ""
                    )
                    copied = " (rows copied in)" if peer.get("rows") == "copied" else ""
                    rows.append([f"{name} {mode}{copied}", _percentiles(figures), ratio])
        parts.append(
            table([f"query, {size(run)} chunks", "p50 / p95 / p99 ms", "p50 vs hfsearch"], rows)
        )
    return "\n\n".join(parts)


def _percentiles(figures: dict[str, float]) -> str:
    return f"{figures['p50_ms']} / {figures['p95_ms']} / {figures['p99_ms']}"

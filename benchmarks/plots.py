"""PNG plots from `run` results: latency against corpus size, recall against ef_search."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no screen

import matplotlib.pyplot as plt

MODES = {
    "bare_hnsw": "bare HNSW top-10",
    "vector": "hfsearch vector",
    "lexical": "hfsearch lexical (BM25)",
    "hybrid": "hfsearch hybrid (RRF)",
}


def plot(result_files: list[Path], out_dir: Path) -> list[Path]:
    runs = sorted(
        (json.loads(path.read_text()) for path in result_files), key=lambda r: r["chunks"]
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    return [_latency_by_size(runs, out_dir), _recall_by_ef_search(runs, out_dir)]


def _latency_by_size(runs: list[dict[str, Any]], out_dir: Path) -> Path:
    with_latency = [r for r in runs if "latency_ms" in r]
    figure, axes = plt.subplots(figsize=(7, 4.5))
    sizes = [r["chunks"] for r in with_latency]
    for mode, label in MODES.items():
        axes.plot(
            sizes,
            [r["latency_ms"][mode]["p50_ms"] for r in with_latency],
            "o-",
            label=f"{label} p50",
        )
        axes.plot(
            sizes,
            [r["latency_ms"][mode]["p95_ms"] for r in with_latency],
            ":",
            color=axes.lines[-1].get_color(),
            alpha=0.7,
        )
    axes.set(
        xscale="log",
        yscale="log",
        xlabel="chunks",
        ylabel="latency (ms)",
        title="Query latency by corpus size (p50 solid, p95 dotted)",
    )
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    path = out_dir / "latency-by-size.png"
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def _recall_by_ef_search(runs: list[dict[str, Any]], out_dir: Path) -> Path:
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for run in runs:
        if "recall_at_10_by_ef_search" in run:
            recall = run["recall_at_10_by_ef_search"]
            efs = sorted(recall, key=int)
            axes.plot(
                [int(e) for e in efs],
                [recall[e] for e in efs],
                "o-",
                label=f"hfsearch vector, {run['chunks']:,} chunks",
            )
        storage = run.get("hnsw", {}).get("storage", {})
        for kind, style in (("vector", "s--"), ("halfvec", "^--")):
            if kind in storage:
                recall = storage[kind]["recall_at_10_by_ef_search"]
                efs = sorted(recall, key=int)
                axes.plot(
                    [int(e) for e in efs],
                    [recall[e] for e in efs],
                    style,
                    alpha=0.7,
                    label=f"bare HNSW top-10 ({kind}), {run['chunks']:,} chunks",
                )
    axes.axhline(0.98, color="grey", linewidth=0.8, linestyle=":")
    ef_values = sorted({int(e) for r in runs for e in r.get("recall_at_10_by_ef_search", {})})
    axes.set_xticks(ef_values, [str(e) for e in ef_values])
    axes.minorticks_off()
    axes.set(
        xscale="log",
        xlabel="hnsw.ef_search",
        ylabel="recall@10 against exact search",
        title="HNSW recall@10 by ef_search",
    )
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7)
    path = out_dir / "recall-by-ef-search.png"
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path

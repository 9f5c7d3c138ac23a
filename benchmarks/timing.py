"""Latency percentiles, shared by hfsearch's benchmark and the peers' (standard library only:
the peers run it in their own virtual environments)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Latency:
    p50_ms: float
    p95_ms: float
    p99_ms: float


def latency(run: Callable[[int], object], count: int) -> Latency:
    """Run queries 0..count-1 once to warm the caches, then once more timed."""
    for i in range(count):
        run(i)
    times = []
    for i in range(count):
        started = time.perf_counter()
        run(i)
        times.append((time.perf_counter() - started) * 1000)
    return percentiles(times)


def percentiles(times_ms: list[float]) -> Latency:
    # inclusive: within the measured times (the default method extrapolates past the
    # slowest one when there are few: a p99 above the max)
    cuts = statistics.quantiles(times_ms, n=100, method="inclusive")
    return Latency(round(cuts[49], 2), round(cuts[94], 2), round(cuts[98], 2))

"""A bounded HTTP load test: N concurrent clients search for D seconds, then stop.

    python -m benchmarks.load_test --url http://127.0.0.1:8000 --clients 8 --seconds 60

Only for a service of ours on loopback. Each client sends the next query of the dev set as
soon as its last answer is in; the report counts errors (any status but 200, or a failed
request) and gives latency percentiles and throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from dataclasses import asdict, dataclass
from itertools import cycle
from pathlib import Path
from urllib.parse import urlparse

import httpx

QUERIES = Path(__file__).resolve().parent.parent / "data" / "queries-dev.jsonl"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class LoadReport:
    clients: int
    seconds: float
    requests: int
    errors: int
    requests_per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float


async def run(url: str, clients: int, seconds: float, params: dict[str, str]) -> LoadReport:
    if urlparse(url).hostname not in LOOPBACK:
        raise SystemExit(f"refusing to load-test {url}: loopback addresses only")
    queries = [json.loads(line)["query"] for line in QUERIES.read_text().splitlines() if line]
    latencies: list[float] = []
    errors = 0
    stop_at = time.monotonic() + seconds

    async def client(number: int, http: httpx.AsyncClient) -> None:
        nonlocal errors
        for query in cycle(queries[number:] + queries[:number]):
            if time.monotonic() >= stop_at:
                return
            started = time.perf_counter()
            try:
                response = await http.get(f"{url}/search", params={"q": query, **params})
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append((time.perf_counter() - started) * 1000)
            errors += not ok

    began = time.monotonic()
    async with httpx.AsyncClient(timeout=30) as http:
        await asyncio.gather(*(client(n, http) for n in range(clients)))
    elapsed = time.monotonic() - began
    # inclusive: within the measured times (the default method extrapolates past the
    # slowest one when there are few: a p99 above the max)
    cuts = (
        statistics.quantiles(latencies, n=100, method="inclusive")
        if len(latencies) > 1
        else [latencies[0]] * 99
    )
    return LoadReport(
        clients=clients,
        seconds=round(elapsed, 1),
        requests=len(latencies),
        errors=errors,
        requests_per_second=round(len(latencies) / elapsed, 1),
        p50_ms=round(cuts[49], 1),
        p95_ms=round(cuts[94], 1),
        p99_ms=round(cuts[98], 1),
        max_ms=round(max(latencies), 1),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--mode", choices=["hybrid", "lexical", "vector"], default=None)
    args = parser.parse_args()
    params = {"k": "10", **({"mode": args.mode} if args.mode else {})}
    report = asyncio.run(run(args.url, args.clients, args.seconds, params))
    print(json.dumps(asdict(report), indent=2))


if __name__ == "__main__":
    main()

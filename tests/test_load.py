"""The load test harness, run briefly against the real service: no request may fail."""

from __future__ import annotations

import asyncio

from helpers import served

from benchmarks.load_test import run
from hfsearch.service import ServiceConfig, create_app


def test_a_short_load_has_no_errors(search_db_url: str, minilm: str) -> None:
    config = ServiceConfig(database_url=search_db_url, embedding_model=minilm, max_connections=4)
    with served(create_app(config)) as url:
        report = asyncio.run(run(url, clients=8, seconds=4, params={"k": "10"}))
    assert report.requests > 20 and report.errors == 0
    assert report.p50_ms <= report.p95_ms <= report.p99_ms <= report.max_ms

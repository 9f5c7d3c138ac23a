"""Measuring search quality: nDCG@10, Recall@10 and MRR@10 per mode, with ir-measures.

A query file has one JSON object per line:
    {"qid": "q1", "query": "how do I quantize a model?", "relevant": {"slug#3": 2, "slug#4": 1}}
Chunks are named `slug#position` (see SearchHit.key); grades are 1 (relevant) or more.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import ir_measures
from ir_measures import RR, R, nDCG

from hfsearch.errors import SourceError
from hfsearch.search import SearchPage

METRICS = {"nDCG@10": nDCG @ 10, "Recall@10": R @ 10, "MRR@10": RR @ 10}


@dataclass(frozen=True)
class JudgedQuery:
    qid: str
    query: str
    relevant: dict[str, int]


def read_queries(path: Path, *, judged: bool = True) -> list[JudgedQuery]:
    """Read a query file, refusing a bad line with its number."""
    queries: list[JudgedQuery] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            query = JudgedQuery(
                str(item["qid"]), str(item["query"]), dict(item.get("relevant", {}))
            )
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise SourceError(
                f'{path}: line {number}: expected {{"qid", "query", "relevant"}}: {exc}'
            ) from exc
        if judged and not query.relevant:
            raise SourceError(f"{path}: line {number}: query {query.qid} has no relevant chunk")
        queries.append(query)
    return queries


def evaluate(
    queries: Sequence[JudgedQuery], run_query: Callable[[str], SearchPage]
) -> dict[str, float]:
    """The mean of each metric over the queries, for one way of searching."""
    qrels = {q.qid: q.relevant for q in queries}
    run: dict[str, dict[str, float]] = {}
    for q in queries:
        hits = run_query(q.query).hits
        # Scores that keep our order exactly, whatever ties the raw scores have.
        run[q.qid] = {hit.key: float(len(hits) - i) for i, hit in enumerate(hits)}
    measured = ir_measures.calc_aggregate(list(METRICS.values()), qrels, run)
    return {name: float(measured[measure]) for name, measure in METRICS.items()}

"""The search, similar and eval commands, on the shared embedded sample."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import REPO
from typer.testing import CliRunner, Result

from hfsearch.cli import app


@pytest.fixture(scope="module")
def env(search_db_url: str, minilm: str) -> dict[str, str]:
    return {"HFSEARCH_DATABASE_URL": search_db_url, "HFSEARCH_EMBEDDING_MODEL": minilm}


def hfsearch(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(app, list(args), env=env)


def test_search_json_carries_every_field(env: dict[str, str]) -> None:
    result = hfsearch(env, "search", "speed up inference", "-k", "4", "--json")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert [h["rank"] for h in hits] == [1, 2, 3, 4]
    for field in ("score", "chunk_id", "slug", "title", "url", "text", "snippet", "key"):
        assert all(field in h for h in hits), field
    assert any(h["lexical_rank"] and h["vector_rank"] for h in hits)  # hybrid by default


def test_search_filters_and_modes_from_the_command_line(env: dict[str, str]) -> None:
    args = ["search", "model", "--mode", "lexical", "--tag", "llm", "--tag", "guide", "--all-tags"]
    hits = json.loads(hfsearch(env, *args, "--since", "2023-09-13", "-k", "50", "--json").stdout)
    assert hits and all({"llm", "guide"} <= set(h["tags"]) for h in hits)
    assert all(h["published_on"] >= "2023-09-13" and h["vector_rank"] is None for h in hits)
    by_post = json.loads(hfsearch(env, "search", "benchmark", "--by-post", "--json").stdout)
    assert len({h["slug"] for h in by_post}) == len(by_post)


def test_batch_mode_prints_a_line_per_query(env: dict[str, str], tmp_path: Path) -> None:
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"qid": "a", "query": "iscrowd"}\n{"qid": "b", "query": "VQGAN"}\n')
    result = hfsearch(env, "search", "--queries", str(queries), "--json", "-k", "3")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["qid"] for line in lines] == ["a", "b"]
    assert lines[0]["results"][0]["key"] == "object-detection-leaderboard#4"
    assert lines[1]["results"][0]["key"] == "wuerstchen#0"


def test_human_output_shows_why_and_the_next_page(env: dict[str, str]) -> None:
    result = hfsearch(env, "search", "attention", "-k", "2")
    assert result.exit_code == 0
    assert "results for 'attention'" in result.stdout and "vector #" in result.stdout
    assert "next page: --cursor" in result.stderr


def test_similar_command(env: dict[str, str]) -> None:
    hits = json.loads(hfsearch(env, "similar", "1", "-k", "3", "--json").stdout)
    assert len(hits) == 3 and 1 not in [h["chunk_id"] for h in hits]


def test_eval_reports_every_mode_on_the_dev_queries(env: dict[str, str]) -> None:
    result = hfsearch(env, "eval", str(REPO / "data" / "queries-dev.jsonl"), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["queries"] >= 40
    assert set(report["modes"]) == {"hybrid", "lexical", "vector"}
    for scores in report["modes"].values():
        assert set(scores) == {"nDCG@10", "Recall@10", "MRR@10"}
        assert all(0 <= value <= 1 for value in scores.values())
    # The product's claim, on the dev set: fusing both sides beats either alone.
    modes = report["modes"]
    assert modes["hybrid"]["nDCG@10"] > max(modes["lexical"]["nDCG@10"], modes["vector"]["nDCG@10"])


def test_bad_query_file_names_the_line(env: dict[str, str], tmp_path: Path) -> None:
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"qid": "a", "query": "x", "relevant": {"k": 1}}\n{"query": "no id"}\n')
    result = hfsearch(env, "eval", str(queries))
    assert result.exit_code == 1 and "line 2" in result.stderr


def test_bad_option_values_are_refused_before_searching(env: dict[str, str]) -> None:
    assert hfsearch(env, "search", "x", "--mode", "fuzzy").exit_code == 2
    assert hfsearch(env, "search", "x", "-k", "0").exit_code == 2
    refused = hfsearch(env, "search", "x", "--cursor", "nonsense")
    assert refused.exit_code == 1 and "not a cursor" in refused.stderr


def test_embed_again_has_nothing_to_do(env: dict[str, str]) -> None:
    result = hfsearch(env, "embed")  # the model comes from HFSEARCH_EMBEDDING_MODEL
    assert result.exit_code == 0, result.output
    assert "0 chunks embedded" in result.stderr

"""The README's SQL and Python examples run as written, on a loaded database."""

from __future__ import annotations

import re

import pytest
from helpers import REPO

from hfsearch.database import connect
from hfsearch.loading import load_records
from hfsearch.sources import open_source
from hfsearch.validation import validate

README = (REPO / "README.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


@pytest.fixture
def loaded_db_url(db_url: str) -> str:
    source = open_source(str(REPO / "data" / "hf-blogs-sample.parquet"))
    with connect(db_url) as conn:
        load_records(conn, validate(source.name, source.rows, has_vectors=True))
    return db_url


def test_sql_examples_return_rows(loaded_db_url: str) -> None:
    statements = [s for block in blocks("sql") for s in block.split(";") if s.strip()]
    assert len(statements) == 3
    with connect(loaded_db_url) as conn:
        for statement in statements:
            assert conn.execute(statement).fetchall(), statement


def test_python_examples_run(
    loaded_db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HFSEARCH_DATABASE_URL", loaded_db_url)
    monkeypatch.chdir(REPO)
    search, load = blocks("python")
    exec(search, {})  # our own README
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 3 and all("Object Detection Leaderboard" in line for line in printed)
    exec(load, {})
    assert "LoadResult(rows=100" in capsys.readouterr().out

"""The command line, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from helpers import SAMPLE, SEED_EXPORT, fingerprint
from typer.testing import CliRunner, Result

from hfsearch.cli import app
from hfsearch.database import connect, embedded_status, stop_embedded

Run = Callable[..., Result]


@pytest.fixture
def run(db_url: str) -> Run:
    """Invoke `hfsearch ARGS...` in-process against the test's database."""

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(app, list(args), env={"HFSEARCH_DATABASE_URL": db_url})

    return invoke


def test_load_stats_and_search(run: Run, db_url: str) -> None:
    first = run("load", str(SAMPLE))
    assert first.exit_code == 0, first.output
    assert "posts 9 added" in first.stderr and "100 vectors written" in first.stderr

    stats = json.loads(run("stats", "--json").stdout)
    assert (stats["posts"], stats["chunks"]) == (9, 100)
    assert [(m["name"], m["dimensions"], m["vectors"]) for m in stats["models"]] == [
        ("dataset:unknown-768", 768, 100)
    ]
    assert stats["models"][0]["index"] in {i["name"] for i in stats["indexes"]}

    with connect(db_url) as conn:
        before = fingerprint(conn)
    second = run("load", str(SAMPLE))
    assert second.exit_code == 0 and "nothing changed" in second.stderr
    assert_unchanged(db_url, before)

    found = json.loads(run("search", "bitsandbytes quantization", "-k", "3", "--json").stdout)
    assert [r["rank"] for r in found] == [1, 2, 3]
    assert all("bitsandbytes" in r["text"].lower() for r in found)
    assert found[0]["score"] >= found[1]["score"] >= found[2]["score"]
    assert {"chunk_id", "slug", "title", "url", "snippet"} <= set(found[0])


@pytest.fixture
def loaded(run: Run, db_url: str) -> dict[str, object]:
    """The sample loaded through the CLI; returns the database's fingerprint."""
    assert run("load", str(SAMPLE)).exit_code == 0
    with connect(db_url) as conn:
        return fingerprint(conn)


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def assert_unchanged(db_url: str, before: dict[str, object]) -> None:
    with connect(db_url) as conn:
        assert fingerprint(conn) == before


def test_a_file_with_one_bad_vector_is_rejected_and_changes_nothing(
    run: Run, db_url: str, tmp_path: Path, loaded: dict[str, object]
) -> None:
    rows = pq.read_table(SAMPLE).to_pylist()
    rows[41]["embedding"] = rows[41]["embedding"][:-1]
    for row in rows:
        row["chunk"] += " (edited)"  # every row would change if it were loaded
    bad = write_jsonl(tmp_path / "bad.jsonl", rows)

    result = run("load", str(bad))
    assert result.exit_code == 1
    assert "row 42 (line 42), field 'embedding': has 767 numbers, expected 768" in result.stderr
    assert "nothing was loaded" in result.stderr
    assert "Traceback" not in result.output
    assert_unchanged(db_url, loaded)


BAD_INPUTS = {
    "missing field": ("title", None, "field 'title': missing"),
    "empty field": ("chunk", "", "field 'chunk': empty"),
    "wrong vector length": ("embedding", [0.5] * 100, "has 100 numbers, expected 768"),
    "NaN in vector": ("embedding", [float("nan")] * 768, "is not finite"),
    "infinity in vector": ("embedding", [float("inf")] * 768, "is not finite"),
    "unparseable date": ("date", "31/12/2023", "cannot read '31/12/2023' as a date"),
    "a chunk of several MB": ("chunk", "word " * 600_000, "longer than 1,000,000 bytes"),
    "tags of the wrong type": ("tags", {"a": 1}, "expected a comma-separated string or a list"),
}


def broken_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Files broken as a whole, with what the error must say."""
    rows = pq.read_table(SAMPLE).to_pylist()
    duplicate = write_jsonl(tmp_path / "dup.jsonl", [*rows, rows[5]])
    truncated = write_jsonl(tmp_path / "cut.jsonl", rows)
    truncated.write_bytes(truncated.read_bytes()[:-3000])
    cut_parquet = tmp_path / "cut.parquet"
    cut_parquet.write_bytes(SAMPLE.read_bytes()[: SAMPLE.stat().st_size // 2])
    no_url = tmp_path / "no-url.parquet"
    pq.write_table(pq.read_table(SAMPLE).drop_columns(["URL"]), no_url)
    return {
        "duplicate row": (duplicate, "row 101 (line 101), field 'chunk': same text as row 6"),
        "truncated JSONL": (truncated, "row 100 (line 100), field '(row)': not valid JSON"),
        "truncated Parquet": (cut_parquet, "not a readable Parquet file"),
        "missing column": (no_url, "missing column(s) URL"),
    }


@pytest.mark.parametrize(
    "case", ["duplicate row", "truncated JSONL", "truncated Parquet", "missing column"]
)
def test_each_broken_file_leaves_the_database_unchanged(
    run: Run, db_url: str, tmp_path: Path, loaded: dict[str, object], case: str
) -> None:
    path, message = broken_files(tmp_path)[case]
    result = run("load", str(path))
    assert result.exit_code == 1 and message in result.stderr, result.stderr
    assert_unchanged(db_url, loaded)


def test_skip_invalid_loads_the_good_rows_and_writes_the_bad_ones(
    run: Run, db_url: str, tmp_path: Path
) -> None:
    rows = pq.read_table(SAMPLE).to_pylist()
    rows[3]["date"] = "someday"
    rows[70]["embedding"] = rows[70]["embedding"][:5]
    bad = write_jsonl(tmp_path / "bad.jsonl", rows)
    rejects = tmp_path / "rejects.jsonl"

    result = run("load", str(bad), "--skip-invalid", str(rejects))
    assert result.exit_code == 0, result.output
    assert f"2 bad row(s) skipped, written with their reasons to {rejects}" in result.stderr
    lines = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [(line["row"], line["problems"][0]["field"]) for line in lines] == [
        (4, "date"),
        (71, "embedding"),
    ]
    assert lines[0]["fields"]["date"] == "someday"
    with connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM chunks").fetchone() == (98,)


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_each_bad_input_leaves_the_database_unchanged(
    run: Run, db_url: str, tmp_path: Path, loaded: dict[str, object], case: str
) -> None:
    field, value, message = BAD_INPUTS[case]
    rows = pq.read_table(SAMPLE).to_pylist()
    for row in rows:
        row["tags"] += ", changed"  # every post would change if the file were loaded
    rows[9][field] = value
    bad = write_jsonl(tmp_path / "bad.jsonl", rows)

    result = run("load", str(bad))
    assert result.exit_code == 1
    assert f"row 10 (line 10), field '{field}'" in result.stderr and message in result.stderr
    assert_unchanged(db_url, loaded)


def test_non_utf8_input_leaves_the_database_unchanged(
    run: Run, db_url: str, tmp_path: Path, loaded: dict[str, object]
) -> None:
    lines = SEED_EXPORT.read_bytes().split(b"\n")
    lines[26 + 8 * 5 + 6] += b" \xff\xfe"  # row 6's chunk
    bad = tmp_path / "export.txt"
    bad.write_bytes(b"\n".join(lines))

    result = run("load", str(bad))
    assert result.exit_code == 1
    assert "row 6 (lines 67-74), field 'chunk': not valid UTF-8" in result.stderr
    assert_unchanged(db_url, loaded)


def test_commands_before_migrate_say_what_to_do(empty_db_url: str) -> None:
    result = CliRunner().invoke(app, ["stats"], env={"HFSEARCH_DATABASE_URL": empty_db_url})
    assert result.exit_code == 1
    assert "run `hfsearch migrate`" in result.stderr


def test_unreachable_database_is_a_clear_error() -> None:
    url = "postgresql://nobody@127.0.0.1:1/nothing?connect_timeout=2"
    result = CliRunner().invoke(app, ["stats"], env={"HFSEARCH_DATABASE_URL": url})
    assert result.exit_code == 1
    assert "cannot connect to the database" in result.stderr
    assert "Traceback" not in result.output


def test_missing_file_is_a_clear_error(run: Run) -> None:
    result = run("load", "no/such/file.parquet")
    assert result.exit_code == 1 and "no/such/file.parquet: no such file" in result.stderr


def test_convert_rebuilds_the_shipped_sample_from_the_viewer_export(tmp_path: Path) -> None:
    output = tmp_path / "sample.parquet"
    result = CliRunner().invoke(app, ["convert", str(SEED_EXPORT), str(output)])
    assert result.exit_code == 0, result.output
    assert pq.read_table(output).equals(pq.read_table(SAMPLE))


def test_every_command_explains_itself() -> None:
    for command in (["--help"], ["load", "--help"], ["db", "--help"], ["stats", "--help"]):
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 0
    assert "HFSEARCH_DATABASE_URL" in CliRunner().invoke(app, ["--help"]).stdout
    assert "--vectors-model" in CliRunner().invoke(app, ["load", "--help"]).stdout


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "hfsearch-data"
    yield path
    stop_embedded(path)


def test_embedded_server_is_the_default_and_outlives_each_command(data_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "HFSEARCH_DATABASE_URL"}
    env["HFSEARCH_DATA_DIR"] = str(data_dir)
    env["HFSEARCH_SHARED_BUFFERS"] = "160MB"

    def hfsearch(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hfsearch", *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    assert "not created yet" in hfsearch("db", "status").stdout
    migrated = hfsearch("migrate")
    assert migrated.returncode == 0, migrated.stderr
    status = embedded_status(data_dir)
    assert status.running and status.pid is not None  # still up after the command ended
    assert hfsearch("load", str(SAMPLE)).returncode == 0
    stats = json.loads(hfsearch("stats", "--json").stdout)
    assert (stats["posts"], stats["chunks"]) == (9, 100)
    assert hfsearch("db", "url").stdout.strip() == status.url
    assert "shared_buffers: 160MB" in hfsearch("db", "status").stdout

    stopped = hfsearch("db", "stop")
    assert stopped.returncode == 0 and "stopped" in stopped.stderr
    assert "stopped" in hfsearch("db", "status").stdout
    # The data survives a restart.
    assert json.loads(hfsearch("stats", "--json").stdout)["chunks"] == 100


def test_unreachable_hub_is_a_clear_error(db_url: str) -> None:
    env = {**os.environ, "HFSEARCH_DATABASE_URL": db_url, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "hfsearch", "load", "hf://nobody-here/no-such-dataset"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "hf://nobody-here/no-such-dataset: cannot load from the Hugging Face Hub" in done.stderr
    assert "Traceback" not in done.stderr

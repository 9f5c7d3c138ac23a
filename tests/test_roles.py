"""Least privilege: the reader can search and nothing more; the writer can load and embed."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import psycopg
import pytest
from helpers import SAMPLE, as_role, fingerprint, login_role
from typer.testing import CliRunner

from hfsearch import SearchClient
from hfsearch.cli import app
from hfsearch.database import connect

WRITES = [
    "INSERT INTO posts (slug, title, url, published_on, authors, tags)"
    " VALUES ('x', 'x', 'x', '2024-01-01', '{}', '{}')",
    "UPDATE chunks SET position = position",
    "DELETE FROM embeddings",
    "TRUNCATE lexeme_stats",
    "CREATE TABLE stray (id int)",
    "CREATE INDEX stray ON chunks (position)",
    "SELECT hfsearch_refresh_stats()",
    "SELECT hfsearch_ensure_vector_index(1)",
    "DROP TABLE posts",
]


def test_the_reader_searches_and_cannot_write(
    reader_url: str, search_db_url: str, minilm: str
) -> None:
    with SearchClient(reader_url, embedding_model=minilm) as client:
        assert client.search("gaussian splatting", k=3).hits  # hybrid: both sides
        assert client.similar(1, k=2).hits
    with connect(search_db_url) as admin:
        before = fingerprint(admin)
    with connect(reader_url) as conn:
        assert conn.execute("SELECT count(*) FROM chunks").fetchone() == (100,)
        for statement in WRITES:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
    with connect(search_db_url) as admin:
        assert fingerprint(admin) == before


def test_loading_as_the_reader_is_refused_clearly(reader_url: str) -> None:
    result = CliRunner().invoke(
        app, ["load", str(SAMPLE)], env={"HFSEARCH_DATABASE_URL": reader_url}
    )
    assert result.exit_code == 1
    assert "permission denied" in result.stderr and "hfsearch_writer" in result.stderr
    assert "Traceback" not in result.output


def test_the_writer_loads_and_embeds(server_url: str, db_url: str, minilm: str) -> None:
    writer_url = as_role(db_url, login_role(server_url, "hfsearch_writer"))
    env = {**os.environ, "HFSEARCH_DATABASE_URL": writer_url}
    for args in (["load", str(SAMPLE)], ["embed", "--model", minilm]):
        done = subprocess.run(
            [sys.executable, "-m", "hfsearch", *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    with connect(writer_url) as conn:
        indexes = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE indexname LIKE 'embeddings_model_%'"
        ).fetchall()
        assert sorted(indexes) == [("embeddings_model_1_hnsw",), ("embeddings_model_2_hnsw",)]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DROP TABLE chunks")


def test_secrets_stay_out_of_errors() -> None:
    url = "postgresql://someone:s3cret-pa55@127.0.0.1:1/nothing?connect_timeout=2"
    result = CliRunner().invoke(app, ["stats"], env={"HFSEARCH_DATABASE_URL": url})
    assert result.exit_code == 1 and "cannot connect" in result.stderr
    assert "s3cret-pa55" not in result.output


def test_create_login_makes_a_reader_idempotently(db_url: str) -> None:
    name = f"t_login_{uuid.uuid4().hex[:8]}"
    env = {"HFSEARCH_DATABASE_URL": db_url, "HFSEARCH_LOGIN_PASSWORD": "a secret"}
    first = CliRunner().invoke(app, ["db", "create-login", name, "--role", "reader"], env=env)
    again = CliRunner().invoke(app, ["db", "create-login", name, "--role", "reader"], env=env)
    assert first.exit_code == again.exit_code == 0
    assert f"created login {name}" in first.stderr and f"updated login {name}" in again.stderr
    assert "a secret" not in first.output + again.output
    with connect(db_url) as conn:
        member = conn.execute(
            "SELECT pg_has_role(%s, 'hfsearch_reader', 'MEMBER'),"
            " pg_has_role(%s, 'hfsearch_writer', 'MEMBER'),"
            " (SELECT rolpassword IS NOT NULL FROM pg_authid WHERE rolname = %s)",
            (name, name, name),
        ).fetchone()
    assert member == (True, False, True)
    with (
        connect(as_role(db_url, name)) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("DELETE FROM posts")
    bad = CliRunner().invoke(app, ["db", "create-login", name, "--role", "admin"], env=env)
    assert bad.exit_code == 1 and "reader or writer" in bad.stderr

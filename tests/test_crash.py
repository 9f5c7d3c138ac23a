"""kill -9 the loader and the embedder at random moments: nothing half-done survives, and
running the job again ends with exactly what an uninterrupted run gives."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
from helpers import EXTENDED_CORPUS, SAMPLE, consistency_problems, content

from hfsearch import migrations
from hfsearch.client import cached_embedder
from hfsearch.database import Connection, connect
from hfsearch.embedding import embed_chunks
from hfsearch.loading import load_records
from hfsearch.sources import open_source
from hfsearch.validation import validate

KILLS = 3
rng = random.Random(20261125)  # reproducible moments


def run_and_kill(url: str, args: list[str], after: float) -> bool:
    """Start `hfsearch ARGS`, kill -9 it after `after` seconds; False if it finished first."""
    env = {**os.environ, "HFSEARCH_DATABASE_URL": url}
    process = subprocess.Popen(
        [sys.executable, "-m", "hfsearch", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + after
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return True


def test_killed_loader(db_url: str, empty_db_url: str) -> None:
    killed = 0
    for _ in range(KILLS):
        killed += run_and_kill(db_url, ["load", str(EXTENDED_CORPUS)], rng.uniform(0.5, 3.0))
        with connect(db_url) as conn:
            assert consistency_problems(conn) == []
            (chunks,) = conn.execute("SELECT count(*) FROM chunks").fetchone()
            assert chunks in (0, 441)  # one transaction: all or nothing
    assert killed, "no run was interrupted: the kill moments are too late"

    finish = subprocess.run(
        [sys.executable, "-m", "hfsearch", "load", str(EXTENDED_CORPUS)],
        env={**os.environ, "HFSEARCH_DATABASE_URL": db_url},
        capture_output=True,
        check=False,
    )
    assert finish.returncode == 0

    migrations.upgrade(empty_db_url)
    source = open_source(str(EXTENDED_CORPUS))
    with connect(empty_db_url) as reference:
        load_records(reference, validate(source.name, source.rows, has_vectors=True))
        expected = content(reference)
    with connect(db_url) as conn:
        assert content(conn) == expected


def test_killed_embedder(db_url: str, empty_db_url: str, minilm: str) -> None:
    source = open_source(str(SAMPLE))
    records = validate(source.name, source.rows, has_vectors=True)
    with connect(db_url) as conn:
        load_records(conn, records)

    embed = ["embed", "--model", minilm, "--batch-size", "10"]
    killed, partial_runs = 0, []
    for _ in range(KILLS):
        killed += run_and_kill(db_url, embed, rng.uniform(5.0, 11.0))
        with connect(db_url) as conn:
            assert consistency_problems(conn) == []
            partial_runs.append(conn.execute("SELECT count(*) FROM embeddings").fetchone())
    assert killed, "no run was interrupted: the kill moments are too late"

    with connect(db_url) as conn:
        embed_chunks(conn, cached_embedder(minilm))
        resumed = content(conn)
    migrations.upgrade(empty_db_url)
    with connect(empty_db_url) as reference:
        load_records(reference, records)
        embed_chunks(reference, cached_embedder(minilm))
        expected = content(reference)
    assert resumed["posts"] == expected["posts"] and resumed["chunks"] == expected["chunks"]
    # The same vectors; batches of other sizes may differ in the last float bits.
    with connect(db_url) as conn, connect(empty_db_url) as reference:
        got, want = vectors_by_key(conn), vectors_by_key(reference)
    assert got.keys() == want.keys()
    assert all(np.allclose(got[key], want[key], atol=1e-5) for key in want)


def vectors_by_key(conn: Connection) -> dict[tuple[str, int, int], np.ndarray]:
    rows = conn.execute(
        "SELECT p.slug, c.position, e.segment, e.embedding FROM embeddings e"
        " JOIN chunks c ON c.id = e.chunk_id JOIN posts p ON p.id = c.post_id"
        " JOIN embedding_models m ON m.id = e.model_id WHERE m.name <> 'dataset:unknown-768'"
    ).fetchall()
    return {
        (slug, position, segment): vector.to_numpy() for slug, position, segment, vector in rows
    }

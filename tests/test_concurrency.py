"""Loaders, embedders and searches at the same time: no duplicates, no errors, answers."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from helpers import EXTENDED_CORPUS, SAMPLE, consistency_problems, content

from hfsearch import SearchClient
from hfsearch.client import cached_embedder
from hfsearch.database import connect
from hfsearch.embedding import embed_chunks
from hfsearch.loading import load_records
from hfsearch.sources import open_source
from hfsearch.validation import ChunkRecord, validate


def records_of(path: Path) -> list[ChunkRecord]:
    source = open_source(str(path))
    return validate(source.name, source.rows, has_vectors=source.has_vectors)


def hfsearch_process(url: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "HFSEARCH_DATABASE_URL": url}
    return subprocess.Popen(
        [sys.executable, "-m", "hfsearch", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_loaders_on_the_same_file_at_once(db_url: str, empty_db_url: str) -> None:
    loaders = [hfsearch_process(db_url, "load", str(SAMPLE)) for _ in range(2)]
    outcomes = [loader.communicate(timeout=120) for loader in loaders]
    assert [loader.returncode for loader in loaders] == [0, 0], outcomes
    assert sum("nothing changed" in err for _, err in outcomes) == 1  # they took turns

    from hfsearch import migrations

    migrations.upgrade(empty_db_url)
    with connect(empty_db_url) as alone:
        load_records(alone, records_of(SAMPLE))
        expected = content(alone)
    with connect(db_url) as conn:
        assert content(conn) == expected  # no duplicates, nothing missing
        assert consistency_problems(conn) == []


def searching_while(url: str, work: Callable[[], object], model: str | None = None) -> list[str]:
    """Search in a loop on another thread while `work` runs; return what went wrong."""
    failures: list[str] = []
    done = threading.Event()

    def search_loop() -> None:
        with SearchClient(url, embedding_model=model) as client:
            answered = 0
            while not done.is_set() or answered == 0:
                try:
                    client.search("training large models", k=5)
                    answered += 1
                except Exception as exc:  # any failure is the finding
                    failures.append(repr(exc))
            if answered < 2:
                failures.append(f"only {answered} searches answered")

    searcher = threading.Thread(target=search_loop)
    searcher.start()
    try:
        work()
    finally:
        done.set()
        searcher.join(timeout=120)
    return failures


def test_searches_keep_answering_during_loads(db_url: str) -> None:
    with connect(db_url) as conn:
        load_records(conn, records_of(SAMPLE))
    extended = records_of(EXTENDED_CORPUS)

    def load_twice() -> None:
        with connect(db_url) as conn:
            load_records(conn, extended)  # indexes stay live
            # A new version of one post, one chunk shorter: a removal under way too.
            first_of_moe = next(r.row for r in extended if r.post.slug == "moe")
            result = load_records(conn, [r for r in extended if r.row != first_of_moe])
            assert result.chunks_removed == 1

    assert searching_while(db_url, load_twice) == []
    with connect(db_url) as conn:
        assert consistency_problems(conn) == []


def test_a_bulk_load_makes_searches_wait_not_fail(db_url: str) -> None:
    with connect(db_url) as conn:
        load_records(conn, records_of(SAMPLE)[:10])

    def bulk_load() -> None:
        with connect(db_url) as conn:
            result = load_records(conn, records_of(EXTENDED_CORPUS), bulk_threshold=100)
            assert "ix_postings_lexeme_chunk_id" in result.indexes_built  # the bulk path ran

    assert searching_while(db_url, bulk_load) == []


def test_embedding_during_searches_and_two_embedders_at_once(
    db_url: str, minilm: str, tmp_path: Path
) -> None:
    with connect(db_url) as conn:
        load_records(conn, records_of(SAMPLE))
    # The same weights under a second name: a new model to embed while MiniLM serves.
    second = tmp_path / "second-model"
    second.symlink_to(minilm, target_is_directory=True)
    embedder = cached_embedder(str(second))

    def embed_twice_at_once() -> None:
        errors: list[str] = []

        def embed() -> None:
            try:
                with connect(db_url) as conn:
                    embed_chunks(conn, embedder, batch_chunks=20)
            except Exception as exc:
                errors.append(repr(exc))

        threads = [threading.Thread(target=embed) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        assert errors == []

    assert searching_while(db_url, embed_twice_at_once, model=None) == []
    with connect(db_url) as conn:
        assert consistency_problems(conn) == []
        counts = conn.execute(
            "SELECT count(DISTINCT e.chunk_id) FROM embeddings e JOIN embedding_models m"
            " ON m.id = e.model_id WHERE m.name = %s",
            (str(second),),
        ).fetchone()
    assert counts == (100,)


def test_a_load_that_removes_chunks_while_they_are_being_embedded(db_url: str, minilm: str) -> None:
    records = records_of(SAMPLE)
    with connect(db_url) as conn:
        load_records(conn, records)
    gone = [r for r in records if r.post.slug == "inference-pro"]
    removed = []

    def load_between_batches(done: int) -> None:
        if not removed:  # after the first batch: a new version of the post, with no chunks
            with connect(db_url) as other:
                kept = [r for r in records if r.post.slug != "inference-pro"] + gone[:1]
                removed.append(load_records(other, kept).chunks_removed)

    with connect(db_url) as conn:
        result = embed_chunks(
            conn, cached_embedder(minilm), batch_chunks=10, progress=load_between_batches
        )
        assert removed == [len(gone) - 1]
        assert consistency_problems(conn) == []
        (embedded,) = conn.execute(
            "SELECT count(DISTINCT chunk_id) FROM embeddings WHERE model_id = 2"
        ).fetchone()
    assert embedded == 100 - removed[0]
    assert result.chunks == 100  # it meant to embed them all, and skipped the removed ones


def test_a_bulk_load_waits_for_a_search_under_way_without_deadlock(db_url: str) -> None:
    """A search holds chunks (its own statement reads them) before its sides read postings and
    embeddings; a bulk load that locked postings first, waiting for chunks, deadlocked with it."""
    with connect(db_url) as conn:
        load_records(conn, records_of(SAMPLE)[:10])
    loaded: list[object] = []

    def bulk_load() -> None:
        with connect(db_url) as conn:
            loaded.append(load_records(conn, records_of(EXTENDED_CORPUS), bulk_threshold=100))

    with connect(db_url) as search, connect(db_url) as watcher:
        search.execute("BEGIN")
        search.execute("SELECT count(*) FROM chunks")  # a search's statement under way
        loader = threading.Thread(target=bulk_load)
        loader.start()
        waiting = (
            "SELECT count(*) > 0 FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        for _ in range(600):  # until the load waits for the search's lock on chunks
            if not loader.is_alive() or watcher.execute(waiting).fetchone() == (True,):
                break
            time.sleep(0.05)
        search.execute("SET lock_timeout = '10s'")
        # The search's sides: they must not wait for the load, which waits for the search.
        search.execute("SELECT count(*) FROM postings")
        search.execute("SELECT count(*) FROM embeddings")
        search.execute("COMMIT")
        loader.join(timeout=120)
    assert len(loaded) == 1

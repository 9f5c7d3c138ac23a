"""Loading into a real PostgreSQL: counts, idempotence, per-post sync, vectors, indexes."""

from __future__ import annotations

import dataclasses
import json
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from helpers import (
    EXTENDED_CORPUS,
    SAMPLE,
    SEED_EXPORT,
    debug_notices,
    fingerprint,
    row_versions,
)

from hfsearch.database import Connection
from hfsearch.errors import ModelMismatchError
from hfsearch.loading import load_records
from hfsearch.sources import open_source
from hfsearch.validation import ChunkRecord, ValidationError, validate, validated


def records_of(spec: str) -> list[ChunkRecord]:
    source = open_source(spec)
    return validate(source.name, source.rows, has_vectors=source.has_vectors)


@pytest.fixture(scope="module")
def sample() -> list[ChunkRecord]:
    return records_of(str(SAMPLE))


def index_definitions(conn: Connection) -> dict[str, str]:
    rows = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
    ).fetchall()
    return dict(rows)


def test_sample_loads_posts_chunks_and_vectors(conn: Connection, sample: list[ChunkRecord]) -> None:
    result = load_records(conn, sample)
    assert (result.posts_added, result.chunks_added, result.vectors_written) == (9, 100, 100)
    assert result.vectors_model == "dataset:unknown-768"
    assert conn.execute("SELECT count(*) FROM posts").fetchone() == (9,)
    assert conn.execute("SELECT count(*) FROM chunks").fetchone() == (100,)
    assert conn.execute(
        "SELECT m.name, m.dimensions, count(*), min(vector_dims(e.embedding))"
        " FROM embeddings e JOIN embedding_models m ON m.id = e.model_id GROUP BY m.id"
    ).fetchall() == [("dataset:unknown-768", 768, 100, 768)]
    assert "embeddings_model_1_hnsw" in result.indexes_built
    assert (
        "USING hnsw (((embedding)::vector(768)) vector_cosine_ops)"
        " WITH (m='24', ef_construction='128') WHERE (model_id = 1)"
        in (index_definitions(conn)["embeddings_model_1_hnsw"])
    )


def test_the_vector_index_is_built_by_parallel_workers(
    conn: Connection, sample: list[ChunkRecord]
) -> None:
    """Out-of-line vectors leave `embeddings` a small heap, from which PostgreSQL would plan a
    one-core HNSW build (revision 0005's storage parameter)."""
    requests = debug_notices(conn, "building index")
    load_records(conn, sample)
    workers = int(conn.execute("SHOW max_parallel_maintenance_workers").fetchone()[0])  # type: ignore[index]
    assert workers > 0
    assert any(
        '"embeddings_model_1_hnsw"' in request
        and f"with request for {workers} parallel workers" in request
        for request in requests
    ), requests


def test_posts_hold_parsed_dates_tag_arrays_and_text_as_given(
    conn: Connection, sample: list[ChunkRecord]
) -> None:
    load_records(conn, sample)
    row = conn.execute(
        "SELECT published_on::text, tags, authors, url FROM posts WHERE slug = %s",
        ("overview-quantization-transformers",),
    ).fetchone()
    assert row == (
        "2023-09-12",
        ["llm", "optimization", "quantization", "comparison", "bitsandbytes", "gptq"],
        ["ybelkada"],
        "https://huggingface.co/blog/overview-quantization-transformers",
    )
    # The tags index answers array containment.
    tagged = conn.execute("SELECT count(*) FROM posts WHERE tags @> ARRAY['gptq']").fetchone()
    assert tagged == (1,)
    stored = conn.execute("SELECT text FROM chunks ORDER BY id").fetchall()
    assert [text for (text,) in stored] == [r.text for r in sample]


def test_full_text_vector_includes_the_title(conn: Connection, sample: list[ChunkRecord]) -> None:
    load_records(conn, sample)
    # "Würstchen" is in the title of the wuerstchen post, so every chunk of it matches.
    slug = "wuerstchen"
    title = next(r.post.title for r in sample if r.post.slug == slug)
    matching = conn.execute(
        "SELECT count(*) FROM chunks c JOIN posts p ON p.id = c.post_id"
        " WHERE p.slug = %s AND c.search_vector @@ plainto_tsquery('english', %s)",
        (slug, title),
    ).fetchone()
    assert matching == (sum(r.post.slug == slug for r in sample),)


def test_loading_the_same_data_twice_writes_nothing(
    conn: Connection, sample: list[ChunkRecord]
) -> None:
    load_records(conn, sample)
    before, versions = fingerprint(conn), row_versions(conn)
    again = load_records(conn, sample)
    assert not again.changed
    assert fingerprint(conn) == before
    assert row_versions(conn) == versions  # not one row rewritten


def test_viewer_export_and_converted_parquet_load_the_same(
    conn: Connection, sample: list[ChunkRecord]
) -> None:
    load_records(conn, sample)
    before = fingerprint(conn)
    assert not load_records(conn, records_of(str(SEED_EXPORT))).changed
    assert fingerprint(conn) == before


def replace_post(
    records: Sequence[ChunkRecord], slug: str, chunks: Sequence[ChunkRecord]
) -> list[ChunkRecord]:
    return [r for r in records if r.post.slug != slug] + list(chunks)


def test_reloading_a_changed_post_syncs_its_chunks_and_keeps_unchanged_ones(
    conn: Connection, sample: list[ChunkRecord]
) -> None:
    load_records(conn, sample)
    slug = "optimize-llm"
    old = [r for r in sample if r.post.slug == slug]
    kept_ids = conn.execute(
        "SELECT c.id FROM chunks c JOIN posts p ON p.id = c.post_id"
        " WHERE p.slug = %s AND c.position > 0 ORDER BY c.position",
        (slug,),
    ).fetchall()
    # New version of the post: first chunk dropped, the rest moved up, one new chunk at the end.
    new_chunk = dataclasses.replace(
        old[-1],
        text="A brand new closing section.",
        content_hash=b"\x01" * 32,
        position=len(old) - 1,
    )
    changed = [dataclasses.replace(r, position=r.position - 1) for r in old[1:]] + [new_chunk]
    result = load_records(conn, replace_post(sample, slug, changed))
    assert (result.chunks_removed, result.chunks_added, result.chunks_updated) == (
        1,
        1,
        len(old) - 1,
    )
    assert (result.posts_added, result.posts_updated) == (0, 0)
    now = conn.execute(
        "SELECT c.id, c.position, c.text FROM chunks c JOIN posts p ON p.id = c.post_id"
        " WHERE p.slug = %s ORDER BY c.position",
        (slug,),
    ).fetchall()
    assert [row[0] for row in now[:-1]] == [row[0] for row in kept_ids]  # same ids: vectors kept
    assert [row[1] for row in now] == list(range(len(old)))
    assert now[-1][2] == "A brand new closing section."
    assert conn.execute("SELECT count(*) FROM chunks").fetchone() == (100,)
    orphans = conn.execute(
        "SELECT count(*) FROM embeddings e"
        " LEFT JOIN chunks c ON c.id = e.chunk_id WHERE c.id IS NULL"
    ).fetchone()
    assert orphans == (0,)


def test_a_new_title_reaches_every_chunks_search_vector(
    conn: Connection, sample: list[ChunkRecord]
) -> None:
    load_records(conn, sample)
    slug = "gaussian-splatting"
    retitled = [
        dataclasses.replace(r, post=dataclasses.replace(r.post, title="Zebrafish holography"))
        for r in sample
        if r.post.slug == slug
    ]
    result = load_records(conn, replace_post(sample, slug, retitled))
    assert result.posts_updated == 1 and result.chunks_updated == len(retitled)
    matching = conn.execute(
        "SELECT count(*) FROM chunks WHERE search_vector @@ to_tsquery('english', 'zebrafish')"
    ).fetchone()
    assert matching == (len(retitled),)


def test_vectors_go_under_the_named_model_and_models_stay_apart(
    conn: Connection, sample: list[ChunkRecord]
) -> None:
    load_records(conn, sample)
    load_records(conn, sample, vectors_model="my-768-model")
    models = conn.execute(
        "SELECT m.name, count(e.*) FROM embedding_models m JOIN embeddings e ON e.model_id = m.id"
        " GROUP BY m.name ORDER BY m.name"
    ).fetchall()
    assert models == [("dataset:unknown-768", 100), ("my-768-model", 100)]
    hnsw = [name for name in index_definitions(conn) if name.endswith("_hnsw")]
    assert sorted(hnsw) == ["embeddings_model_1_hnsw", "embeddings_model_2_hnsw"]


def test_vectors_of_another_length_under_an_existing_model_change_nothing(
    conn: Connection, sample: list[ChunkRecord]
) -> None:
    load_records(conn, sample, vectors_model="some-model")
    before = fingerprint(conn)
    shorter = [dataclasses.replace(r, embedding=r.embedding[:384]) for r in sample]  # type: ignore[index]
    with pytest.raises(ModelMismatchError, match="'some-model' has 768-dimensional vectors"):
        load_records(conn, shorter, vectors_model="some-model")
    assert fingerprint(conn) == before


def test_the_database_refuses_a_vector_of_the_wrong_length(conn: Connection) -> None:
    conn.execute("INSERT INTO embedding_models (name, dimensions) VALUES ('m', 3)")
    conn.execute(
        "INSERT INTO posts (slug, title, url, published_on, authors, tags)"
        " VALUES ('s', 't', 'u', '2024-01-01', '{a}', '{}')"
    )
    conn.execute(
        "INSERT INTO chunks (post_id, position, text, content_hash, search_vector)"
        " SELECT id, 0, 'x', sha256('x'), to_tsvector('x') FROM posts"
    )
    with pytest.raises(Exception, match="ck_embeddings_length_matches_model"):
        conn.execute(
            "INSERT INTO embeddings (model_id, chunk_id, dimensions, embedding)"
            " SELECT 1, id, 3, '[1,2]' FROM chunks"
        )


def test_bulk_load_rebuilds_the_same_indexes(conn: Connection, sample: list[ChunkRecord]) -> None:
    before = index_definitions(conn)
    result = load_records(conn, sample, bulk_threshold=1)
    built = set(result.indexes_built)
    assert {"ix_postings_lexeme_chunk_id", "ix_chunks_post_id_position"} <= built
    after = index_definitions(conn)
    assert {k: v for k, v in after.items() if not k.endswith("_hnsw")} == before
    # A second bulk-sized load into a now full table keeps its indexes live instead.
    more = records_of(str(EXTENDED_CORPUS))[:50]
    assert load_records(conn, more, bulk_threshold=1).indexes_built == []
    assert conn.execute("SELECT count(*) FROM chunks").fetchone() == (150,)


def test_text_only_source_loads_without_vectors(
    conn: Connection, sample: list[ChunkRecord]
) -> None:
    result = load_records(conn, [dataclasses.replace(r, embedding=None) for r in sample])
    assert (result.chunks_added, result.vectors_written, result.vectors_model) == (100, 0, None)
    assert conn.execute("SELECT count(*) FROM embedding_models").fetchone() == (0,)


def test_extended_corpus_loads_beside_the_sample(
    conn: Connection, sample: list[ChunkRecord]
) -> None:
    load_records(conn, sample)
    result = load_records(conn, records_of(str(EXTENDED_CORPUS)), vectors_model="all-mpnet-base-v2")
    assert (result.posts_added, result.chunks_added, result.vectors_written) == (40, 441, 441)
    assert conn.execute("SELECT count(*) FROM chunks").fetchone() == (541,)


def test_a_stream_of_records_is_written_as_it_comes_and_none_is_held(conn: Connection) -> None:
    # A million records held at once took about 12 GB: the load must let each go once written.
    source = open_source(str(SAMPLE))
    yielded: list[weakref.ref[ChunkRecord]] = []
    most_alive = 0

    def stream() -> Iterator[ChunkRecord]:
        nonlocal most_alive
        for record in validated(source.name, source.rows, has_vectors=True):
            yielded.append(weakref.ref(record))
            most_alive = max(most_alive, sum(ref() is not None for ref in yielded))
            yield record

    result = load_records(conn, stream())
    assert (result.rows, result.chunks_added, result.vectors_written) == (100, 100, 100)
    assert len(yielded) == 100 and most_alive <= 3  # the one being written and its neighbours


def test_a_bad_row_late_in_a_stream_rolls_back_what_was_written_before_it(
    conn: Connection, sample: list[ChunkRecord], tmp_path: Path
) -> None:
    load_records(conn, sample[:10])
    before = fingerprint(conn)
    rows = pq.read_table(SAMPLE).to_pylist()
    rows[95]["embedding"] = rows[95]["embedding"][:-1]  # found wrong only after the last row
    bad = tmp_path / "bad.jsonl"
    bad.write_text("".join(json.dumps(row) + "\n" for row in rows))
    source = open_source(str(bad))
    with pytest.raises(ValidationError, match=r"row 96 .*has 767 numbers, expected 768"):
        load_records(conn, validated(source.name, source.rows, has_vectors=True))
    assert fingerprint(conn) == before

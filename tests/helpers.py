"""Assertions about database contents, shared by the tests."""

from __future__ import annotations

import math
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from hfsearch.database import Connection

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "hf-blogs-sample.parquet"
SEED_EXPORT = REPO.parent / "shared" / "seed" / "hf-blogs-text-embeddings.sample.txt"
EXTENDED_CORPUS = REPO.parent / "shared" / "corpus-extended" / "hf-blog-extended.jsonl"


def fingerprint(conn: Connection) -> dict[str, object]:
    """Counts and an md5 of every stored value: equal fingerprints mean equal contents."""
    queries = {
        "posts": "SELECT count(*), md5(coalesce(string_agg(p::text, '|' ORDER BY id), ''))"
        " FROM posts p",
        "chunks": "SELECT count(*), md5(coalesce(string_agg(c::text, '|' ORDER BY id), ''))"
        " FROM chunks c",
        "models": "SELECT count(*), md5(coalesce(string_agg(m.name || m.dimensions, '|'"
        " ORDER BY id), '')) FROM embedding_models m",
        "vectors": "SELECT count(*), md5(coalesce(string_agg(e::text, '|'"
        " ORDER BY model_id, chunk_id, segment), '')) FROM embeddings e",
    }
    return {name: conn.execute(query).fetchone() for name, query in queries.items()}


def row_versions(conn: Connection) -> list[tuple[object, ...]]:
    """Every row's physical version: unchanged if and only if no row was rewritten."""
    return conn.execute(
        "SELECT 'p', ctid::text, xmin::text FROM posts"
        " UNION ALL SELECT 'c', ctid::text, xmin::text FROM chunks"
        " UNION ALL SELECT 'e', ctid::text, xmin::text FROM embeddings"
        " UNION ALL SELECT 'm', ctid::text, xmin::text FROM embedding_models ORDER BY 1, 2"
    ).fetchall()


def content(conn: Connection) -> dict[str, object]:
    """The stored data named by keys, not ids: equal for two databases with the same content."""
    queries = {
        "posts": "SELECT md5(coalesce(string_agg(concat_ws('|', slug, title, url, published_on,"
        " authors, tags), '/' ORDER BY slug), '')), count(*) FROM posts",
        "chunks": "SELECT md5(coalesce(string_agg(concat_ws('|', p.slug, c.position,"
        " encode(c.content_hash, 'hex'), c.search_vector), '/' ORDER BY p.slug, c.position),"
        " '')), count(*) FROM chunks c JOIN posts p ON p.id = c.post_id",
        "vectors": "SELECT md5(coalesce(string_agg(concat_ws('|', m.name, p.slug, c.position,"
        " e.segment, e.embedding), '/' ORDER BY m.name, p.slug, c.position, e.segment), '')),"
        " count(*) FROM embeddings e JOIN embedding_models m ON m.id = e.model_id"
        " JOIN chunks c ON c.id = e.chunk_id JOIN posts p ON p.id = c.post_id",
    }
    return {name: conn.execute(query).fetchone() for name, query in queries.items()}


def consistency_problems(conn: Connection) -> list[str]:
    """What a crash must never leave behind."""
    checks = {
        "a post without chunks": "SELECT count(*) FROM posts p"
        " WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.post_id = p.id)",
        "a vector without its chunk": "SELECT count(*) FROM embeddings e"
        " WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = e.chunk_id)",
        "a vector of the wrong length": "SELECT count(*) FROM embeddings e"
        " JOIN embedding_models m ON m.id = e.model_id"
        " WHERE vector_dims(e.embedding) <> m.dimensions",
        "a chunk with gaps in its segments": "SELECT count(*) FROM ("
        " SELECT model_id, chunk_id FROM embeddings GROUP BY model_id, chunk_id"
        " HAVING max(segment) + 1 <> count(*)) gaps",
        "stale BM25 statistics": "SELECT count(*) FROM corpus_stats"
        " WHERE chunks <> (SELECT count(*) FROM chunks)",
    }
    problems = []
    for name, query in checks.items():
        row = conn.execute(query).fetchone()
        if row and row[0]:
            problems.append(f"{row[0]} x {name}")
    return problems


@contextmanager
def served(app: Any) -> Iterator[str]:
    """Run an ASGI app with uvicorn on a free loopback port, in a thread; yield its URL."""
    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the service did not start"
        time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def as_admin(server_url: str, statement: sql.Composable) -> None:
    """Run one statement outside a transaction (CREATE DATABASE needs that), as the superuser."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(statement)


def login_role(server_url: str, group: str) -> str:
    """A new login role in `group` (hfsearch_reader or hfsearch_writer); returns its name."""
    name = f"t_{group.removeprefix('hfsearch_')}_{uuid.uuid4().hex[:8]}"
    as_admin(
        server_url,
        sql.SQL("CREATE ROLE {} LOGIN IN ROLE {}").format(
            sql.Identifier(name), sql.Identifier(group)
        ),
    )
    return name


def as_role(url: str, role: str) -> str:
    """The same database, connecting as `role` (the embedded server trusts local logins)."""
    return url.replace("postgresql://postgres:@", f"postgresql://{role}:@", 1)


def debug_notices(conn: Connection, prefix: str) -> list[str]:
    """From now on, collect the RAISE DEBUG messages starting with `prefix` that the
    connection's statements raise (the SQL functions say which path they took so)."""
    messages: list[str] = []

    def collect(notice: psycopg.errors.Diagnostic) -> None:
        if (notice.message_primary or "").startswith(prefix):
            messages.append(notice.message_primary or "")

    conn.add_notice_handler(collect)
    conn.execute("SET client_min_messages = debug1")
    return messages


def insert_chunks(conn: Connection, texts: list[str]) -> None:
    """One post with these chunks, written as psql would: no loader, no statistics refresh."""
    post_id = conn.execute(
        "INSERT INTO posts (slug, title, url, published_on, authors, tags)"
        " VALUES ('bounds', 'Bounds', 'https://example.com', '2024-01-01', '{}', '{}')"
        " RETURNING id"
    ).fetchone()[0]
    conn.cursor().executemany(
        "INSERT INTO chunks (post_id, position, text, content_hash, search_vector)"
        " VALUES (%s, %s, %s, sha256(convert_to(%s, 'UTF8')), hfsearch_document('', %s))",
        [(post_id, position, text, text, text) for position, text in enumerate(texts)],
    )


def same_ranking(actual: list[tuple[Any, ...]], expected: list[tuple[Any, ...]]) -> bool:
    """The same chunks in the same order, with the same scores up to float rounding: the two
    functions add a chunk's term scores in different orders."""
    return [a[0] for a in actual] == [e[0] for e in expected] and all(
        math.isclose(a[1], e[1], rel_tol=1e-12) for a, e in zip(actual, expected, strict=True)
    )

"""Assertions about database contents, shared by the tests."""

from __future__ import annotations

from pathlib import Path

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

"""BM25 from the postings (revision 0008), which since revision 0013 skips the chunks that
cannot reach the top, ranks exactly as revision 0002's scoring of every matching chunk's
document, and the triggers keep the postings in step with the chunks."""

from __future__ import annotations

import json
import random

from helpers import (
    EXTENDED_CORPUS,
    REPO,
    SAMPLE,
    debug_notices,
    insert_chunks,
    same_ranking,
)

from hfsearch.database import Connection
from hfsearch.loading import load_records
from hfsearch.sources import open_source
from hfsearch.validation import validate

BM25_CALL = "SELECT * FROM {}(hfsearch_query_lexemes(%(q)s), hfsearch_any_lexeme(hfsearch_query_lexemes(%(q)s)), %(posts)s, %(depth)s, 1.2, 0.75, 2.0)"  # noqa: E501


# Chunks whose title (weight A) holds a query term.
TITLE_HITS = "SELECT count(*) FROM chunks WHERE ts_filter(search_vector, '{a}') @@ hfsearch_any_lexeme(hfsearch_query_lexemes(%(q)s))"  # noqa: E501


def load(conn: Connection, path: object) -> None:
    source = open_source(str(path))
    load_records(conn, validate(source.name, source.rows, has_vectors=True))


def install_reference(conn: Connection) -> None:
    """Revision 0002's hfsearch_bm25, which scores every match, as reference_bm25."""
    down = (REPO / "alembic" / "versions" / "0004_bm25_top_k_down.sql").read_text()
    conn.execute(down.replace("FUNCTION hfsearch_bm25(", "FUNCTION reference_bm25("))


def ranking(conn: Connection, function: str, params: dict[str, object]) -> list[tuple]:
    return conn.execute(BM25_CALL.format(function), params).fetchall()


def queries() -> list[str]:
    texts = [
        json.loads(line)["query"]
        for name in ("queries-dev.jsonl", "queries-extended.jsonl")
        for line in (REPO / "data" / name).read_text().splitlines()
    ]
    words = " ".join(texts).split()
    rng = random.Random(5)
    return texts + [" ".join(rng.sample(words, rng.randint(1, 6))) for _ in range(60)]


def test_bm25_from_postings_ranks_as_scoring_every_match(conn: Connection) -> None:
    load(conn, SAMPLE)
    load(conn, EXTENDED_CORPUS)
    install_reference(conn)
    post_ids = [row[0] for row in conn.execute("SELECT id FROM posts ORDER BY id LIMIT 20")]
    pruned = debug_notices(conn, "hfsearch_bm25:")
    compared = with_title_hits = 0
    for query in queries():
        # Title positions count apart: the comparison must include them.
        with_title_hits += conn.execute(TITLE_HITS, {"q": query}).fetchone() != (0,)
        for depth in (1, 3, 10, 100):
            for posts in (None, post_ids):
                params = {"q": query, "posts": posts, "depth": depth}
                expected = ranking(conn, "reference_bm25", params)
                actual = ranking(conn, "hfsearch_bm25", params)
                assert same_ranking(actual, expected), (query, depth, posts is not None)
                compared += bool(expected)
    # The equality above must have been about rankings, not empty lists, and must have
    # covered the rankings that left chunks out (revision 0013).
    assert compared > len(queries()) * 4, compared
    assert with_title_hits > len(queries()) // 4, with_title_hits
    assert len(pruned) > len(queries()) // 2, len(pruned)


def bounds_current(conn: Connection) -> bool:
    return bool(conn.execute("SELECT bounds_current FROM corpus_stats").fetchone()[0])


def test_chunks_written_after_the_refresh_cannot_be_pruned_away(conn: Connection) -> None:
    # 15 chunks hold "zebra" once, 30 "yak" once: the 10th best score of "zebra" alone is
    # above the most "yak" can add at one occurrence, but not above what many can add.
    filler = "orchard lantern meadow"
    insert_chunks(
        conn,
        [f"zebra {filler} {i}" for i in range(15)]
        + [f"yak {filler} {i}" for i in range(30)]
        + [f"{filler} {i}" for i in range(85)],
    )
    conn.execute("SELECT hfsearch_refresh_stats()")
    assert bounds_current(conn)
    install_reference(conn)
    pruned = debug_notices(conn, "hfsearch_bm25:")
    params = {"q": "zebra yak", "posts": None, "depth": 10}
    before = ranking(conn, "hfsearch_bm25", params)
    assert same_ranking(before, ranking(conn, "reference_bm25", params))
    assert pruned == ["hfsearch_bm25: 1 of 2 terms only matched"]

    # A chunk that says "yak" many times scores above every "zebra" chunk: the stored bound
    # for "yak" (one occurrence) no longer holds, and new postings say so.
    conn.execute(
        "UPDATE chunks SET search_vector = hfsearch_document('', repeat('yak ', 40))"
        " WHERE id = (SELECT max(id) FROM chunks)"
    )
    assert not bounds_current(conn)
    pruned.clear()
    after = ranking(conn, "hfsearch_bm25", params)
    assert same_ranking(after, ranking(conn, "reference_bm25", params))
    top_id = conn.execute("SELECT max(id) FROM chunks").fetchone()[0]
    assert after[0][0] == top_id and pruned == []

    # Bounds that claimed to be current would have left it out.
    conn.execute("UPDATE corpus_stats SET bounds_current = true")
    assert top_id not in [row[0] for row in ranking(conn, "hfsearch_bm25", params)]
    conn.execute("SELECT hfsearch_refresh_stats()")
    assert bounds_current(conn)
    assert same_ranking(
        ranking(conn, "hfsearch_bm25", params), ranking(conn, "reference_bm25", params)
    )
    # Deleting postings only lowers the highest frequencies: the bounds still hold.
    conn.execute("DELETE FROM chunks WHERE id = %s", (top_id,))
    assert bounds_current(conn)


# Every chunk's postings as its stored document says, and as the postings table holds them.
POSTINGS_FROM_DOCUMENTS = """
SELECT u.lexeme, c.id, cardinality(u.positions), cardinality(array_positions(u.weights, 'A')),
       c.token_count, c.post_id
FROM chunks c CROSS JOIN LATERAL unnest(c.search_vector) AS u
ORDER BY 1, 2
"""
POSTINGS = """
SELECT lexeme, chunk_id, occurrences, title_occurrences, token_count, post_id
FROM postings ORDER BY 1, 2
"""


def assert_postings_match_documents(conn: Connection) -> int:
    expected = conn.execute(POSTINGS_FROM_DOCUMENTS).fetchall()
    assert conn.execute(POSTINGS).fetchall() == expected
    return len(expected)


def test_postings_follow_every_change_to_the_chunks(conn: Connection) -> None:
    load(conn, SAMPLE)  # a bulk load: the postings' index is dropped and rebuilt around it
    assert assert_postings_match_documents(conn) > 0
    load(conn, EXTENDED_CORPUS)  # fewer new chunks than stored: loaded with the index live
    assert_postings_match_documents(conn)
    # Writers other than the loader: a retitle rewrites documents, a move keeps them.
    conn.execute(
        "UPDATE chunks SET search_vector = hfsearch_document('Postings and triggers', text)"
        " WHERE post_id = (SELECT min(id) FROM posts)"
    )
    conn.execute(
        "UPDATE chunks SET position = position + 1000 WHERE post_id = (SELECT max(id) FROM posts)"
    )
    assert_postings_match_documents(conn)
    # A chunk moved to another post keeps its document: its postings follow it (filters).
    conn.execute(
        "UPDATE chunks SET post_id = (SELECT min(id) FROM posts)"
        " WHERE id = (SELECT max(id) FROM chunks)"
    )
    assert_postings_match_documents(conn)
    conn.execute("DELETE FROM posts WHERE id IN (SELECT id FROM posts ORDER BY id LIMIT 3)")
    remaining = assert_postings_match_documents(conn)
    conn.execute("DELETE FROM chunks WHERE id IN (SELECT id FROM chunks ORDER BY id LIMIT 5)")
    assert 0 < assert_postings_match_documents(conn) < remaining
    conn.execute("TRUNCATE posts CASCADE")
    assert assert_postings_match_documents(conn) == 0

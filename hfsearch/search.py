"""Search queries. For now: full-text search ranked by PostgreSQL's ts_rank_cd."""

from __future__ import annotations

from dataclasses import dataclass

from hfsearch.database import Connection


@dataclass(frozen=True)
class SearchResult:
    rank: int
    score: float
    chunk_id: int
    slug: str
    title: str
    url: str
    text: str  # the whole chunk, exactly as loaded
    snippet: str  # the best passages, matches between << and >>


# Snippets are made for the top k only: ts_headline re-parses the whole text.
LEXICAL_SEARCH = """
WITH query AS (SELECT websearch_to_tsquery('english', %(query)s) AS tsquery),
top AS (
    SELECT c.id, c.post_id, c.text, ts_rank_cd(c.search_vector, query.tsquery) AS score
    FROM chunks c, query
    WHERE c.search_vector @@ query.tsquery
    ORDER BY score DESC, c.id
    LIMIT %(k)s
)
SELECT top.score, top.id, p.slug, p.title, p.url, top.text,
       ts_headline('english', top.text, query.tsquery,
                   'StartSel=<<, StopSel=>>, MaxFragments=2, MaxWords=30, MinWords=10')
FROM top JOIN posts p ON p.id = top.post_id, query
ORDER BY top.score DESC, top.id
"""


def lexical_search(conn: Connection, query: str, *, k: int = 10) -> list[SearchResult]:
    rows = conn.execute(LEXICAL_SEARCH, {"query": query, "k": k}).fetchall()
    return [SearchResult(rank, float(row[0]), *row[1:]) for rank, row in enumerate(rows, start=1)]

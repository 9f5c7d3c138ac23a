"""Calling the SQL search function and reading its rows into typed results.

The ranking itself (BM25, HNSW, fusion, filters, pagination) is SQL, in hfsearch_search()
(alembic/versions/0002_search.sql), so SQL clients, Python and the HTTP service all get
the same answers. This module only shapes requests and results, the same for sync and async
connections.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import psycopg

from hfsearch.database import AsyncConnection, Connection
from hfsearch.errors import HfsearchError, ModelMismatchError

Mode = Literal["hybrid", "lexical", "vector"]
Fusion = Literal["rrf", "weighted"]
MODES: tuple[Mode, ...] = ("hybrid", "lexical", "vector")


class SearchError(HfsearchError):
    """A search request the database refused: a bad option, say."""


@dataclass(frozen=True)
class SearchRequest:
    """What to search for, and how. Filters are combined with AND; None means no filter."""

    query: str
    mode: Mode | None = None  # default: hybrid with a query vector, lexical without
    k: int = 10
    fusion: Fusion = "rrf"
    rrf_k: float = 60.0
    lexical_weight: float = 1.0
    vector_weight: float = 1.0
    depth: int = 100  # candidates taken from each side before fusion
    tags: Sequence[str] | None = None  # posts with any of these tags
    all_tags: Sequence[str] | None = None  # posts with all of these tags
    authors: Sequence[str] | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    posts: Sequence[str] | None = None  # post slugs
    by_post: bool = False  # only the best chunk of each post
    # The HNSW graph's search breadth. None: the database's default, which follows the corpus's
    # size (revision 0021): 100 up to 250,000 chunks, 400 at 1M, 1,000 from 2.5M.
    ef_search: int | None = None
    exact: bool = False  # exact vector search instead of the HNSW index
    cursor: str | None = None  # from SearchPage.next_cursor


@dataclass(frozen=True)
class SearchHit:
    rank: int
    score: float
    chunk_id: int
    slug: str
    title: str
    url: str
    published_on: dt.date
    authors: list[str]
    tags: list[str]
    position: int  # of the chunk in its post, from 0
    text: str  # the whole chunk, exactly as loaded
    snippet: str  # best passages, query terms between << and >>; else the first 200 characters
    lexical_rank: int | None
    lexical_score: float | None
    vector_rank: int | None
    vector_score: float | None

    @property
    def key(self) -> str:
        """A stable name for the chunk across reloads: `slug#position`."""
        return f"{self.slug}#{self.position}"


@dataclass(frozen=True)
class SearchPage:
    hits: list[SearchHit]
    k: int
    next_cursor: str | None = field(default=None)

    @property
    def short(self) -> bool:
        """Fewer than k results: nothing more matched (within the candidate depth)."""
        return len(self.hits) < self.k


SEARCH = """
SELECT * FROM hfsearch_search(
    query => %(query)s, query_embedding => %(query_embedding)s, model => %(model)s,
    k => %(k)s, mode => %(mode)s, fusion => %(fusion)s, rrf_k => %(rrf_k)s,
    lexical_weight => %(lexical_weight)s, vector_weight => %(vector_weight)s,
    depth => %(depth)s, tags_any => %(tags)s, tags_all => %(all_tags)s,
    authors_any => %(authors)s, since => %(since)s, until => %(until)s, slugs => %(posts)s,
    by_post => %(by_post)s, ef_search => %(ef_search)s, exact => %(exact)s,
    after_score => %(after_score)s, after_chunk_id => %(after_chunk_id)s)
"""


def search_parameters(
    request: SearchRequest,
    query_embedding: npt.NDArray[np.float32] | None,
    model: str | None,
) -> dict[str, Any]:
    _refuse_nul(request)
    _check_ranges(request)
    after_score, after_chunk_id = _read_cursor(request.cursor)
    return {
        "query": request.query,
        "query_embedding": query_embedding,
        "model": model,
        "k": request.k,
        "mode": request.mode,
        "fusion": request.fusion,
        "rrf_k": request.rrf_k,
        "lexical_weight": request.lexical_weight,
        "vector_weight": request.vector_weight,
        "depth": request.depth,
        "tags": _lower_list(request.tags),
        "all_tags": _lower_list(request.all_tags),
        "authors": list(request.authors) if request.authors else None,
        "since": request.since,
        "until": request.until,
        "posts": list(request.posts) if request.posts else None,
        "by_post": request.by_post,
        "ef_search": request.ef_search,
        "exact": request.exact,
        "after_score": after_score,
        "after_chunk_id": after_chunk_id,
    }


MAX_K = 1000
MAX_DEPTH = 10_000


def _check_ranges(request: SearchRequest) -> None:
    numbers = (request.rrf_k, request.lexical_weight, request.vector_weight)
    problems = [
        "k must be from 1 to 1000" if not 1 <= request.k <= MAX_K else "",
        "depth must be from 1 to 10000" if not 1 <= request.depth <= MAX_DEPTH else "",
        "ef_search must be from 1 to 1000"
        if request.ef_search is not None and not 1 <= request.ef_search <= 1000
        else "",
        "rrf_k and the weights must be finite" if not all(map(math.isfinite, numbers)) else "",
        "rrf_k must be positive" if not request.rrf_k > 0 else "",
        "weights must not be negative"
        if min(request.lexical_weight, request.vector_weight) < 0
        else "",
        f"unknown mode {request.mode!r}" if request.mode not in (None, *MODES) else "",
        f"unknown fusion {request.fusion!r}" if request.fusion not in ("rrf", "weighted") else "",
    ]
    if any(problems):
        raise SearchError("; ".join(p for p in problems if p))


def _refuse_nul(request: SearchRequest) -> None:
    """PostgreSQL text cannot hold NUL: say so, rather than fail inside the driver."""
    texts = {
        "query": [request.query],
        "tags": request.tags or [],
        "all_tags": request.all_tags or [],
        "authors": request.authors or [],
        "posts": request.posts or [],
        "cursor": [request.cursor or ""],
    }
    for name, values in texts.items():
        if any("\x00" in value for value in values):
            raise SearchError(f"the {name} contains a NUL character, which text cannot hold")


def _lower_list(values: Sequence[str] | None) -> list[str] | None:
    return [v.lower() for v in values] if values else None  # tags are stored lowercased


def _read_cursor(cursor: str | None) -> tuple[float | None, int | None]:
    if not cursor:
        return None, None
    score, _, chunk_id = cursor.partition(":")
    try:
        return float(score), int(chunk_id)
    except ValueError:
        raise SearchError(f"not a cursor from a previous page: {cursor!r}") from None


def page_of(rows: Sequence[Sequence[Any]], k: int) -> SearchPage:
    hits = [SearchHit(*row) for row in rows]
    # repr() of a float reads back to the same float, so the next page starts exactly here.
    cursor = f"{hits[-1].score!r}:{hits[-1].chunk_id}" if len(hits) == k else None
    return SearchPage(hits, k, cursor)


def refused(error: psycopg.Error) -> HfsearchError:
    """The database's refusal as an hfsearch error, with its hint."""
    diag = error.diag
    message = diag.message_primary or str(error)
    if diag.message_hint:
        message += f" ({diag.message_hint})"
    if message.startswith("no vectors under the model") or "dimensions, model" in message:
        return ModelMismatchError(message)
    return SearchError(message)


def search(
    conn: Connection,
    request: SearchRequest,
    query_embedding: npt.NDArray[np.float32] | None = None,
    model: str | None = None,
) -> SearchPage:
    try:
        rows = conn.execute(SEARCH, search_parameters(request, query_embedding, model)).fetchall()
    except psycopg.errors.InvalidParameterValue as exc:
        raise refused(exc) from exc
    return page_of(rows, request.k)


async def search_async(
    conn: AsyncConnection,
    request: SearchRequest,
    query_embedding: npt.NDArray[np.float32] | None = None,
    model: str | None = None,
) -> SearchPage:
    try:
        cursor = await conn.execute(SEARCH, search_parameters(request, query_embedding, model))
        rows = await cursor.fetchall()
    except psycopg.errors.InvalidParameterValue as exc:
        raise refused(exc) from exc
    return page_of(rows, request.k)


CHUNK_CENTROID = """
SELECT m.name, avg(e.embedding)
FROM embeddings e JOIN embedding_models m ON m.id = e.model_id
WHERE e.chunk_id = %(chunk_id)s AND (%(model)s::text IS NULL OR m.name = %(model)s)
GROUP BY m.id
ORDER BY m.name = %(preferred)s DESC, m.id
LIMIT 1
"""


def centroid_parameters(
    chunk_id: int, model: str | None, preferred_model: str | None
) -> dict[str, Any]:
    return {"chunk_id": chunk_id, "model": model, "preferred": preferred_model}


def similar_request(
    chunk_id: int, k: int, model: str | None, row: Sequence[Any] | None
) -> tuple[SearchRequest, npt.NDArray[np.float32], str]:
    """The vector search that finds chunks like `chunk_id`, from its centroid row."""
    if row is None:
        which = f"under the model {model!r}" if model else "under any model"
        raise ModelMismatchError(f"chunk {chunk_id} has no vector {which}")
    model_name, centroid = row
    vector = np.asarray(centroid.to_numpy(), dtype=np.float32)
    return SearchRequest(query="", mode="vector", k=k + 1), vector, str(model_name)


def without_chunk(page: SearchPage, chunk_id: int, k: int) -> SearchPage:
    """The page without the chunk itself, ranked again from 1."""
    others = [hit for hit in page.hits if hit.chunk_id != chunk_id][:k]
    return SearchPage([replace(hit, rank=rank) for rank, hit in enumerate(others, start=1)], k)


def similar(
    conn: Connection,
    chunk_id: int,
    *,
    k: int = 10,
    model: str | None = None,
    preferred_model: str | None = None,
) -> SearchPage:
    """Chunks most like `chunk_id`, by the mean of its vectors under one model (the named
    one, else the preferred one if it has vectors for this chunk, else the oldest that has)."""
    row = conn.execute(CHUNK_CENTROID, centroid_parameters(chunk_id, model, preferred_model))
    request, vector, model_name = similar_request(chunk_id, k, model, row.fetchone())
    return without_chunk(search(conn, request, vector, model_name), chunk_id, k)


async def similar_async(
    conn: AsyncConnection,
    chunk_id: int,
    *,
    k: int = 10,
    model: str | None = None,
    preferred_model: str | None = None,
) -> SearchPage:
    row = await conn.execute(CHUNK_CENTROID, centroid_parameters(chunk_id, model, preferred_model))
    request, vector, model_name = similar_request(chunk_id, k, model, await row.fetchone())
    return without_chunk(await search_async(conn, request, vector, model_name), chunk_id, k)


@dataclass(frozen=True)
class ChunkView:
    chunk_id: int
    slug: str
    title: str
    url: str
    position: int
    text: str


@dataclass(frozen=True)
class PostView:
    slug: str
    title: str
    url: str
    published_on: dt.date
    authors: list[str]
    tags: list[str]
    chunks: list[ChunkView]


CHUNKS = """
SELECT c.id, p.slug, p.title, p.url, c.position, c.text
FROM chunks c JOIN posts p ON p.id = c.post_id
WHERE c.id = %(chunk_id)s OR p.slug = %(slug)s
ORDER BY c.position
"""

POST = "SELECT slug, title, url, published_on, authors, tags FROM posts WHERE slug = %(slug)s"


async def chunk_async(conn: AsyncConnection, chunk_id: int) -> ChunkView | None:
    cursor = await conn.execute(CHUNKS, {"chunk_id": chunk_id, "slug": None})
    row = await cursor.fetchone()
    return ChunkView(*row) if row else None


async def post_async(conn: AsyncConnection, slug: str) -> PostView | None:
    cursor = await conn.execute(POST, {"slug": slug})
    row = await cursor.fetchone()
    if row is None:
        return None
    slug, title, url, published_on, authors, tags = row
    chunks = await conn.execute(CHUNKS, {"chunk_id": None, "slug": slug})
    views = [ChunkView(*c) for c in await chunks.fetchall()]
    return PostView(slug, title, url, published_on, authors, tags, views)

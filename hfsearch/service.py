"""The HTTP service: FastAPI over the async search client, plus a one-page search UI.

    hfsearch serve --port 8000      # then open http://127.0.0.1:8000/ or /docs

The query model is loaded once at start; requests share a connection pool whose connections
are checked before use, so the service answers 503 while the database is down and recovers
by itself when it is back. Every statement has a time limit. Errors are JSON with the right
status and never carry a stack trace or SQL.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any

import psycopg
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse
from psycopg_pool import PoolTimeout
from pydantic import BaseModel, ConfigDict, Field

from hfsearch import migrations
from hfsearch.client import AsyncSearchClient
from hfsearch.errors import DatabaseNotReadyError, HfsearchError
from hfsearch.search import (
    ChunkView,
    Fusion,
    Mode,
    PostView,
    SearchHit,
    SearchPage,
)

logger = logging.getLogger("hfsearch.service")

PAGE = Path(__file__).parent / "static" / "index.html"

# Limits a public service needs; SearchRequest's own ranges apply underneath.
PUBLIC_MAX_K = 100
PUBLIC_MAX_QUERY_CHARS = 1000
PUBLIC_MAX_DEPTH = 1000


@dataclass(frozen=True)
class ServiceConfig:
    # None: HFSEARCH_DATABASE_URL or the embedded server. Not in repr: it may hold a password.
    database_url: str | None = field(default=None, repr=False)
    embedding_model: str | None = None  # None: HFSEARCH_EMBEDDING_MODEL
    statement_timeout_ms: int = 5000
    pool_timeout_s: float = 5.0
    max_connections: int = 8


class SearchParameters(BaseModel):
    """One model for GET query parameters and the POST body alike."""

    model_config = ConfigDict(extra="forbid")

    q: str = Field(max_length=PUBLIC_MAX_QUERY_CHARS, description="The query text.")
    mode: Mode | None = Field(None, description="Default: hybrid with a query model, else lexical.")
    k: int = Field(10, ge=1, le=PUBLIC_MAX_K)
    fusion: Fusion = "rrf"
    rrf_k: float = Field(60.0, gt=0)
    lexical_weight: float = Field(1.0, ge=0)
    vector_weight: float = Field(1.0, ge=0)
    depth: int = Field(
        100, ge=1, le=PUBLIC_MAX_DEPTH, description="Candidates per side before fusion."
    )
    tag: list[str] | None = Field(None, description="Posts with any of these tags.")
    all_tags: bool = Field(False, description="Posts with all the tags instead.")
    author: list[str] | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    post: list[str] | None = Field(None, description="Post slugs.")
    by_post: bool = Field(False, description="Only the best chunk of each post.")
    ef_search: int | None = Field(
        None, ge=1, le=1000, description="HNSW search breadth; default: by the corpus's size."
    )
    cursor: str | None = Field(None, max_length=100, description="next_cursor of the last page.")

    def options(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "k": self.k,
            "fusion": self.fusion,
            "rrf_k": self.rrf_k,
            "lexical_weight": self.lexical_weight,
            "vector_weight": self.vector_weight,
            "depth": self.depth,
            "tags": None if self.all_tags else self.tag,
            "all_tags": self.tag if self.all_tags else None,
            "authors": self.author,
            "since": self.since,
            "until": self.until,
            "posts": self.post,
            "by_post": self.by_post,
            "ef_search": self.ef_search,
            "cursor": self.cursor,
        }


class Hit(BaseModel):
    rank: int
    score: float
    chunk_id: int
    key: str
    slug: str
    title: str
    url: str
    published_on: dt.date
    authors: list[str]
    tags: list[str]
    position: int
    text: str
    snippet: str
    lexical_rank: int | None
    lexical_score: float | None
    vector_rank: int | None
    vector_score: float | None

    @classmethod
    def of(cls, hit: SearchHit) -> Hit:
        return cls(**asdict(hit), key=hit.key)


class SearchResponse(BaseModel):
    query: str
    hits: list[Hit]
    next_cursor: str | None
    short: bool = Field(description="Fewer than k results came back: nothing more matched.")

    @classmethod
    def of(cls, query: str, page: SearchPage) -> SearchResponse:
        return cls(
            query=query,
            hits=[Hit.of(h) for h in page.hits],
            next_cursor=page.next_cursor,
            short=page.short,
        )


class Problem(BaseModel):
    detail: str


def create_app(config: ServiceConfig | None = None) -> FastAPI:
    config = config or ServiceConfig()
    client = AsyncSearchClient(
        config.database_url,
        embedding_model=config.embedding_model,
        max_connections=config.max_connections,
        statement_timeout_ms=config.statement_timeout_ms,
        pool_timeout=config.pool_timeout_s,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client.embedder()  # load the query model now, not on the first request
        await client.pool.open(wait=False)  # start even while the database is down
        yield
        await client.close()

    app = FastAPI(
        title="hfsearch",
        summary="Hybrid full-text and vector search on PostgreSQL + pgvector.",
        lifespan=lifespan,
        responses={503: {"model": Problem, "description": "The database is unavailable."}},
    )
    _add_error_handlers(app)

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(PAGE, media_type="text/html")

    @app.get("/search", response_model=SearchResponse)
    async def search_get(params: Annotated[SearchParameters, Query()]) -> SearchResponse:
        """Search the chunks; repeat `tag`, `author` and `post` for several values."""
        return SearchResponse.of(params.q, await client.search(params.q, **params.options()))

    @app.post("/search", response_model=SearchResponse)
    async def search_post(params: SearchParameters) -> SearchResponse:
        """The same search, with the parameters as a JSON body."""
        return SearchResponse.of(params.q, await client.search(params.q, **params.options()))

    @app.get("/posts/{slug}", response_model=PostView, responses={404: {"model": Problem}})
    async def post(slug: Annotated[str, Field(max_length=300)]) -> PostView:
        """A post and all its chunks, in order."""
        found = await client.post(slug)
        if found is None:
            raise HTTPException(404, f"no post {slug!r}")
        return found

    @app.get("/chunks/{chunk_id}", response_model=ChunkView, responses={404: {"model": Problem}})
    async def chunk(chunk_id: int) -> ChunkView:
        found = await client.chunk(chunk_id)
        if found is None:
            raise HTTPException(404, f"no chunk {chunk_id}")
        return found

    @app.get(
        "/chunks/{chunk_id}/similar",
        response_model=SearchResponse,
        responses={404: {"model": Problem}},
    )
    async def similar(
        chunk_id: int, k: Annotated[int, Query(ge=1, le=PUBLIC_MAX_K)] = 10
    ) -> SearchResponse:
        """Chunks most like this one, from its own stored vectors."""
        if await client.chunk(chunk_id) is None:
            raise HTTPException(404, f"no chunk {chunk_id}")
        return SearchResponse.of(
            f"similar to chunk {chunk_id}", await client.similar(chunk_id, k=k)
        )

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process is alive (it says nothing of the database)."""
        return {"status": "ok"}

    @app.get("/readyz", responses={503: {"model": Problem}})
    async def readyz() -> dict[str, str | None]:
        """Ready to serve: database reachable, schema at head, query model loaded."""
        revision = await client.schema_revision()
        if revision != migrations.head_revision():
            raise DatabaseNotReadyError(
                f"schema at {revision}, needs {migrations.head_revision()}: run `hfsearch migrate`"
            )
        return {"status": "ready", "schema": revision, "model": client.embedding_model}

    return app


def _add_error_handlers(app: FastAPI) -> None:
    """Map failures to statuses; the client sees a sentence, never a trace or SQL."""

    def problem(status: int, detail: str) -> JSONResponse:
        return JSONResponse(status_code=status, content={"detail": detail})

    @app.exception_handler(DatabaseNotReadyError)
    async def not_ready(request: Request, exc: DatabaseNotReadyError) -> JSONResponse:
        return problem(503, str(exc))

    @app.exception_handler(HfsearchError)
    async def refused(request: Request, exc: HfsearchError) -> JSONResponse:
        return problem(422, str(exc))  # a bad option or a model without vectors

    @app.exception_handler(psycopg.errors.QueryCanceled)
    async def timed_out(request: Request, exc: psycopg.errors.QueryCanceled) -> JSONResponse:
        return problem(503, "the query took too long and was cancelled")

    @app.exception_handler(psycopg.OperationalError)
    async def unreachable(request: Request, exc: psycopg.OperationalError) -> JSONResponse:
        logger.warning("database unavailable: %s", exc)
        return problem(503, "the database is unavailable; try again shortly")

    @app.exception_handler(PoolTimeout)
    async def pool_exhausted(request: Request, exc: PoolTimeout) -> JSONResponse:
        return problem(503, "the database is unavailable or busy; try again shortly")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unexpected error on %s", request.url.path)
        return problem(500, "internal error")

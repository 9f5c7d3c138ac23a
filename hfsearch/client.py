"""The Python API for services: typed search over an hfsearch database, sync and async.

    from hfsearch import SearchClient

    with SearchClient(embedding_model="sentence-transformers/all-MiniLM-L6-v2") as client:
        page = client.search("how do I quantize a model?", k=5, tags=["llm"])
        for hit in page.hits:
            print(hit.rank, hit.title, hit.snippet)

Both clients hold a psycopg connection pool and load the query model once (per process).
"""

from __future__ import annotations

import asyncio
import dataclasses
from functools import cache
from typing import Any

import psycopg
from pgvector.psycopg import register_vector, register_vector_async
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from hfsearch import migrations
from hfsearch.config import Settings
from hfsearch.database import AsyncConnection, Connection, database_url, libpq_url
from hfsearch.embedding import Embedder, load_embedder
from hfsearch.search import (
    ChunkView,
    PostView,
    SearchError,
    SearchPage,
    SearchRequest,
    chunk_async,
    post_async,
    search,
    search_async,
    similar,
    similar_async,
)

# Loading a model takes seconds; every client in the process shares it.
cached_embedder = cache(load_embedder)


def _request(query: str, options: dict[str, Any]) -> SearchRequest:
    unknown = set(options) - {f.name for f in dataclasses.fields(SearchRequest)}
    if unknown:
        raise SearchError(f"unknown search option(s): {', '.join(sorted(unknown))}")
    return SearchRequest(query=query, **options)


class _ClientBase:
    def __init__(self, url: str | None, embedding_model: str | None) -> None:
        settings = Settings.from_env()
        self.url = libpq_url(url) if url else database_url(settings)
        self.embedding_model = embedding_model or settings.embedding_model

    def embedder(self) -> Embedder | None:
        return cached_embedder(self.embedding_model) if self.embedding_model else None

    def wants_vector(self, request: SearchRequest) -> bool:
        if request.mode == "lexical":
            return False
        if self.embedding_model is None:
            if request.mode is None:
                return False  # no model configured: lexical search
            raise SearchError(
                f"{request.mode} search needs an embedding model: set HFSEARCH_EMBEDDING_MODEL "
                "or pass embedding_model="
            )
        return True


class SearchClient(_ClientBase):
    """Search from synchronous code. Thread-safe: each call borrows a pooled connection."""

    def __init__(
        self,
        url: str | None = None,
        *,
        embedding_model: str | None = None,
        max_connections: int = 4,
    ) -> None:
        super().__init__(url, embedding_model)
        self.pool: ConnectionPool[Connection] = ConnectionPool(
            self.url,
            min_size=1,
            max_size=max_connections,
            kwargs={"autocommit": True},
            configure=register_vector,
            open=True,
        )
        with self.pool.connection() as conn:
            migrations.require_current(conn)

    def search(self, query: str, **options: Any) -> SearchPage:
        """Search; options are SearchRequest's fields (mode, k, tags, since, by_post...)."""
        request = _request(query, options)
        embedder = self.embedder() if self.wants_vector(request) else None
        vector = embedder.encode_query(query) if embedder is not None else None
        with self.pool.connection() as conn:
            return search(
                conn, request, vector, self.embedding_model if vector is not None else None
            )

    def similar(self, chunk_id: int, *, k: int = 10, model: str | None = None) -> SearchPage:
        """Chunks most like a stored chunk, from its own vectors: no query model needed."""
        with self.pool.connection() as conn:
            return similar(conn, chunk_id, k=k, model=model, preferred_model=self.embedding_model)

    def close(self) -> None:
        self.pool.close()

    def __enter__(self) -> SearchClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncSearchClient(_ClientBase):
    """Search from asyncio code, on psycopg's async pool. Use `async with`, or open().

    statement_timeout_ms bounds every statement; pool_timeout is how long a call waits for a
    free connection. Connections are checked before use, so the pool recovers by itself
    after the database restarts.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        embedding_model: str | None = None,
        max_connections: int = 4,
        statement_timeout_ms: int | None = None,
        pool_timeout: float = 30.0,
    ) -> None:
        super().__init__(url, embedding_model)

        async def configure(conn: AsyncConnection) -> None:
            await register_vector_async(conn)
            # Set after the vector type's lookup, so the timeout bounds searches only: a
            # connection-level `-c statement_timeout` cancelled that lookup itself when the
            # timeout was shorter (seen at 1 ms), and no connection could be made at all.
            if statement_timeout_ms:
                await conn.execute(
                    "SELECT set_config('statement_timeout', %s, false)",
                    (str(statement_timeout_ms),),
                )

        self.pool: AsyncConnectionPool[AsyncConnection] = AsyncConnectionPool(
            self.url,
            min_size=1,
            max_size=max_connections,
            kwargs={"autocommit": True},
            configure=configure,
            check=AsyncConnectionPool.check_connection,
            timeout=pool_timeout,
            open=False,
        )

    async def open(self) -> None:
        """Open the pool and check the schema is current."""
        await self.pool.open()
        if await self.schema_revision() != migrations.head_revision():
            raise SearchError("the database schema is not current: run `hfsearch migrate`")

    async def search(self, query: str, **options: Any) -> SearchPage:
        request = _request(query, options)
        embedder = self.embedder() if self.wants_vector(request) else None
        # The model runs on the CPU for milliseconds: keep the event loop free meanwhile.
        vector = await asyncio.to_thread(embedder.encode_query, query) if embedder else None
        model = self.embedding_model if vector is not None else None
        async with self.pool.connection() as conn:
            return await search_async(conn, request, vector, model)

    async def similar(self, chunk_id: int, *, k: int = 10, model: str | None = None) -> SearchPage:
        async with self.pool.connection() as conn:
            return await similar_async(
                conn, chunk_id, k=k, model=model, preferred_model=self.embedding_model
            )

    async def chunk(self, chunk_id: int) -> ChunkView | None:
        async with self.pool.connection() as conn:
            return await chunk_async(conn, chunk_id)

    async def post(self, slug: str) -> PostView | None:
        async with self.pool.connection() as conn:
            return await post_async(conn, slug)

    async def schema_revision(self) -> str | None:
        """The database's Alembic revision; None before the first migration."""
        async with self.pool.connection() as conn:
            try:
                cursor = await conn.execute("SELECT version_num FROM alembic_version")
            except psycopg.errors.UndefinedTable:
                return None
            row = await cursor.fetchone()
        return str(row[0]) if row else None

    async def close(self) -> None:
        await self.pool.close()

    async def __aenter__(self) -> AsyncSearchClient:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

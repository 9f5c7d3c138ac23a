"""The embedded server's page cache (shared_buffers): set on start, changed by a restart, and a
value it cannot start with reported, then replaced."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hfsearch.config import Settings, quarter_of_memory
from hfsearch.database import (
    embedded_status,
    running_shared_buffers,
    start_embedded,
    stop_embedded,
)
from hfsearch.errors import DatabaseNotReadyError


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "embedded"
    stop_embedded(tmp_path / "embedded")


def test_the_default_is_a_quarter_of_the_memory() -> None:
    megabytes = int(quarter_of_memory().removesuffix("MB"))
    assert megabytes >= 128
    assert Settings.from_env({}).shared_buffers == quarter_of_memory()
    assert Settings.from_env({"HFSEARCH_SHARED_BUFFERS": "2GB"}).shared_buffers == "2GB"


def test_the_server_runs_with_the_value_asked_for_and_restarts_for_another(
    data_dir: Path,
) -> None:
    assert running_shared_buffers(start_embedded(data_dir, "160MB")) == "160MB"
    pid = embedded_status(data_dir).pid
    settings = data_dir / "pgdata" / "hfsearch.conf"
    written = settings.stat().st_mtime_ns
    assert running_shared_buffers(start_embedded(data_dir, "160MB")) == "160MB"
    assert embedded_status(data_dir).pid == pid  # the same value: no restart
    assert settings.stat().st_mtime_ns == written  # and its file is left as it is

    assert running_shared_buffers(start_embedded(data_dir, "192MB")) == "192MB"
    assert embedded_status(data_dir).pid != pid


def test_a_value_that_is_not_a_size_is_refused_before_anything_changes(data_dir: Path) -> None:
    start_embedded(data_dir, "160MB")
    pid = embedded_status(data_dir).pid
    with pytest.raises(DatabaseNotReadyError, match="'6gb' is not a size PostgreSQL reads"):
        start_embedded(data_dir, "6gb")  # the server's units are case-sensitive
    assert embedded_status(data_dir).pid == pid


def test_a_value_the_server_cannot_start_with_is_reported_then_replaced(
    data_dir: Path,
) -> None:
    start_embedded(data_dir, "160MB")
    with pytest.raises(DatabaseNotReadyError, match=r"did not start with shared_buffers 64kB"):
        start_embedded(data_dir, "64kB")  # under PostgreSQL's minimum, 128kB
    assert not embedded_status(data_dir).running
    assert running_shared_buffers(start_embedded(data_dir, "192MB")) == "192MB"

"""Settings read from the environment, in one place.

Every setting has a default that works on a fresh machine: with no database URL, hfsearch
starts an embedded PostgreSQL server in the data folder.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATA_DIR = Path(".hfsearch")
DEFAULT_MAINTENANCE_WORK_MEM = "1GB"


def quarter_of_memory() -> str:
    """The usual first choice for PostgreSQL's shared_buffers: a quarter of the machine's
    memory (PostgreSQL's own default, 128 MB, is what it falls back to where that is unknown)."""
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return "128MB"
    return f"{max(memory // 4 // 2**20, 128)}MB"


@dataclass(frozen=True)
class Settings:
    """Where the database is and how hfsearch uses it.

    database_url: any libpq or SQLAlchemy PostgreSQL URL; None means "embedded server".
    data_dir: folder for the embedded server's files (only used when database_url is None).
    embedding_model: the sentence-transformers model that embeds queries, if any.
    maintenance_work_mem: memory for index builds after a bulk load (HNSW builds are much
        faster when the graph fits in it).
    shared_buffers: the embedded server's page cache (only used when database_url is None).
    """

    database_url: str | None = field(default=None, repr=False)  # may hold a password
    data_dir: Path = DEFAULT_DATA_DIR
    embedding_model: str | None = None
    maintenance_work_mem: str = DEFAULT_MAINTENANCE_WORK_MEM
    shared_buffers: str = field(default_factory=quarter_of_memory)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            database_url=env.get("HFSEARCH_DATABASE_URL") or None,
            data_dir=Path(env.get("HFSEARCH_DATA_DIR") or DEFAULT_DATA_DIR),
            embedding_model=env.get("HFSEARCH_EMBEDDING_MODEL") or None,
            maintenance_work_mem=(
                env.get("HFSEARCH_MAINTENANCE_WORK_MEM") or DEFAULT_MAINTENANCE_WORK_MEM
            ),
            shared_buffers=env.get("HFSEARCH_SHARED_BUFFERS") or quarter_of_memory(),
        )

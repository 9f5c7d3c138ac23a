"""Running Alembic from Python: `hfsearch migrate`, tests, and the schema check before work."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from hfsearch.database import Connection
from hfsearch.errors import DatabaseNotReadyError

# The repository's alembic/ folder; hfsearch is installed editable (`pip install -e .`).
ALEMBIC_DIR = Path(__file__).resolve().parent.parent / "alembic"


def alembic_config(url: str) -> Config:
    if not (ALEMBIC_DIR / "env.py").exists():
        raise DatabaseNotReadyError(
            f"migrations not found in {ALEMBIC_DIR}: install hfsearch from its repository "
            "with `pip install -e .`"
        )
    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    config.attributes["database_url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str | None:
    return ScriptDirectory(str(ALEMBIC_DIR)).get_current_head()


def current_revision(conn: Connection) -> str | None:
    exists = conn.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return None
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return str(row[0]) if row else None


def require_current(conn: Connection) -> None:
    """Fail with a clear message unless the schema is at the newest migration."""
    current, head = current_revision(conn), head_revision()
    if current != head:
        state = "has no hfsearch schema" if current is None else f"is at revision {current}"
        raise DatabaseNotReadyError(
            f"the database {state}, this hfsearch needs {head}: run `hfsearch migrate`"
        )

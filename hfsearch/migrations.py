"""Running Alembic from Python: `hfsearch migrate`, tests, and the schema check before work."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection as AlembicConnection

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


def replace_in_function(bind: AlembicConnection, function: str, old: str, new: str) -> None:
    """Create `function` again from its stored definition with `old` (found once) as `new`.

    For revisions that change a parameter's default, which no ALTER FUNCTION can do, or a few
    lines of a long body: pg_get_functiondef keeps the body, the ROWS estimate, the settings
    and the owner's grants, so the revision needs no second copy of the body.
    """
    definition = bind.exec_driver_sql(
        "SELECT pg_get_functiondef(CAST(%(function)s AS regproc))", {"function": function}
    ).scalar_one()
    if definition.count(old) != 1:
        raise RuntimeError(f"{function}: expected one '{old}' in its definition")
    # Sent as it is, with no parameters: the bodies hold format() patterns (%1$s) that the
    # driver would otherwise read as placeholders.
    bind.exec_driver_sql(definition.replace(old, new), execution_options={"no_parameters": True})


def function_in_revision(sql_file: Path, function: str) -> str:
    """The `CREATE OR REPLACE FUNCTION function(...) ... $$;` statement in a revision's SQL file.

    For downgrades that put back an earlier revision's function without a second copy of it.
    """
    text = sql_file.read_text(encoding="utf-8")
    start = text.find(f"CREATE OR REPLACE FUNCTION {function}(")
    end = text.find("\n$$;\n", start)
    if start < 0 or end < 0 or text.count(f"CREATE OR REPLACE FUNCTION {function}(") != 1:
        raise RuntimeError(f"{sql_file.name}: expected one definition of {function}")
    return text[start : end + len("\n$$;")]


def revision_module(revision: str) -> ModuleType:
    """An earlier revision's module, for downgrades that put back SQL it holds in Python."""
    script = ScriptDirectory(str(ALEMBIC_DIR)).get_revision(revision)
    if script is None:
        raise RuntimeError(f"no revision {revision} in {ALEMBIC_DIR}")
    return script.module

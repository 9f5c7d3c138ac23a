"""Login roles for the two group roles the migrations create (see revision 0003).

hfsearch db create-login search_api --role reader     # password from HFSEARCH_LOGIN_PASSWORD
"""

from __future__ import annotations

from typing import Literal

from psycopg import sql

from hfsearch.database import Connection

Group = Literal["reader", "writer"]


def create_login(conn: Connection, name: str, group: Group, password: str | None) -> bool:
    """Create login role `name` in hfsearch_<group>, or update its password and group.

    Returns True if the role was new. Role DDL takes no bind parameters, so the name is
    quoted as an identifier and the password as a literal by psycopg.
    """
    with conn.transaction():
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
        verb = sql.SQL("ALTER ROLE" if exists else "CREATE ROLE")
        secret = sql.SQL("PASSWORD {}").format(sql.Literal(password)) if password else sql.SQL("")
        conn.execute(sql.SQL("{} {} WITH LOGIN {}").format(verb, sql.Identifier(name), secret))
        conn.execute(
            sql.SQL("GRANT {} TO {}").format(
                sql.Identifier(f"hfsearch_{group}"), sql.Identifier(name)
            )
        )
    return not exists

"""Alembic environment: migrates the database hfsearch is configured for."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool
from sqlalchemy.sql.schema import SchemaItem

from hfsearch.config import Settings
from hfsearch.database import database_url, sqlalchemy_url
from hfsearch.schema import HNSW_INDEX_PREFIX, Base

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def include_object(
    obj: SchemaItem, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    # Per-model HNSW indexes are made at run time when a model's vectors arrive (adding a
    # model needs no migration), so they are not drift.
    return not (type_ == "index" and reflected and (name or "").startswith(HNSW_INDEX_PREFIX))


def run_migrations_online() -> None:
    url = config.attributes.get("database_url") or database_url(Settings.from_env())
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            include_object=include_object,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("hfsearch migrations run online only: drop --sql")
run_migrations_online()

"""The `hfsearch` command line."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from hfsearch import database, migrations
from hfsearch.config import Settings
from hfsearch.convert import convert as convert_source
from hfsearch.errors import HfsearchError
from hfsearch.loading import load_records, model_dimensions
from hfsearch.search import lexical_search
from hfsearch.sources import RawRow, open_source
from hfsearch.stats import collect_stats
from hfsearch.validation import validate

app = typer.Typer(
    help=(
        "Hybrid full-text and vector search on PostgreSQL + pgvector.\n\n"
        "The database is HFSEARCH_DATABASE_URL, or, when that is unset, an embedded "
        "PostgreSQL server kept in HFSEARCH_DATA_DIR (default ./.hfsearch)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Manage the embedded PostgreSQL server.", no_args_is_help=True)
app.add_typer(db_app, name="db")

out = Console()
# Messages quote file names and data, so no Rich markup in them, and no wrapping mid-path.
err = Console(stderr=True, markup=False, highlight=False, soft_wrap=True)


@contextmanager
def _reported_errors() -> Iterator[None]:
    """Print hfsearch's own errors as one clear message and exit 1, without a traceback."""
    try:
        yield
    except HfsearchError as exc:
        err.print(Text.assemble(("error: ", "bold red"), str(exc)))
        raise typer.Exit(1) from None


def _connect(settings: Settings) -> database.Connection:
    conn = database.connect(database.database_url(settings))
    migrations.require_current(conn)
    return conn


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    )


@app.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Create or update the schema (Alembic `upgrade`), idempotently.

    Same as `alembic upgrade head` run from the repository.
    """
    with _reported_errors():
        url = database.database_url(Settings.from_env())
        migrations.upgrade(url, revision)
        with database.connect(url) as conn:
            err.print(f"schema at revision {migrations.current_revision(conn)}")


@app.command()
def load(
    source: Annotated[
        str,
        typer.Argument(
            help="A .parquet, .jsonl or viewer-export .txt file, or hf://owner/name[:split].",
            show_default=False,
        ),
    ],
    vectors_model: Annotated[
        str | None,
        typer.Option(
            help="Name of the model that made the source's vectors. Default: "
            "'dataset:unknown-<dimensions>', kept apart from every named model.",
        ),
    ] = None,
) -> None:
    """Load posts, chunks and their vectors from SOURCE.

    Every row is checked first; a file with bad rows is rejected with each row number and
    field, and nothing changes. The load is one transaction (COPY into staging tables, then
    upsert): loading the same data again changes nothing, and a post in SOURCE ends up with
    exactly the chunks SOURCE gives it.

    Example: hfsearch load data/hf-blogs-sample.parquet
    """
    with _reported_errors():
        settings = Settings.from_env()
        opened = open_source(source)
        with _connect(settings) as conn:
            dimensions = model_dimensions(conn, vectors_model) if vectors_model else None
            with _progress() as progress:
                reading = progress.add_task("checking rows", total=opened.row_count)

                def counted(rows: Iterator[RawRow]) -> Iterator[RawRow]:
                    for row in rows:
                        progress.advance(reading)
                        yield row

                records = validate(
                    opened.name,
                    counted(opened.rows),
                    has_vectors=opened.has_vectors,
                    dimensions=dimensions,
                )
                copying = progress.add_task("loading", total=len(records))
                result = load_records(
                    conn,
                    records,
                    vectors_model=vectors_model,
                    maintenance_work_mem=settings.maintenance_work_mem,
                    progress=lambda n: progress.advance(copying, n),
                )
        if not result.changed:
            err.print(
                f"{result.rows} rows read from {opened.name}: already loaded, nothing changed"
            )
            return
        err.print(
            f"{result.rows} rows read from {opened.name}: "
            f"posts {result.posts_added} added, {result.posts_updated} updated; "
            f"chunks {result.chunks_added} added, {result.chunks_updated} updated, "
            f"{result.chunks_removed} removed; "
            f"{result.vectors_written} vectors written"
            + (f" under '{result.vectors_model}'" if result.vectors_model else "")
        )
        if result.indexes_built:
            err.print(f"indexes built: {', '.join(result.indexes_built)}")


@app.command()
def convert(
    source: Annotated[str, typer.Argument(help="Any source `load` reads.", show_default=False)],
    output: Annotated[
        Path, typer.Argument(help="The .parquet or .jsonl file to write.", show_default=False)
    ],
) -> None:
    """Check SOURCE and write it as Parquet or JSON Lines, with the dataset's columns.

    Example: hfsearch convert ../shared/seed/hf-blogs-text-embeddings.sample.txt
    data/hf-blogs-sample.parquet
    """
    with _reported_errors():
        rows = convert_source(open_source(source), output)
        err.print(f"wrote {rows} rows to {output}")


@app.command()
def stats(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show posts, chunks, embedding models with their vector counts, and indexes."""
    with _reported_errors(), _connect(Settings.from_env()) as conn:
        collected = collect_stats(conn)
    if as_json:
        print(json.dumps(dataclasses.asdict(collected), indent=2))
        return
    out.print(
        f"schema {collected.schema_revision}: {collected.posts} posts, {collected.chunks} chunks"
    )
    models = Table("model", "dimensions", "vectors", "chunks", "HNSW index", title="vectors")
    for model in collected.models:
        models.add_row(
            model.name,
            str(model.dimensions),
            str(model.vectors),
            str(model.chunks),
            model.index or "-",
        )
    out.print(models)
    indexes = Table("index", "table", "method", "size", title="indexes")
    for index in collected.indexes:
        indexes.add_row(index.name, index.table, index.method, f"{index.size_bytes / 1024:.0f} kB")
    out.print(indexes)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for.", show_default=False)],
    k: Annotated[int, typer.Option("-k", min=1, max=1000, help="How many results.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """Full-text search over the loaded chunks.

    Example: hfsearch search "4-bit quantization with bitsandbytes" -k 5
    """
    with _reported_errors(), _connect(Settings.from_env()) as conn:
        results = lexical_search(conn, query, k=k)
    if as_json:
        print(json.dumps([dataclasses.asdict(r) for r in results], indent=2, ensure_ascii=False))
        return
    table = Table("#", "score", "post", "snippet", title=f"{len(results)} results for {query!r}")
    for result in results:
        snippet = result.snippet.replace("<<", "[bold yellow]").replace(">>", "[/]")
        table.add_row(str(result.rank), f"{result.score:.3f}", result.title, snippet)
    out.print(table)


@db_app.command("status")
def db_status() -> None:
    """Say whether the embedded server runs, where its files are, and its URL."""
    settings = Settings.from_env()
    if settings.database_url:
        out.print("HFSEARCH_DATABASE_URL is set: hfsearch uses that database, not the embedded one")
    status = database.embedded_status(settings.data_dir)
    state = f"running (pid {status.pid})" if status.running else "stopped"
    if not status.initialized:
        state = "not created yet (any command that needs it creates it)"
    out.print(f"embedded server: {state}\ndata: {status.pgdata}")
    if status.url:
        out.print(f"url: {status.url}")


@db_app.command("start")
def db_start() -> None:
    """Start the embedded server (other commands start it when needed)."""
    with _reported_errors():
        print(database.start_embedded(Settings.from_env().data_dir))


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded server; its data stays in the data folder."""
    with _reported_errors():
        stopped = database.stop_embedded(Settings.from_env().data_dir)
    err.print("stopped" if stopped else "was not running")


@db_app.command("url")
def db_url() -> None:
    """Print the database URL (starting the embedded server if needed), e.g. for psql:

    psql "$(hfsearch db url)"
    """
    with _reported_errors():
        print(database.database_url(Settings.from_env()))

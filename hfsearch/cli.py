"""The `hfsearch` command line."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import psycopg
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from hfsearch import database, migrations
from hfsearch.client import SearchClient
from hfsearch.config import Settings
from hfsearch.convert import convert as convert_source
from hfsearch.embedding import embed_chunks, load_embedder
from hfsearch.errors import HfsearchError
from hfsearch.evaluation import METRICS, evaluate, read_queries
from hfsearch.loading import ProgressCallback, load_records
from hfsearch.roles import create_login
from hfsearch.search import MODES, Fusion, Mode, SearchHit, SearchPage
from hfsearch.sources import RawRow, Source, open_source
from hfsearch.stats import collect_stats
from hfsearch.validation import ChunkRecord, check_rows, validated, write_rejected
from hfsearch.vectors import model_dimensions

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
    except psycopg.errors.InsufficientPrivilege as exc:
        message = f"{exc.diag.message_primary}: this needs a role in hfsearch_writer"
        err.print(Text.assemble(("error: ", "bold red"), message))
        raise typer.Exit(1) from None
    except psycopg.OperationalError as exc:  # the connection went away mid-command
        err.print(Text.assemble(("error: ", "bold red"), f"database error: {exc}"))
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
    skip_invalid: Annotated[
        Path | None,
        typer.Option(
            help="Load the good rows anyway; write the rejected ones, with their reasons, "
            "to this JSONL file.",
        ),
    ] = None,
) -> None:
    """Load posts, chunks and their vectors from SOURCE.

    Every row is checked; a file with bad rows is rejected with each row number and field,
    and nothing changes. The load is one transaction (rows checked as they are copied into
    staging tables, then upserted): loading the same data again changes nothing, and a post
    in SOURCE ends up with exactly the chunks SOURCE gives it.

    Example: hfsearch load data/hf-blogs-sample.parquet
    """
    with _reported_errors():
        settings = Settings.from_env()
        opened = open_source(source)
        with _connect(settings) as conn:
            dimensions = model_dimensions(conn, vectors_model) if vectors_model else None
            with _progress() as progress:
                records = _checked_records(opened, dimensions, skip_invalid, progress)
                copied: ProgressCallback | None = None
                if isinstance(records, list):  # checked in full first (--skip-invalid)
                    copying = progress.add_task("loading", total=len(records))
                    copied = partial(progress.advance, copying)
                result = load_records(
                    conn,
                    records,
                    vectors_model=vectors_model,
                    maintenance_work_mem=settings.maintenance_work_mem,
                    progress=copied,
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


def _checked_records(
    source: Source, dimensions: int | None, rejects: Path | None, progress: Progress
) -> Iterable[ChunkRecord]:
    """Every row checked. Without `rejects`, a stream of the good records that raises after
    the last row if any was bad (the load writes each record as it is checked, and the
    error rolls it all back). With `rejects`, the good records, all rows read first, while
    the bad ones go to that file with their reasons."""
    task = "checking rows" if rejects is not None else "checking and loading rows"
    reading = progress.add_task(task, total=source.row_count)
    seen: dict[int, RawRow] = {}

    def counted(rows: Iterator[RawRow]) -> Iterator[RawRow]:
        for row in rows:
            progress.advance(reading)
            if rejects is not None:
                seen[row.number] = row  # kept to write the rejected ones out
            yield row

    if rejects is None:
        return validated(
            source.name, counted(source.rows), has_vectors=source.has_vectors, dimensions=dimensions
        )
    records, problems = check_rows(
        counted(source.rows), has_vectors=source.has_vectors, dimensions=dimensions
    )
    rejected = write_rejected(rejects, problems, seen)
    err.print(f"{rejected} bad row(s) skipped, written with their reasons to {rejects}")
    return records


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
    if collected.vectors_out_of_line_bytes and any(m.dimensions <= 2000 for m in collected.models):
        out.print(
            f"{collected.vectors_out_of_line_bytes / 2**20:.1f} MB of vectors stored out of line "
            "(TOAST): any of up to 2,000 dimensions among them were written before revision "
            "0016, and `VACUUM FULL embeddings` moves them into their rows, where searches read "
            "them faster (it rebuilds the table's indexes)"
        )


class ModeName(enum.StrEnum):  # Typer lists Enums, not Literals
    hybrid = "hybrid"
    lexical = "lexical"
    vector = "vector"

    @property
    def mode(self) -> Mode:
        return self.value


ModeOption = Annotated[
    Mode | None,
    typer.Option(
        "--mode",
        help="hybrid, lexical or vector. Default: hybrid with an embedding model, else lexical.",
    ),
]
ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model",
        envvar="HFSEARCH_EMBEDDING_MODEL",
        help="Query embedding model (Hub name or folder); its vectors must be in the database.",
    ),
]


def _hit_json(hit: SearchHit) -> dict[str, object]:
    return {**dataclasses.asdict(hit), "key": hit.key, "published_on": hit.published_on.isoformat()}


@app.command()
def search(
    query: Annotated[
        str | None, typer.Argument(help="What to look for.", show_default=False)
    ] = None,
    mode: ModeOption = None,
    k: Annotated[int, typer.Option("-k", min=1, max=1000, help="How many results.")] = 10,
    tag: Annotated[
        list[str] | None, typer.Option(help="Only posts with this tag (repeat: any of them).")
    ] = None,
    all_tags: Annotated[
        bool, typer.Option(help="With several --tag: posts with all of them.")
    ] = False,
    author: Annotated[
        list[str] | None, typer.Option(help="Only posts by this author (repeatable).")
    ] = None,
    since: Annotated[
        dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Posts published on or after.")
    ] = None,
    until: Annotated[
        dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Posts published on or before.")
    ] = None,
    post: Annotated[
        list[str] | None, typer.Option(help="Only this post, by slug (repeatable).")
    ] = None,
    by_post: Annotated[bool, typer.Option(help="Only the best chunk of each post.")] = False,
    fusion: Annotated[
        Fusion, typer.Option(help="rrf (reciprocal rank) or weighted (min-max scores).")
    ] = "rrf",
    rrf_k: Annotated[float, typer.Option(help="RRF's k: larger flattens the rank weights.")] = 60.0,
    lexical_weight: Annotated[float, typer.Option(help="Weight of the full-text side.")] = 1.0,
    vector_weight: Annotated[float, typer.Option(help="Weight of the vector side.")] = 1.0,
    depth: Annotated[
        int, typer.Option(min=1, max=1000, help="Candidates from each side before fusion.")
    ] = 100,
    ef_search: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=1000,
            help="HNSW search breadth: wider finds more, slower. Default: by the corpus's size,"
            " 100 up to 250,000 chunks, 400 at 1M.",
        ),
    ] = None,
    exact: Annotated[
        bool, typer.Option(help="Exact vector search (no index), for recall checks.")
    ] = False,
    cursor: Annotated[
        str | None, typer.Option(help="Next page: the cursor the previous page printed.")
    ] = None,
    model: ModelOption = None,
    queries: Annotated[
        Path | None,
        typer.Option(
            help='Batch mode: JSONL of {"qid": ..., "query": ...}; prints a line per query.'
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Search the chunks: full-text (BM25), vector, or both fused (hybrid).

    Examples:

      hfsearch search "4-bit quantization" -k 5

      hfsearch search "speed up inference" --tag llm --since 2023-09-15 --by-post --json

      hfsearch search --queries queries.jsonl --json
    """
    options: dict[str, Any] = {
        "mode": mode,
        "k": k,
        "fusion": fusion,
        "rrf_k": rrf_k,
        "lexical_weight": lexical_weight,
        "vector_weight": vector_weight,
        "depth": depth,
        "tags": None if all_tags else tag,
        "all_tags": tag if all_tags else None,
        "authors": author,
        "since": since.date() if since else None,
        "until": until.date() if until else None,
        "posts": post,
        "by_post": by_post,
        "ef_search": ef_search,
        "exact": exact,
        "cursor": cursor,
    }
    with _reported_errors(), SearchClient(embedding_model=model) as client:
        if queries is not None:
            for item in read_queries(queries, judged=False):
                page = client.search(item.query, **options)
                print(
                    json.dumps(
                        {"qid": item.qid, "results": [_hit_json(h) for h in page.hits]},
                        ensure_ascii=False,
                    )
                )
            return
        if query is None:
            raise HfsearchError("give a query, or --queries FILE")
        page = client.search(query, **options)
    if as_json:
        print(json.dumps([_hit_json(h) for h in page.hits], indent=2, ensure_ascii=False))
        return
    _print_page(query, page)


def _print_page(query: str, page: SearchPage) -> None:
    table = Table(title=f"{len(page.hits)} results for {query!r}", show_lines=True)
    table.add_column("#", justify="right")
    table.add_column("score", justify="right")
    table.add_column("post", max_width=28)
    table.add_column("snippet", ratio=1)
    table.add_column("found by", max_width=10)
    for hit in page.hits:
        snippet = Text(hit.snippet.replace("<<", "").replace(">>", ""))
        snippet.highlight_words(set(re.findall(r"<<(.*?)>>", hit.snippet)), style="bold yellow")
        found_by = [
            f"{side} #{rank}"
            for side, rank in (("text", hit.lexical_rank), ("vector", hit.vector_rank))
            if rank is not None
        ]
        table.add_row(str(hit.rank), f"{hit.score:.3f}", hit.title, snippet, "\n".join(found_by))
    out.print(table)
    if page.next_cursor:
        err.print(f"next page: --cursor {page.next_cursor}")
    elif page.short:
        err.print(f"{len(page.hits)} of {page.k} asked: nothing more matched")


@app.command()
def similar(
    chunk_id: Annotated[
        int, typer.Argument(help="A chunk id, as search prints it.", show_default=False)
    ],
    k: Annotated[int, typer.Option("-k", min=1, max=1000, help="How many results.")] = 10,
    model: Annotated[
        str | None, typer.Option(help="Whose vectors to compare (default: any the chunk has).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Chunks most like a stored chunk ("more like this"), from its own vectors.

    Works with the data set's vectors of an unknown model too: no query model is needed.
    """
    with _reported_errors(), SearchClient() as client:
        page = client.similar(chunk_id, k=k, model=model)
    if as_json:
        print(json.dumps([_hit_json(h) for h in page.hits], indent=2, ensure_ascii=False))
        return
    _print_page(f"chunk {chunk_id}", page)


@app.command()
def embed(
    model: Annotated[
        str,
        typer.Option(
            "--model",
            envvar="HFSEARCH_EMBEDDING_MODEL",
            help="A sentence-transformers model: Hub name or local folder.",
            show_default=False,
        ),
    ],
    batch_size: Annotated[int, typer.Option(min=1, help="Chunks per transaction.")] = 64,
) -> None:
    """Compute vectors for every chunk that has none under MODEL, then index them.

    Resumable: each batch commits on its own, and a new run skips chunks already done.
    Chunks longer than the model reads are embedded as overlapping windows. Embedding a new
    model while another serves searches is safe; switch HFSEARCH_EMBEDDING_MODEL after.
    """
    with _reported_errors():
        settings = Settings.from_env()
        embedder = load_embedder(model)
        with _connect(settings) as conn, _progress() as progress:
            task = progress.add_task("embedding chunks", total=None)
            result = embed_chunks(
                conn,
                embedder,
                batch_chunks=batch_size,
                on_start=lambda total: progress.update(task, total=total),
                progress=lambda n: progress.advance(task, n),
            )
    err.print(
        f"{result.chunks} chunks embedded under '{result.model}' as {result.vectors} vectors"
        + ("; HNSW index built" if result.index_built else "")
    )


@app.command("eval")
def evaluate_command(
    queries: Annotated[
        Path,
        typer.Argument(
            help="JSONL: {qid, query, relevant: {slug#position: grade}}.", show_default=False
        ),
    ],
    mode: Annotated[
        list[ModeName] | None,
        typer.Option("--mode", help="Modes to measure (default: all that can run)."),
    ] = None,
    model: ModelOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Measure nDCG@10, Recall@10 and MRR@10 of each search mode on judged queries."""
    with _reported_errors(), SearchClient(embedding_model=model) as client:
        judged = read_queries(queries)
        modes: list[Mode] = (
            [m.mode for m in mode]
            if mode
            else (list(MODES) if client.embedding_model else ["lexical"])
        )
        table = {m: evaluate(judged, partial(client.search, mode=m, k=10)) for m in modes}
    if as_json:
        print(json.dumps({"queries": len(judged), "modes": table}, indent=2))
        return
    view = Table("mode", *METRICS, title=f"{len(judged)} queries from {queries}")
    for name, scores in table.items():
        view.add_row(name, *(f"{scores[metric]:.3f}" for metric in METRICS))
    out.print(view)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    model: ModelOption = None,
    statement_timeout: Annotated[
        int, typer.Option(help="Longest a search statement may run, in milliseconds.")
    ] = 5000,
) -> None:
    """Serve the HTTP API and the search page (OpenAPI docs at /docs).

    Example: hfsearch serve --host 0.0.0.0 --port 8000
    """
    import uvicorn

    from hfsearch.service import ServiceConfig, create_app

    with _reported_errors():
        settings = Settings.from_env()
        config = ServiceConfig(
            database_url=database.database_url(settings),
            embedding_model=model,
            statement_timeout_ms=statement_timeout,
        )
        uvicorn.run(create_app(config), host=host, port=port)


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
        out.print(
            f"shared_buffers: {database.running_shared_buffers(status.url)} (the next command"
            f" asks for {settings.shared_buffers}: HFSEARCH_SHARED_BUFFERS, else a quarter of"
            " the memory)"
        )


@db_app.command("start")
def db_start() -> None:
    """Start the embedded server (other commands start it when needed)."""
    with _reported_errors():
        settings = Settings.from_env()
        print(database.start_embedded(settings.data_dir, settings.shared_buffers))


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded server; its data stays in the data folder."""
    with _reported_errors():
        stopped = database.stop_embedded(Settings.from_env().data_dir)
    err.print("stopped" if stopped else "was not running")


@db_app.command("create-login")
def db_create_login(
    name: Annotated[str, typer.Argument(help="The login role to create or update.")],
    role: Annotated[
        str, typer.Option(help="reader (search only) or writer (also load and embed).")
    ] = "reader",
    password_env: Annotated[
        str, typer.Option(help="The environment variable that holds its password.")
    ] = "HFSEARCH_LOGIN_PASSWORD",
) -> None:
    """Create a login role in hfsearch_reader or hfsearch_writer (run as an administrator).

    The password comes from an environment variable, never from the command line, so it does
    not end up in shell history or process lists. Example:

      HFSEARCH_LOGIN_PASSWORD=... hfsearch db create-login search_api --role reader
    """
    with _reported_errors():
        if role not in ("reader", "writer"):
            raise HfsearchError(f"--role must be reader or writer, not {role!r}")
        password = os.environ.get(password_env) or None
        with _connect(Settings.from_env()) as conn:
            created = create_login(conn, name, "reader" if role == "reader" else "writer", password)
    err.print(f"{'created' if created else 'updated'} login {name} in hfsearch_{role}")


@db_app.command("url")
def db_url() -> None:
    """Print the database URL (starting the embedded server if needed), e.g. for psql:

    psql "$(hfsearch db url)"
    """
    with _reported_errors():
        print(database.database_url(Settings.from_env()))

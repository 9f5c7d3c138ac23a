"""What a peer script reads (the corpus file the harness generated, and the queries) and
the helpers both use (psycopg 3 and pgvector-python are in both peers' environments)."""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pyarrow.parquet as pq
from pgvector.psycopg import register_vector
from psycopg import sql
from psycopg.abc import Query

BATCH = 10_000  # rows a peer adds per call, and reads from the corpus at a time


@dataclass(frozen=True)
class Batch:
    titles: list[str]
    texts: list[str]
    vectors: np.ndarray  # (rows, dimensions) float32


@dataclass(frozen=True)
class PeerInputs:
    url: str  # a libpq URL of the database the peer may fill
    corpus: Path  # read a batch at a time: a million rows' texts and vectors take 10 GB or more
    chunks: int
    dimensions: int
    query_texts: list[str]
    query_vectors: np.ndarray
    # "add": the store's own add, timed (its load figure); "copy": the rows written by COPY
    # into the store's table, for sizes its add would take hours on (query figures only)
    rows: str

    def batches(self) -> Iterator[Batch]:
        columns = ["title", "chunk", "embedding"]
        for batch in pq.ParquetFile(self.corpus).iter_batches(batch_size=BATCH, columns=columns):
            vectors = np.asarray(batch.column("embedding").flatten(), dtype=np.float32)
            yield Batch(
                titles=batch.column("title").to_pylist(),
                texts=batch.column("chunk").to_pylist(),
                vectors=vectors.reshape(-1, self.dimensions),
            )


def read_inputs(description: str) -> PeerInputs:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--url", required=True)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--queries", type=Path, required=True, help="JSON: texts, vectors")
    parser.add_argument("--rows", choices=("add", "copy"), default="add")
    args = parser.parse_args()
    corpus = pq.ParquetFile(args.corpus)
    first = next(corpus.iter_batches(batch_size=1, columns=["embedding"]))
    queries = json.loads(args.queries.read_text())
    return PeerInputs(
        url=args.url,
        corpus=args.corpus,
        chunks=corpus.metadata.num_rows,
        dimensions=len(first.column("embedding")[0]),
        query_texts=queries["texts"],
        query_vectors=np.asarray(queries["vectors"], dtype=np.float32),
        rows=args.rows,
    )


def copy_rows(
    url: str,
    statement: str,
    types: Sequence[str],
    rows: Iterable[Sequence[object]],
    before: Sequence[str] = (),
    after: Sequence[str] = (),
) -> None:
    """Write rows into a store's table by COPY ... FROM STDIN (FORMAT BINARY), between the
    statements `before` and `after`, in one transaction.

    Numpy vectors are sent as pgvector's binary `vector`.
    """
    with psycopg.connect(url) as conn:
        register_vector(conn)
        for query in before:
            conn.execute(query)
        with conn.cursor() as cur, cur.copy(statement) as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row(row)
        for query in after:
            conn.execute(query)


def one_value(url: str, statement: Query) -> Any:
    """The single value a statement reads from a store's database, on a new connection."""
    with psycopg.connect(url) as conn:
        row = conn.execute(statement).fetchone()
    assert row is not None
    return row[0]


def rows_in(url: str, table: str) -> int:
    """How many rows a store's table holds: every one of the corpus's, or its load went wrong."""
    return int(one_value(url, sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))))


def text_matches(url: str, statement: str, queries: Sequence[str]) -> dict[str, float]:
    """How many chunks a store's full-text side matches for each query, counted up to 100
    (the candidates hybrid search takes from it): its tsquery decides how much of its hybrid
    search is full-text at all. `statement` counts one query's matches, its text as %s."""
    counts = []
    with psycopg.connect(url) as conn:
        for query in queries:
            row = conn.execute(statement, [query]).fetchone()
            assert row is not None
            counts.append(int(row[0]))
    return {
        "median": statistics.median(counts),
        "share_with_none": round(sum(count == 0 for count in counts) / len(counts), 3),
    }


def load_figures(
    inputs: PeerInputs, seconds: float, rows_seconds: float | None = None
) -> dict[str, object]:
    """A store's load: its time from nothing to searchable and its rows/s; with its rows
    copied in, only how long that took (not the store's own speed). Both with the
    `maintenance_work_mem` a new connection to its database gets (the harness sets it for the
    database), which its index builds had."""
    memory = str(one_value(inputs.url, "SHOW maintenance_work_mem"))
    if inputs.rows == "copy":
        return {"rows": "copied", "fill_seconds": round(seconds, 2), "maintenance_work_mem": memory}
    figures: dict[str, object] = {
        "rows": "added",
        "load_seconds": round(seconds, 2),
        "maintenance_work_mem": memory,
    }
    if rows_seconds is not None:
        figures["rows_seconds"] = round(rows_seconds, 2)
    figures["rows_per_second"] = round(inputs.chunks / seconds)
    return figures


def sqlalchemy_url(url: str, driver: str) -> str:
    """postgresql://... as SQLAlchemy's postgresql+<driver>://..."""
    return url.replace("postgresql://", f"postgresql+{driver}://", 1)

"""Reading data sources into raw rows, one format per reader.

A reader only reads: it yields each row's fields as found, numbered from 1, and leaves
judging them to `hfsearch.validation`. A row that cannot even be read (a line that is not
UTF-8 or not JSON) is yielded with its problem, so one pass reports every bad row.

Formats: Parquet (`.parquet`), JSON Lines (`.jsonl`, `.ndjson`), the dataset viewer's text
export (`.txt`, see ../shared/seed/README.md) and a Hugging Face Hub dataset
(`hf://owner/name`, read with the `datasets` library when the Hub is reachable).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hfsearch.errors import SourceError

# The dataset's columns, in its order. `embedding` may be absent: text-only corpora load
# without vectors and are embedded later.
REQUIRED_COLUMNS = ("title", "author", "date", "local", "tags", "URL", "chunk")
VECTOR_COLUMN = "embedding"
COLUMNS = (*REQUIRED_COLUMNS, VECTOR_COLUMN)


@dataclass(frozen=True)
class RawRow:
    number: int  # 1-based position of the row in the source
    location: str  # where to look for it: "line 57", "row group 0, row 56", ...
    fields: dict[str, object] = field(default_factory=dict)
    problem: str | None = None  # set when the row could not be read at all


@dataclass(frozen=True)
class Source:
    """An opened source: its name, whether it has vectors, and its rows (read lazily)."""

    name: str
    has_vectors: bool
    rows: Iterator[RawRow]
    row_count: int | None = None  # known up front for Parquet and Hub datasets


def open_source(spec: str) -> Source:
    """Open a file path or `hf://owner/name[:split]` by its form."""
    if spec.startswith("hf://"):
        return _open_hub_dataset(spec.removeprefix("hf://"))
    path = Path(spec)
    if not path.is_file():
        raise SourceError(f"{spec}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return _open_parquet(path)
    if suffix in (".jsonl", ".ndjson"):
        return _open_jsonl(path)
    if suffix == ".txt":
        return _open_viewer_export(path)
    raise SourceError(
        f"{spec}: unknown format {suffix or '(no extension)'}; "
        "expected .parquet, .jsonl, .txt (viewer export) or hf://owner/name"
    )


def _check_columns(name: str, columns: list[str]) -> bool:
    """Fail on a missing required column; return whether the vector column is there."""
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise SourceError(
            f"{name}: missing column(s) {', '.join(missing)}; found {', '.join(columns) or 'none'}"
        )
    return VECTOR_COLUMN in columns


def _open_parquet(path: Path) -> Source:
    try:
        # Buffered reads, a megabyte at a time (measured: about half the reader's memory for a
        # file of one row group).
        parquet = pq.ParquetFile(path, buffer_size=1 << 20)
    except (pa.ArrowException, OSError) as exc:
        raise SourceError(f"{path}: not a readable Parquet file ({exc})") from exc
    has_vectors = _check_columns(str(path), parquet.schema_arrow.names)
    columns = [c for c in COLUMNS if c in parquet.schema_arrow.names]
    return Source(
        name=str(path),
        has_vectors=has_vectors,
        rows=_parquet_rows(path, parquet, columns),
        row_count=parquet.metadata.num_rows,
    )


# Rows are read a batch at a time, whatever the file's row groups: a row group may hold the
# whole file (pyarrow writes up to a million rows in one). Read whole and turned into dicts at
# once, a 100k-row file took a load's peak memory to 2.24 GB; read in batches, 1.31 GB.
ROWS_PER_BATCH = 4096


def _parquet_rows(path: Path, parquet: pq.ParquetFile, columns: list[str]) -> Iterator[RawRow]:
    number = 0  # rows read so far
    try:
        # One reader a row group: one reader over all of them kept every group it had read
        # (measured: 3.2 GB of Arrow memory after 800k rows of a 1M-row file of 20 groups).
        for group in range(parquet.num_row_groups):
            batches = parquet.iter_batches(
                batch_size=ROWS_PER_BATCH, columns=columns, row_groups=[group]
            )
            row_in_group = 0
            for batch in batches:
                vectors = None
                if VECTOR_COLUMN in batch.schema.names:
                    vectors = _vector_block(pa.chunked_array([batch.column(VECTOR_COLUMN)]))
                if vectors is not None:
                    batch = batch.drop_columns([VECTOR_COLUMN])
                for index, fields in enumerate(batch.to_pylist()):
                    if vectors is not None:
                        fields[VECTOR_COLUMN] = vectors[index]
                    number += 1
                    yield RawRow(number, f"row group {group}, row {row_in_group}", fields)
                    row_in_group += 1
    except (pa.ArrowException, OSError) as exc:
        raise SourceError(f"{path}: broken after row {number} ({exc})") from exc


def _vector_block(column: pa.ChunkedArray[Any]) -> npt.NDArray[np.float32] | None:
    """A column of equal-length float lists without nulls as one (rows, dimensions) array.

    Python lists of 768 floats per row cost more than the whole COPY; rows of this array are
    views into one buffer. None for any other column, which is then read row by row, so the
    validator can name the rows that are wrong.
    """
    array = column.combine_chunks()
    if not (
        pa.types.is_list(array.type)
        or pa.types.is_large_list(array.type)
        or pa.types.is_fixed_size_list(array.type)
    ) or not pa.types.is_floating(array.type.value_type):
        return None
    values = pc.list_flatten(array)
    if len(array) == 0 or array.null_count or values.null_count:
        return None
    lengths = pc.list_value_length(array).to_numpy()
    dimensions = int(lengths[0])
    if dimensions == 0 or not np.all(lengths == dimensions):
        return None
    block: npt.NDArray[np.float32] = values.to_numpy().astype(np.float32, copy=False)
    return block.reshape(len(array), dimensions)


def _open_jsonl(path: Path) -> Source:
    with path.open("rb") as file:
        first = next((line for line in file if line.strip()), b"")
    try:
        head = json.loads(first) if first else {}
    except (UnicodeDecodeError, json.JSONDecodeError):
        head = {}  # reported row by row below
    has_vectors = isinstance(head, dict) and VECTOR_COLUMN in head
    return Source(name=str(path), has_vectors=has_vectors, rows=_jsonl_rows(path))


def _jsonl_rows(path: Path) -> Iterator[RawRow]:
    number = 0
    with path.open("rb") as file:
        for line_number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            number += 1
            location = f"line {line_number}"
            try:
                fields = json.loads(line.decode("utf-8"))
            except UnicodeDecodeError as exc:
                yield RawRow(number, location, problem=f"not valid UTF-8 at byte {exc.start}")
                continue
            except json.JSONDecodeError as exc:
                truncated = " (is the file truncated?)" if not line.endswith(b"\n") else ""
                yield RawRow(number, location, problem=f"not valid JSON: {exc.msg}{truncated}")
                continue
            if not isinstance(fields, dict):
                yield RawRow(number, location, problem="not a JSON object")
                continue
            yield RawRow(number, location, fields)


# The viewer export names each column, then its type, then a one- or two-line summary.
_VIEWER_TYPE_SUMMARY_LINES = {"stringclasses": 1, "stringlengths": 2, "sequencelengths": 2}


def _open_viewer_export(path: Path) -> Source:
    lines = path.read_bytes().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    columns, header_length = _viewer_header(path, lines)
    has_vectors = _check_columns(str(path), columns)
    return Source(
        name=str(path),
        has_vectors=has_vectors,
        rows=_viewer_rows(path, lines, columns, header_length),
        row_count=(len(lines) - header_length) // len(columns),
    )


def _viewer_header(path: Path, lines: list[bytes]) -> tuple[list[str], int]:
    columns: list[str] = []
    index = 0
    while index + 1 < len(lines):
        kind = lines[index + 1].decode("utf-8", "replace").strip()
        if kind not in _VIEWER_TYPE_SUMMARY_LINES:
            break
        columns.append(lines[index].decode("utf-8", "replace").strip())
        index += 2 + _VIEWER_TYPE_SUMMARY_LINES[kind]
    if not columns:
        raise SourceError(
            f"{path}: not a dataset viewer export (line 2 should be a column type such as "
            "'stringclasses')"
        )
    return columns, index


def _viewer_rows(
    path: Path, lines: list[bytes], columns: list[str], header_length: int
) -> Iterator[RawRow]:
    width = len(columns)
    body = lines[header_length:]
    for number, start in enumerate(range(0, len(body), width), start=1):
        first_line = header_length + start + 1
        location = f"lines {first_line}-{first_line + width - 1}"
        values = body[start : start + width]
        if len(values) < width:
            yield RawRow(
                number,
                location,
                problem=f"has {len(values)} of {width} lines (is the file truncated?)",
            )
            return
        fields: dict[str, object] = {}
        for column, value in zip(columns, values, strict=True):
            try:
                fields[column] = value.decode("utf-8")
            except UnicodeDecodeError as exc:
                fields[column] = InvalidText(f"not valid UTF-8 at byte {exc.start}")
        yield RawRow(number, location, fields)


@dataclass(frozen=True)
class InvalidText:
    """A field whose bytes are not text; validation reports it with its row and field."""

    reason: str


def _open_hub_dataset(name: str) -> Source:
    repo, _, split = name.partition(":")
    try:
        import datasets  # optional: `pip install hfsearch[hub]`
    except ImportError as exc:
        raise SourceError("reading hf:// sources needs `pip install datasets`") from exc
    try:
        dataset = datasets.load_dataset(repo, split=split or "train")
    except Exception as exc:  # datasets raises many kinds: offline, not found, auth
        raise SourceError(f"hf://{name}: cannot load from the Hugging Face Hub ({exc})") from exc
    has_vectors = _check_columns(f"hf://{name}", list(dataset.column_names))
    rows = (
        RawRow(number, f"row {number - 1}", dict(fields))
        for number, fields in enumerate(dataset, start=1)
    )
    return Source(name=f"hf://{name}", has_vectors=has_vectors, rows=rows, row_count=len(dataset))

"""Turning raw rows into checked chunk records, or a list of everything wrong with them.

Every row is checked, and every problem is reported with its row number, where the row is
in the file, and the field, so a bad file is fixed in one round. A load consumes the checked
records as a stream inside its transaction (`validated`), so a rejected load changes nothing
and a million rows are never held in memory at once.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from hfsearch.errors import HfsearchError
from hfsearch.schema import MAX_DIMENSIONS
from hfsearch.sources import REQUIRED_COLUMNS, VECTOR_COLUMN, InvalidText, RawRow

# PostgreSQL cannot build a tsvector from much more than this; no real chunk comes close
# (the dataset's longest is 30.6k characters).
MAX_CHUNK_BYTES = 1_000_000
DATE_FORMATS = ("%B %d, %Y", "%b %d, %Y", "%Y-%m-%d")  # "September 12, 2023", "Sep 15, 2023"
MAX_PROBLEMS_SHOWN = 20

Vector = npt.NDArray[np.float32]


@dataclass(frozen=True)
class PostRecord:
    slug: str
    title: str
    url: str
    published_on: dt.date
    authors: tuple[str, ...]
    tags: tuple[str, ...]


@dataclass(frozen=True)
class ChunkRecord:
    row: int  # the source row it came from, for messages
    post: PostRecord
    position: int  # order within its post, from 0
    text: str
    content_hash: bytes  # sha256 of the UTF-8 text
    embedding: Vector | None


@dataclass(frozen=True)
class Problem:
    row: int
    location: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row} ({self.location}), field '{self.field}': {self.message}"


class ValidationError(HfsearchError):
    """The source has bad rows; nothing was loaded."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        rows = len({p.row for p in self.problems})
        shown = "\n".join(f"  {p}" for p in self.problems[:MAX_PROBLEMS_SHOWN])
        more = len(self.problems) - MAX_PROBLEMS_SHOWN
        tail = f"\n  ... and {more} more" if more > 0 else ""
        super().__init__(
            f"{source}: {rows} bad row(s), nothing was loaded:\n{shown}{tail}",
        )


class _FieldError(Exception):
    def __init__(self, field: str, message: str) -> None:
        self.field, self.message = field, message


def validate(
    source: str,
    rows: Iterable[RawRow],
    *,
    has_vectors: bool,
    dimensions: int | None = None,
) -> list[ChunkRecord]:
    """Check every row; return the records in source order or raise ValidationError.

    `dimensions` is the vector length the target model already has in the database; when
    None, the length most rows share is expected of all of them.
    """
    return list(validated(source, rows, has_vectors=has_vectors, dimensions=dimensions))


def validated(
    source: str,
    rows: Iterable[RawRow],
    *,
    has_vectors: bool,
    dimensions: int | None = None,
) -> Iterator[ChunkRecord]:
    """Each good record as soon as its row is checked; once the rows are exhausted, raise
    ValidationError if any row was bad (no record is yielded after the first bad row).

    A load writes these records into its transaction as they come, so a bad row anywhere
    still leaves the database as it was, and no record outlives its COPY: a million records
    held until the end took about 12 GB. The vector length most rows share is known only at
    the end, so a row whose vector has another length may have been yielded before it is
    reported; what consumes this must not commit before it is exhausted.
    """
    checker = _RowChecker(has_vectors, dimensions)
    for raw in rows:
        parsed = checker.parse(raw)
        record = checker.assemble(parsed, dimensions) if parsed is not None else None
        if record is not None and not checker.problems:
            yield record
    if dimensions is None:
        checker.problems += checker.length_problems(checker.expected_length())
    if checker.problems:
        raise ValidationError(source, sorted(checker.problems, key=lambda p: p.row))


def check_rows(
    rows: Iterable[RawRow],
    *,
    has_vectors: bool,
    dimensions: int | None = None,
) -> tuple[list[ChunkRecord], list[Problem]]:
    """The records of the good rows, and the problems of the others, by row number.

    Unlike `validated`, every row is read before any record is made, so that rows whose
    vector length differs from most rows' are left out before chunks get their positions.
    """
    checker = _RowChecker(has_vectors, dimensions)
    parsed = [item for raw in rows if (item := checker.parse(raw)) is not None]
    expected = checker.expected_length()
    records = [
        record for item in parsed if (record := checker.assemble(item, expected)) is not None
    ]
    return records, sorted(checker.problems, key=lambda p: p.row)


@dataclass(frozen=True)
class _ParsedRow:
    number: int  # where it came from, not its raw fields (they would hold it all twice)
    location: str
    post: PostRecord
    text: str
    embedding: Vector | None


class _RowChecker:
    """The checks of one source's rows, a row at a time. It keeps only what later rows are
    compared with: each post's first row, each chunk's hash, the rows of each vector length."""

    def __init__(self, has_vectors: bool, dimensions: int | None) -> None:
        self.has_vectors = has_vectors
        self.dimensions = dimensions  # the model's, from the database
        self.problems: list[Problem] = []
        self.rows_by_length: dict[int, list[tuple[int, str]]] = {}  # number, location
        self.first_row_of_post: dict[str, tuple[int, PostRecord]] = {}
        self.first_row_of_chunk: dict[tuple[str, bytes], int] = {}
        self.next_position: Counter[str] = Counter()

    def parse(self, raw: RawRow) -> _ParsedRow | None:
        """The row's fields checked one by one; None (and a problem) if one is wrong."""
        if raw.problem is not None:
            self.problems.append(Problem(raw.number, raw.location, "(row)", raw.problem))
            return None
        try:
            post, text, embedding = _parse_row(raw, self.has_vectors)
        except _FieldError as exc:
            self.problems.append(Problem(raw.number, raw.location, exc.field, exc.message))
            return None
        if embedding is not None and self.dimensions is None:
            self.rows_by_length.setdefault(len(embedding), []).append((raw.number, raw.location))
        return _ParsedRow(raw.number, raw.location, post, text, embedding)

    def expected_length(self) -> int | None:
        """The model's vector length, or else the one most rows share so far."""
        if self.dimensions is not None or not self.rows_by_length:
            return self.dimensions
        return max(self.rows_by_length, key=lambda length: len(self.rows_by_length[length]))

    def length_problems(self, expected: int | None) -> list[Problem]:
        """A problem for each row seen whose vector is not `expected` numbers long."""
        return [
            self._length_problem(number, location, length, expected)
            for length, rows in self.rows_by_length.items()
            if expected is not None and length != expected
            for number, location in rows
        ]

    def _length_problem(
        self, number: int, location: str, length: int, expected: int | None
    ) -> Problem:
        in_database = self.dimensions is not None
        origin = "as the model has in the database" if in_database else "as most rows"
        message = f"has {length} numbers, expected {expected} ({origin})"
        return Problem(number, location, VECTOR_COLUMN, message)

    def assemble(self, parsed: _ParsedRow, expected_length: int | None) -> ChunkRecord | None:
        """The row as a chunk of its post at its position; None (and a problem) if its vector
        is not `expected_length` long, its post disagrees with itself or the chunk repeats."""
        number, location = parsed.number, parsed.location
        post, text, embedding = parsed.post, parsed.text, parsed.embedding
        if embedding is not None and expected_length not in (None, len(embedding)):
            self.problems.append(
                self._length_problem(number, location, len(embedding), expected_length)
            )
            return None
        known = self.first_row_of_post.setdefault(post.slug, (number, post))
        if known[1] != post:
            self.problems.append(
                Problem(
                    number,
                    location,
                    _first_difference(known[1], post),
                    f"differs from row {known[0]}, an earlier chunk of post '{post.slug}'",
                )
            )
            return None
        content_hash = hashlib.sha256(text.encode("utf-8")).digest()
        duplicate_of = self.first_row_of_chunk.setdefault((post.slug, content_hash), number)
        if duplicate_of != number:
            self.problems.append(
                Problem(
                    number,
                    location,
                    "chunk",
                    f"same text as row {duplicate_of} of the same post (duplicate row)",
                )
            )
            return None
        position = self.next_position[post.slug]
        self.next_position[post.slug] += 1
        # The post's first record, equal to this one: one object per post, not per chunk.
        return ChunkRecord(number, known[1], position, text, content_hash, embedding)


def _parse_row(raw: RawRow, has_vectors: bool) -> tuple[PostRecord, str, Vector | None]:
    fields = raw.fields
    for column in REQUIRED_COLUMNS:
        if column not in fields or fields[column] is None:
            raise _FieldError(column, "missing")
    post = PostRecord(
        slug=_text(fields, "local"),
        title=_text(fields, "title"),
        url=_text(fields, "URL"),
        published_on=_date(fields, "date"),
        authors=_names(fields, "author", lowercase=False, required=True),
        tags=_names(fields, "tags", lowercase=True, required=False),
    )
    text = _text(fields, "chunk", strip=False)  # search returns the text exactly as given
    if len(text.encode("utf-8")) > MAX_CHUNK_BYTES:
        raise _FieldError("chunk", f"longer than {MAX_CHUNK_BYTES:,} bytes; split it first")
    embedding = _vector(fields.get(VECTOR_COLUMN)) if has_vectors else None
    return post, text, embedding


def _text(fields: dict[str, object], name: str, *, strip: bool = True) -> str:
    value = fields[name]
    if isinstance(value, InvalidText):
        raise _FieldError(name, value.reason)
    if not isinstance(value, str):
        raise _FieldError(name, f"expected text, got {type(value).__name__}")
    if "\x00" in value:
        raise _FieldError(name, "contains a NUL character, which PostgreSQL text cannot hold")
    if not value.strip():
        raise _FieldError(name, "empty")
    return value.strip() if strip else value


def _date(fields: dict[str, object], name: str) -> dt.date:
    value = fields[name]
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _text(fields, name)
    parsed = _parse_date(text)
    if parsed is None:
        raise _FieldError(name, f"cannot read {text!r} as a date (like 'September 12, 2023')")
    return parsed


@functools.lru_cache(maxsize=4096)
def _parse_date(text: str) -> dt.date | None:
    """Cached: every chunk of a post repeats its date, and strptime is slow."""
    for date_format in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, date_format).date()
        except ValueError:
            continue
    return None


def _names(
    fields: dict[str, object], name: str, *, lowercase: bool, required: bool
) -> tuple[str, ...]:
    """A comma-separated string or a list of strings, as a tuple without repeats."""
    value = fields[name]
    if isinstance(value, InvalidText):
        raise _FieldError(name, value.reason)
    if isinstance(value, str):
        items: list[object] = list(value.split(","))
    elif isinstance(value, list | tuple | np.ndarray):
        items = list(value)
    else:
        raise _FieldError(
            name, f"expected a comma-separated string or a list, got {type(value).__name__}"
        )
    names: dict[str, None] = {}
    for item in items:
        if not isinstance(item, str):
            raise _FieldError(name, f"expected strings in the list, got {type(item).__name__}")
        if "\x00" in item:
            raise _FieldError(name, "contains a NUL character")
        cleaned = item.strip().lower() if lowercase else item.strip()
        if cleaned:
            names[cleaned] = None
    if required and not names:
        raise _FieldError(name, "empty")
    return tuple(names)


def _vector(value: object) -> Vector:
    if value is None:
        raise _FieldError(VECTOR_COLUMN, "missing (other rows have vectors)")
    if isinstance(value, InvalidText):
        raise _FieldError(VECTOR_COLUMN, value.reason)
    if isinstance(value, np.ndarray) and value.dtype == np.float32 and value.ndim == 1:
        return _float32_vector(value)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise _FieldError(VECTOR_COLUMN, f"not a JSON array of numbers: {exc.msg}") from exc
    if not isinstance(value, list | tuple | np.ndarray):
        raise _FieldError(VECTOR_COLUMN, f"expected a list of numbers, got {type(value).__name__}")
    try:
        array = np.asarray(value)
    except ValueError as exc:  # ragged nesting
        raise _FieldError(VECTOR_COLUMN, "expected a flat list of numbers") from exc
    if array.ndim != 1 or array.size == 0:
        raise _FieldError(VECTOR_COLUMN, "expected a flat, non-empty list of numbers")
    if array.dtype.kind not in "iuf":  # strings, booleans, nulls, mixed values
        raise _FieldError(VECTOR_COLUMN, "expected only numbers")
    array = array.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise _FieldError(VECTOR_COLUMN, f"value {array[bad[0]]} at index {bad[0]} is not finite")
    if array.size > MAX_DIMENSIONS:
        raise _FieldError(VECTOR_COLUMN, f"{array.size} numbers, more than {MAX_DIMENSIONS:,}")
    if not np.any(array):
        raise _FieldError(VECTOR_COLUMN, "all zeros: cosine similarity is undefined for it")
    single = array.astype(np.float32)
    if not np.all(np.isfinite(single)):
        raise _FieldError(VECTOR_COLUMN, "a value is too large for a 32-bit float")
    return single


def _float32_vector(array: Vector) -> Vector:
    """The checks above, for a row the Parquet reader already made a float32 array."""
    if not np.isfinite(array).all():
        bad = int(np.flatnonzero(~np.isfinite(array))[0])
        raise _FieldError(VECTOR_COLUMN, f"value {array[bad]} at index {bad} is not finite")
    if array.size == 0:
        raise _FieldError(VECTOR_COLUMN, "expected a flat, non-empty list of numbers")
    if array.size > MAX_DIMENSIONS:
        raise _FieldError(VECTOR_COLUMN, f"{array.size} numbers, more than {MAX_DIMENSIONS:,}")
    if not array.any():
        raise _FieldError(VECTOR_COLUMN, "all zeros: cosine similarity is undefined for it")
    return array


_POST_FIELD_NAMES = {
    "title": "title",
    "url": "URL",
    "published_on": "date",
    "authors": "author",
    "tags": "tags",
}


def _first_difference(a: PostRecord, b: PostRecord) -> str:
    for attribute, column in _POST_FIELD_NAMES.items():
        if getattr(a, attribute) != getattr(b, attribute):
            return column
    return "local"


def write_rejected(path: Path, problems: Sequence[Problem], rows: dict[int, RawRow]) -> int:
    """Write each rejected row, its problems and its fields, as a JSON line; return how many."""
    by_row: dict[int, list[Problem]] = {}
    for problem in problems:
        by_row.setdefault(problem.row, []).append(problem)
    partial = path.with_name(path.name + ".partial")  # never leave half a file behind
    with partial.open("w", encoding="utf-8") as file:
        for number, row_problems in sorted(by_row.items()):
            raw = rows.get(number)
            line = {
                "row": number,
                "location": row_problems[0].location,
                "problems": [{"field": p.field, "message": p.message} for p in row_problems],
                "fields": {k: _json_safe(v) for k, v in raw.fields.items()} if raw else None,
            }
            file.write(json.dumps(line, ensure_ascii=False) + "\n")
    partial.replace(path)
    return len(by_row)


def _json_safe(value: object) -> object:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, InvalidText):
        return {"unreadable": value.reason}
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value

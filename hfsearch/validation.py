"""Turning raw rows into checked chunk records, or a list of everything wrong with them.

Every row is checked before the database is touched, and every problem is reported with
its row number, where the row is in the file, and the field, so a bad file is fixed in one
round and a rejected load changes nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
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
    records, problems = check_rows(rows, has_vectors=has_vectors, dimensions=dimensions)
    if problems:
        raise ValidationError(source, problems)
    return records


def check_rows(
    rows: Iterable[RawRow],
    *,
    has_vectors: bool,
    dimensions: int | None = None,
) -> tuple[list[ChunkRecord], list[Problem]]:
    """The records of the good rows, and the problems of the others, by row number."""
    problems: list[Problem] = []
    parsed: list[tuple[RawRow, PostRecord, str, Vector | None]] = []
    for raw in rows:
        if raw.problem is not None:
            problems.append(Problem(raw.number, raw.location, "(row)", raw.problem))
            continue
        try:
            post, text, embedding = _parse_row(raw, has_vectors)
        except _FieldError as exc:
            problems.append(Problem(raw.number, raw.location, exc.field, exc.message))
            continue
        # Only where the row came from is kept, not its raw fields: those would hold every
        # row's text and metadata a second time until all rows are checked.
        parsed.append((RawRow(raw.number, raw.location), post, text, embedding))

    if has_vectors:
        length_problems = _check_vector_lengths(parsed, dimensions)
        rejected = {p.row for p in length_problems}
        parsed = [item for item in parsed if item[0].number not in rejected]
        problems += length_problems
    records, consistency_problems = _assemble(parsed)
    problems += consistency_problems
    problems.sort(key=lambda p: p.row)
    return records, problems


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


def _check_vector_lengths(
    parsed: list[tuple[RawRow, PostRecord, str, Vector | None]], dimensions: int | None
) -> list[Problem]:
    lengths = Counter(len(v) for *_, v in parsed if v is not None)
    if not lengths:
        return []
    expected = dimensions if dimensions is not None else lengths.most_common(1)[0][0]
    origin = "as the model has in the database" if dimensions is not None else "as most rows"
    return [
        Problem(
            raw.number,
            raw.location,
            VECTOR_COLUMN,
            f"has {len(vector)} numbers, expected {expected} ({origin})",
        )
        for raw, _, _, vector in parsed
        if vector is not None and len(vector) != expected
    ]


def _assemble(
    parsed: list[tuple[RawRow, PostRecord, str, Vector | None]],
) -> tuple[list[ChunkRecord], list[Problem]]:
    """Give chunks their position in their post; catch posts that disagree with themselves
    and chunks that appear twice."""
    problems: list[Problem] = []
    first_row_of_post: dict[str, tuple[int, PostRecord]] = {}
    first_row_of_chunk: dict[tuple[str, bytes], int] = {}
    next_position: Counter[str] = Counter()
    records: list[ChunkRecord] = []
    for raw, post, text, embedding in parsed:
        known = first_row_of_post.setdefault(post.slug, (raw.number, post))
        if known[1] != post:
            field = _first_difference(known[1], post)
            problems.append(
                Problem(
                    raw.number,
                    raw.location,
                    field,
                    f"differs from row {known[0]}, an earlier chunk of post '{post.slug}'",
                )
            )
            continue
        content_hash = hashlib.sha256(text.encode("utf-8")).digest()
        duplicate_of = first_row_of_chunk.setdefault((post.slug, content_hash), raw.number)
        if duplicate_of != raw.number:
            problems.append(
                Problem(
                    raw.number,
                    raw.location,
                    "chunk",
                    f"same text as row {duplicate_of} of the same post (duplicate row)",
                )
            )
            continue
        position = next_position[post.slug]
        next_position[post.slug] += 1
        # The post's first record, equal to this one: one object per post, not per chunk.
        records.append(ChunkRecord(raw.number, known[1], position, text, content_hash, embedding))
    return records, problems


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

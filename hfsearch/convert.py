"""Writing a source out again in a standard format, after checking every row.

This is how `data/` was made from the dataset viewer's text export: the same columns,
values as in the source, vectors as lists of float64 (so no precision is lost).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hfsearch.errors import SourceError
from hfsearch.sources import COLUMNS, VECTOR_COLUMN, RawRow, Source
from hfsearch.validation import validate


def convert(source: Source, output: Path) -> int:
    """Check `source` and write it to `output` (.parquet or .jsonl); return the row count."""
    if output.suffix.lower() not in (".parquet", ".jsonl"):
        raise SourceError(f"{output}: write .parquet or .jsonl")
    rows = list(source.rows)
    validate(source.name, rows, has_vectors=source.has_vectors)
    columns = [c for c in COLUMNS if c != VECTOR_COLUMN or source.has_vectors]
    records = [{c: _plain(c, row) for c in columns} for row in rows]
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")  # never leave half a file behind
    if output.suffix.lower() == ".parquet":
        pq.write_table(pa.Table.from_pylist(records), partial, compression="zstd")
    else:
        with partial.open("w", encoding="utf-8") as file:
            for record in records:
                file.write(json.dumps(record, ensure_ascii=False) + "\n")
    partial.replace(output)
    return len(records)


def _plain(column: str, row: RawRow) -> object:
    value = row.fields[column]
    if column != VECTOR_COLUMN:
        return value
    if isinstance(value, str):
        value = json.loads(value)
    return np.asarray(value, dtype=np.float64).tolist()

"""Every row is checked before loading; each problem names its row and field."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import SAMPLE, SEED_EXPORT

from hfsearch.errors import SourceError
from hfsearch.sources import open_source
from hfsearch.validation import ValidationError, validate


def sample_rows() -> list[dict[str, object]]:
    return pq.read_table(SAMPLE).to_pylist()


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    with path.open("w", encoding="utf-8") as file:
        for row in rows:
            file.write(json.dumps(row) + "\n")
    return path


def check(path: Path) -> list[object]:
    source = open_source(str(path))
    return list(validate(source.name, source.rows, has_vectors=source.has_vectors))


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        check(path)
    return [str(p) for p in caught.value.problems]


def test_sample_is_valid_with_dates_tags_and_positions() -> None:
    records = check(SAMPLE)
    assert len(records) == 100
    first = records[0]
    assert first.post.slug == "overview-quantization-transformers"
    assert first.post.published_on == dt.date(2023, 9, 12)
    assert first.post.tags == (
        "llm",
        "optimization",
        "quantization",
        "comparison",
        "bitsandbytes",
        "gptq",
    )
    assert first.post.authors == ("ybelkada",)
    assert first.embedding is not None and first.embedding.shape == (768,)
    positions = [r.position for r in records if r.post.slug == first.post.slug]
    assert positions == list(range(14))


def test_abbreviated_month_dates_are_read() -> None:
    # The sample writes one post's date as "Sep 15, 2023".
    dates = {r.post.slug: r.post.published_on for r in check(SAMPLE)}
    assert dt.date(2023, 9, 15) in dates.values()


def test_tags_are_lowercased_and_deduplicated(tmp_path: Path) -> None:
    rows = sample_rows()[:1]
    rows[0]["tags"] = "NLP, research,  LLM, nlp,"
    (record,) = check(write_jsonl(tmp_path / "t.jsonl", rows))
    assert record.post.tags == ("nlp", "research", "llm")


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("title", "", "field 'title': empty"),
        ("chunk", "   ", "field 'chunk': empty"),
        ("URL", None, "field 'URL': missing"),
        ("date", "someday in 2023", "field 'date': cannot read 'someday in 2023'"),
        ("date", "February 30, 2024", "field 'date': cannot read"),
        ("tags", 42, "field 'tags': expected a comma-separated string or a list, got int"),
        ("tags", ["ok", 3], "field 'tags': expected strings in the list, got int"),
        ("author", {"name": "x"}, "field 'author': expected a comma-separated string"),
        ("title", ["a title"], "field 'title': expected text, got list"),
        ("chunk", "a\x00b", "field 'chunk': contains a NUL character"),
        ("embedding", "not json", "field 'embedding': not a JSON array"),
        ("embedding", [0.1] * 767, "field 'embedding': has 767 numbers, expected 768"),
        ("embedding", [0.0] * 768, "field 'embedding': all zeros"),
        ("embedding", ["0.1"] * 768, "field 'embedding': expected only numbers"),
        ("embedding", None, "field 'embedding': missing (other rows have vectors)"),
    ],
)
def test_bad_field_is_reported_with_row_and_field(
    tmp_path: Path, field: str, value: object, expected: str
) -> None:
    rows = sample_rows()[:5]
    rows[3][field] = value
    problems = problems_of(write_jsonl(tmp_path / "bad.jsonl", rows))
    assert len(problems) == 1
    assert problems[0].startswith("row 4 (line 4)")
    assert expected in problems[0]


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_vector_values_are_refused(tmp_path: Path, value: float) -> None:
    rows = sample_rows()[:3]
    vector = list(rows[1]["embedding"])  # type: ignore[call-overload]
    vector[7] = value
    rows[1]["embedding"] = vector
    path = tmp_path / "nan.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")  # json writes NaN/Infinity
    (problem,) = problems_of(path)
    assert "row 2" in problem and "field 'embedding'" in problem
    assert "at index 7 is not finite" in problem


@pytest.mark.parametrize("vector_type", [pa.list_(pa.float32()), pa.list_(pa.float32(), 768)])
def test_parquet_vectors_are_checked_as_one_block(tmp_path: Path, vector_type: pa.DataType) -> None:
    table = pq.read_table(SAMPLE).slice(0, 5)
    vectors = np.stack(table.column("embedding").to_numpy(zero_copy_only=False)).astype(np.float32)
    good = table.set_column(
        table.schema.get_field_index("embedding"), "embedding", pa.array(list(vectors), vector_type)
    )
    pq.write_table(good, tmp_path / "good.parquet")
    records = check(tmp_path / "good.parquet")
    assert [r.embedding.dtype for r in records] == [np.float32] * 5  # type: ignore[attr-defined]
    # Views into one float32 block, not arrays built row by row from Python lists.
    assert all(r.embedding.base is not None for r in records)  # type: ignore[attr-defined]
    assert np.array_equal(np.stack([r.embedding for r in records]), vectors)  # type: ignore[attr-defined]

    vectors[3, 9] = np.nan
    bad = good.set_column(
        good.schema.get_field_index("embedding"), "embedding", pa.array(list(vectors), vector_type)
    )
    pq.write_table(bad, tmp_path / "bad.parquet")
    (problem,) = problems_of(tmp_path / "bad.parquet")
    assert "row 4" in problem and "field 'embedding'" in problem
    assert "at index 9 is not finite" in problem


def test_ragged_parquet_vectors_are_reported_by_row(tmp_path: Path) -> None:
    table = pq.read_table(SAMPLE).slice(0, 3)
    vectors = [list(v) for v in table.column("embedding").to_pylist()]
    vectors[1] = vectors[1][:10]
    ragged = table.set_column(
        table.schema.get_field_index("embedding"), "embedding", pa.array(vectors)
    )
    pq.write_table(ragged, tmp_path / "ragged.parquet")
    (problem,) = problems_of(tmp_path / "ragged.parquet")
    assert "row 2" in problem and "field 'embedding'" in problem


def test_parquet_rows_are_read_in_batches_across_row_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches smaller than a row group, row groups of several sizes: every row once, in order,
    with its vector, and a bad row named by its row group and its row within it."""
    import hfsearch.sources

    monkeypatch.setattr(hfsearch.sources, "ROWS_PER_BATCH", 3)
    table = pq.read_table(SAMPLE).slice(0, 23)
    path = tmp_path / "groups.parquet"
    pq.write_table(table, path, row_group_size=10)  # groups of 10, 10 and 3 rows
    records = check(path)
    assert [r.text for r in records] == table.column("chunk").to_pylist()  # type: ignore[attr-defined]
    expected = np.stack(table.column("embedding").to_numpy(zero_copy_only=False))
    assert np.array_equal(np.stack([r.embedding for r in records]), expected)  # type: ignore[attr-defined]

    rows = table.to_pylist()
    rows[14]["title"] = None  # row 15 of the file: row group 1, row 4
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), path, row_group_size=10)
    (problem,) = problems_of(path)
    assert "row 15" in problem and "row group 1, row 4" in problem and "'title'" in problem


def test_missing_key_in_a_jsonl_row(tmp_path: Path) -> None:
    rows = sample_rows()[:3]
    del rows[2]["local"]
    (problem,) = problems_of(write_jsonl(tmp_path / "m.jsonl", rows))
    assert problem.startswith("row 3 (line 3), field 'local': missing")


def test_every_bad_row_is_reported_in_one_pass(tmp_path: Path) -> None:
    rows = sample_rows()[:10]
    rows[1]["date"] = "never"
    rows[6]["chunk"] = ""
    problems = problems_of(write_jsonl(tmp_path / "two.jsonl", rows))
    assert [p.split(",")[0] for p in problems] == ["row 2 (line 2)", "row 7 (line 7)"]


def test_duplicate_row_in_one_file(tmp_path: Path) -> None:
    rows = sample_rows()[:4]
    rows.append(dict(rows[1]))
    (problem,) = problems_of(write_jsonl(tmp_path / "dup.jsonl", rows))
    assert "row 5" in problem and "same text as row 2" in problem


def test_rows_of_one_post_must_agree_on_its_metadata(tmp_path: Path) -> None:
    rows = sample_rows()[:4]
    rows[2]["title"] = "A different title"
    (problem,) = problems_of(write_jsonl(tmp_path / "meta.jsonl", rows))
    assert "row 3" in problem and "field 'title'" in problem and "differs from row 1" in problem


def test_invalid_utf8_in_jsonl_names_the_line(tmp_path: Path) -> None:
    rows = sample_rows()[:3]
    lines = [json.dumps(r, ensure_ascii=False).encode() for r in rows]
    lines[1] = lines[1].replace(b"Overview", b"Over\xffview", 1)
    path = tmp_path / "latin.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    (problem,) = problems_of(path)
    assert problem.startswith("row 2 (line 2)") and "not valid UTF-8" in problem


def test_invalid_utf8_in_viewer_export_names_row_and_field(tmp_path: Path) -> None:
    lines = SEED_EXPORT.read_bytes().split(b"\n")
    # Row 3's chunk is line 26 + 2*8 + 7 (1-based), index 26 + 16 + 6.
    lines[26 + 16 + 6] = lines[26 + 16 + 6][:10] + b"\xc3\x28" + lines[26 + 16 + 6][10:]
    path = tmp_path / "export.txt"
    path.write_bytes(b"\n".join(lines))
    (problem,) = problems_of(path)
    assert problem.startswith("row 3 (lines 43-50), field 'chunk': not valid UTF-8")


def test_truncated_jsonl_is_reported(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "cut.jsonl", sample_rows()[:3])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 500])
    (problem,) = problems_of(path)
    assert problem.startswith("row 3 (line 3), field '(row)': not valid JSON")
    assert "truncated" in problem


def test_truncated_parquet_is_a_source_error(tmp_path: Path) -> None:
    path = tmp_path / "cut.parquet"
    path.write_bytes(SAMPLE.read_bytes()[:100_000])
    with pytest.raises(SourceError, match=r"cut\.parquet: not a readable Parquet file"):
        check(path)


def test_missing_column_is_a_source_error(tmp_path: Path) -> None:
    table = pq.read_table(SAMPLE).drop_columns(["date"])
    pq.write_table(table, tmp_path / "nodate.parquet")
    with pytest.raises(SourceError, match="missing column\\(s\\) date"):
        check(tmp_path / "nodate.parquet")


def test_unknown_format_is_a_source_error(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("a,b\n")
    with pytest.raises(SourceError, match=r"unknown format \.csv"):
        check(tmp_path / "data.csv")


def test_source_without_vectors_is_valid(tmp_path: Path) -> None:
    rows = [{k: v for k, v in r.items() if k != "embedding"} for r in sample_rows()[:5]]
    records = check(write_jsonl(tmp_path / "text.jsonl", rows))
    assert [r.embedding for r in records] == [None] * 5


def test_model_dimensions_from_the_database_win_over_the_majority(tmp_path: Path) -> None:
    source = open_source(str(SAMPLE))
    with pytest.raises(ValidationError, match="expected 384 \\(as the model has"):
        validate(source.name, source.rows, has_vectors=True, dimensions=384)


def test_hub_source_reads_through_the_datasets_library(tmp_path: Path) -> None:
    # A local folder stands in for the Hub: `datasets` resolves both the same way.
    folder = tmp_path / "owner" / "hf-blogs"
    folder.mkdir(parents=True)
    (folder / "train.parquet").write_bytes(SAMPLE.read_bytes())
    source = open_source(f"hf://{folder}")
    assert source.has_vectors and source.row_count == 100
    records = validate(source.name, source.rows, has_vectors=True)
    assert [r.text for r in records] == [r.text for r in check(SAMPLE)]  # type: ignore[attr-defined]

"""A synthetic corpus shaped like the real one, at any size, reproducible from a seed.

- Chunk texts of about 150 words drawn from a Zipf-distributed vocabulary (a few very common
  words, a long tail of rare ones), so BM25's document frequencies look like real text.
- Posts of 5 to 20 chunks, each with 1 to 4 tags from a list of 40 and a date in 2023-2024.
- 768-d unit vectors clustered around a few hundred centres: real embeddings are clustered,
  and uniform random vectors are a worst case HNSW never meets.

    python -m benchmarks.corpus --size 100k --out /tmp/synthetic-100k.parquet
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

DIMENSIONS = 768
CENTRES = 300
VOCABULARY = 50_000
WORDS_PER_CHUNK = 150
STOP_WORDS = 100  # the commonest words, left out of queries as stop words are
# How far chunks lie from their cluster's centre: cosine about 0.8 to it, so that clusters
# overlap enough for HNSW's recall to depend on ef_search, as it does on real embeddings.
SPREAD = 0.75
TAGS = [f"tag{i:02d}" for i in range(40)]
SIZES = {"1k": 1_000, "10k": 10_000, "100k": 100_000, "1m": 1_000_000}


def parse_size(text: str) -> int:
    return SIZES.get(text.lower()) or int(text)


def words(rng: np.random.Generator) -> np.ndarray:
    """The vocabulary: pronounceable made-up words, so no stemmer merges two of them."""
    syllables = np.array(["ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "ve", "zu", "qa", "xi"])
    parts = rng.integers(0, len(syllables), size=(VOCABULARY, 4))
    return np.array(["".join(syllables[p]) + f"{i % 97}" for i, p in enumerate(parts)])


def unit_vectors(rng: np.random.Generator, count: int, centres: np.ndarray) -> np.ndarray:
    return noisy_unit_vectors(rng, centres[rng.integers(0, len(centres), size=count)])


def noisy_unit_vectors(rng: np.random.Generator, centres_of_rows: np.ndarray) -> np.ndarray:
    """Each row's centre moved by Gaussian noise, normalised, as float32."""
    noise = rng.normal(0, SPREAD / np.sqrt(DIMENSIONS), centres_of_rows.shape)
    vectors = centres_of_rows + noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32)


def centres(seed: int) -> np.ndarray:
    """The cluster centres: the same for the corpus and its queries."""
    raw = np.random.default_rng([seed, 1]).normal(size=(CENTRES, DIMENSIONS))
    return raw / np.linalg.norm(raw, axis=1, keepdims=True)


# Rows generated and written at a time: a million rows at once would hold several copies of
# 3 GB of vectors (the float64 noise, the centres it is added to) and a million texts.
ROWS_PER_BATCH = 50_000


def generate(size: int, seed: int = 7) -> pa.Table:
    """`size` chunks in the dataset's columns, vectors as fixed-size lists of float32."""
    return pa.Table.from_batches(list(batches(size, seed)))


def write(path: Path, size: int, seed: int = 7) -> None:
    """The corpus of `generate` written to a Parquet file a batch at a time, in little memory."""
    with pq.ParquetWriter(path, SCHEMA) as writer:
        for batch in batches(size, seed):
            writer.write_batch(batch)


SCHEMA = pa.schema(
    [
        *((name, pa.string()) for name in ("title", "author", "date", "local", "tags", "URL")),
        ("chunk", pa.string()),
        ("embedding", pa.list_(pa.float32(), DIMENSIONS)),
    ]
)


def batches(
    size: int, seed: int = 7, rows_per_batch: int = ROWS_PER_BATCH
) -> Iterator[pa.RecordBatch]:
    """The corpus a batch of rows at a time; the same rows whatever the batch size.

    Every random draw is made in the order one draw of the whole corpus would make it (numpy
    draws element by element, so a draw in parts gives the same numbers as one draw).
    """
    rng = np.random.default_rng(seed)
    vocabulary = words(rng)
    # Zipf ranks, folded into the vocabulary; int32 halves what a million chunks' ranks take
    ranks = np.empty((size, WORDS_PER_CHUNK), dtype=np.int32)
    for start in range(0, size, rows_per_batch):
        rows = ranks[start : start + rows_per_batch]
        rows[:] = ((rng.zipf(1.15, size=rows.size) - 1) % VOCABULARY).reshape(rows.shape)
    post_sizes = rng.integers(5, 21, size=size // 5 + 1)
    post_of_chunk = np.repeat(np.arange(len(post_sizes)), post_sizes)[:size]
    posts = int(post_of_chunk[-1]) + 1
    first_day = dt.date(2023, 1, 1)
    dates = [first_day + dt.timedelta(days=int(d)) for d in rng.integers(0, 730, size=posts)]
    post_dates = [d.strftime("%B %d, %Y").replace(" 0", " ") for d in dates]
    post_tags = [
        ", ".join(rng.choice(TAGS, size=rng.integers(1, 5), replace=False)) for _ in range(posts)
    ]
    centre_of_chunk = rng.integers(0, CENTRES, size=size)
    corpus_centres = centres(seed)
    for start in range(0, size, rows_per_batch):
        stop = min(start + rows_per_batch, size)
        vectors = noisy_unit_vectors(rng, corpus_centres[centre_of_chunk[start:stop]])
        chunk_posts = post_of_chunk[start:stop]
        slugs = [f"post-{p:07d}" for p in chunk_posts]
        texts = [" ".join(vocabulary[row]) for row in ranks[start:stop]]
        yield pa.record_batch(
            [
                pa.array([f"Synthetic post {p}" for p in chunk_posts]),
                pa.array([f"author{p % 500}" for p in chunk_posts]),
                pa.array([post_dates[p] for p in chunk_posts]),
                pa.array(slugs),
                pa.array([post_tags[p] for p in chunk_posts]),
                pa.array([f"https://example.org/{slug}" for slug in slugs]),
                # a chunk number keeps texts unique even where the Zipf draw repeats
                pa.array([f"{text} section{i}" for i, text in enumerate(texts, start=start)]),
                pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), DIMENSIONS),
            ],
            schema=SCHEMA,
        )


def query_vectors(count: int, seed: int = 7) -> np.ndarray:
    """Query vectors near the corpus's own centres, as real queries are near real chunks."""
    return unit_vectors(np.random.default_rng([seed, 2]), count, centres(seed))


def query_texts(count: int, seed: int = 7) -> list[str]:
    """Queries of 2 to 6 words from the same Zipf vocabulary as the chunks, without its
    STOP_WORDS commonest words: in English those are stop words, which the full-text
    configuration drops from real queries, and the synthetic vocabulary has none."""
    rng = np.random.default_rng(seed)
    vocabulary = words(rng)
    query_rng = np.random.default_rng([seed, 3])
    queries = []
    for _ in range(count):
        ranks = query_rng.zipf(1.15, size=4 * 6) - 1
        kept = ranks[(ranks >= STOP_WORDS) & (ranks < VOCABULARY)][: query_rng.integers(2, 7)]
        queries.append(" ".join(vocabulary[kept]))
    return queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="10k", help="1k, 10k, 100k, 1m or a number")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    write(args.out, parse_size(args.size), args.seed)


if __name__ == "__main__":
    main()

"""A synthetic corpus shaped like the real one, at any size, reproducible from a seed.

- Chunk texts of about 150 words drawn from a Zipf-distributed vocabulary (a few very common
  words, a long tail of rare ones), so BM25's document frequencies look like real text.
- Posts of 5 to 20 chunks, each with 1 to 4 tags from a list of 40 and a date in 2023-2024.
- 768-d unit vectors clustered around a few hundred topic centres, each post near one topic and
  its chunks near the post, with most of the spread in a few directions. Real embeddings are
  shaped like that (measured on the real corpus, see `VECTORS`); uniform random vectors,
  or clusters of them, are a worst case HNSW never meets.

    python -m benchmarks.corpus --size 100k --out /tmp/synthetic-100k.parquet
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

DIMENSIONS = 768
CENTRES = 300
VOCABULARY = 50_000
WORDS_PER_CHUNK = 150
STOP_WORDS = 100  # the commonest words, left out of queries as stop words are
# The vectors' shape, calibrated on the real corpus (../shared/corpus-extended: 441 chunks of
# 40 posts, all-mpnet-base-v2). Measured there and on 441 synthetic chunks of about 40 posts
# (tests/test_benchmarks.py checks these): local intrinsic dimensionality at 10 neighbours
# 9.9 real, 9.7 synthetic; cosine distance to the 1st/10th/100th nearest chunk 0.27/0.47/0.67
# real, 0.28/0.46/0.73 synthetic; variance in the top 10/50/100 principal components
# 0.38/0.76/0.89 real, 0.39/0.79/0.89 synthetic. The first generator put chunks around their
# centre with the same spread in all 768 directions: local dimensionality 73 at 10k chunks and
# 122 at 100k, nearest neighbours all but tied, which cut recall@10 to 0.74 at 1M.


@dataclass(frozen=True)
class VectorShape:
    domain_share: float  # of each topic centre's direction, common to all: one domain, as a blog's
    spectrum_decay: float  # noise variance along the i-th direction: proportional to i ** -decay
    post_spread: float  # how far a post lies from its topic's centre
    chunk_spread: float  # how far a chunk lies from its post


VECTORS = VectorShape(domain_share=0.45, spectrum_decay=1.0, post_spread=0.75, chunk_spread=0.95)
TAGS = [f"tag{i:02d}" for i in range(40)]
SIZES = {"1k": 1_000, "10k": 10_000, "100k": 100_000, "1m": 1_000_000}


def parse_size(text: str) -> int:
    return SIZES.get(text.lower()) or int(text)


def words(rng: np.random.Generator) -> np.ndarray:
    """The vocabulary: pronounceable made-up words, so no stemmer merges two of them."""
    syllables = np.array(["ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "ve", "zu", "qa", "xi"])
    parts = rng.integers(0, len(syllables), size=(VOCABULARY, 4))
    return np.array(["".join(syllables[p]) + f"{i % 97}" for i, p in enumerate(parts)])


def spread_profile() -> np.ndarray:
    """Per-direction spread of the noise, of unit expected norm: a few directions carry most
    of it, as in real embeddings."""
    decay = VECTORS.spectrum_decay
    profile = np.arange(1, DIMENSIONS + 1, dtype=np.float64) ** (-decay / 2)
    return profile / np.sqrt(np.sum(profile**2))


def noisy(rng: np.random.Generator, points: np.ndarray, spread: float) -> np.ndarray:
    """`points` each moved by noise of expected norm `spread`, drawn in the order of the rows."""
    return points + spread * rng.normal(size=points.shape) * spread_profile()


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def centres(seed: int) -> np.ndarray:
    """The topic centres: the same for the corpus and its queries."""
    rng = np.random.default_rng([seed, 1])
    raw = rng.normal(size=(CENTRES, DIMENSIONS))
    topics = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    domain = rng.normal(size=DIMENSIONS)
    domain /= np.linalg.norm(domain)
    share = VECTORS.domain_share
    return np.sqrt(share) * domain + np.sqrt(1 - share) * topics


@dataclass(frozen=True)
class Shape:
    """What decides how hard nearest-neighbour search is on a set of vectors."""

    local_dimensionality: float  # median MLE estimate (Levina-Bickel) at 10 neighbours
    nearest_distances: tuple[float, float, float]  # mean cosine distance to the 1st, 10th, 100th
    variance_shares: tuple[float, float, float]  # in the top 10, 50, 100 principal components


def shape(vectors: np.ndarray) -> Shape:
    """The shape of a few hundred to a few thousand unit vectors, each against the others."""
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    cosine = 1 - np.sort(similarity, axis=1)[:, ::-1][:, :-1]  # nearest first, self left out
    euclidean = np.sqrt(np.maximum(2 * cosine[:, :10], 1e-12))
    dimensionality = -1 / np.mean(np.log(euclidean[:, :9] / euclidean[:, 9:10]), axis=1)
    variances = np.linalg.svd(vectors - vectors.mean(axis=0), compute_uv=False) ** 2
    shares = np.cumsum(variances) / variances.sum()
    return Shape(
        round(float(np.median(dimensionality)), 1),
        tuple(round(float(cosine[:, i].mean()), 3) for i in (0, 9, 99)),  # type: ignore[arg-type]
        tuple(round(float(shares[i]), 2) for i in (9, 49, 99)),  # type: ignore[arg-type]
    )


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
    topic_of_post = rng.integers(0, CENTRES, size=posts)
    post_vectors = noisy(rng, centres(seed)[topic_of_post], VECTORS.post_spread)
    for start in range(0, size, rows_per_batch):
        stop = min(start + rows_per_batch, size)
        chunk_posts = post_of_chunk[start:stop]
        vectors = unit_rows(noisy(rng, post_vectors[chunk_posts], VECTORS.chunk_spread))
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
    """Query vectors shaped like a new chunk of a new post on one of the corpus's topics, as
    real queries are near real chunks."""
    rng = np.random.default_rng([seed, 2])
    topics = centres(seed)[rng.integers(0, CENTRES, size=count)]
    spread = float(np.hypot(VECTORS.post_spread, VECTORS.chunk_spread))
    return unit_rows(noisy(rng, topics, spread))


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

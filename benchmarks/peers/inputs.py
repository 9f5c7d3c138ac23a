"""What a peer script reads: the corpus file the harness generated, and the queries."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq


@dataclass(frozen=True)
class PeerInputs:
    url: str  # a libpq URL of the database the peer may fill
    titles: list[str]
    texts: list[str]
    vectors: np.ndarray  # (chunks, 768) float32
    query_texts: list[str]
    query_vectors: np.ndarray
    maintenance_work_mem: str


def read_inputs(description: str) -> PeerInputs:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--url", required=True)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--queries", type=Path, required=True, help="JSON: texts, vectors")
    parser.add_argument("--maintenance-work-mem", default="1GB")
    args = parser.parse_args()
    table = pq.read_table(args.corpus, columns=["title", "chunk", "embedding"])
    dimensions = len(table.column("embedding")[0])
    vectors = np.asarray(table.column("embedding").combine_chunks().values, dtype=np.float32)
    queries = json.loads(args.queries.read_text())
    return PeerInputs(
        url=args.url,
        titles=table.column("title").to_pylist(),
        texts=table.column("chunk").to_pylist(),
        vectors=vectors.reshape(-1, dimensions),
        query_texts=queries["texts"],
        query_vectors=np.asarray(queries["vectors"], dtype=np.float32),
        maintenance_work_mem=args.maintenance_work_mem,
    )


def sqlalchemy_url(url: str, driver: str) -> str:
    """postgresql://... as SQLAlchemy's postgresql+<driver>://..."""
    return url.replace("postgresql://", f"postgresql+{driver}://", 1)

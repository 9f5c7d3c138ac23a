"""From file to searchable state: `hfsearch load` against the bare path doing the same work.

hfsearch loads through its command line, as a user would, in its own process, so its peak
memory is its own. The bare path reads the same file, COPYs it (FORMAT BINARY) into an
unindexed table whose generated column computes the same tsvector, then builds the same
full-text and HNSW indexes: the physical limit of the work, nothing checked, nothing upserted.

Since revision 0010 hfsearch's full-text index is its postings table and their btree, no GIN
index. The bare path builds both, each timed: its `seconds` count the postings (the same
work), and the GIN index's time is kept apart, to compare with a plain tsvector + GIN setup.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from hfsearch.database import Connection

MODEL = "synthetic-768"


@dataclass(frozen=True)
class LoadRun:
    seconds: float
    peak_rss_mb: float  # of the loading process (0: the bare path runs in the harness)
    server_peak_pss_mb: float  # all the server's processes together, sampled
    # the bare path's steps (hfsearch's own are not timed here: set log_min_duration_statement
    # on the run's server to find them in its log)
    phase_seconds: dict[str, float] = field(default_factory=dict)
    # the bare path's GIN index, built besides and not counted in `seconds`
    gin_seconds: float = 0.0


def pss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def server_pids(pgdata: Path) -> list[int]:
    """The postmaster and its children (backends, workers) of the server in `pgdata`."""
    postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == postmaster:
            children.append(int(stat.parent.name))
    return [postmaster, *children]


@contextmanager
def server_memory(pgdata: Path, peak: list[float]) -> Iterator[None]:
    """Sample the server's total proportional set size every half second into peak[0]."""
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], sum(pss_mb(pid) for pid in server_pids(pgdata)))
            stop.wait(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield
    finally:
        stop.set()
        sampler.join()


def load_hfsearch(url: str, path: Path, pgdata: Path, maintenance_work_mem: str) -> LoadRun:
    env = {
        **os.environ,
        "HFSEARCH_DATABASE_URL": url,
        "HFSEARCH_MAINTENANCE_WORK_MEM": maintenance_work_mem,
    }
    hfsearch = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "hfsearch"
    command = [str(hfsearch), "load", str(path), "--vectors-model", MODEL]
    peak = [0.0]
    started = time.perf_counter()
    with server_memory(pgdata, peak):
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        assert process.stderr is not None
        raise RuntimeError(f"hfsearch load failed: {process.stderr.read().decode()[-2000:]}")
    return LoadRun(round(seconds, 2), round(usage.ru_maxrss / 1024, 1), round(peak[0], 1))


BARE_TABLE = """
CREATE TABLE bare (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title text, body text,
    search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A')
        || setweight(to_tsvector('english', body), 'B')
    ) STORED,
    embedding vector(768)
)
"""


def graph_options(m: int, ef_construction: int) -> str:
    return f"WITH (m = {int(m)}, ef_construction = {int(ef_construction)})"


def bare_hnsw_index(m: int, ef_construction: int) -> str:
    index = "CREATE INDEX bare_hnsw ON bare USING hnsw (embedding vector_cosine_ops)"
    return f"{index} {graph_options(m, ef_construction)}"


# hfsearch's postings (revisions 0008 and 0010) built in one statement from the bare rows,
# by hfsearch's own SQL functions (the harness migrates the database first): one row per
# lexeme and chunk, the same columns (no posts here: post_id 0), the same index.
# OFFSET 0 keeps the subquery from being merged into the join, so a chunk's tokens are
# counted once, not once per posting (about 100 times): written in the select list of the
# join, the count made this statement 5.6x slower at 1M (1,303 s against 231 s).
BARE_POSTINGS = """
CREATE TABLE bare_postings AS
SELECT p.lexeme COLLATE "C" AS lexeme, b.id AS chunk_id, p.occurrences, p.title_occurrences,
       b.token_count, 0 AS post_id
FROM (SELECT id, search_vector, hfsearch_token_count(search_vector) AS token_count
      FROM bare OFFSET 0) AS b
CROSS JOIN LATERAL hfsearch_postings(b.search_vector) AS p
"""
BARE_POSTINGS_INDEX = """
CREATE INDEX ON bare_postings (lexeme, chunk_id)
    INCLUDE (occurrences, title_occurrences, token_count, post_id)
"""

# The graph hfsearch builds (revision 0007), so that both paths do the same work.
HNSW_GRAPH = graph_options(m=24, ef_construction=128)
BARE_HNSW = bare_hnsw_index(m=24, ef_construction=128)


def load_bare(conn: Connection, path: Path, pgdata: Path, maintenance_work_mem: str) -> LoadRun:
    peak = [0.0]
    phases = {"read": 0.0, "copy": 0.0}
    started = time.perf_counter()
    with server_memory(pgdata, peak), conn.transaction():
        conn.execute(BARE_TABLE)
        conn.execute("SELECT set_config('maintenance_work_mem', %s, true)", (maintenance_work_mem,))
        with (
            conn.cursor() as cur,
            cur.copy("COPY bare (title, body, embedding) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.set_types(["text", "text", "vector"])
            # A batch at a time, as the loader reads: a million rows read whole would hold
            # the file's 3 GB of vectors and a million texts in the harness at once.
            for titles, bodies, vectors in timed_batches(path, phases):
                with timed(phases, "copy"):
                    for title, body, vector in zip(titles, bodies, vectors, strict=True):
                        copy.write_row((title, body, vector))
        with timed(phases, "postings"):
            conn.execute(BARE_POSTINGS)
            conn.execute(BARE_POSTINGS_INDEX)
        with timed(phases, "hnsw"):
            conn.execute(BARE_HNSW)
        gin: dict[str, float] = {}
        with timed(gin, "gin"):
            conn.execute("CREATE INDEX ON bare USING gin (search_vector)")
        conn.execute("ANALYZE bare, bare_postings")
    return LoadRun(
        round(time.perf_counter() - started - gin["gin"], 2),
        0.0,
        round(peak[0], 1),
        {name: round(seconds, 2) for name, seconds in phases.items()},
        round(gin["gin"], 2),
    )


def timed_batches(
    path: Path, phases: dict[str, float], rows_per_batch: int = 4096
) -> Iterator[tuple[list[str], list[str], np.ndarray]]:
    """The file's titles, texts and vectors a batch at a time, the reading timed as "read"."""
    parquet = pq.ParquetFile(path)
    # A row group at a time, as hfsearch.sources reads: one reader over every group keeps
    # all it has read.
    batches = itertools.chain.from_iterable(
        parquet.iter_batches(
            batch_size=rows_per_batch, columns=["title", "chunk", "embedding"], row_groups=[group]
        )
        for group in range(parquet.num_row_groups)
    )
    while True:
        with timed(phases, "read"):
            batch = next(batches, None)
            if batch is None:
                return
            vectors = np.asarray(batch.column("embedding").flatten()).reshape(-1, 768)
            titles, bodies = batch.column("title").to_pylist(), batch.column("chunk").to_pylist()
        yield titles, bodies, vectors


@contextmanager
def timed(phases: dict[str, float], name: str) -> Iterator[None]:
    """Add the time the block takes to phases[name]."""
    started = time.perf_counter()
    try:
        yield
    finally:
        phases[name] = phases.get(name, 0.0) + time.perf_counter() - started

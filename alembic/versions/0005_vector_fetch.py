"""Vector search fetches `depth` vectors first, four times as many only when windows need them;
HNSW builds of `embeddings` use parallel workers at every size.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

The SQL is in 0005_vector_fetch.sql beside this file; the downgrade puts back revision 0002's
hfsearch_vector, kept in 0005_vector_fetch_down.sql. CREATE OR REPLACE keeps the grants of 0003.

PostgreSQL sizes a parallel index build by the table's heap, and the heap of `embeddings` is
small: a 768-d vector is stored out of line (TOAST), so 100,000 rows fill 7.5 MB of heap,
under `min_parallel_table_scan_size` (8 MB), and the HNSW build ran on one core (88.7 s at
100k against 54 s with one worker). The `parallel_workers` storage parameter overrides that
estimate; `max_parallel_maintenance_workers` (and, for scans, `max_parallel_workers_per_gather`)
still cap it.
"""

from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HERE = Path(__file__).parent


# More than any cap here allows: the two caps above decide, on any machine up to 8 cores.
PARALLEL_WORKERS = 8


def upgrade() -> None:
    op.execute((HERE / "0005_vector_fetch.sql").read_text(encoding="utf-8"))
    op.execute(f"ALTER TABLE embeddings SET (parallel_workers = {PARALLEL_WORKERS})")


def downgrade() -> None:
    op.execute("ALTER TABLE embeddings RESET (parallel_workers)")
    op.execute((HERE / "0005_vector_fetch_down.sql").read_text(encoding="utf-8"))

"""Vectors are stored in their rows, not out of line: reading a 768-d vector takes one heap page
shared with another vector instead of a TOAST index lookup and two TOAST pages. At 1M synthetic
chunks, each query on both layouts in turn (BENCHMARKS.md): the exact top 100 of the vectors of
0.1% of the chunks 17.36 -> 6.55 ms, of 1% 71.59 -> 34.85 ms (EXPLAIN: 2,886 vectors read in
3,506 buffers instead of 14,947), and the distances of the 100 vectors a graph walk returns
1.12 -> 0.60 ms. Loading is as fast as before (100k, two runs each: 120.4 and 113.6 s before,
115.3 and 114.3 s after) and the table no larger (1M: 8,396 -> 8,255 MB with its indexes).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05

PostgreSQL moves a row's largest value out of line (TOAST) once the row passes 2 kB; a 768-d
vector is 3 kB. With `toast_tuple_target` at its largest, rows are kept as they are up to 8,160
bytes: vectors of up to about 2,000 dimensions stay in the row, uncompressed (float vectors do
not compress, so PostgreSQL's attempt at it would be wasted work), and longer ones still go out
of line. `STORAGE MAIN` (as revision 0006 gave the chunks' documents) would also keep them in,
but only after trying to compress every one. The cost is space from about 1,000 dimensions on:
a row of 4 kB or more fills a page alone, up to twice what the vector took out of line (two
768-d rows share a page, as their TOAST chunks did).

The option applies to rows written from now on. Vectors stored before stay where they are, and
are read the same: `VACUUM FULL embeddings` moves them into their rows. It rewrites the table and
rebuilds its indexes, the HNSW graphs included, while readers and writers wait: 794 s at 1M
chunks with `maintenance_work_mem` 8GB. So the migration does not do it itself, and upgrading a
large database stays a matter of seconds (0.1 s at 1M).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE embeddings SET (toast_tuple_target = 8160)")  # the largest allowed


def downgrade() -> None:
    # Rows written in the meantime stay in their rows; either way reads them.
    op.execute("ALTER TABLE embeddings RESET (toast_tuple_target)")

"""The index of chunks by post holds their ids, so a filter's chunk ids are read from the index
alone instead of from the chunks' rows (3 kB each, two to a page). At 1M synthetic chunks, the
ids of half the posts' chunks (499,718) 182 -> 39 ms warm, 262,573 -> 3,850 buffers, and of one
tag's (62,673) 31 -> 11 ms; BENCHMARKS.md.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05

A filtered vector search reads those ids twice: to count the filter's vectors (to exact_limit
+ 1, revision 0015), and to search them, exactly or on the graph with the ids as a set. Both
read `chunks` by its index on (post_id, position), which had no id: every matching chunk's row
was fetched for it. The index is built again with the id included (1.3 s at 1M, during which
the table is locked, searches included).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_chunks_post_id_position", table_name="chunks")
    op.create_index(
        "ix_chunks_post_id_position", "chunks", ["post_id", "position"], postgresql_include=["id"]
    )


def downgrade() -> None:
    op.drop_index("ix_chunks_post_id_position", table_name="chunks")
    op.create_index("ix_chunks_post_id_position", "chunks", ["post_id", "position"])

"""A search looks up its candidates' posts only when it keeps one chunk a post (`by_post`):
before, every candidate of both sides was joined to `chunks` for its post, with or without
`by_post`. At 10k synthetic chunks the planner made that join a hash join over the whole index
of chunks by post, and a hybrid search took 0.9-1.1 ms longer for it (8.36 -> 7.41 ms p50), a
lexical one 2.79 -> 1.86 ms; BENCHMARKS.md.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05

hfsearch_search ranks the fused candidates once per chunk, or with `by_post` once per post, in
a window partitioned by the chunk or its post. The post is now read in that partition's
expression, by primary key, for each candidate only when `by_post` is set; the rankings are the
same. The function is created again from its stored definition with that change (its settings
and grants kept).
"""

from collections.abc import Sequence

from alembic import op

from hfsearch.migrations import replace_in_function

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EVERY_CANDIDATES_POST = """
        SELECT f.*, row_number() OVER (
                   PARTITION BY CASE WHEN by_post THEN c.post_id::bigint ELSE c.id END
                   ORDER BY f.score DESC, f.chunk_id) AS nth
        FROM fused f JOIN chunks c ON c.id = f.chunk_id
"""
POSTS_ONLY_FOR_BY_POST = """
        -- The post is looked up only with by_post (CASE runs the subquery only then).
        SELECT f.*, row_number() OVER (
                   PARTITION BY CASE
                       WHEN by_post THEN (SELECT c.post_id FROM chunks c WHERE c.id = f.chunk_id)
                       ELSE f.chunk_id END
                   ORDER BY f.score DESC, f.chunk_id) AS nth
        FROM fused f
"""


def upgrade() -> None:
    replace_in_function(
        op.get_bind(), "hfsearch_search", EVERY_CANDIDATES_POST, POSTS_ONLY_FOR_BY_POST
    )


def downgrade() -> None:
    replace_in_function(
        op.get_bind(), "hfsearch_search", POSTS_ONLY_FOR_BY_POST, EVERY_CANDIDATES_POST
    )

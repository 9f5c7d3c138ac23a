"""A filtered vector search counts the filtered posts' vectors only until it knows there are more
than `exact_limit`: at 1M synthetic chunks, the count for one tag (6% of the posts, 62,109
vectors) took 247 ms and for a year of posts (half of them) 1,212 ms, against 37 and 67 ms
counting to 20,001; a hybrid search with the tag 168 -> 91 ms (BENCHMARKS.md). The graph walk
that follows the count takes about 15 ms.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05

hfsearch_vector searches a filter's vectors exactly when they are at most `exact_limit` (20,000
by default) and walks the graph otherwise; the count only decides which, so the same decision
comes from counting to `exact_limit + 1`. Starting from the filtered posts' chunks, the count
stops as soon as it gets there, where counting every vector read them all. The function is
created again from its stored definition with the new count (its settings and grants kept).
"""

from collections.abc import Sequence

from alembic import op

from hfsearch.migrations import replace_in_function

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNT_EVERY_VECTOR = """
        SELECT count(*) INTO candidates
        FROM embeddings e JOIN chunks c ON c.id = e.chunk_id
        WHERE e.model_id = m.id AND c.post_id = ANY (post_ids);
"""
COUNT_PAST_THE_LIMIT = """
        -- Only whether there are more than exact_limit: counting stops one past it.
        SELECT count(*) INTO candidates FROM (
            SELECT FROM chunks c JOIN embeddings e ON e.chunk_id = c.id AND e.model_id = m.id
            WHERE c.post_id = ANY (post_ids)
            LIMIT exact_limit + 1
        ) AS filtered;
"""


def upgrade() -> None:
    replace_in_function(op.get_bind(), "hfsearch_vector", COUNT_EVERY_VECTOR, COUNT_PAST_THE_LIMIT)


def downgrade() -> None:
    replace_in_function(op.get_bind(), "hfsearch_vector", COUNT_PAST_THE_LIMIT, COUNT_EVERY_VECTOR)

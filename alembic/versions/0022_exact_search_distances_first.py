"""A filtered vector search decides between exact search and the graph by counting the filter's
chunks in the index of chunks by post, and exact search computes the distances before grouping
by chunk, reading a filter's vectors through the index of vectors by chunk. The harness's
filters section, A-B-A-B between 0021 and 0022 on one database each (BENCHMARKS.md), p50:
100k chunks, a filter passing 50%: 36.16 / 16.43 / 37.81 / 15.01 ms, 5%: 38.58 / 15.55 / 32.74 /
12.82; 10k, 50%: 26.14 / 12.85 / 25.64 / 12.97. Recall@10 1.0 and no short result either way.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05

The count joined each chunk to its vectors, and the planner hashed the filter's chunks and read
every vector id of the model against them (at 100k: 17.6 ms for a 5% filter, 27.6 ms for 50%,
before a search of 13 or 18). The chunks alone are counted, from the index, one past
`exact_limit`, which now bounds the filter's chunks rather than their vectors (one a chunk but
for chunks longer than the model's window).

Exact search grouped the vectors by chunk with the distance inside the aggregate, so the
grouping kept each 3 kB vector: a filter's 5,000 vectors outgrew `work_mem` and went to disk
(EXPLAIN: HashAggregate, 5 batches, 7,976 kB). And for a filter's 20,000 chunks of 100,000 the
planner read all the model's vectors to join them (50,000 buffers; 69 ms against 50 by the
index). Distances computed first leave the grouping 16 bytes a vector; a filter's vectors are
read chunk by chunk. The rankings are the same.
"""

from collections.abc import Sequence

from alembic import op

from hfsearch.migrations import replace_in_function

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNT_VECTORS = """
        SELECT count(*) INTO candidates FROM (
            SELECT FROM chunks c JOIN embeddings e ON e.chunk_id = c.id AND e.model_id = m.id
            WHERE c.post_id = ANY (post_ids)
            LIMIT exact_limit + 1
        ) AS filtered;
"""
COUNT_CHUNKS = """
        -- The chunks, from the index alone: joined to their vectors, the planner read every
        -- vector id of the model (revision 0022).
        SELECT count(*) INTO candidates FROM (
            SELECT FROM chunks c
            WHERE c.post_id = ANY (post_ids)
            LIMIT exact_limit + 1
        ) AS filtered;
"""

EXACT_GROUPED = """
    IF exact THEN
        -- Every vector of the model (of the filtered posts): the aggregate rules out the index.
        RETURN QUERY EXECUTE format(
            'SELECT e.chunk_id, 1 - min(%1$s)
             FROM embeddings e JOIN chunks c ON c.id = e.chunk_id
             WHERE e.model_id = %2$s %3$s
             GROUP BY e.chunk_id
             ORDER BY min(%1$s), e.chunk_id
             LIMIT $3',
            distance, m.id, CASE WHEN post_ids IS NULL THEN '' ELSE 'AND c.post_id = ANY ($2)' END)
        USING query_embedding, post_ids, depth;
        RETURN;
    END IF;
"""
# Both statements compute the distances in a subquery that OFFSET 0 keeps as written: the
# aggregate groups 16 bytes a vector, and the filtered one reads each chunk's vectors in turn.
EXACT_DISTANCES_FIRST = """
    -- Every vector of the model (of the filtered posts): the aggregate rules out the index.
    -- The distances come first, or the grouping would keep each 3 kB vector (revision 0022).
    IF exact AND post_ids IS NULL THEN
        RETURN QUERY EXECUTE format(
            'SELECT d.chunk_id, 1 - min(d.distance)
             FROM (SELECT e.chunk_id, %1$s AS distance
                   FROM embeddings e
                   WHERE e.model_id = %2$s
                   OFFSET 0) AS d
             GROUP BY d.chunk_id
             ORDER BY min(d.distance), d.chunk_id
             LIMIT $3',
            distance, m.id)
        USING query_embedding, post_ids, depth;
        RETURN;
    ELSIF exact THEN
        -- Chunk by chunk through the index of vectors by chunk: joined, the planner read
        -- every vector of the model against the filter's chunks (at 100k, for 20,000).
        RETURN QUERY EXECUTE format(
            'SELECT d.chunk_id, 1 - min(d.distance)
             FROM chunks c
             CROSS JOIN LATERAL (SELECT e.chunk_id, %1$s AS distance
                                 FROM embeddings e
                                 WHERE e.model_id = %2$s AND e.chunk_id = c.id
                                 OFFSET 0) AS d
             WHERE c.post_id = ANY ($2)
             GROUP BY d.chunk_id
             ORDER BY min(d.distance), d.chunk_id
             LIMIT $3',
            distance, m.id)
        USING query_embedding, post_ids, depth;
        RETURN;
    END IF;
"""


def upgrade() -> None:
    bind = op.get_bind()
    replace_in_function(bind, "hfsearch_vector", COUNT_VECTORS, COUNT_CHUNKS)
    replace_in_function(bind, "hfsearch_vector", EXACT_GROUPED, EXACT_DISTANCES_FIRST)


def downgrade() -> None:
    bind = op.get_bind()
    replace_in_function(bind, "hfsearch_vector", EXACT_DISTANCES_FIRST, EXACT_GROUPED)
    replace_in_function(bind, "hfsearch_vector", COUNT_CHUNKS, COUNT_VECTORS)

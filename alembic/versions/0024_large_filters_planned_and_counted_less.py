"""A large post filter costs less to plan, and is not counted when its posts plainly hold more
chunks than exact search takes. A filter passing 50% of 100k chunks, A-B-A-B 0023 / 0024 on one
database (BENCHMARKS.md), p50: hybrid search 26.31 / 16.46 / 26.18 / 16.03 ms, the harness's
filtered vector search 15.08 / 6.39 / 12.13 / 6.56 ms; the same rankings.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06

The planner estimates `post_id = ANY (ids)` one id at a time, each against the column's list of
most common values (93 of them at 100k). A filter's post ids are in three statements of a
filtered hybrid search (the graph's, BM25's postings, the count that picks exact search or the
graph), each planned for its values, as a generic plan cannot hash the ids: planning one with
the 4,057 posts of a 50% filter at 100k took 3.5-4.3 ms. With the list cut to one value
(statistics target 1 on `chunks.post_id` and `postings.post_id`) it takes 1.8-2.4 ms. The
estimate still comes from the number of distinct posts, which ANALYZE counts in the same sample
(the other columns keep it at 30,000 rows).

The count is skipped, and the graph walked, when the posts' chunks at the corpus's mean per post
are more than twice the most exact search takes (at 50% of 100k, 50,000 against 10,000), and
otherwise stops one past that most rather than past `exact_limit`. BM25 estimates a filter's
chunks the same way before reading their ids (revision 0020); the estimate is now one function.
"""

from collections.abc import Sequence

from alembic import op

from hfsearch.migrations import replace_in_function, revision_module

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FILTERED_COLUMNS = ("chunks", "postings")

ESTIMATES = """
CREATE FUNCTION hfsearch_posts_chunks(post_ids integer[])
RETURNS double precision
LANGUAGE sql STABLE PARALLEL SAFE
-- The chunks of these posts at the corpus's mean per post: the planner's count of the posts
-- (pg_class.reltuples) is close enough. NULL until something is loaded and analysed.
RETURN (SELECT cardinality(post_ids) * s.chunks / r.reltuples
        FROM corpus_stats s, pg_class r
        WHERE r.oid = 'posts'::regclass AND r.reltuples > 0);

CREATE FUNCTION hfsearch_exact_most(exact_limit integer)
RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE
-- The most chunks a filtered vector search ranks exactly: exact_limit, and no more than the
-- square root of 1,000 times the corpus's chunks (revision 0023). least() skips the NULL of a
-- corpus with no statistics.
RETURN least(exact_limit,
             floor(sqrt(1000 * (SELECT nullif(max(s.chunks), 0) FROM corpus_stats s)))::bigint);

CREATE OR REPLACE FUNCTION hfsearch_exact_pays(filtered_chunks bigint, exact_limit integer)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
RETURN filtered_chunks <= hfsearch_exact_most(exact_limit);

REVOKE EXECUTE ON FUNCTION hfsearch_posts_chunks, hfsearch_exact_most FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hfsearch_posts_chunks, hfsearch_exact_most TO hfsearch_reader;
"""

COUNTED_TO_THE_LIMIT = """
    IF post_ids IS NOT NULL AND NOT exact THEN
        -- Only whether there are more than exact_limit: counting stops one past it.
        -- The chunks, from the index alone: joined to their vectors, the planner read every
        -- vector id of the model (revision 0022).
        SELECT count(*) INTO candidates FROM (
            SELECT FROM chunks c
            WHERE c.post_id = ANY (post_ids)
            LIMIT exact_limit + 1
        ) AS filtered;
        exact := hfsearch_exact_pays(candidates, exact_limit);
    END IF;
"""
COUNTED_WHEN_IT_CAN_PAY = """
    -- Counted only when the posts' chunks at the corpus's mean are at most twice the most
    -- exact search takes, and only one past that most (revision 0024).
    IF post_ids IS NOT NULL AND NOT exact
       AND coalesce(hfsearch_posts_chunks(post_ids) <= 2 * hfsearch_exact_most(exact_limit), true)
    THEN
        -- The chunks, from the index alone: joined to their vectors, the planner read every
        -- vector id of the model (revision 0022).
        SELECT count(*) INTO candidates FROM (
            SELECT FROM chunks c
            WHERE c.post_id = ANY (post_ids)
            LIMIT hfsearch_exact_most(exact_limit) + 1
        ) AS filtered;
        exact := hfsearch_exact_pays(candidates, exact_limit);
    END IF;
"""

BM25_ESTIMATE_INLINE = """
        -- The ids are not read when the posts' chunks, at the corpus's mean per post, are too
        -- many; the planner's count of the posts (pg_class.reltuples) is close enough for it.
        SELECT cardinality(post_ids) * s.chunks / r.reltuples > lookup_limit INTO too_many
        FROM corpus_stats s, pg_class r
        WHERE r.oid = 'posts'::regclass AND r.reltuples > 0;
"""
BM25_ESTIMATE_SHARED = """
        -- The ids are not read when the posts' chunks, at the corpus's mean per post, are too
        -- many.
        too_many := hfsearch_posts_chunks(post_ids) > lookup_limit;
"""


def set_statistics_target(target: int) -> None:
    for table in FILTERED_COLUMNS:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN post_id SET STATISTICS {target}")
    op.execute("ANALYZE chunks (post_id), postings (post_id)")


def upgrade() -> None:
    set_statistics_target(1)
    op.execute(ESTIMATES)
    bind = op.get_bind()
    replace_in_function(bind, "hfsearch_vector", COUNTED_TO_THE_LIMIT, COUNTED_WHEN_IT_CAN_PAY)
    replace_in_function(bind, "hfsearch_bm25", BM25_ESTIMATE_INLINE, BM25_ESTIMATE_SHARED)


def downgrade() -> None:
    bind = op.get_bind()
    replace_in_function(bind, "hfsearch_bm25", BM25_ESTIMATE_SHARED, BM25_ESTIMATE_INLINE)
    replace_in_function(bind, "hfsearch_vector", COUNTED_WHEN_IT_CAN_PAY, COUNTED_TO_THE_LIMIT)
    op.execute("DROP FUNCTION hfsearch_exact_pays(bigint, integer)")
    op.execute(revision_module("0023").EXACT_PAYS)
    op.execute("DROP FUNCTION hfsearch_posts_chunks(integer[]), hfsearch_exact_most(integer)")
    set_statistics_target(-1)

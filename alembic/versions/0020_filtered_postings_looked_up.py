"""BM25 under a filter that passes few chunks looks up those chunks' postings of the query's
terms, instead of reading every posting of its terms and keeping the filter's. At 1M synthetic
chunks, `hfsearch_bm25` at depth 100 with a filter passing 0.1% of the posts: p50 5.00 -> 1.13
ms; 0.3%: 5.00 -> 2.15; 1%: 6.18 -> 6.27, p95 14.17 -> 9.04; 5% and 50% as before; BENCHMARKS.md.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05

A filter's chunks are few when looking each of them up in every term's postings costs less
than reading the terms' postings: fewer than half the terms' postings divided by the number of
terms. Their ids come from the index of chunks by post (revision 0017), read no further than
that limit (not at all when the posts' chunks, at the corpus's mean per post, are more), and
the statement that scores every posting read takes them as a condition on the postings' chunk
ids; past the limit, BM25 reads the postings as before. The rankings are the same, the scores
up to float rounding (at 1M, 3 of 100 rankings differed in a score by 2e-15, none in order).
"""

from collections.abc import Sequence

from alembic import op

from hfsearch.migrations import replace_in_function

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DECLARED = """
    probed integer := 0;          -- terms[1 : probed] are only matched
"""
DECLARED_WITH_FILTERED_CHUNKS = """
    probed integer := 0;          -- terms[1 : probed] are only matched
    lookup_limit bigint;          -- a filter passing at most this many chunks is looked up
    too_many boolean;             -- the filter's posts have more chunks than that, at the mean
    filtered_chunks bigint[];     -- the filter's chunk ids when at most lookup_limit, else NULL
"""

CHOSEN = """
    IF probed = 0 THEN
"""
CHOSEN_AND_FILTERED_CHUNKS = """
    -- A filter that passes few chunks: each is looked up in every term's postings, in the
    -- index's order, when that is fewer lookups than half the postings the terms hold (a
    -- lookup costs about 1.7 postings read at 1M; revision 0020).
    IF post_ids IS NOT NULL AND terms IS NOT NULL THEN
        lookup_limit := (SELECT sum(n) FROM unnest(term_postings) AS n)
                        / (2 * cardinality(terms));
        -- The ids are not read when the posts' chunks, at the corpus's mean per post, are too
        -- many; the planner's count of the posts (pg_class.reltuples) is close enough for it.
        SELECT cardinality(post_ids) * s.chunks / r.reltuples > lookup_limit INTO too_many
        FROM corpus_stats s, pg_class r
        WHERE r.oid = 'posts'::regclass AND r.reltuples > 0;
        IF NOT coalesce(too_many, false) THEN
            SELECT coalesce(array_agg(f.id ORDER BY f.id), '{}') INTO filtered_chunks
            FROM (SELECT c.id FROM chunks c WHERE c.post_id = ANY (post_ids)
                  LIMIT lookup_limit + 1) AS f;
            IF cardinality(filtered_chunks) > lookup_limit THEN
                filtered_chunks := NULL;  -- too many after all: the postings are read
            END IF;
        END IF;
    END IF;

    IF probed = 0 THEN
"""

JOINED = """
            JOIN postings p ON p.lexeme = t.lexeme
            WHERE $3::integer[] IS NULL OR p.post_id = ANY ($3)
            GROUP BY p.chunk_id
            ORDER BY 2 DESC, p.chunk_id
"""
JOINED_OR_LOOKED_UP = """
            JOIN postings p ON p.lexeme = t.lexeme
                -- Planned with the call's values: with no chunk ids, no condition.
                AND ($9::bigint[] IS NULL OR p.chunk_id = ANY ($9))
            WHERE $3::integer[] IS NULL OR p.post_id = ANY ($3)
            GROUP BY p.chunk_id
            ORDER BY 2 DESC, p.chunk_id
"""
PASSED = """
        USING terms, idfs, post_ids, depth, k1, b, title_weight, average_tokens;
"""
PASSED_WITH_CHUNKS = """
        USING terms, idfs, post_ids, depth, k1, b, title_weight, average_tokens, filtered_chunks;
"""


# (old, new): the declarations, the choice of the chunks to look up, and the statement that
# scores every posting read (the one not pruned, which a filter always takes).
CHANGES = (
    (DECLARED, DECLARED_WITH_FILTERED_CHUNKS),
    (CHOSEN, CHOSEN_AND_FILTERED_CHUNKS),
    (JOINED, JOINED_OR_LOOKED_UP),
    (PASSED, PASSED_WITH_CHUNKS),
)


def upgrade() -> None:
    for old, new in CHANGES:
        replace_in_function(op.get_bind(), "hfsearch_bm25", old, new)


def downgrade() -> None:
    for old, new in reversed(CHANGES):
        replace_in_function(op.get_bind(), "hfsearch_bm25", new, old)

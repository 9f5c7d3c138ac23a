"""BM25 under a filter that passes few chunks looks up those chunks' postings of the query's
terms, instead of reading every posting of its terms and keeping the filter's. At 1M synthetic
chunks, `hfsearch_bm25` at depth 100 with a filter passing 0.1% of the posts: p50 4.74 -> 1.00
ms; 0.3%: 4.87 -> 2.03; 1%: 5.96 -> 6.08, p95 13.69 -> 8.44; 5% and 50% as before; BENCHMARKS.md.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05

A filter's chunks are few when looking each of them up in every term's postings costs less
than reading the terms' postings: fewer than half the terms' postings divided by the number of
terms. Their ids come from the index of chunks by post (revision 0017), read no further than
that limit (not at all when the posts' chunks, at the corpus's mean per post, are more); past
it, BM25 reads the postings as before. The rankings are the same, the scores up to float
rounding (at 1M, 3 of 100 rankings differed in a score by 2e-15, none in order).
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
    filtered_chunks bigint[];     -- the filter's chunk ids, when at most lookup_limit + 1
"""

READ_ALL = """
    IF probed = 0 THEN
"""
FILTERED_LOOKED_UP = """
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
            SELECT array_agg(f.id ORDER BY f.id) INTO filtered_chunks
            FROM (SELECT c.id FROM chunks c WHERE c.post_id = ANY (post_ids)
                  LIMIT lookup_limit + 1) AS f;
        END IF;
        IF NOT coalesce(too_many, false)
           AND coalesce(cardinality(filtered_chunks), 0) <= lookup_limit THEN
            RETURN QUERY EXECUTE $sql$
                SELECT p.chunk_id,
                       sum(hfsearch_bm25_term(t.idf, p.occurrences + ($7 - 1) * p.title_occurrences,
                                              p.token_count, $8, $5, $6))
                FROM unnest($1::text[], $2::double precision[]) AS t (lexeme, idf)
                JOIN postings p ON p.lexeme = t.lexeme AND p.chunk_id = ANY ($3)
                GROUP BY p.chunk_id
                ORDER BY 2 DESC, p.chunk_id
                LIMIT $4
            $sql$
            USING terms, idfs, filtered_chunks, depth, k1, b, title_weight, average_tokens;
            RETURN;
        END IF;
    END IF;

    IF probed = 0 THEN
"""


def upgrade() -> None:
    bind = op.get_bind()
    replace_in_function(bind, "hfsearch_bm25", DECLARED, DECLARED_WITH_FILTERED_CHUNKS)
    replace_in_function(bind, "hfsearch_bm25", READ_ALL, FILTERED_LOOKED_UP)


def downgrade() -> None:
    bind = op.get_bind()
    replace_in_function(bind, "hfsearch_bm25", FILTERED_LOOKED_UP, READ_ALL)
    replace_in_function(bind, "hfsearch_bm25", DECLARED_WITH_FILTERED_CHUNKS, DECLARED)

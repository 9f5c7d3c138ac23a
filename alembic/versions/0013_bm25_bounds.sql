-- Revision 0013: BM25 scores only the chunks that can reach the top `depth`; the rankings are
-- those of revision 0008 (scoring every posting of the query's terms) up to float rounding.
--
-- At 1M synthetic chunks the median query reads 66,000 postings, and scoring and grouping each
-- is most of its time (0.57 us a posting, BENCHMARKS.md), while nearly all of them belong to
-- one common term whose chunks cannot reach the top. The MaxScore idea (Turtle and Flood,
-- 1995; revision 0004 did it with a looser bound): a term adds at most `bound` to any chunk's
-- score. Sort the query's terms by bound; if the lowest bounds add up to less than a score that
-- `depth` chunks are known to reach (the floor), a chunk holding only those terms cannot enter
-- the top `depth`. Those "probed" terms' postings are then still read, but only matched
-- against the chunks that hold one of the other terms (a hash join), not scored and grouped
-- one by one.
--
-- The floor: the depth-th best score that one term (the rarest held by `depth` chunks) gives on
-- its own; every term adds a score of zero or more, so `depth` chunks score at least that much.
-- The bound: a term's score grows with its frequency in the chunk and falls with the chunk's
-- length, so the refresh keeps, per lexeme, the highest frequencies and the shortest chunk it
-- occurs in. A writer that adds postings after the refresh (a chunk edited in psql) may pass
-- them, so new postings mark the bounds stale, and until the next refresh the bound is the
-- limit of the term's score, idf * (k1 + 1), which holds whatever the chunk.

ALTER TABLE lexeme_stats
    ADD COLUMN max_occurrences integer,
    ADD COLUMN max_title_occurrences integer,
    ADD COLUMN min_token_count integer;
ALTER TABLE corpus_stats ADD COLUMN bounds_current boolean NOT NULL DEFAULT false;

CREATE OR REPLACE FUNCTION hfsearch_refresh_stats() RETURNS void
LANGUAGE sql VOLATILE
BEGIN ATOMIC
    DELETE FROM lexeme_stats;
    INSERT INTO lexeme_stats
        (lexeme, chunks, max_occurrences, max_title_occurrences, min_token_count)
        SELECT lexeme, count(*), max(occurrences), max(title_occurrences), min(token_count)
        FROM postings GROUP BY lexeme;
    DELETE FROM corpus_stats;
    INSERT INTO corpus_stats (chunks, average_tokens, bounds_current)
        SELECT count(*), coalesce(avg(token_count), 0), true FROM chunks;
END;

CREATE FUNCTION hfsearch_mark_bounds_stale() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE corpus_stats SET bounds_current = false WHERE bounds_current;
    RETURN NULL;
END;
$$;
CREATE TRIGGER postings_mark_bounds_stale AFTER INSERT ON postings
    FOR EACH STATEMENT EXECUTE FUNCTION hfsearch_mark_bounds_stale();

-- What one term adds to a chunk's BM25 score (tf: the term's frequency there, a title position
-- counting title_weight times; tokens: the chunk's length). Inlined where it is called.
CREATE FUNCTION hfsearch_bm25_term(
    idf double precision,
    tf double precision,
    tokens double precision,
    average_tokens double precision,
    k1 double precision,
    b double precision
) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * tokens / greatest(average_tokens, 1)));

-- How many of the lowest bounds (sorted, lowest first) add up to less than `score_floor`, one
-- term left out at least. Strictly less: a chunk holding only those terms loses even a tie.
CREATE FUNCTION hfsearch_probed(bounds double precision[], score_floor double precision)
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN least(cardinality(bounds) - 1, (
    SELECT count(*) FROM (
        SELECT sum(u.bound) OVER (ORDER BY u.nth) AS bounds_sum
        FROM unnest(bounds) WITH ORDINALITY AS u (bound, nth)
    ) AS r
    WHERE r.bounds_sum < score_floor));

-- Whether the first `probed` terms hold at least two thirds of the query's postings
-- (term_postings: each term's count). Matching postings costs less than scoring them one by
-- one, but keeping the other terms' chunks apart for it costs more than scoring them all: at
-- 1M synthetic chunks, splits that matched less made the query slower.
CREATE FUNCTION hfsearch_split_pays(term_postings bigint[], probed integer) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (
    SELECT 3 * coalesce(sum(u.postings) FILTER (WHERE u.nth <= probed), 0)
           >= 2 * coalesce(sum(u.postings), 0)
    FROM unnest(term_postings) WITH ORDINALITY AS u (postings, nth));

-- The same signature, rankings and row estimate as revision 0008's. `matching` is not read.
-- Each statement is run by EXECUTE, planned with the call's values (a cached generic plan could
-- scan every posting).
CREATE OR REPLACE FUNCTION hfsearch_bm25(
    lexemes text[],
    matching tsquery,
    post_ids integer[],
    depth integer,
    k1 double precision,
    b double precision,
    title_weight double precision
) RETURNS TABLE (chunk_id bigint, score double precision)
LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 100
AS $$
DECLARE
    average_tokens double precision;
    terms text[];                 -- the query's known terms, lowest bound first
    idfs double precision[];
    bounds double precision[];    -- the most each term adds to any chunk's score
    term_postings bigint[];       -- how many postings each term has
    floor_term text;              -- the rarest term that `depth` chunks hold
    floor_idf double precision;
    floor_bound double precision; -- the floor is at most this
    score_floor double precision; -- `depth` chunks score at least this
    probed integer := 0;          -- terms[1 : probed] are only matched
    -- The bounds above hold only where a term's score grows with its frequency and falls with
    -- the chunk's length, and where no term lowers a score. Not with a post filter: the floor
    -- term seldom has `depth` chunks in the posts (at 1M, a filter passing 5% of the posts:
    -- 29 of 200 queries pruned, and the floor's read made the median query 1.18 times slower).
    can_prune constant boolean :=
        post_ids IS NULL AND k1 > 0 AND b BETWEEN 0 AND 1 AND title_weight >= 0;
BEGIN
    SELECT c.average_tokens,
           array_agg(t.lexeme ORDER BY t.bound, t.lexeme),
           array_agg(t.idf ORDER BY t.bound, t.lexeme),
           array_agg(t.bound ORDER BY t.bound, t.lexeme),
           array_agg(t.chunks ORDER BY t.bound, t.lexeme),
           (array_agg(t.lexeme ORDER BY t.chunks, t.lexeme) FILTER (WHERE t.chunks >= depth))[1],
           (array_agg(t.idf ORDER BY t.chunks, t.lexeme) FILTER (WHERE t.chunks >= depth))[1],
           (array_agg(t.bound ORDER BY t.chunks, t.lexeme) FILTER (WHERE t.chunks >= depth))[1]
    INTO average_tokens, terms, idfs, bounds, term_postings, floor_term, floor_idf, floor_bound
    FROM corpus_stats c
    CROSS JOIN LATERAL (
        SELECT s.lexeme, s.chunks, i.idf,
               -- Raised by a billionth against float rounding.
               (1 + 1e-9) * CASE
                   WHEN c.bounds_current AND s.max_occurrences IS NOT NULL THEN hfsearch_bm25_term(
                       i.idf,
                       s.max_occurrences + greatest(title_weight - 1, 0) * s.max_title_occurrences,
                       s.min_token_count, c.average_tokens, k1, b)
                   ELSE i.idf * (k1 + 1)
               END AS bound
        FROM lexeme_stats s
        CROSS JOIN LATERAL (SELECT hfsearch_idf(c.chunks, s.chunks) AS idf) AS i
        WHERE s.lexeme = ANY (lexemes)
    ) AS t
    GROUP BY c.average_tokens;

    -- The floor's read is spent only if the highest floor would allow a split that pays.
    IF can_prune AND floor_term IS NOT NULL
       AND hfsearch_split_pays(term_postings, hfsearch_probed(bounds, floor_bound)) THEN
        EXECUTE $sql$
            SELECT hfsearch_bm25_term($2, p.occurrences + ($6 - 1) * p.title_occurrences,
                                      p.token_count, $7, $4, $5) AS term_score
            FROM postings p
            WHERE p.lexeme = $1
            ORDER BY term_score DESC
            OFFSET $3 - 1 LIMIT 1
        $sql$
        INTO score_floor
        USING floor_term, floor_idf, depth, k1, b, title_weight, average_tokens;
        probed := hfsearch_probed(bounds, score_floor);
        IF NOT hfsearch_split_pays(term_postings, probed) THEN
            probed := 0;
        END IF;
    END IF;

    IF probed = 0 THEN
        RETURN QUERY EXECUTE $sql$
            SELECT p.chunk_id,
                   sum(hfsearch_bm25_term(t.idf, p.occurrences + ($7 - 1) * p.title_occurrences,
                                          p.token_count, $8, $5, $6))
            FROM unnest($1::text[], $2::double precision[]) AS t (lexeme, idf)
            JOIN postings p ON p.lexeme = t.lexeme
            WHERE $3::integer[] IS NULL OR p.post_id = ANY ($3)
            GROUP BY p.chunk_id
            ORDER BY 2 DESC, p.chunk_id
            LIMIT $4
        $sql$
        USING terms, idfs, post_ids, depth, k1, b, title_weight, average_tokens;
        RETURN;
    END IF;

    -- Seen with SET client_min_messages = debug1 (the tests count them).
    RAISE DEBUG 'hfsearch_bm25: % of % terms only matched', probed, cardinality(terms);
    RETURN QUERY EXECUTE $sql$
        WITH essential AS MATERIALIZED (
            -- Every chunk that can reach the top: those holding a term that is not probed.
            SELECT p.chunk_id,
                   sum(hfsearch_bm25_term(t.idf, p.occurrences + ($7 - 1) * p.title_occurrences,
                                          p.token_count, $8, $5, $6)) AS score
            FROM unnest($1::text[], $2::double precision[]) AS t (lexeme, idf)
            JOIN postings p ON p.lexeme = t.lexeme
            WHERE $3::integer[] IS NULL OR p.post_id = ANY ($3)
            GROUP BY p.chunk_id
        ),
        probed AS (
            SELECT p.chunk_id,
                   sum(hfsearch_bm25_term(t.idf, p.occurrences + ($7 - 1) * p.title_occurrences,
                                          p.token_count, $8, $5, $6)) AS score
            FROM unnest($9::text[], $10::double precision[]) AS t (lexeme, idf)
            JOIN postings p ON p.lexeme = t.lexeme
            WHERE p.chunk_id IN (SELECT e.chunk_id FROM essential e)
            GROUP BY p.chunk_id
        )
        SELECT e.chunk_id, e.score + coalesce(p.score, 0)
        FROM essential e LEFT JOIN probed p ON p.chunk_id = e.chunk_id
        ORDER BY 2 DESC, e.chunk_id
        LIMIT $4
    $sql$
    USING terms[probed + 1 :], idfs[probed + 1 :], post_ids, depth, k1, b, title_weight,
          average_tokens, terms[: probed], idfs[: probed];
END;
$$;

REVOKE EXECUTE ON FUNCTION
    hfsearch_mark_bounds_stale, hfsearch_bm25_term, hfsearch_probed, hfsearch_split_pays
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hfsearch_mark_bounds_stale TO hfsearch_writer;
GRANT EXECUTE ON FUNCTION hfsearch_bm25_term, hfsearch_probed, hfsearch_split_pays
TO hfsearch_reader;

SELECT hfsearch_refresh_stats();

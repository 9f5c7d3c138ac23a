-- Revision 0008: BM25 reads a postings table, not every matching chunk's document.
--
-- Until now BM25 found the chunks holding a query term through the GIN index, then read and
-- cut up each one's tsvector: about 5 us a matching chunk, and a query of common words
-- matches tens of thousands of chunks at a million (lexical p50 157 ms, p95 738 ms at 1M,
-- BENCHMARKS.md). The GIN index cannot hand out what BM25 needs (how often the term occurs,
-- in the title or not, and the chunk's length), so every match cost a heap visit.
-- A postings table holds exactly that, one row a (lexeme, chunk), with the chunk's post for
-- filters, and its index is ordered by lexeme with those figures included: a query reads its
-- terms' postings in an index-only scan and never touches the chunks. Measured at 100k
-- synthetic chunks (a first version of this table, 100 queries), the same rankings: p50
-- 19.1 -> 2.2 ms, p95 56.9 -> 5.2 ms.
--
-- Triggers on chunks keep the postings in step with every writer (the loader, a retitle,
-- a DELETE in psql). The price is space: about one posting per distinct lexeme a chunk,
-- ~100 for a 150-word chunk.

CREATE TABLE postings (
    lexeme text NOT NULL,
    chunk_id bigint NOT NULL,
    occurrences integer NOT NULL,        -- positions of the lexeme in the document
    title_occurrences integer NOT NULL,  -- of which in the title (weight A)
    -- The chunk's length and post, copied so that scoring and filters never read chunks.
    token_count integer NOT NULL,
    post_id integer NOT NULL
);

-- A document's postings: each lexeme, how often it occurs, and how often in the title.
CREATE FUNCTION hfsearch_postings(document tsvector)
RETURNS TABLE (lexeme text, occurrences integer, title_occurrences integer)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT u.lexeme, cardinality(u.positions), cardinality(array_positions(u.weights, 'A'))
    FROM unnest(document) AS u
$$;

-- Keeps the postings of the chunks in new_chunks / old_chunks (the triggers' transition
-- tables) in step.
CREATE FUNCTION hfsearch_index_chunks() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        -- Through the index: the old document says which lexemes to look under.
        DELETE FROM postings p
        USING old_chunks o CROSS JOIN LATERAL unnest(tsvector_to_array(o.search_vector)) AS l
        WHERE p.lexeme = l AND p.chunk_id = o.id;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO postings
            (lexeme, chunk_id, occurrences, title_occurrences, token_count, post_id)
        SELECT p.lexeme, n.id, p.occurrences, p.title_occurrences, n.token_count, n.post_id
        FROM new_chunks n CROSS JOIN LATERAL hfsearch_postings(n.search_vector) AS p;
    ELSE
        -- Only chunks whose document or post changed (a moved chunk keeps its postings).
        DELETE FROM postings p
        USING old_chunks o JOIN new_chunks n ON n.id = o.id
              CROSS JOIN LATERAL unnest(tsvector_to_array(o.search_vector)) AS l
        WHERE (o.search_vector, o.post_id) IS DISTINCT FROM (n.search_vector, n.post_id)
          AND p.lexeme = l AND p.chunk_id = o.id;
        INSERT INTO postings
            (lexeme, chunk_id, occurrences, title_occurrences, token_count, post_id)
        SELECT p.lexeme, n.id, p.occurrences, p.title_occurrences, n.token_count, n.post_id
        FROM old_chunks o JOIN new_chunks n ON n.id = o.id
             CROSS JOIN LATERAL hfsearch_postings(n.search_vector) AS p
        WHERE (o.search_vector, o.post_id) IS DISTINCT FROM (n.search_vector, n.post_id);
    END IF;
    RETURN NULL;
END;
$$;

-- Statement triggers: a load's one INSERT of many chunks is one INSERT of their postings.
CREATE TRIGGER chunks_postings_insert AFTER INSERT ON chunks
    REFERENCING NEW TABLE AS new_chunks
    FOR EACH STATEMENT EXECUTE FUNCTION hfsearch_index_chunks();
CREATE TRIGGER chunks_postings_update AFTER UPDATE ON chunks
    REFERENCING OLD TABLE AS old_chunks NEW TABLE AS new_chunks
    FOR EACH STATEMENT EXECUTE FUNCTION hfsearch_index_chunks();
CREATE TRIGGER chunks_postings_delete AFTER DELETE ON chunks
    REFERENCING OLD TABLE AS old_chunks
    FOR EACH STATEMENT EXECUTE FUNCTION hfsearch_index_chunks();

-- TRUNCATE has no transition table (and no rows to list): it empties the postings too.
CREATE FUNCTION hfsearch_clear_postings() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    TRUNCATE postings;
    RETURN NULL;
END;
$$;
CREATE TRIGGER chunks_postings_truncate AFTER TRUNCATE ON chunks
    FOR EACH STATEMENT EXECUTE FUNCTION hfsearch_clear_postings();

INSERT INTO postings (lexeme, chunk_id, occurrences, title_occurrences, token_count, post_id)
SELECT p.lexeme, c.id, p.occurrences, p.title_occurrences, c.token_count, c.post_id
FROM chunks c CROSS JOIN LATERAL hfsearch_postings(c.search_vector) AS p;
-- Built after the rows, as a bulk load does. Not unique: the loader drops and rebuilds it
-- around a bulk load like the chunks' indexes.
CREATE INDEX ix_postings_lexeme_chunk_id ON postings (lexeme, chunk_id)
    INCLUDE (occurrences, title_occurrences, token_count, post_id);
ANALYZE postings;

REVOKE EXECUTE ON FUNCTION hfsearch_index_chunks, hfsearch_clear_postings, hfsearch_postings
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hfsearch_index_chunks, hfsearch_postings TO hfsearch_writer;
GRANT SELECT ON postings TO hfsearch_reader;
GRANT INSERT, DELETE ON postings TO hfsearch_writer;
-- The loader's ANALYZE after a load needs MAINTAIN (PostgreSQL 17 and later), as in 0003.
DO $$
BEGIN
    IF current_setting('server_version_num')::integer >= 170000 THEN
        GRANT MAINTAIN ON postings TO hfsearch_writer;
    END IF;
END
$$;

-- hfsearch_bm25 with the same signature and rankings, scoring from the postings. `matching`
-- (the query's terms as a tsquery, for the GIN index) is no longer read. Revision 0004's
-- top-k pruning is gone: it saved chunk reads, and scoring from the postings makes none
-- (whether pruning over postings would pay was not measured).
-- EXECUTE plans the statement with the call's values, so the planner sees how many postings
-- each term has; a cached generic plan could pick a scan of the whole table.
CREATE OR REPLACE FUNCTION hfsearch_bm25(
    lexemes text[],
    matching tsquery,
    post_ids integer[],
    depth integer,
    k1 double precision,
    b double precision,
    title_weight double precision
) RETURNS TABLE (chunk_id bigint, score double precision)
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
BEGIN
    RETURN QUERY EXECUTE $sql$
        WITH query_terms AS MATERIALIZED (
            -- Scalar subqueries, not a join to corpus_stats: its one row is seldom analysed,
            -- and the planner's guess of 1,810 rows there made it scan every posting.
            SELECT s.lexeme,
                   hfsearch_idf((SELECT c.chunks FROM corpus_stats c), s.chunks) AS idf
            FROM lexeme_stats s
            WHERE s.lexeme = ANY ($1)
        ),
        term_frequencies AS (
            -- A title position counts $7 times in all.
            SELECT p.chunk_id, p.token_count, t.idf,
                   p.occurrences + ($7 - 1) * p.title_occurrences AS tf
            FROM query_terms t
            JOIN postings p ON p.lexeme = t.lexeme
            WHERE $3::integer[] IS NULL OR p.post_id = ANY ($3)
        )
        SELECT f.chunk_id,
               sum(f.idf * f.tf * ($5 + 1)
                   / (f.tf + $5 * (1 - $6 + $6 * f.token_count / greatest(
                       (SELECT c.average_tokens FROM corpus_stats c), 1))))
        FROM term_frequencies f
        GROUP BY f.chunk_id
        ORDER BY 2 DESC, f.chunk_id
        LIMIT $4
    $sql$
    USING lexemes, matching, post_ids, depth, k1, b, title_weight;
END;
$$;

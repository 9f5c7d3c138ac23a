-- Revision 0008's downgrade: revision 0006's hfsearch_bm25, which reads each matching chunk's
-- document (copied from 0006_bm25_scoring.sql: migrations are snapshots).

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
DECLARE
    -- A term held by at most this share of the chunks is essential.
    essential_share constant double precision := 0.02;
    -- A split is tried when its essential terms hold at most this share of the matches.
    worth_trying constant double precision := 0.6;
    -- Scores every chunk that $2 matches on all the query's terms ($1), best first.
    scoring constant text := $sql$
        WITH query_terms AS MATERIALIZED (
            -- MATERIALIZED: each term's idf once, not again for every chunk holding it.
            SELECT s.lexeme, hfsearch_idf(c.chunks, s.chunks) AS idf
            FROM lexeme_stats s CROSS JOIN corpus_stats c
            WHERE s.lexeme = ANY ($1)
        ),
        matches AS MATERIALIZED (
            -- Each matching chunk's document cut down to the query's lexemes by C functions,
            -- so only those few entries are unnested below, not the whole document: all
            -- their positions (marked C, then kept), and apart their title positions (A).
            -- MATERIALIZED: found through the GIN index on its own. Inlined, the planner
            -- could walk the primary key in id order for the GROUP BY below, testing every
            -- chunk's document against the tsquery (measured: 19 ms instead of 1 ms at 10k).
            SELECT ch.id, ch.token_count,
                   ts_filter(setweight(ch.search_vector, 'C', $1), '{c}') AS query_part,
                   ts_filter(setweight(ts_filter(ch.search_vector, '{a}'), 'C', $1), '{c}')
                       AS title_part
            FROM chunks ch
            WHERE ch.search_vector @@ $2
              AND ($3::integer[] IS NULL OR ch.post_id = ANY ($3))
        ),
        term_frequencies AS (
            -- A title position counts $7 times in all. Few chunks hold a query term in
            -- their title: the others skip the lookup.
            SELECT m.id, m.token_count, t.idf,
                   cardinality(u.positions) + CASE WHEN length(m.title_part) = 0 THEN 0 ELSE
                       ($7 - 1) * coalesce((SELECT cardinality(title.positions)
                                            FROM unnest(m.title_part) AS title
                                            WHERE title.lexeme = u.lexeme), 0)
                   END AS tf
            FROM matches m
            CROSS JOIN LATERAL unnest(m.query_part) AS u
            JOIN query_terms t ON t.lexeme = u.lexeme
        )
        SELECT f.id,
               sum(f.idf * f.tf * ($5 + 1)
                   / (f.tf + $5 * (1 - $6 + $6 * f.token_count / greatest(c.average_tokens, 1))))
        FROM term_frequencies f CROSS JOIN corpus_stats c
        GROUP BY f.id
        ORDER BY 2 DESC, f.id
        LIMIT $4
    $sql$;
    terms text[];
    bounds double precision[];  -- bounds[i]: the most terms[i] can add to any chunk's score
    reach bigint[];  -- reach[i]: chunks holding terms[1] .. terms[i], counted with repeats
    essential_count integer;
    threshold double precision;
    ids bigint[];
    scores double precision[];
BEGIN
    -- The query's known terms, rarest first. The first guess at the essential ones: the rare
    -- terms, and enough of the next to hold `depth` chunks between them.
    SELECT array_agg(t.lexeme ORDER BY t.nth), array_agg(t.bound ORDER BY t.nth),
           array_agg(t.cumulative_chunks ORDER BY t.nth),
           greatest(count(*) FILTER (WHERE t.chunks <= essential_share * t.corpus_chunks),
                    min(t.nth) FILTER (WHERE t.cumulative_chunks >= depth), 1)
    INTO terms, bounds, reach, essential_count
    FROM (
        SELECT s.lexeme, s.chunks, c.chunks AS corpus_chunks,
               hfsearch_idf(c.chunks, s.chunks) * (k1 + 1) AS bound,
               row_number() OVER (ORDER BY s.chunks, s.lexeme) AS nth,
               sum(s.chunks) OVER (ORDER BY s.chunks, s.lexeme) AS cumulative_chunks
        FROM lexeme_stats s CROSS JOIN corpus_stats c
        WHERE s.lexeme = ANY (lexemes)
    ) AS t;

    -- At most two tries. The depth-th score of the first is a floor under the true one, so the
    -- second takes as essential every term until the rest together cannot reach that floor.
    FOR attempt IN 1..2 LOOP
        EXIT WHEN essential_count >= cardinality(terms);
        -- A first try that would read most of what scoring every match reads is not worth it.
        EXIT WHEN attempt = 1 AND reach[essential_count] > worth_trying * reach[cardinality(terms)];
        EXECUTE format(
            'SELECT array_agg(id ORDER BY score DESC, id), array_agg(score ORDER BY score DESC, id)'
            ' FROM (%s) AS top (id, score)', scoring)
        INTO ids, scores
        USING lexemes, hfsearch_any_lexeme(terms[1 : essential_count]), post_ids, depth,
              k1, b, title_weight;
        EXIT WHEN coalesce(cardinality(ids), 0) < depth;
        threshold := scores[depth];
        IF threshold > (SELECT sum(bound) FROM unnest(bounds[essential_count + 1 :]) AS bound) THEN
            -- Seen with SET client_min_messages = debug1 (the tests and benchmarks count them).
            RAISE DEBUG 'hfsearch_bm25: top % from the % rarest of % terms',
                depth, essential_count, cardinality(terms);
            RETURN QUERY SELECT * FROM unnest(ids, scores);
            RETURN;
        END IF;
        SELECT min(i) INTO essential_count
        FROM generate_series(essential_count + 1, cardinality(terms)) AS i
        WHERE threshold > (SELECT coalesce(sum(bound), 0) FROM unnest(bounds[i + 1 :]) AS bound);
    END LOOP;

    RETURN QUERY EXECUTE scoring
    USING lexemes, matching, post_ids, depth, k1, b, title_weight;
END;
$$;

-- Revision 0004: BM25 top-k that need not score every chunk holding a common query term.
--
-- The rankings are the same as revision 0002's, to the last tie; only fewer chunks are read.
-- A term adds less than idf * (k1 + 1) to any chunk's score, however often the chunk holds
-- it (term-frequency saturation). So split the query's terms: the rare ("essential") ones and
-- the common rest, whose contributions together stay below the sum of those bounds. Score every
-- chunk holding an essential term, on all the query's terms; if the depth-th best of them
-- scores above what the common terms alone could give, no chunk holding only common terms can
-- enter the top `depth`, and the answer is exact. Otherwise widen the split once, from what
-- the first try scored, and then score every match, as before.
-- (This is the MaxScore idea of Turtle and Flood, 1995.)
-- (Array slices have spaces round the colon: SQLAlchemy reads a colon before a name as a bind parameter.)
--
-- EXECUTE plans each statement with its actual values, so the planner sees how many chunks
-- the tsquery matches (GIN index for rare terms, a scan for common ones).
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
        WITH query_terms AS (
            SELECT s.lexeme, ln(1 + (c.chunks - s.chunks + 0.5) / (s.chunks + 0.5)) AS idf
            FROM lexeme_stats s CROSS JOIN corpus_stats c
            WHERE s.lexeme = ANY ($1)
        ),
        matches AS MATERIALIZED (
            -- Each matching chunk's document cut down to the query's lexemes by C functions,
            -- so only those few entries are unnested below, not the whole document.
            -- MATERIALIZED: found through the GIN index on its own. Inlined, the planner
            -- could walk the primary key in id order for the GROUP BY below, testing every
            -- chunk's document against the tsquery (measured: 19 ms instead of 1 ms at 10k).
            SELECT ch.id, ch.token_count,
                   ts_delete(ch.search_vector, tsvector_to_array(ts_delete(ch.search_vector, $1)))
                       AS query_part
            FROM chunks ch
            WHERE ch.search_vector @@ $2
              AND ($3::integer[] IS NULL OR ch.post_id = ANY ($3))
        ),
        term_frequencies AS (
            SELECT m.id, m.token_count, t.idf,
                   cardinality(array_positions(u.weights, 'B'))
                     + $7 * cardinality(array_positions(u.weights, 'A')) AS tf
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
               ln(1 + (c.chunks - s.chunks + 0.5) / (s.chunks + 0.5)) * (k1 + 1) AS bound,
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

-- hfsearch_search as in revision 0002, except that lexical-only and vector-only searches fetch
-- only the rows their first page shows, not `depth` candidates for a fusion that never happens.
CREATE OR REPLACE FUNCTION hfsearch_search(
    query text,
    query_embedding vector DEFAULT NULL,
    model text DEFAULT NULL,
    k integer DEFAULT 10,
    mode text DEFAULT NULL,
    fusion text DEFAULT 'rrf',
    rrf_k double precision DEFAULT 60,
    lexical_weight double precision DEFAULT 1.0,
    vector_weight double precision DEFAULT 1.0,
    depth integer DEFAULT 100,
    tags_any text[] DEFAULT NULL,
    tags_all text[] DEFAULT NULL,
    authors_any text[] DEFAULT NULL,
    since date DEFAULT NULL,
    until date DEFAULT NULL,
    slugs text[] DEFAULT NULL,
    by_post boolean DEFAULT false,
    ef_search integer DEFAULT 100,
    exact boolean DEFAULT false,
    after_score double precision DEFAULT NULL,
    after_chunk_id bigint DEFAULT NULL
) RETURNS TABLE (
    rank integer,
    score double precision,
    chunk_id bigint,
    slug text,
    title text,
    url text,
    published_on date,
    authors text[],
    tags text[],
    chunk_position integer,
    text text,
    snippet text,
    lexical_rank integer,
    lexical_score double precision,
    vector_rank integer,
    vector_score double precision
)
LANGUAGE plpgsql VOLATILE
AS $$
#variable_conflict use_column
DECLARE
    effective_mode text :=
        coalesce(mode, CASE WHEN query_embedding IS NULL THEN 'lexical' ELSE 'hybrid' END);
    use_lexical boolean := effective_mode IN ('hybrid', 'lexical');
    use_vector boolean := effective_mode IN ('hybrid', 'vector');
    post_ids integer[] := hfsearch_filtered_posts(tags_any, tags_all, authors_any, since, until, slugs);
    highlight tsquery := hfsearch_any_lexeme(hfsearch_query_lexemes(query));
    -- One side alone ranks by its own score: the first page needs only its k best rows.
    -- (Fusion, later pages and by_post need the deeper list.)
    side_depth integer := CASE
        WHEN effective_mode <> 'hybrid' AND after_score IS NULL AND NOT by_post THEN least(depth, k)
        ELSE depth END;
BEGIN
    IF effective_mode NOT IN ('hybrid', 'lexical', 'vector') THEN
        RAISE EXCEPTION 'mode must be hybrid, lexical or vector, not "%"', mode
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF fusion NOT IN ('rrf', 'weighted') THEN
        RAISE EXCEPTION 'fusion must be rrf or weighted, not "%"', fusion
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF use_vector AND query_embedding IS NULL THEN
        RAISE EXCEPTION '% search needs a query vector', effective_mode
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF k < 1 OR depth < 1 OR depth > 10000 OR ef_search < 1 OR ef_search > 1000 THEN
        RAISE EXCEPTION 'k and depth must be at least 1, depth at most 10000, ef_search 1 to 1000'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF use_vector THEN
        PERFORM hfsearch_model(model);  -- fail early, with the list of models that have vectors
    END IF;

    RETURN QUERY
    WITH lexical AS (
        -- The WHERE on a variable alone becomes a one-time filter: a side not asked for
        -- is never run.
        SELECT l.chunk_id, l.score, row_number() OVER (ORDER BY l.score DESC, l.chunk_id) AS rank
        FROM hfsearch_lexical(query, post_ids, side_depth) l
        WHERE use_lexical
    ),
    vector AS (
        SELECT v.chunk_id, v.score, row_number() OVER (ORDER BY v.score DESC, v.chunk_id) AS rank
        FROM hfsearch_vector(query_embedding, model, post_ids, side_depth, ef_search, exact) v
        WHERE use_vector
    ),
    ranges AS (
        SELECT (SELECT min(l.score) FROM lexical l) AS lexical_low,
               (SELECT max(l.score) FROM lexical l) AS lexical_high,
               (SELECT min(v.score) FROM vector v) AS vector_low,
               (SELECT max(v.score) FROM vector v) AS vector_high
    ),
    fused AS (
        SELECT coalesce(l.chunk_id, v.chunk_id) AS chunk_id,
               CASE WHEN NOT use_vector THEN l.score  -- one side alone keeps its own score
                    WHEN NOT use_lexical THEN v.score
                    WHEN fusion = 'rrf' THEN
                   coalesce(lexical_weight / (rrf_k + l.rank), 0)
                   + coalesce(vector_weight / (rrf_k + v.rank), 0)
               ELSE
                   -- min-max normalised per side; a side with a single score counts it as 1
                   CASE WHEN l.chunk_id IS NULL THEN 0 ELSE lexical_weight * coalesce(
                       (l.score - r.lexical_low) / nullif(r.lexical_high - r.lexical_low, 0), 1)
                   END
                   + CASE WHEN v.chunk_id IS NULL THEN 0 ELSE vector_weight * coalesce(
                       (v.score - r.vector_low) / nullif(r.vector_high - r.vector_low, 0), 1)
                   END
               END AS score,
               l.rank AS lexical_rank, l.score AS lexical_score,
               v.rank AS vector_rank, v.score AS vector_score
        FROM lexical l
        FULL JOIN vector v ON v.chunk_id = l.chunk_id
        CROSS JOIN ranges r
    ),
    best_of_post AS (
        -- With by_post, each post is represented by its best chunk.
        SELECT f.*, row_number() OVER (
                   PARTITION BY CASE WHEN by_post THEN c.post_id::bigint ELSE c.id END
                   ORDER BY f.score DESC, f.chunk_id) AS nth
        FROM fused f JOIN chunks c ON c.id = f.chunk_id
    ),
    ranked AS (
        SELECT b.*, row_number() OVER (ORDER BY b.score DESC, b.chunk_id) AS overall
        FROM best_of_post b
        WHERE b.nth = 1
    ),
    page AS (
        SELECT r.* FROM ranked r
        WHERE after_score IS NULL
           OR r.score < after_score
           OR (r.score = after_score AND r.chunk_id > after_chunk_id)
        ORDER BY r.score DESC, r.chunk_id
        LIMIT k
    )
    SELECT pg.overall::integer, pg.score, pg.chunk_id, p.slug, p.title, p.url, p.published_on,
           p.authors, p.tags, c.position, c.text,
           CASE WHEN highlight IS NULL THEN left(c.text, 200)
                ELSE ts_headline('english', c.text, highlight,
                                 'StartSel=<<, StopSel=>>, MaxFragments=2, MaxWords=15, MinWords=6')
           END,
           pg.lexical_rank::integer, pg.lexical_score, pg.vector_rank::integer, pg.vector_score
    FROM page pg
    JOIN chunks c ON c.id = pg.chunk_id
    JOIN posts p ON p.id = c.post_id
    ORDER BY pg.score DESC, pg.chunk_id;
END;
$$;

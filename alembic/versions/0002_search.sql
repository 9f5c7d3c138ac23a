-- Revision 0002: BM25 statistics and the search functions any client can call.
--
-- Lexical ranking is BM25 (term-frequency saturation k1, length normalisation b, inverse
-- document frequency) computed in plain PostgreSQL from the stored tsvectors: a chunk
-- matches when it holds ANY query term (websearch_to_tsquery would demand all of them), and
-- a term in the post title (weight A) counts `title_weight` times.
-- Vector ranking is cosine similarity under one named model, through that model's partial
-- HNSW index; a chunk scores by its best segment.
-- Hybrid search fuses both lists in one statement: reciprocal rank fusion by default, or a
-- weighted sum of min-max normalised scores.

-- How many tokens a document holds: BM25's document length.
CREATE FUNCTION hfsearch_token_count(document tsvector) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (SELECT coalesce(sum(cardinality(positions)), 0) FROM unnest(document));

ALTER TABLE chunks
    ADD COLUMN token_count integer NOT NULL
        GENERATED ALWAYS AS (hfsearch_token_count(search_vector)) STORED;

-- Document frequency of every lexeme, and the corpus size and mean length, for BM25.
CREATE TABLE lexeme_stats (
    lexeme text NOT NULL,
    chunks integer NOT NULL,
    CONSTRAINT pk_lexeme_stats PRIMARY KEY (lexeme)
);

CREATE TABLE corpus_stats (
    singleton boolean DEFAULT true NOT NULL,
    chunks bigint NOT NULL,
    average_tokens double precision NOT NULL,
    CONSTRAINT pk_corpus_stats PRIMARY KEY (singleton),
    CONSTRAINT ck_corpus_stats_one_row CHECK (singleton)
);

-- Recount the statistics from the chunks (the loader calls this after a change).
CREATE FUNCTION hfsearch_refresh_stats() RETURNS void
LANGUAGE sql VOLATILE
BEGIN ATOMIC
    DELETE FROM lexeme_stats;
    INSERT INTO lexeme_stats (lexeme, chunks)
        SELECT word, ndoc FROM ts_stat('SELECT search_vector FROM chunks');
    DELETE FROM corpus_stats;
    INSERT INTO corpus_stats (chunks, average_tokens)
        SELECT count(*), coalesce(avg(token_count), 0) FROM chunks;
END;

SELECT hfsearch_refresh_stats();

-- The distinct lexemes of a query, as the documents were parsed: stemmed, stop words out.
CREATE FUNCTION hfsearch_query_lexemes(query text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ARRAY(SELECT lexeme FROM unnest(to_tsvector('english', coalesce(query, ''))));

-- A tsquery matching any of the lexemes. Each is quoted, so no character of the user's
-- query is ever read as a tsquery operator. NULL when there is no lexeme.
CREATE FUNCTION hfsearch_any_lexeme(lexemes text[]) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (
    SELECT string_agg('''' || replace(replace(lexeme, '\', '\\'), '''', '''''') || '''', ' | ')
    FROM unnest(lexemes) AS lexeme
)::tsquery;

-- The ids of the posts that pass the filters, or NULL when no filter is given.
-- (No parameter shares a name with a column: in SQL functions the column would win.)
CREATE FUNCTION hfsearch_filtered_posts(
    tags_any text[], tags_all text[], authors_any text[], since date, until date, slugs text[]
) RETURNS integer[]
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE
    WHEN tags_any IS NULL AND tags_all IS NULL AND authors_any IS NULL
         AND since IS NULL AND until IS NULL AND slugs IS NULL THEN NULL
    ELSE ARRAY(
        SELECT p.id FROM posts p
        WHERE (tags_any IS NULL OR p.tags && tags_any)
          AND (tags_all IS NULL OR p.tags @> tags_all)
          AND (authors_any IS NULL OR p.authors && authors_any)
          AND (since IS NULL OR p.published_on >= since)
          AND (until IS NULL OR p.published_on <= until)
          AND (slugs IS NULL OR p.slug = ANY (slugs))
    )
END;

-- BM25 over the chunks that hold any of the lexemes, best first.
--
-- EXECUTE plans the statement for each call with its actual values, so the planner sees
-- how many chunks the tsquery matches (GIN index for rare terms, a scan for common ones);
-- a cached generic plan guessed wrong and walked the primary key of every chunk instead.
-- The SQL text is fixed: the values travel as parameters.
CREATE FUNCTION hfsearch_bm25(
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
        WITH query_terms AS (
            SELECT s.lexeme, ln(1 + (c.chunks - s.chunks + 0.5) / (s.chunks + 0.5)) AS idf
            FROM lexeme_stats s CROSS JOIN corpus_stats c
            WHERE s.lexeme = ANY ($1)
        ),
        matches AS (
            -- Each matching chunk's document cut down to the query's lexemes by C functions,
            -- so only those few entries are unnested below, not the whole document.
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
    $sql$
    USING lexemes, matching, post_ids, depth, k1, b, title_weight;
END;
$$;

-- BM25 search by query text: a chunk matches when it holds any query term.
CREATE FUNCTION hfsearch_lexical(
    query text,
    post_ids integer[] DEFAULT NULL,
    depth integer DEFAULT 100,
    k1 double precision DEFAULT 1.2,
    b double precision DEFAULT 0.75,
    title_weight double precision DEFAULT 2.0
) RETURNS TABLE (chunk_id bigint, score double precision)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT * FROM hfsearch_bm25(
        hfsearch_query_lexemes(query),
        hfsearch_any_lexeme(hfsearch_query_lexemes(query)),
        post_ids, depth, k1, b, title_weight);
END;

-- The id and dimensions of a model that has vectors, or an error that says which do.
CREATE FUNCTION hfsearch_model(model text) RETURNS embedding_models
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    found embedding_models;
    available text;
BEGIN
    SELECT m.* INTO found FROM embedding_models m
    WHERE m.name = model AND EXISTS (SELECT 1 FROM embeddings e WHERE e.model_id = m.id);
    IF found.id IS NULL THEN
        SELECT string_agg(format('%s (%s dimensions)', m.name, m.dimensions), ', ' ORDER BY m.name)
        INTO available
        FROM embedding_models m
        WHERE EXISTS (SELECT 1 FROM embeddings e WHERE e.model_id = m.id);
        RAISE EXCEPTION 'no vectors under the model "%"', model
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'models with vectors: ' || coalesce(available, 'none')
                         || '; embed the chunks with: hfsearch embed --model ' || coalesce(model, 'NAME');
    END IF;
    RETURN found;
END;
$$;

-- Nearest chunks to a query vector under one model, by their best segment.
--
-- Without filters: the model's HNSW index. With filters: when the matching posts hold few
-- vectors (at most exact_limit), an exact scan of just those, found through the btree
-- indexes; otherwise the HNSW index with a bounded iterative scan, so a filter that almost
-- nothing passes cannot walk the whole graph. `exact` forces the exact scan (recall checks).
CREATE FUNCTION hfsearch_vector(
    query_embedding vector,
    model text,
    post_ids integer[] DEFAULT NULL,
    depth integer DEFAULT 100,
    ef_search integer DEFAULT 100,
    exact boolean DEFAULT false,
    exact_limit integer DEFAULT 20000,
    max_scan_tuples integer DEFAULT 20000
) RETURNS TABLE (chunk_id bigint, score double precision)
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    m embedding_models := hfsearch_model(model);
    -- pgvector indexes `vector` up to 2,000 dimensions and `halfvec` up to 4,000.
    vector_type text := CASE WHEN m.dimensions <= 2000 THEN 'vector' ELSE 'halfvec' END;
    distance text;
    candidates bigint;
    -- A chunk has one vector per segment; fetch enough segments to fill `depth` chunks.
    segments integer := least(depth, 250) * 4;  -- at most 1,000, pgvector's ef_search limit
BEGIN
    IF vector_dims(query_embedding) <> m.dimensions THEN
        RAISE EXCEPTION 'the query vector has % dimensions, model "%" has %',
            vector_dims(query_embedding), model, m.dimensions
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- The model's id and dimensions are literals, so the planner can match its partial index.
    distance := format('e.embedding::%1$s(%2$s) <=> $1::%1$s(%2$s)', vector_type, m.dimensions);

    IF post_ids IS NOT NULL AND NOT exact THEN
        SELECT count(*) INTO candidates
        FROM embeddings e JOIN chunks c ON c.id = e.chunk_id
        WHERE e.model_id = m.id AND c.post_id = ANY (post_ids);
        exact := candidates <= exact_limit;
    END IF;

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
    ELSE
        -- ef_search sets the search's breadth (and so its recall); the iterative scan goes on
        -- past it until `segments` rows came back or max_scan_tuples were visited.
        PERFORM set_config('hnsw.ef_search', least(ef_search, 1000)::text, true);
        PERFORM set_config('hnsw.iterative_scan', 'relaxed_order', true);
        PERFORM set_config('hnsw.max_scan_tuples', max_scan_tuples::text, true);
        -- Relaxed order: re-sort what the index returned, outside the materialised scan.
        RETURN QUERY EXECUTE format(
            'WITH nearest AS MATERIALIZED (
                 SELECT e.chunk_id, %1$s AS distance
                 FROM embeddings e
                 WHERE e.model_id = %2$s %3$s
                 ORDER BY %1$s
                 LIMIT $4)
             SELECT n.chunk_id, 1 - min(n.distance) FROM nearest n
             GROUP BY n.chunk_id
             ORDER BY min(n.distance), n.chunk_id
             LIMIT $3',
            distance, m.id,
            CASE WHEN post_ids IS NULL THEN ''
                 ELSE 'AND e.chunk_id IN (SELECT c.id FROM chunks c WHERE c.post_id = ANY ($2))'
            END)
        USING query_embedding, post_ids, depth, segments;
    END IF;
END;
$$;

-- Hybrid, lexical or vector search in one call. Lexical only when no vector is given.
-- Filters apply inside both sides, before fusion. Results come best first, ties broken by
-- chunk id; `after_score` and `after_chunk_id` (the last row of a page) give the next page.
CREATE FUNCTION hfsearch_search(
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
        FROM hfsearch_lexical(query, post_ids, depth) l
        WHERE use_lexical
    ),
    vector AS (
        SELECT v.chunk_id, v.score, row_number() OVER (ORDER BY v.score DESC, v.chunk_id) AS rank
        FROM hfsearch_vector(query_embedding, model, post_ids, depth, ef_search, exact) v
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

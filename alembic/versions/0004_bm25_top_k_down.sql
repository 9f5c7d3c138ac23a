-- Revision 0004 downgrade: revision 0002's hfsearch_bm25, which scores every match.

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

-- Revision 0005 downgrade: revision 0002's hfsearch_vector, which always fetches four
-- vectors a chunk.

CREATE OR REPLACE FUNCTION hfsearch_vector(
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

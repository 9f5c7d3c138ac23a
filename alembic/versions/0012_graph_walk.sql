-- Revision 0012: hfsearch_vector walks the HNSW graph whenever it means to, with ef_search
-- 400 by default. Revision 0005's function otherwise, with revision 0009's row estimate.
--
-- The planner prices an exact scan of `embeddings` well below its cost (a 768-d distance is
-- costed like any operator, and the vectors it reads are out of line), while pgvector's estimate
-- for the graph grows with ef_search; so from some ef_search on, the "index" branch ran an exact
-- scan instead: at 10k synthetic chunks from ef_search 600 on (EXPLAIN: Seq Scan and Sort; 29 ms
-- against 9 ms at 400); at 1M, ef_search 1000 took 2.5 s against 8 ms at 400. Every exact plan
-- has to sort and the graph's does not, so the branch plans with sorts disabled, then puts the
-- caller's setting back.

CREATE OR REPLACE FUNCTION hfsearch_vector(
    query_embedding vector,
    model text,
    post_ids integer[] DEFAULT NULL,
    depth integer DEFAULT 100,
    ef_search integer DEFAULT 400,
    exact boolean DEFAULT false,
    exact_limit integer DEFAULT 20000,
    max_scan_tuples integer DEFAULT 20000
) RETURNS TABLE (chunk_id bigint, score double precision)
LANGUAGE plpgsql VOLATILE ROWS 100
AS $$
DECLARE
    m embedding_models := hfsearch_model(model);
    -- pgvector indexes `vector` up to 2,000 dimensions and `halfvec` up to 4,000.
    vector_type text := CASE WHEN m.dimensions <= 2000 THEN 'vector' ELSE 'halfvec' END;
    distance text;
    candidates bigint;
    -- Enough vectors to fill `depth` chunks of four windows each: at most 1,000, pgvector's
    -- ef_search limit.
    all_segments integer := least(depth, 250) * 4;
    fetch_limit integer := least(depth, 1000);
    fetched bigint;
    ids bigint[];
    scores double precision[];
    caller_enable_sort text := current_setting('enable_sort');
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
        RETURN;
    END IF;

    -- ef_search sets the search's breadth (and so its recall); the iterative scan goes on
    -- past it until `fetch_limit` rows came back or max_scan_tuples were visited.
    PERFORM set_config('hnsw.ef_search', least(ef_search, 1000)::text, true);
    PERFORM set_config('hnsw.iterative_scan', 'relaxed_order', true);
    PERFORM set_config('hnsw.max_scan_tuples', max_scan_tuples::text, true);
    -- Only the graph returns vectors in order without a sort (see the top of this file).
    PERFORM set_config('enable_sort', 'off', true);
    LOOP
        -- Relaxed order: re-sort what the index returned, outside the materialised scan.
        EXECUTE format(
            'WITH nearest AS MATERIALIZED (
                 SELECT e.chunk_id, %1$s AS distance
                 FROM embeddings e
                 WHERE e.model_id = %2$s %3$s
                 ORDER BY %1$s
                 LIMIT $4),
             best AS (
                 SELECT n.chunk_id, min(n.distance) AS distance FROM nearest n
                 GROUP BY n.chunk_id
                 ORDER BY min(n.distance), n.chunk_id
                 LIMIT $3)
             SELECT (SELECT count(*) FROM nearest),
                    array_agg(b.chunk_id ORDER BY b.distance, b.chunk_id),
                    array_agg(1 - b.distance ORDER BY b.distance, b.chunk_id)
             FROM best b',
            distance, m.id,
            CASE WHEN post_ids IS NULL THEN ''
                 ELSE 'AND e.chunk_id IN (SELECT c.id FROM chunks c WHERE c.post_id = ANY ($2))'
            END)
        INTO fetched, ids, scores
        USING query_embedding, post_ids, depth, fetch_limit;
        -- Done when the chunks are enough, the index had no more, or this was the wide fetch.
        EXIT WHEN coalesce(cardinality(ids), 0) >= depth
               OR fetched < fetch_limit
               OR fetch_limit >= all_segments;
        fetch_limit := all_segments;
        -- Seen with SET client_min_messages = debug1 (a test counts them).
        RAISE DEBUG 'hfsearch_vector: % chunks in the nearest vectors, fetching %',
            coalesce(cardinality(ids), 0), fetch_limit;
    END LOOP;
    PERFORM set_config('enable_sort', caller_enable_sort, true);
    RETURN QUERY SELECT * FROM unnest(ids, scores);
END;
$$;

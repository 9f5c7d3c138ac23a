-- Revision 0007: new HNSW indexes are built with m 24 and ef_construction 128.
-- CREATE OR REPLACE keeps the function's owner rights and the grants of revision 0003.

CREATE OR REPLACE FUNCTION hfsearch_ensure_vector_index(model integer) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT
AS $$
DECLARE
    dims integer;
    index_name text := format('embeddings_model_%s_hnsw', model);
BEGIN
    SELECT m.dimensions INTO dims FROM embedding_models m WHERE m.id = model;
    IF dims IS NULL THEN
        RAISE EXCEPTION 'no embedding model with id %', model
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- pgvector indexes `vector` up to 2,000 dimensions and `halfvec` up to 4,000; a wider
    -- model is searched exactly.
    IF to_regclass(index_name) IS NOT NULL OR dims > 4000 THEN
        RETURN NULL;
    END IF;
    -- m 24 and ef_construction 128 instead of pgvector's 16 and 64: at a million 768-d
    -- chunks the default graph gave recall@10 0.95-0.96 at ef_search 100, this one 0.98
    -- (BENCHMARKS.md, "HNSW graph parameters"), for a build about 1.9 times as long.
    EXECUTE format(
        'CREATE INDEX %I ON embeddings USING hnsw ((embedding::%s(%s)) %s)'
        ' WITH (m = 24, ef_construction = 128) WHERE model_id = %s',
        index_name,
        CASE WHEN dims <= 2000 THEN 'vector' ELSE 'halfvec' END,
        dims,
        CASE WHEN dims <= 2000 THEN 'vector_cosine_ops' ELSE 'halfvec_cosine_ops' END,
        model);
    RETURN index_name;
END;
$$;

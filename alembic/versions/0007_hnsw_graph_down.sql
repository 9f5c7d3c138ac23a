-- Revision 0007 downgrade: revision 0003's hfsearch_ensure_vector_index, which builds
-- with pgvector's default graph parameters (m 16, ef_construction 64).

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
    EXECUTE format(
        'CREATE INDEX %I ON embeddings USING hnsw ((embedding::%s(%s)) %s) WHERE model_id = %s',
        index_name,
        CASE WHEN dims <= 2000 THEN 'vector' ELSE 'halfvec' END,
        dims,
        CASE WHEN dims <= 2000 THEN 'vector_cosine_ops' ELSE 'halfvec_cosine_ops' END,
        model);
    RETURN index_name;
END;
$$;

-- Revision 0003: least privilege.
--
-- Two group roles (NOLOGIN; grant them to the login roles you create):
--   hfsearch_reader  may read the tables and run the search functions, nothing else: the
--                    role for the HTTP service and other search clients;
--   hfsearch_writer  may also load and embed (insert, update, delete rows), and build a
--                    model's vector index through hfsearch_ensure_vector_index().
-- Roles belong to the whole PostgreSQL cluster: the downgrade revokes this database's
-- grants and leaves the roles for other databases that may use them.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hfsearch_reader') THEN
        CREATE ROLE hfsearch_reader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hfsearch_writer') THEN
        CREATE ROLE hfsearch_writer NOLOGIN;
    END IF;
END
$$;

-- Only the owner may create indexes, so writers build a model's HNSW index through this
-- function, which runs as its owner and builds nothing but that index.
CREATE FUNCTION hfsearch_ensure_vector_index(model integer) RETURNS text
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

-- Functions are executable by everyone unless revoked: hand them out by role instead.
REVOKE EXECUTE ON FUNCTION
    hfsearch_search, hfsearch_lexical, hfsearch_bm25, hfsearch_vector, hfsearch_model,
    hfsearch_filtered_posts, hfsearch_any_lexeme, hfsearch_query_lexemes,
    hfsearch_document, hfsearch_token_count, hfsearch_refresh_stats,
    hfsearch_ensure_vector_index
FROM PUBLIC;

GRANT USAGE ON SCHEMA public TO hfsearch_reader, hfsearch_writer;
GRANT SELECT ON posts, chunks, embedding_models, embeddings, lexeme_stats, corpus_stats,
    alembic_version TO hfsearch_reader;
GRANT EXECUTE ON FUNCTION
    hfsearch_search, hfsearch_lexical, hfsearch_bm25, hfsearch_vector, hfsearch_model,
    hfsearch_filtered_posts, hfsearch_any_lexeme, hfsearch_query_lexemes,
    hfsearch_document, hfsearch_token_count
TO hfsearch_reader;

GRANT hfsearch_reader TO hfsearch_writer;
GRANT INSERT, UPDATE, DELETE ON posts, chunks, embedding_models, embeddings, lexeme_stats,
    corpus_stats TO hfsearch_writer;
GRANT EXECUTE ON FUNCTION hfsearch_refresh_stats, hfsearch_ensure_vector_index
TO hfsearch_writer;

-- ANALYZE after a load needs MAINTAIN (PostgreSQL 17 and later); older servers skip it.
DO $$
BEGIN
    IF current_setting('server_version_num')::integer >= 170000 THEN
        GRANT MAINTAIN ON posts, chunks, embeddings TO hfsearch_writer;
    END IF;
END
$$;

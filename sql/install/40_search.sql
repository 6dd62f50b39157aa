
---------------------------------------------------------------------------
-- Search (/vector_stores/{id}/search)
---------------------------------------------------------------------------
CREATE TYPE vectorstore.vector_store_search_result AS (
    file_id    text,
    filename   text,
    score      float8,
    content    text,
    attributes jsonb,
    rank       integer
);

CREATE FUNCTION vectorstore.vs_search(vector_store_id text, query text,
                          max_num_results integer DEFAULT 10,
                          filters jsonb DEFAULT NULL,
                          ranking_options jsonb DEFAULT NULL,
                          rewrite_query boolean DEFAULT false)
RETURNS SETOF vectorstore.vector_store_search_result AS 'MODULE_PATHNAME', 'vs_search'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 10;

CREATE FUNCTION vectorstore.vs_search(vector_store_id text, query text[],
                          max_num_results integer DEFAULT 10,
                          filters jsonb DEFAULT NULL,
                          ranking_options jsonb DEFAULT NULL,
                          rewrite_query boolean DEFAULT false)
RETURNS SETOF vectorstore.vector_store_search_result AS 'MODULE_PATHNAME', 'vs_search_array'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 10;

CREATE FUNCTION vectorstore.vs_search_json(vector_store_id text, query text,
                               max_num_results integer DEFAULT 10,
                               filters jsonb DEFAULT NULL,
                               ranking_options jsonb DEFAULT NULL,
                               rewrite_query boolean DEFAULT false)
RETURNS jsonb AS 'MODULE_PATHNAME', 'vs_search_json'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vectorstore.vs_search_json(vector_store_id text, query text[],
                               max_num_results integer DEFAULT 10,
                               filters jsonb DEFAULT NULL,
                               ranking_options jsonb DEFAULT NULL,
                               rewrite_query boolean DEFAULT false)
RETURNS jsonb AS 'MODULE_PATHNAME', 'vs_search_json_array'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION vectorstore.vs_search(text, text, integer, jsonb, jsonb, boolean) IS
  'Search a vector store (POST /vector_stores/{id}/search): one row per result in descending score order, rank 1..n, content parts joined with a newline. filters and ranking_options are validated before sending; max_num_results is 1..50.';
COMMENT ON FUNCTION vectorstore.vs_search(text, text[], integer, jsonb, jsonb, boolean) IS
  'vs_search with several queries searched together.';
COMMENT ON FUNCTION vectorstore.vs_search_json(text, text, integer, jsonb, jsonb, boolean) IS
  'Search a vector store and return the whole results page (object, search_query, data, has_more, next_page) as jsonb.';
COMMENT ON FUNCTION vectorstore.vs_search_json(text, text[], integer, jsonb, jsonb, boolean) IS
  'vs_search_json with several queries searched together.';

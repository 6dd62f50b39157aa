
---------------------------------------------------------------------------
-- Search (/vector_stores/{id}/search)
---------------------------------------------------------------------------
-- content joins the result's text parts with a newline; content_parts keeps
-- them apart, in order; raw is the whole result as sent (fields this version
-- does not know, such as a compatible server's chunk id, included).
CREATE TYPE vectorstore.vector_store_search_result AS (
    file_id       text,
    filename      text,
    score         float8,
    content       text,
    attributes    jsonb,
    rank          integer,
    raw           jsonb,
    content_parts text[]
);

CREATE FUNCTION vectorstore.vs_search(vector_store_id text, query text,
                          max_num_results integer DEFAULT 10,
                          filters jsonb DEFAULT NULL,
                          ranking_options jsonb DEFAULT NULL,
                          rewrite_query boolean DEFAULT false,
                          request_options jsonb DEFAULT NULL)
RETURNS SETOF vectorstore.vector_store_search_result AS 'MODULE_PATHNAME', 'vs_search'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 10;

CREATE FUNCTION vectorstore.vs_search(vector_store_id text, query text[],
                          max_num_results integer DEFAULT 10,
                          filters jsonb DEFAULT NULL,
                          ranking_options jsonb DEFAULT NULL,
                          rewrite_query boolean DEFAULT false,
                          request_options jsonb DEFAULT NULL)
RETURNS SETOF vectorstore.vector_store_search_result AS 'MODULE_PATHNAME', 'vs_search_array'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 10;

CREATE FUNCTION vectorstore.vs_search_json(vector_store_id text, query text,
                               max_num_results integer DEFAULT 10,
                               filters jsonb DEFAULT NULL,
                               ranking_options jsonb DEFAULT NULL,
                               rewrite_query boolean DEFAULT false,
                               request_options jsonb DEFAULT NULL)
RETURNS jsonb AS 'MODULE_PATHNAME', 'vs_search_json'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vectorstore.vs_search_json(vector_store_id text, query text[],
                               max_num_results integer DEFAULT 10,
                               filters jsonb DEFAULT NULL,
                               ranking_options jsonb DEFAULT NULL,
                               rewrite_query boolean DEFAULT false,
                               request_options jsonb DEFAULT NULL)
RETURNS jsonb AS 'MODULE_PATHNAME', 'vs_search_json_array'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION vectorstore.vs_search(text, text, integer, jsonb, jsonb, boolean, jsonb) IS
  'Search a vector store (POST /vector_stores/{id}/search): one row per result in descending score order, rank 1..n, content parts joined with a newline (content) and apart (content_parts), the whole result in raw. filters and ranking_options are validated before sending; max_num_results is 1..50.';
COMMENT ON FUNCTION vectorstore.vs_search(text, text[], integer, jsonb, jsonb, boolean, jsonb) IS
  'vs_search with several queries searched together.';
COMMENT ON FUNCTION vectorstore.vs_search_json(text, text, integer, jsonb, jsonb, boolean, jsonb) IS
  'Search a vector store and return the whole results page (object, search_query, data, has_more, next_page) as jsonb.';
COMMENT ON FUNCTION vectorstore.vs_search_json(text, text[], integer, jsonb, jsonb, boolean, jsonb) IS
  'vs_search_json with several queries searched together.';

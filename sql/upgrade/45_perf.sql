
-- Issue 13 (performance): fan-out reads, adaptive concurrency, and
-- vs_upload_many's max_concurrency defaulting to NULL (adaptive). The same
-- objects as sql/install/45_search_many.sql.
CREATE FUNCTION vectorstore.vs_search_many(vector_store_id text, queries text[],
                               max_num_results integer DEFAULT 10,
                               filters jsonb DEFAULT NULL,
                               ranking_options jsonb DEFAULT NULL,
                               rewrite_query boolean DEFAULT false,
                               max_concurrency integer DEFAULT 16,
                               request_options jsonb DEFAULT NULL)
RETURNS TABLE (query_index integer, query text, rank integer, file_id text, filename text,
               score float8, content text, attributes jsonb)
AS 'MODULE_PATHNAME', 'vs_search_many'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 100;

CREATE FUNCTION vectorstore.vs_store_file_get_many(vector_store_id text, file_ids text[],
                                       max_concurrency integer DEFAULT 16,
                                       request_options jsonb DEFAULT NULL)
RETURNS TABLE (file_index integer, id text, status text, usage_bytes bigint,
               created_at timestamptz, last_error_code text, last_error_message text,
               chunking_strategy jsonb, attributes jsonb, raw jsonb)
AS 'MODULE_PATHNAME', 'vs_store_file_get_many'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 100;

CREATE FUNCTION vectorstore.vs_file_get_many(file_ids text[],
                                 max_concurrency integer DEFAULT 16,
                                 request_options jsonb DEFAULT NULL)
RETURNS TABLE (file_index integer, id text, filename text, bytes bigint, purpose text,
               status text, status_details text, created_at timestamptz,
               expires_at timestamptz, raw jsonb)
AS 'MODULE_PATHNAME', 'vs_file_get_many'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 100;

COMMENT ON FUNCTION vectorstore.vs_search_many(text, text[], integer, jsonb, jsonb, boolean, integer, jsonb) IS
  'Many searches of one vector store at once (up to max_concurrency in flight, 1..64): one search per element of queries, rows in order of query_index (the 1-based position in queries), then rank. filters is one filter for every query, or a JSON array with one filter (or null) per query. Checked as vs_search checks; a query that still fails after its retries raises an ERROR naming its index.';
COMMENT ON FUNCTION vectorstore.vs_store_file_get_many(text, text[], integer, jsonb) IS
  'Retrieve many files of a vector store at once (their status, attributes, last_error): one row per element of file_ids, in order of file_index (the 1-based position); a lookup that still fails raises an ERROR naming its index.';
COMMENT ON FUNCTION vectorstore.vs_file_get_many(text[], integer, jsonb) IS
  'Retrieve many Files at once: one row per element of file_ids, in order of file_index (the 1-based position); a lookup that still fails raises an ERROR naming its index.';

---------------------------------------------------------------------------
-- Adaptive concurrency per credential (pacing.c)
---------------------------------------------------------------------------
CREATE FUNCTION vectorstore.vs_pacing()
RETURNS TABLE (credential text, concurrency integer, peak_concurrency integer,
               requests bigint, throttled bigint, backoffs bigint,
               held_until timestamptz, round_trip_ms float8)
AS 'MODULE_PATHNAME', 'vs_pacing'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 1;

COMMENT ON FUNCTION vectorstore.vs_pacing() IS
  'What this session has learned about each credential it used (that the current role may use; credential is null for the settings): how many requests it now sends at once (vs_upload_many starts at 5 and grows while the server keeps up), the peak, requests finished, 429s received, back-offs, until when it is held after a 429, and the smoothed round trip of successes.';

-- vs_upload_many's max_concurrency DEFAULT NULL (0.1.0: 8) is in
-- 20_functions.sql, which recreates the function with its new arguments.


---------------------------------------------------------------------------
-- Vector store files (/vector_stores/{id}/files)
---------------------------------------------------------------------------
CREATE TYPE vectorstore.vector_store_file AS (
    id                 text,
    vector_store_id    text,
    status             text,
    usage_bytes        bigint,
    created_at         timestamptz,
    last_error_code    text,
    last_error_message text,
    chunking_strategy  jsonb,
    attributes         jsonb,
    raw                jsonb
);

CREATE FUNCTION vectorstore.vs_store_file_add(vector_store_id text, file_id text,
                                  attributes jsonb DEFAULT NULL,
                                  chunking_strategy jsonb DEFAULT NULL,
                                  wait boolean DEFAULT false,
                                  timeout interval DEFAULT '10 min',
                                  poll_interval_ms integer DEFAULT NULL,
                                  request_options jsonb DEFAULT NULL)
RETURNS vectorstore.vector_store_file AS 'MODULE_PATHNAME', 'vs_store_file_add'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vectorstore.vs_store_file_get(vector_store_id text, file_id text,
                                  request_options jsonb DEFAULT NULL)
RETURNS vectorstore.vector_store_file AS 'MODULE_PATHNAME', 'vs_store_file_get'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vectorstore.vs_store_file_update(vector_store_id text, file_id text, attributes jsonb,
                                     request_options jsonb DEFAULT NULL)
RETURNS vectorstore.vector_store_file AS 'MODULE_PATHNAME', 'vs_store_file_update'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vectorstore.vs_store_file_remove(vector_store_id text, file_id text,
                                     missing_ok boolean DEFAULT false,
                                     request_options jsonb DEFAULT NULL)
RETURNS boolean AS 'MODULE_PATHNAME', 'vs_store_file_remove'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vectorstore.vs_store_files(vector_store_id text, filter text DEFAULT NULL,
                               "order" text DEFAULT 'desc', "limit" integer DEFAULT 100,
                               after text DEFAULT NULL, before text DEFAULT NULL,
                               max_items bigint DEFAULT NULL, request_options jsonb DEFAULT NULL)
RETURNS SETOF vectorstore.vector_store_file AS 'MODULE_PATHNAME', 'vs_store_files'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 100;

CREATE FUNCTION vectorstore.vs_store_file_content(vector_store_id text, file_id text,
                                      request_options jsonb DEFAULT NULL)
RETURNS TABLE (part integer, type text, text text)
AS 'MODULE_PATHNAME', 'vs_store_file_content'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 10;

CREATE FUNCTION vectorstore.vs_store_file_poll(vector_store_id text, file_id text,
                                   timeout interval DEFAULT '10 min',
                                   poll_interval_ms integer DEFAULT NULL,
                                   request_options jsonb DEFAULT NULL)
RETURNS vectorstore.vector_store_file AS 'MODULE_PATHNAME', 'vs_store_file_poll'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vectorstore.vs_upload(vector_store_id text, filename text, content text,
                          attributes jsonb DEFAULT NULL,
                          chunking_strategy jsonb DEFAULT NULL,
                          wait boolean DEFAULT false,
                          timeout interval DEFAULT '10 min',
                          poll_interval_ms integer DEFAULT NULL,
                          request_options jsonb DEFAULT NULL)
RETURNS vectorstore.vector_store_file AS 'MODULE_PATHNAME', 'vs_upload_text'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vectorstore.vs_upload(vector_store_id text, filename text, content bytea,
                          attributes jsonb DEFAULT NULL,
                          chunking_strategy jsonb DEFAULT NULL,
                          wait boolean DEFAULT false,
                          timeout interval DEFAULT '10 min',
                          poll_interval_ms integer DEFAULT NULL,
                          request_options jsonb DEFAULT NULL)
RETURNS vectorstore.vector_store_file AS 'MODULE_PATHNAME', 'vs_upload_bytea'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION vectorstore.vs_store_file_add(text, text, jsonb, jsonb, boolean, interval, integer, jsonb) IS
  'Attach an uploaded File to a vector store (POST /vector_stores/{id}/files), with optional attributes (for search filters) and chunking_strategy. With wait, polls until it is processed (the SDK''s createAndPoll; 55000 after timeout); else processing continues in the background: see vs_store_file_poll().';
COMMENT ON FUNCTION vectorstore.vs_store_file_get(text, text, jsonb) IS
  'Retrieve a vector store file (GET /vector_stores/{id}/files/{file_id}); last_error_code and last_error_message say why a failed file failed.';
COMMENT ON FUNCTION vectorstore.vs_store_file_update(text, text, jsonb, jsonb) IS
  'Replace the attributes of a vector store file (POST /vector_stores/{id}/files/{file_id}); NULL removes them.';
COMMENT ON FUNCTION vectorstore.vs_store_file_remove(text, text, boolean, jsonb) IS
  'Detach a file from a vector store (DELETE /vector_stores/{id}/files/{file_id}); the File itself stays (vs_file_delete() deletes it). Returns whether it was removed; with missing_ok, a file that is not attached returns false instead of raising.';
COMMENT ON FUNCTION vectorstore.vs_store_files(text, text, text, integer, text, text, bigint, jsonb) IS
  'All files of a vector store, optionally only those with status filter (in_progress, completed, failed, cancelled), following every page ("limit" is the page size, 1..100); before pages backwards from an id; max_items stops after that many rows.';
COMMENT ON FUNCTION vectorstore.vs_store_file_content(text, text, jsonb) IS
  'The parsed content of a vector store file (GET /vector_stores/{id}/files/{file_id}/content), one row per part, in order.';
COMMENT ON FUNCTION vectorstore.vs_store_file_poll(text, text, interval, integer, jsonb) IS
  'Wait until a vector store file is completed, failed or cancelled and return it; polls at poll_interval_ms, else the server''s openai-poll-after-ms, else every second. Raises 55000 when still in progress after timeout (NULL: no limit). Cancel interrupts it.';
COMMENT ON FUNCTION vectorstore.vs_upload(text, text, text, jsonb, jsonb, boolean, interval, integer, jsonb) IS
  'Upload text as a File and attach it to a vector store (the SDK''s upload / uploadAndPoll); with wait, polls until processed (poll_interval_ms; 55000 after timeout, 10 minutes by default).';
COMMENT ON FUNCTION vectorstore.vs_upload(text, text, bytea, jsonb, jsonb, boolean, interval, integer, jsonb) IS
  'Upload bytes as a File and attach it to a vector store (the SDK''s upload / uploadAndPoll); with wait, polls until processed (poll_interval_ms; 55000 after timeout, 10 minutes by default).';

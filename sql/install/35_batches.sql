
---------------------------------------------------------------------------
-- Vector store file batches (/vector_stores/{id}/file_batches)
---------------------------------------------------------------------------
CREATE TYPE vectorstore.vector_store_file_batch AS (
    id                text,
    vector_store_id   text,
    status            text,
    created_at        timestamptz,
    files_in_progress integer,
    files_completed   integer,
    files_failed      integer,
    files_cancelled   integer,
    files_total       integer,
    raw               jsonb
);

CREATE FUNCTION vectorstore.vs_batch_create(vector_store_id text, file_ids text[] DEFAULT NULL,
                                files jsonb DEFAULT NULL,
                                attributes jsonb DEFAULT NULL,
                                chunking_strategy jsonb DEFAULT NULL,
                                wait boolean DEFAULT false,
                                timeout interval DEFAULT '10 min',
                                poll_interval_ms integer DEFAULT NULL,
                                request_options jsonb DEFAULT NULL)
RETURNS vectorstore.vector_store_file_batch AS 'MODULE_PATHNAME', 'vs_batch_create'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vectorstore.vs_batch_get(vector_store_id text, batch_id text,
                             request_options jsonb DEFAULT NULL)
RETURNS vectorstore.vector_store_file_batch AS 'MODULE_PATHNAME', 'vs_batch_get'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vectorstore.vs_batch_cancel(vector_store_id text, batch_id text,
                                request_options jsonb DEFAULT NULL)
RETURNS vectorstore.vector_store_file_batch AS 'MODULE_PATHNAME', 'vs_batch_cancel'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vectorstore.vs_batch_files(vector_store_id text, batch_id text,
                               filter text DEFAULT NULL, "order" text DEFAULT 'desc',
                               "limit" integer DEFAULT 100, after text DEFAULT NULL,
                               before text DEFAULT NULL, max_items bigint DEFAULT NULL,
                               request_options jsonb DEFAULT NULL)
RETURNS SETOF vectorstore.vector_store_file AS 'MODULE_PATHNAME', 'vs_batch_files'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 100;

CREATE FUNCTION vectorstore.vs_batch_poll(vector_store_id text, batch_id text,
                              timeout interval DEFAULT '10 min',
                              poll_interval_ms integer DEFAULT NULL,
                              request_options jsonb DEFAULT NULL)
RETURNS vectorstore.vector_store_file_batch AS 'MODULE_PATHNAME', 'vs_batch_poll'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vectorstore.vs_upload_many(vector_store_id text, filenames text[], contents text[],
                               attributes jsonb[] DEFAULT NULL,
                               chunking_strategy jsonb DEFAULT NULL,
                               max_concurrency integer DEFAULT NULL,
                               wait boolean DEFAULT true,
                               timeout interval DEFAULT '30 min',
                               poll_interval_ms integer DEFAULT NULL,
                               file_ids text[] DEFAULT NULL,
                               request_options jsonb DEFAULT NULL)
RETURNS TABLE ("index" integer, filename text, file_id text, batch_id text,
               status text, error text)
AS 'MODULE_PATHNAME', 'vs_upload_many_text'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 1000;

CREATE FUNCTION vectorstore.vs_upload_many(vector_store_id text, filenames text[], contents bytea[],
                               attributes jsonb[] DEFAULT NULL,
                               chunking_strategy jsonb DEFAULT NULL,
                               max_concurrency integer DEFAULT NULL,
                               wait boolean DEFAULT true,
                               timeout interval DEFAULT '30 min',
                               poll_interval_ms integer DEFAULT NULL,
                               file_ids text[] DEFAULT NULL,
                               request_options jsonb DEFAULT NULL)
RETURNS TABLE ("index" integer, filename text, file_id text, batch_id text,
               status text, error text)
AS 'MODULE_PATHNAME', 'vs_upload_many_bytea'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 1000;

COMMENT ON FUNCTION vectorstore.vs_batch_create(text, text[], jsonb, jsonb, jsonb, boolean, interval, integer, jsonb) IS
  'Attach up to 2,000 Files at once (POST /vector_stores/{id}/file_batches): file_ids (sharing attributes and chunking_strategy) or files, a JSON array of {file_id, attributes, chunking_strategy}; not both. With wait, polls until the batch is done (the SDK''s createAndPoll; 55000 after timeout).';
COMMENT ON FUNCTION vectorstore.vs_batch_get(text, text, jsonb) IS
  'Retrieve a file batch (GET /vector_stores/{id}/file_batches/{batch_id}) with its file counts.';
COMMENT ON FUNCTION vectorstore.vs_batch_cancel(text, text, jsonb) IS
  'Cancel a file batch (POST .../file_batches/{batch_id}/cancel): files still in progress are cancelled.';
COMMENT ON FUNCTION vectorstore.vs_batch_files(text, text, text, text, integer, text, text, bigint, jsonb) IS
  'All files of a file batch, optionally only those with status filter (in_progress, completed, failed, cancelled), following every page; before pages backwards from an id; max_items stops after that many rows.';
COMMENT ON FUNCTION vectorstore.vs_batch_poll(text, text, interval, integer, jsonb) IS
  'Wait until a file batch is completed, failed or cancelled and return it (see vs_store_file_poll for the interval and timeout rules).';
COMMENT ON FUNCTION vectorstore.vs_upload_many(text, text[], text[], jsonb[], jsonb, integer, boolean, interval, integer, text[], jsonb) IS
  'Upload many texts as Files concurrently (as many at once as the server takes: from 5, growing while it keeps up, backing off on a 429; at most max_concurrency, 1..64, when given), attach them and the existing file_ids with per-file attributes in batches of at most 2,000 and, with wait, poll them to the end. One row per element (file_ids last): file_id, batch_id, status (completed, failed, cancelled, in_progress, upload_failed, attach_failed) and error; failures never lose the files that did upload.';
COMMENT ON FUNCTION vectorstore.vs_upload_many(text, text[], bytea[], jsonb[], jsonb, integer, boolean, interval, integer, text[], jsonb) IS
  'vs_upload_many for bytea contents, sent byte for byte.';


---------------------------------------------------------------------------
-- Files (/files): upload from a value, retrieve, delete, list, download
---------------------------------------------------------------------------
CREATE TYPE vectorstore.openai_file AS (
    id             text,
    filename       text,
    bytes          bigint,
    purpose        text,
    status         text,
    status_details text,
    created_at     timestamptz,
    expires_at     timestamptz,
    raw            jsonb
);

CREATE FUNCTION vectorstore.vs_file_upload(filename text, content text, purpose text DEFAULT 'assistants',
                               expires_after jsonb DEFAULT NULL, request_options jsonb DEFAULT NULL)
RETURNS vectorstore.openai_file AS 'MODULE_PATHNAME', 'vs_file_upload_text'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vectorstore.vs_file_upload(filename text, content bytea, purpose text DEFAULT 'assistants',
                               expires_after jsonb DEFAULT NULL, request_options jsonb DEFAULT NULL)
RETURNS vectorstore.openai_file AS 'MODULE_PATHNAME', 'vs_file_upload_bytea'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vectorstore.vs_file_get(file_id text, request_options jsonb DEFAULT NULL)
RETURNS vectorstore.openai_file AS 'MODULE_PATHNAME', 'vs_file_get'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vectorstore.vs_file_delete(file_id text, missing_ok boolean DEFAULT false,
                               request_options jsonb DEFAULT NULL)
RETURNS boolean AS 'MODULE_PATHNAME', 'vs_file_delete'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vectorstore.vs_files(purpose text DEFAULT NULL, "order" text DEFAULT 'desc',
                         "limit" integer DEFAULT 10000, after text DEFAULT NULL,
                         max_items bigint DEFAULT NULL, request_options jsonb DEFAULT NULL)
RETURNS SETOF vectorstore.openai_file AS 'MODULE_PATHNAME', 'vs_files'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 100;

CREATE FUNCTION vectorstore.vs_file_content(file_id text, request_options jsonb DEFAULT NULL)
RETURNS bytea AS 'MODULE_PATHNAME', 'vs_file_content'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION vectorstore.vs_file_upload(text, text, text, jsonb, jsonb) IS
  'Upload a File (POST /files, multipart) whose content is the text value, sent as UTF-8 bytes. purpose defaults to assistants, the one vector stores use; expires_after {"anchor": "created_at", "seconds": 3600..2592000} makes the File expire.';
COMMENT ON FUNCTION vectorstore.vs_file_upload(text, bytea, text, jsonb, jsonb) IS
  'Upload a File (POST /files, multipart) whose content is the bytea value, byte for byte (NUL bytes included); expires_after as for the text form.';
COMMENT ON FUNCTION vectorstore.vs_file_get(text, jsonb) IS
  'Retrieve a File (GET /files/{file_id}). A NULL id raises 22004.';
COMMENT ON FUNCTION vectorstore.vs_file_delete(text, boolean, jsonb) IS
  'Delete a File (DELETE /files/{file_id}); it is also removed from every vector store. Returns whether it was deleted; with missing_ok, a File that is not there returns false instead of raising.';
COMMENT ON FUNCTION vectorstore.vs_files(text, text, integer, text, bigint, jsonb) IS
  'All Files, optionally of one purpose, one row each, following has_more/after through every page ("limit" is the page size, 1..10000); max_items stops after that many rows.';
COMMENT ON FUNCTION vectorstore.vs_file_content(text, jsonb) IS
  'The raw bytes of a File (GET /files/{file_id}/content), never parsed.';


-- Request options, idempotent deletes, waiting calls, lists that stop early
-- and the search result's raw and content_parts (issues 12 and 13).
--
-- Every network function gains trailing arguments (request_options last).
-- A trailing argument cannot be added with an overload — every existing
-- call would become ambiguous — so each function is dropped and created
-- again, with its comment. Two things a database may have done to the old
-- functions are looked after:
--  * objects that use them (a view, a function with a SQL-standard body)
--    would block the DROP: the update stops first with a clear error naming
--    them, rather than with DROP's hint to CASCADE (which would drop them);
--  * privileges granted or revoked on them are carried over to the new
--    function (the one of the same name whose argument types begin with the
--    old ones), and kept out of pg_init_privs so that pg_dump still dumps
--    them as the database's own.
CREATE TABLE vectorstore._upgrade_0_2_0_functions (fn regprocedure PRIMARY KEY);
INSERT INTO vectorstore._upgrade_0_2_0_functions VALUES
    ('vectorstore.vs_store_create(text, text, text[], jsonb, jsonb, jsonb)'),
    ('vectorstore.vs_store_get(text)'),
    ('vectorstore.vs_store_update(text, text, jsonb, jsonb)'),
    ('vectorstore.vs_store_delete(text)'),
    ('vectorstore.vs_stores(text, integer, text)'),
    ('vectorstore.vs_file_upload(text, text, text)'),
    ('vectorstore.vs_file_upload(text, bytea, text)'),
    ('vectorstore.vs_file_get(text)'),
    ('vectorstore.vs_file_delete(text)'),
    ('vectorstore.vs_files(text, text, integer, text)'),
    ('vectorstore.vs_file_content(text)'),
    ('vectorstore.vs_store_file_add(text, text, jsonb, jsonb)'),
    ('vectorstore.vs_store_file_get(text, text)'),
    ('vectorstore.vs_store_file_update(text, text, jsonb)'),
    ('vectorstore.vs_store_file_remove(text, text)'),
    ('vectorstore.vs_store_files(text, text, text, integer, text)'),
    ('vectorstore.vs_store_file_content(text, text)'),
    ('vectorstore.vs_store_file_poll(text, text, interval, integer)'),
    ('vectorstore.vs_upload(text, text, text, jsonb, jsonb, boolean)'),
    ('vectorstore.vs_upload(text, text, bytea, jsonb, jsonb, boolean)'),
    ('vectorstore.vs_batch_create(text, text[], jsonb, jsonb, jsonb)'),
    ('vectorstore.vs_batch_get(text, text)'),
    ('vectorstore.vs_batch_cancel(text, text)'),
    ('vectorstore.vs_batch_files(text, text, text, text, integer, text)'),
    ('vectorstore.vs_batch_poll(text, text, interval, integer)'),
    ('vectorstore.vs_upload_many(text, text[], text[], jsonb[], jsonb, integer, boolean, interval)'),
    ('vectorstore.vs_upload_many(text, text[], bytea[], jsonb[], jsonb, integer, boolean, interval)'),
    ('vectorstore.vs_search(text, text, integer, jsonb, jsonb, boolean)'),
    ('vectorstore.vs_search(text, text[], integer, jsonb, jsonb, boolean)'),
    ('vectorstore.vs_search_json(text, text, integer, jsonb, jsonb, boolean)'),
    ('vectorstore.vs_search_json(text, text[], integer, jsonb, jsonb, boolean)');

DO $$
DECLARE
    users text;
BEGIN
    SELECT string_agg(DISTINCT pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid), ', ')
      INTO users
      FROM pg_catalog.pg_depend d
      JOIN vectorstore._upgrade_0_2_0_functions f ON d.refobjid = f.fn::oid
     WHERE d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.deptype = 'n';
    IF users IS NOT NULL THEN
        RAISE EXCEPTION 'cannot update vectorstore to 0.2.0 while other objects use functions whose arguments change'
            USING ERRCODE = '2BP01',
                  DETAIL = 'Used by: ' || users || '.',
                  HINT = 'Drop these objects, run ALTER EXTENSION vectorstore UPDATE, then create them again (the functions keep their names; see CHANGELOG.md).';
    END IF;
END $$;

-- the privileges to carry over: name, old argument types, ACL
CREATE TABLE vectorstore._upgrade_0_2_0_acl AS
SELECT p.proname::text AS name, pg_catalog.oidvectortypes(p.proargtypes) AS args, p.proacl AS acl
  FROM pg_catalog.pg_proc p JOIN vectorstore._upgrade_0_2_0_functions f ON p.oid = f.fn::oid
 WHERE p.proacl IS NOT NULL;

DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT fn FROM vectorstore._upgrade_0_2_0_functions LOOP
        EXECUTE pg_catalog.format('DROP FUNCTION %s', f);
    END LOOP;
END $$;

-- the search result row: the whole result, and the content parts apart
ALTER TYPE vectorstore.vector_store_search_result ADD ATTRIBUTE raw jsonb, ADD ATTRIBUTE content_parts text[];

CREATE FUNCTION vectorstore.vs_store_create(name text DEFAULT NULL, description text DEFAULT NULL,
                                file_ids text[] DEFAULT NULL,
                                chunking_strategy jsonb DEFAULT NULL,
                                expires_after jsonb DEFAULT NULL,
                                metadata jsonb DEFAULT NULL,
                                request_options jsonb DEFAULT NULL)
RETURNS vectorstore.vector_store AS 'MODULE_PATHNAME', 'vs_store_create'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vectorstore.vs_store_get(vector_store_id text, request_options jsonb DEFAULT NULL)
RETURNS vectorstore.vector_store AS 'MODULE_PATHNAME', 'vs_store_get'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vectorstore.vs_store_update(vector_store_id text, name text DEFAULT NULL,
                                expires_after jsonb DEFAULT NULL,
                                metadata jsonb DEFAULT NULL,
                                request_options jsonb DEFAULT NULL)
RETURNS vectorstore.vector_store AS 'MODULE_PATHNAME', 'vs_store_update'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vectorstore.vs_store_delete(vector_store_id text, missing_ok boolean DEFAULT false,
                                request_options jsonb DEFAULT NULL)
RETURNS boolean AS 'MODULE_PATHNAME', 'vs_store_delete'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vectorstore.vs_stores("order" text DEFAULT 'desc', "limit" integer DEFAULT 100,
                          after text DEFAULT NULL, before text DEFAULT NULL,
                          max_items bigint DEFAULT NULL, request_options jsonb DEFAULT NULL)
RETURNS SETOF vectorstore.vector_store AS 'MODULE_PATHNAME', 'vs_stores'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 100;

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

COMMENT ON FUNCTION vectorstore.vs_store_create(text, text, text[], jsonb, jsonb, jsonb, jsonb) IS
  'Create a vector store (POST /vector_stores). Arguments mirror the SDK; metadata, expires_after and chunking_strategy are validated before sending. request_options: extra_headers, extra_query, extra_body, timeout, max_retries.';
COMMENT ON FUNCTION vectorstore.vs_store_get(text, jsonb) IS
  'Retrieve a vector store (GET /vector_stores/{id}). A NULL id raises 22004.';
COMMENT ON FUNCTION vectorstore.vs_store_update(text, text, jsonb, jsonb, jsonb) IS
  'Modify a vector store (POST /vector_stores/{id}); NULL leaves a field alone, ''null''::jsonb clears expires_after or metadata.';
COMMENT ON FUNCTION vectorstore.vs_store_delete(text, boolean, jsonb) IS
  'Delete a vector store (DELETE /vector_stores/{id}); returns whether it was deleted. With missing_ok, a store that is not there returns false instead of raising. Its files stay in the Files API.';
COMMENT ON FUNCTION vectorstore.vs_stores(text, integer, text, text, bigint, jsonb) IS
  'All vector stores, one row each, following has_more/after through every page ("limit" is the page size, 1..100); before pages backwards from an id; max_items stops after that many rows, asking for no bigger pages than needed.';
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
COMMENT ON FUNCTION vectorstore.vs_search(text, text, integer, jsonb, jsonb, boolean, jsonb) IS
  'Search a vector store (POST /vector_stores/{id}/search): one row per result in descending score order, rank 1..n, content parts joined with a newline (content) and apart (content_parts), the whole result in raw. filters and ranking_options are validated before sending; max_num_results is 1..50.';
COMMENT ON FUNCTION vectorstore.vs_search(text, text[], integer, jsonb, jsonb, boolean, jsonb) IS
  'vs_search with several queries searched together.';
COMMENT ON FUNCTION vectorstore.vs_search_json(text, text, integer, jsonb, jsonb, boolean, jsonb) IS
  'Search a vector store and return the whole results page (object, search_query, data, has_more, next_page) as jsonb.';
COMMENT ON FUNCTION vectorstore.vs_search_json(text, text[], integer, jsonb, jsonb, boolean, jsonb) IS
  'vs_search_json with several queries searched together.';

-- carry the privileges over (see the top of this part)
DO $$
DECLARE
    r record;
    f regprocedure;
    a record;
BEGIN
    FOR r IN SELECT * FROM vectorstore._upgrade_0_2_0_acl LOOP
        FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
                  WHERE p.pronamespace = 'vectorstore'::pg_catalog.regnamespace
                    AND p.proname = r.name
                    AND pg_catalog.oidvectortypes(p.proargtypes) LIKE r.args || ', %'
                    AND p.proacl IS NULL
        LOOP
            EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
            FOR a IN SELECT * FROM pg_catalog.aclexplode(r.acl) LOOP
                EXECUTE pg_catalog.format('GRANT %s ON FUNCTION %s TO %s%s', a.privilege_type, f,
                    CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(a.grantee::regrole::text) END,
                    CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
            END LOOP;
            -- grants made by an extension script count as the extension's own
            -- (pg_init_privs), which pg_dump leaves out; these are the database's
            DELETE FROM pg_catalog.pg_init_privs
             WHERE objoid = f::oid AND classoid = 'pg_catalog.pg_proc'::pg_catalog.regclass;
        END LOOP;
    END LOOP;
END $$;

DROP TABLE vectorstore._upgrade_0_2_0_acl;
DROP TABLE vectorstore._upgrade_0_2_0_functions;

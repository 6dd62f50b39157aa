-- vectorstore: OpenAI Vector Stores as SQL.
-- The install script is assembled from sql/install/*.sql by the Makefile.
\echo Use "CREATE EXTENSION vectorstore" to load this file. \quit

-- Everything lives in schema "vectorstore" (created by CREATE EXTENSION from
-- the control file). PUBLIC has no USAGE on it: a superuser lets a role in
-- with GRANT USAGE ON SCHEMA vectorstore TO role (see README "Security model").

---------------------------------------------------------------------------
-- Credentials: API keys no role but the extension's owner can read
---------------------------------------------------------------------------
CREATE TABLE credential (
    name         text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_.-]{1,63}$'),
    api_key      text NOT NULL,
    base_url     text CHECK (base_url ~ '^https?://'),
    organization text,
    project      text,
    created_at   timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON credential FROM PUBLIC;

CREATE TABLE credential_grant (
    credential text NOT NULL REFERENCES credential(name) ON DELETE CASCADE ON UPDATE CASCADE,
    grantee    oid  NOT NULL,
    PRIMARY KEY (credential, grantee)
);
REVOKE ALL ON credential_grant FROM PUBLIC;

CREATE FUNCTION _credentials_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'vs_credentials_changed' LANGUAGE C;
REVOKE ALL ON FUNCTION _credentials_changed() FROM PUBLIC;

CREATE TRIGGER credential_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON credential
    FOR EACH STATEMENT EXECUTE FUNCTION _credentials_changed();
CREATE TRIGGER credential_grant_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON credential_grant
    FOR EACH STATEMENT EXECUTE FUNCTION _credentials_changed();

-- What anyone may know about credentials: names, targets and grantees; never keys.
CREATE VIEW credentials AS
    SELECT c.name, c.base_url, c.organization, c.project, c.created_at,
           ARRAY(SELECT g.grantee::regrole FROM credential_grant g
                 WHERE g.credential = c.name ORDER BY 1) AS grantees
    FROM credential c;
REVOKE ALL ON credentials FROM PUBLIC;

CREATE FUNCTION vs_credential_set(name text, api_key text, base_url text DEFAULT NULL,
                                  organization text DEFAULT NULL, project text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'only a superuser may store credentials' USING ERRCODE = '42501';
    END IF;
    IF api_key IS NULL OR api_key = '' THEN
        RAISE EXCEPTION 'api_key must not be empty' USING ERRCODE = '22023';
    END IF;
    INSERT INTO vectorstore.credential AS c (name, api_key, base_url, organization, project)
    VALUES (vs_credential_set.name, vs_credential_set.api_key, vs_credential_set.base_url,
            vs_credential_set.organization, vs_credential_set.project)
    ON CONFLICT ON CONSTRAINT credential_pkey DO UPDATE
        SET api_key = EXCLUDED.api_key, base_url = EXCLUDED.base_url,
            organization = EXCLUDED.organization, project = EXCLUDED.project;
END $$;

CREATE FUNCTION vs_credential_drop(name text) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'only a superuser may drop credentials' USING ERRCODE = '42501';
    END IF;
    DELETE FROM vectorstore.credential c WHERE c.name = vs_credential_drop.name;
    RETURN FOUND;
END $$;

CREATE FUNCTION vs_credential_grant(credential text, grantee regrole) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'only a superuser may grant credentials' USING ERRCODE = '42501';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM vectorstore.credential c WHERE c.name = vs_credential_grant.credential) THEN
        RAISE EXCEPTION 'credential "%" does not exist', vs_credential_grant.credential
            USING ERRCODE = '42704';
    END IF;
    INSERT INTO vectorstore.credential_grant (credential, grantee)
    VALUES (vs_credential_grant.credential, vs_credential_grant.grantee::oid)
    ON CONFLICT DO NOTHING;
END $$;

CREATE FUNCTION vs_credential_revoke(credential text, grantee regrole) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'only a superuser may revoke credentials' USING ERRCODE = '42501';
    END IF;
    DELETE FROM vectorstore.credential_grant g
     WHERE g.credential = vs_credential_revoke.credential
       AND g.grantee = vs_credential_revoke.grantee::oid;
    RETURN FOUND;
END $$;

REVOKE ALL ON FUNCTION vs_credential_set(text, text, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION vs_credential_drop(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION vs_credential_grant(text, regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION vs_credential_revoke(text, regrole) FROM PUBLIC;

COMMENT ON FUNCTION vs_credential_set(text, text, text, text, text) IS
  'Store (or replace) a named API credential; superuser only. Roles use it after vs_credential_grant() without being able to read the key.';
COMMENT ON FUNCTION vs_credential_drop(text) IS
  'Delete a named credential and its grants; superuser only.';
COMMENT ON FUNCTION vs_credential_grant(text, regrole) IS
  'Let a role (and its members) make requests with a named credential; superuser only.';
COMMENT ON FUNCTION vs_credential_revoke(text, regrole) IS
  'Take a credential away from a role; superuser only.';

---------------------------------------------------------------------------
-- Vector stores
---------------------------------------------------------------------------
CREATE TYPE vector_store AS (
    id                text,
    name              text,
    description       text,
    status            text,
    usage_bytes       bigint,
    files_in_progress integer,
    files_completed   integer,
    files_failed      integer,
    files_cancelled   integer,
    files_total       integer,
    created_at        timestamptz,
    last_active_at    timestamptz,
    expires_at        timestamptz,
    expires_after     jsonb,
    metadata          jsonb,
    raw               jsonb
);

CREATE FUNCTION vs_store_create(name text DEFAULT NULL, description text DEFAULT NULL,
                                file_ids text[] DEFAULT NULL,
                                chunking_strategy jsonb DEFAULT NULL,
                                expires_after jsonb DEFAULT NULL,
                                metadata jsonb DEFAULT NULL)
RETURNS vector_store AS 'MODULE_PATHNAME', 'vs_store_create'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vs_store_get(vector_store_id text)
RETURNS vector_store AS 'MODULE_PATHNAME', 'vs_store_get'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

CREATE FUNCTION vs_store_update(vector_store_id text, name text DEFAULT NULL,
                                expires_after jsonb DEFAULT NULL,
                                metadata jsonb DEFAULT NULL)
RETURNS vector_store AS 'MODULE_PATHNAME', 'vs_store_update'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vs_store_delete(vector_store_id text)
RETURNS boolean AS 'MODULE_PATHNAME', 'vs_store_delete'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

CREATE FUNCTION vs_stores("order" text DEFAULT 'desc', "limit" integer DEFAULT 100,
                          after text DEFAULT NULL)
RETURNS SETOF vector_store AS 'MODULE_PATHNAME', 'vs_stores'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 100;

COMMENT ON FUNCTION vs_store_create(text, text, text[], jsonb, jsonb, jsonb) IS
  'Create a vector store (POST /vector_stores). Arguments mirror the SDK; metadata, expires_after and chunking_strategy are validated before sending.';
COMMENT ON FUNCTION vs_store_get(text) IS
  'Retrieve a vector store (GET /vector_stores/{id}).';
COMMENT ON FUNCTION vs_store_update(text, text, jsonb, jsonb) IS
  'Modify a vector store (POST /vector_stores/{id}); NULL leaves a field alone, ''null''::jsonb clears expires_after or metadata.';
COMMENT ON FUNCTION vs_store_delete(text) IS
  'Delete a vector store (DELETE /vector_stores/{id}); returns whether it was deleted. Its files stay in the Files API.';
COMMENT ON FUNCTION vs_stores(text, integer, text) IS
  'All vector stores, one row each, following has_more/after through every page ("limit" is the page size, 1..100).';

---------------------------------------------------------------------------
-- Files (/files): upload from a value, retrieve, delete, list, download
---------------------------------------------------------------------------
CREATE TYPE openai_file AS (
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

CREATE FUNCTION vs_file_upload(filename text, content text, purpose text DEFAULT 'assistants')
RETURNS openai_file AS 'MODULE_PATHNAME', 'vs_file_upload_text'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vs_file_upload(filename text, content bytea, purpose text DEFAULT 'assistants')
RETURNS openai_file AS 'MODULE_PATHNAME', 'vs_file_upload_bytea'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vs_file_get(file_id text)
RETURNS openai_file AS 'MODULE_PATHNAME', 'vs_file_get'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

CREATE FUNCTION vs_file_delete(file_id text)
RETURNS boolean AS 'MODULE_PATHNAME', 'vs_file_delete'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

CREATE FUNCTION vs_files(purpose text DEFAULT NULL, "order" text DEFAULT 'desc',
                         "limit" integer DEFAULT 10000, after text DEFAULT NULL)
RETURNS SETOF openai_file AS 'MODULE_PATHNAME', 'vs_files'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 100;

CREATE FUNCTION vs_file_content(file_id text)
RETURNS bytea AS 'MODULE_PATHNAME', 'vs_file_content'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

COMMENT ON FUNCTION vs_file_upload(text, text, text) IS
  'Upload a File (POST /files, multipart) whose content is the text value, sent as UTF-8 bytes. purpose defaults to assistants, the one vector stores use.';
COMMENT ON FUNCTION vs_file_upload(text, bytea, text) IS
  'Upload a File (POST /files, multipart) whose content is the bytea value, byte for byte (NUL bytes included).';
COMMENT ON FUNCTION vs_file_get(text) IS
  'Retrieve a File (GET /files/{file_id}).';
COMMENT ON FUNCTION vs_file_delete(text) IS
  'Delete a File (DELETE /files/{file_id}); it is also removed from every vector store. Returns whether it was deleted.';
COMMENT ON FUNCTION vs_files(text, text, integer, text) IS
  'All Files, optionally of one purpose, one row each, following has_more/after through every page ("limit" is the page size, 1..10000).';
COMMENT ON FUNCTION vs_file_content(text) IS
  'The raw bytes of a File (GET /files/{file_id}/content), never parsed.';

---------------------------------------------------------------------------
-- Vector store files (/vector_stores/{id}/files)
---------------------------------------------------------------------------
CREATE TYPE vector_store_file AS (
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

CREATE FUNCTION vs_store_file_add(vector_store_id text, file_id text,
                                  attributes jsonb DEFAULT NULL,
                                  chunking_strategy jsonb DEFAULT NULL)
RETURNS vector_store_file AS 'MODULE_PATHNAME', 'vs_store_file_add'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vs_store_file_get(vector_store_id text, file_id text)
RETURNS vector_store_file AS 'MODULE_PATHNAME', 'vs_store_file_get'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

CREATE FUNCTION vs_store_file_update(vector_store_id text, file_id text, attributes jsonb)
RETURNS vector_store_file AS 'MODULE_PATHNAME', 'vs_store_file_update'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vs_store_file_remove(vector_store_id text, file_id text)
RETURNS boolean AS 'MODULE_PATHNAME', 'vs_store_file_remove'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

CREATE FUNCTION vs_store_files(vector_store_id text, filter text DEFAULT NULL,
                               "order" text DEFAULT 'desc', "limit" integer DEFAULT 100,
                               after text DEFAULT NULL)
RETURNS SETOF vector_store_file AS 'MODULE_PATHNAME', 'vs_store_files'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 100;

CREATE FUNCTION vs_store_file_content(vector_store_id text, file_id text)
RETURNS TABLE (part integer, type text, text text)
AS 'MODULE_PATHNAME', 'vs_store_file_content'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE ROWS 10;

CREATE FUNCTION vs_store_file_poll(vector_store_id text, file_id text,
                                   timeout interval DEFAULT '10 min',
                                   poll_interval_ms integer DEFAULT NULL)
RETURNS vector_store_file AS 'MODULE_PATHNAME', 'vs_store_file_poll'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vs_upload(vector_store_id text, filename text, content text,
                          attributes jsonb DEFAULT NULL,
                          chunking_strategy jsonb DEFAULT NULL,
                          wait boolean DEFAULT false)
RETURNS vector_store_file AS 'MODULE_PATHNAME', 'vs_upload_text'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vs_upload(vector_store_id text, filename text, content bytea,
                          attributes jsonb DEFAULT NULL,
                          chunking_strategy jsonb DEFAULT NULL,
                          wait boolean DEFAULT false)
RETURNS vector_store_file AS 'MODULE_PATHNAME', 'vs_upload_bytea'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION vs_store_file_add(text, text, jsonb, jsonb) IS
  'Attach an uploaded File to a vector store (POST /vector_stores/{id}/files), with optional attributes (for search filters) and chunking_strategy. Processing continues in the background: see vs_store_file_poll().';
COMMENT ON FUNCTION vs_store_file_get(text, text) IS
  'Retrieve a vector store file (GET /vector_stores/{id}/files/{file_id}); last_error_code and last_error_message say why a failed file failed.';
COMMENT ON FUNCTION vs_store_file_update(text, text, jsonb) IS
  'Replace the attributes of a vector store file (POST /vector_stores/{id}/files/{file_id}); NULL removes them.';
COMMENT ON FUNCTION vs_store_file_remove(text, text) IS
  'Detach a file from a vector store (DELETE /vector_stores/{id}/files/{file_id}); the File itself stays (vs_file_delete() deletes it). Returns whether it was removed.';
COMMENT ON FUNCTION vs_store_files(text, text, text, integer, text) IS
  'All files of a vector store, optionally only those with status filter (in_progress, completed, failed, cancelled), following every page ("limit" is the page size, 1..100).';
COMMENT ON FUNCTION vs_store_file_content(text, text) IS
  'The parsed content of a vector store file (GET /vector_stores/{id}/files/{file_id}/content), one row per part, in order.';
COMMENT ON FUNCTION vs_store_file_poll(text, text, interval, integer) IS
  'Wait until a vector store file is completed, failed or cancelled and return it; polls at poll_interval_ms, else the server''s openai-poll-after-ms, else every second. Raises 55000 when still in progress after timeout (NULL: no limit). Cancel interrupts it.';
COMMENT ON FUNCTION vs_upload(text, text, text, jsonb, jsonb, boolean) IS
  'Upload text as a File and attach it to a vector store (the SDK''s upload / uploadAndPoll); with wait, polls until processed (up to 10 minutes).';
COMMENT ON FUNCTION vs_upload(text, text, bytea, jsonb, jsonb, boolean) IS
  'Upload bytes as a File and attach it to a vector store (the SDK''s upload / uploadAndPoll); with wait, polls until processed (up to 10 minutes).';

---------------------------------------------------------------------------
-- Vector store file batches (/vector_stores/{id}/file_batches)
---------------------------------------------------------------------------
CREATE TYPE vector_store_file_batch AS (
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

CREATE FUNCTION vs_batch_create(vector_store_id text, file_ids text[] DEFAULT NULL,
                                files jsonb DEFAULT NULL,
                                attributes jsonb DEFAULT NULL,
                                chunking_strategy jsonb DEFAULT NULL)
RETURNS vector_store_file_batch AS 'MODULE_PATHNAME', 'vs_batch_create'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vs_batch_get(vector_store_id text, batch_id text)
RETURNS vector_store_file_batch AS 'MODULE_PATHNAME', 'vs_batch_get'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

CREATE FUNCTION vs_batch_cancel(vector_store_id text, batch_id text)
RETURNS vector_store_file_batch AS 'MODULE_PATHNAME', 'vs_batch_cancel'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

CREATE FUNCTION vs_batch_files(vector_store_id text, batch_id text,
                               filter text DEFAULT NULL, "order" text DEFAULT 'desc',
                               "limit" integer DEFAULT 100, after text DEFAULT NULL)
RETURNS SETOF vector_store_file AS 'MODULE_PATHNAME', 'vs_batch_files'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 100;

CREATE FUNCTION vs_batch_poll(vector_store_id text, batch_id text,
                              timeout interval DEFAULT '10 min',
                              poll_interval_ms integer DEFAULT NULL)
RETURNS vector_store_file_batch AS 'MODULE_PATHNAME', 'vs_batch_poll'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vs_upload_many(vector_store_id text, filenames text[], contents text[],
                               attributes jsonb[] DEFAULT NULL,
                               chunking_strategy jsonb DEFAULT NULL,
                               max_concurrency integer DEFAULT 8,
                               wait boolean DEFAULT true,
                               timeout interval DEFAULT '30 min')
RETURNS TABLE ("index" integer, filename text, file_id text, batch_id text,
               status text, error text)
AS 'MODULE_PATHNAME', 'vs_upload_many_text'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 1000;

CREATE FUNCTION vs_upload_many(vector_store_id text, filenames text[], contents bytea[],
                               attributes jsonb[] DEFAULT NULL,
                               chunking_strategy jsonb DEFAULT NULL,
                               max_concurrency integer DEFAULT 8,
                               wait boolean DEFAULT true,
                               timeout interval DEFAULT '30 min')
RETURNS TABLE ("index" integer, filename text, file_id text, batch_id text,
               status text, error text)
AS 'MODULE_PATHNAME', 'vs_upload_many_bytea'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 1000;

COMMENT ON FUNCTION vs_batch_create(text, text[], jsonb, jsonb, jsonb) IS
  'Attach up to 2,000 Files at once (POST /vector_stores/{id}/file_batches): file_ids (sharing attributes and chunking_strategy) or files, a JSON array of {file_id, attributes, chunking_strategy}; not both.';
COMMENT ON FUNCTION vs_batch_get(text, text) IS
  'Retrieve a file batch (GET /vector_stores/{id}/file_batches/{batch_id}) with its file counts.';
COMMENT ON FUNCTION vs_batch_cancel(text, text) IS
  'Cancel a file batch (POST .../file_batches/{batch_id}/cancel): files still in progress are cancelled.';
COMMENT ON FUNCTION vs_batch_files(text, text, text, text, integer, text) IS
  'All files of a file batch, optionally only those with status filter (in_progress, completed, failed, cancelled), following every page.';
COMMENT ON FUNCTION vs_batch_poll(text, text, interval, integer) IS
  'Wait until a file batch is completed, failed or cancelled and return it (see vs_store_file_poll for the interval and timeout rules).';
COMMENT ON FUNCTION vs_upload_many(text, text[], text[], jsonb[], jsonb, integer, boolean, interval) IS
  'Upload many texts as Files concurrently (max_concurrency connections), attach them with per-file attributes in batches of at most 2,000 and, with wait, poll them to the end. One row per element: file_id, batch_id, status (completed, failed, cancelled, in_progress, upload_failed, attach_failed) and error; failures never lose the files that did upload.';
COMMENT ON FUNCTION vs_upload_many(text, text[], bytea[], jsonb[], jsonb, integer, boolean, interval) IS
  'vs_upload_many for bytea contents, sent byte for byte.';

---------------------------------------------------------------------------
-- Search (/vector_stores/{id}/search)
---------------------------------------------------------------------------
CREATE TYPE vector_store_search_result AS (
    file_id    text,
    filename   text,
    score      float8,
    content    text,
    attributes jsonb,
    rank       integer
);

CREATE FUNCTION vs_search(vector_store_id text, query text,
                          max_num_results integer DEFAULT 10,
                          filters jsonb DEFAULT NULL,
                          ranking_options jsonb DEFAULT NULL,
                          rewrite_query boolean DEFAULT false)
RETURNS SETOF vector_store_search_result AS 'MODULE_PATHNAME', 'vs_search'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 10;

CREATE FUNCTION vs_search(vector_store_id text, query text[],
                          max_num_results integer DEFAULT 10,
                          filters jsonb DEFAULT NULL,
                          ranking_options jsonb DEFAULT NULL,
                          rewrite_query boolean DEFAULT false)
RETURNS SETOF vector_store_search_result AS 'MODULE_PATHNAME', 'vs_search_array'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 10;

CREATE FUNCTION vs_search_json(vector_store_id text, query text,
                               max_num_results integer DEFAULT 10,
                               filters jsonb DEFAULT NULL,
                               ranking_options jsonb DEFAULT NULL,
                               rewrite_query boolean DEFAULT false)
RETURNS jsonb AS 'MODULE_PATHNAME', 'vs_search_json'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vs_search_json(vector_store_id text, query text[],
                               max_num_results integer DEFAULT 10,
                               filters jsonb DEFAULT NULL,
                               ranking_options jsonb DEFAULT NULL,
                               rewrite_query boolean DEFAULT false)
RETURNS jsonb AS 'MODULE_PATHNAME', 'vs_search_json_array'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION vs_search(text, text, integer, jsonb, jsonb, boolean) IS
  'Search a vector store (POST /vector_stores/{id}/search): one row per result in descending score order, rank 1..n, content parts joined with a newline. filters and ranking_options are validated before sending; max_num_results is 1..50.';
COMMENT ON FUNCTION vs_search(text, text[], integer, jsonb, jsonb, boolean) IS
  'vs_search with several queries searched together.';
COMMENT ON FUNCTION vs_search_json(text, text, integer, jsonb, jsonb, boolean) IS
  'Search a vector store and return the whole results page (object, search_query, data, has_more, next_page) as jsonb.';
COMMENT ON FUNCTION vs_search_json(text, text[], integer, jsonb, jsonb, boolean) IS
  'vs_search_json with several queries searched together.';

---------------------------------------------------------------------------
-- The durable upload queue (processed by the background worker, worker.c)
---------------------------------------------------------------------------
-- A job is one file to upload and attach (kind 'upload'), one to upload and
-- attach in place of an older job's file (kind 'replace': the old file is
-- detached and deleted after the new one is searchable), or an older job's
-- file to detach and delete (kind 'delete'). Jobs are ordinary logged rows:
-- an enqueue that rolls back leaves nothing, a committed one survives any
-- crash. Each role sees and changes only its own jobs (row level security);
-- the owner and the credential are filled in by a trigger from the session,
-- never taken from the caller.
CREATE TABLE job (
    id                bigserial PRIMARY KEY,
    kind              text NOT NULL DEFAULT 'upload'
                      CHECK (kind IN ('upload', 'replace', 'delete')),
    vector_store_id   text NOT NULL,
    filename          text,
    content           bytea,
    attributes        jsonb,
    chunking_strategy jsonb,
    owner             oid NOT NULL,
    credential        text,
    status            text NOT NULL DEFAULT 'queued'
                      CHECK (status IN ('queued', 'uploading', 'uploaded', 'attaching',
                                        'deleting', 'completed', 'failed', 'cancelled')),
    file_id           text,
    replaces_job      bigint,
    batch_id          text,
    attempts          integer NOT NULL DEFAULT 0,
    last_error        text,
    not_before        timestamptz NOT NULL DEFAULT now(),
    sync_name         text,
    row_key           text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz,
    CHECK (kind = 'delete' OR (filename IS NOT NULL AND content IS NOT NULL)),
    CHECK (kind = 'upload' OR replaces_job IS NOT NULL)
);
CREATE INDEX job_active_idx ON job (status, not_before)
    WHERE status NOT IN ('completed', 'failed', 'cancelled');
CREATE INDEX job_file_idx ON job (file_id) WHERE file_id IS NOT NULL;
CREATE INDEX job_finished_idx ON job (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX job_replaces_idx ON job (replaces_job) WHERE replaces_job IS NOT NULL;
-- The jobs of a file batch the worker polls (only while they are attaching).
CREATE INDEX job_batch_idx ON job (batch_id) WHERE status = 'attaching';
-- The sweep's check for files of failed or cancelled jobs, run every pass.
CREATE INDEX job_orphan_idx ON job (id)
    WHERE status IN ('failed', 'cancelled') AND file_id IS NOT NULL AND kind <> 'delete';

ALTER TABLE job ENABLE ROW LEVEL SECURITY;
CREATE POLICY job_owner ON job
    USING (owner OPERATOR(pg_catalog.=) (SELECT r.oid FROM pg_catalog.pg_roles r
                                         WHERE r.rolname OPERATOR(pg_catalog.=) current_user));
REVOKE ALL ON job FROM PUBLIC;
GRANT SELECT, INSERT ON job TO PUBLIC;
GRANT UPDATE (status, attempts, last_error, not_before, finished_at, updated_at) ON job TO PUBLIC;
GRANT USAGE ON SEQUENCE job_id_seq TO PUBLIC;

-- One row: this database's worker and the marker its uploads carry.
CREATE TABLE worker_state (
    id            boolean PRIMARY KEY DEFAULT true CHECK (id),
    token         text NOT NULL DEFAULT substr(md5(random()::text || clock_timestamp()::text), 1, 10),
    pid           integer,
    started_at    timestamptz,
    heartbeat_at  timestamptz,
    jobs_done     bigint NOT NULL DEFAULT 0,
    jobs_failed   bigint NOT NULL DEFAULT 0,
    files_uploaded bigint NOT NULL DEFAULT 0,
    duplicates_deleted bigint NOT NULL DEFAULT 0,
    sweep_due_at  timestamptz,
    last_sweep_at timestamptz,
    last_error    text
);
INSERT INTO worker_state DEFAULT VALUES;
REVOKE ALL ON worker_state FROM PUBLIC;
GRANT SELECT ON worker_state TO PUBLIC;

-- C helpers (queue.c)
CREATE FUNCTION _credential_current_name() RETURNS text
    AS 'MODULE_PATHNAME', 'vs_credential_current_name' LANGUAGE C VOLATILE;
CREATE FUNCTION _job_validate(attributes jsonb, chunking_strategy jsonb) RETURNS void
    AS 'MODULE_PATHNAME', 'vs_job_validate' LANGUAGE C IMMUTABLE;
CREATE FUNCTION _current_user_is_superuser() RETURNS boolean
    AS 'MODULE_PATHNAME', 'vs_current_user_is_superuser' LANGUAGE C VOLATILE;
CREATE FUNCTION _current_user_oid() RETURNS oid
    AS 'MODULE_PATHNAME', 'vs_current_user_oid' LANGUAGE C VOLATILE;
CREATE FUNCTION _queue_wake() RETURNS trigger
    AS 'MODULE_PATHNAME', 'vs_queue_wake' LANGUAGE C;

-- Fill in who enqueued and with which credential; refuse forged rows.
CREATE FUNCTION _job_before_insert() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    NEW.owner := vectorstore._current_user_oid();
    NEW.credential := vectorstore._credential_current_name();
    NEW.status := CASE WHEN NEW.kind = 'delete' THEN 'deleting' ELSE 'queued' END;
    NEW.file_id := NULL;
    NEW.batch_id := NULL;
    NEW.attempts := 0;
    NEW.last_error := NULL;
    NEW.created_at := now();
    NEW.updated_at := now();
    NEW.started_at := NULL;
    NEW.finished_at := NULL;
    IF NEW.not_before IS NULL OR NEW.not_before < now() THEN
        NEW.not_before := now();
    END IF;
    IF NEW.replaces_job IS NOT NULL AND NOT EXISTS
        (SELECT 1 FROM vectorstore.job j WHERE j.id = NEW.replaces_job AND j.owner = NEW.owner) THEN
        RAISE EXCEPTION 'job % does not exist', NEW.replaces_job USING ERRCODE = '42704';
    END IF;
    PERFORM vectorstore._job_validate(NEW.attributes, NEW.chunking_strategy);
    RETURN NEW;
END $$;

-- Roles other than superusers may only cancel or retry their jobs.
CREATE FUNCTION _job_before_update() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF vectorstore._current_user_is_superuser() THEN
        RETURN NEW;
    END IF;
    IF NEW.status = OLD.status THEN
        RETURN NEW;
    ELSIF NEW.status = 'cancelled' AND OLD.status NOT IN ('completed', 'failed', 'cancelled') THEN
        RETURN NEW;
    ELSIF OLD.status IN ('failed', 'cancelled') AND NEW.status IN ('queued', 'uploaded', 'deleting') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'job % cannot go from % to %', OLD.id, OLD.status, NEW.status
        USING ERRCODE = '55000';
END $$;

CREATE TRIGGER job_before_insert BEFORE INSERT ON job
    FOR EACH ROW EXECUTE FUNCTION _job_before_insert();
-- The WHEN clause spares the function call where it would return NEW at once
-- (the worker, a superuser, updates thousands of rows a second).
CREATE TRIGGER job_before_update BEFORE UPDATE ON job
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
                       AND NOT vectorstore._current_user_is_superuser())
    EXECUTE FUNCTION _job_before_update();
-- Wake this database's worker when the transaction commits.
CREATE TRIGGER job_wake AFTER INSERT OR UPDATE ON job
    FOR EACH STATEMENT EXECUTE FUNCTION _queue_wake();

---------------------------------------------------------------------------
-- Enqueueing and managing jobs
---------------------------------------------------------------------------
CREATE FUNCTION vs_enqueue_upload(vector_store_id text, filename text, content bytea,
                                  attributes jsonb DEFAULT NULL,
                                  chunking_strategy jsonb DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    jid bigint;
BEGIN
    IF vector_store_id IS NULL OR filename IS NULL OR content IS NULL THEN
        RAISE EXCEPTION 'vector_store_id, filename and content must not be null'
            USING ERRCODE = '22004';
    END IF;
    IF vector_store_id = '' OR filename = '' THEN
        RAISE EXCEPTION 'vector_store_id and filename must not be empty' USING ERRCODE = '22023';
    END IF;
    INSERT INTO vectorstore.job (kind, vector_store_id, filename, content, attributes, chunking_strategy)
    VALUES ('upload', vs_enqueue_upload.vector_store_id, vs_enqueue_upload.filename,
            vs_enqueue_upload.content, vs_enqueue_upload.attributes,
            vs_enqueue_upload.chunking_strategy)
    RETURNING id INTO jid;
    RETURN jid;
END $$;

CREATE FUNCTION vs_enqueue_upload(vector_store_id text, filename text, content text,
                                  attributes jsonb DEFAULT NULL,
                                  chunking_strategy jsonb DEFAULT NULL)
RETURNS bigint LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT vectorstore.vs_enqueue_upload(vector_store_id, filename,
                                         convert_to(content, 'UTF8'),
                                         attributes, chunking_strategy)
$$;

CREATE FUNCTION vs_job_retry(job_id bigint) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE vectorstore.job j
       SET status = CASE WHEN j.kind = 'delete' THEN 'deleting'
                         WHEN j.file_id IS NOT NULL THEN 'uploaded'
                         ELSE 'queued' END,
           attempts = 0, last_error = NULL, not_before = now(),
           finished_at = NULL, updated_at = now()
     WHERE j.id = job_id AND j.status IN ('failed', 'cancelled');
    RETURN FOUND;
END $$;

CREATE FUNCTION vs_job_cancel(job_id bigint) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE vectorstore.job j
       SET status = 'cancelled', finished_at = now(), updated_at = now()
     WHERE j.id = job_id AND j.status NOT IN ('completed', 'failed', 'cancelled');
    RETURN FOUND;
END $$;

COMMENT ON FUNCTION vs_enqueue_upload(text, text, bytea, jsonb, jsonb) IS
  'Queue a file for upload and attachment to a vector store by the background worker; returns the job id at once. Transactional: nothing is sent unless the transaction commits.';
COMMENT ON FUNCTION vs_enqueue_upload(text, text, text, jsonb, jsonb) IS
  'Queue a text file (sent as UTF-8) for upload and attachment to a vector store by the background worker; returns the job id.';
COMMENT ON FUNCTION vs_job_retry(bigint) IS
  'Send a failed or cancelled job of yours back to the worker (attempts start again at 0); returns whether it was requeued.';
COMMENT ON FUNCTION vs_job_cancel(bigint) IS
  'Cancel a job of yours that has not finished; a file it already uploaded is deleted by the worker. Returns whether it was cancelled.';

---------------------------------------------------------------------------
-- Monitoring (views run with the caller's rights: roles see their own jobs)
---------------------------------------------------------------------------
CREATE VIEW jobs WITH (security_invoker = true) AS
    SELECT j.id, j.kind, j.vector_store_id, j.filename, octet_length(j.content) AS bytes,
           j.attributes, j.owner::regrole AS owner, j.credential, j.status, j.file_id,
           j.replaces_job, j.batch_id, j.attempts, j.last_error, j.not_before,
           j.sync_name, j.row_key, j.created_at, j.started_at, j.updated_at, j.finished_at
    FROM job j;

CREATE VIEW queue_depth WITH (security_invoker = true) AS
    SELECT j.vector_store_id, j.status, count(*) AS jobs,
           min(j.created_at) AS oldest, max(j.updated_at) AS last_change
    FROM job j
    GROUP BY j.vector_store_id, j.status;

CREATE VIEW recent_failures WITH (security_invoker = true) AS
    SELECT j.id, j.kind, j.vector_store_id, j.filename, j.owner::regrole AS owner,
           j.attempts, j.last_error, j.finished_at
    FROM job j
    WHERE j.status = 'failed' AND j.finished_at > now() - interval '1 day'
    ORDER BY j.finished_at DESC;

CREATE VIEW worker_status WITH (security_invoker = true) AS
    SELECT w.pid, a.backend_type, a.application_name, w.started_at, w.heartbeat_at,
           now() - w.heartbeat_at AS since_heartbeat,
           w.jobs_done, w.jobs_failed, w.files_uploaded, w.duplicates_deleted,
           (SELECT count(*) FROM job j WHERE j.status NOT IN ('completed', 'failed', 'cancelled')) AS jobs_pending,
           (SELECT count(*) FROM job j WHERE j.status = 'completed'
              AND j.finished_at > now() - interval '1 minute')::float8 / 60 AS jobs_per_second,
           w.sweep_due_at, w.last_sweep_at, w.last_error
    FROM worker_state w
    LEFT JOIN pg_stat_activity a ON a.pid = w.pid;

GRANT SELECT ON jobs, queue_depth, recent_failures, worker_status TO PUBLIC;

COMMENT ON TABLE job IS
  'The durable upload queue processed by the background worker; each role sees its own rows.';
COMMENT ON TABLE worker_state IS
  'This database''s worker: heartbeat, counters, the marker token of its uploads, sweep schedule.';
COMMENT ON VIEW jobs IS 'Your queued jobs without their content.';
COMMENT ON VIEW queue_depth IS 'Jobs per vector store and status.';
COMMENT ON VIEW recent_failures IS 'Jobs that failed in the last day, newest first.';
COMMENT ON VIEW worker_status IS 'The worker of this database: liveness, counters and throughput.';
COMMENT ON FUNCTION _credential_current_name() IS
  'Internal: the credential name the session''s requests use (NULL: the settings).';
COMMENT ON FUNCTION _job_validate(jsonb, jsonb) IS
  'Internal: validate a job''s attributes and chunking_strategy as the API would.';
COMMENT ON FUNCTION _current_user_is_superuser() IS
  'Internal: whether the current user is a superuser (for the job table''s update trigger).';
COMMENT ON FUNCTION _current_user_oid() IS
  'Internal: the oid of current_user (the owner of the jobs a session queues).';
COMMENT ON FUNCTION _queue_wake() IS
  'Internal trigger: wake this database''s worker when the transaction commits.';
COMMENT ON FUNCTION _job_before_insert() IS
  'Internal trigger: fill in a job''s owner and credential from the session.';
COMMENT ON FUNCTION _job_before_update() IS
  'Internal trigger: roles other than superusers may only cancel or retry their jobs.';

---------------------------------------------------------------------------
-- Table sync: keep a vector store holding one file per row of a table
---------------------------------------------------------------------------
-- vs_sync_run() compares each row's content hash with the mapping in
-- sync_row and queues jobs for the worker: 'upload' for new rows, 'replace'
-- for changed ones (the new file is attached before the old one is
-- detached and deleted), 'delete' for rows that are gone. Each role sees
-- and runs only its own syncs (row level security).
CREATE TABLE sync (
    name              text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_.-]{1,63}$'),
    source            oid NOT NULL,
    vector_store_id   text NOT NULL,
    key_column        text NOT NULL,
    content           text NOT NULL,
    attribute_columns text[],
    filename_pattern  text NOT NULL DEFAULT '%s.txt',
    chunking_strategy jsonb,
    use_trigger       boolean NOT NULL DEFAULT false,
    owner             oid NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    last_run_at       timestamptz,
    last_run          jsonb
);
ALTER TABLE sync ENABLE ROW LEVEL SECURITY;
CREATE POLICY sync_owner ON sync
    USING (owner OPERATOR(pg_catalog.=) (SELECT r.oid FROM pg_catalog.pg_roles r
                                         WHERE r.rolname OPERATOR(pg_catalog.=) current_user));
REVOKE ALL ON sync FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON sync TO PUBLIC;

CREATE TABLE sync_row (
    sync_name    text NOT NULL REFERENCES sync(name) ON DELETE CASCADE,
    row_key      text NOT NULL,
    content_hash text NOT NULL,
    job_id       bigint NOT NULL,
    PRIMARY KEY (sync_name, row_key)
);
ALTER TABLE sync_row ENABLE ROW LEVEL SECURITY;
CREATE POLICY sync_row_owner ON sync_row
    USING (EXISTS (SELECT 1 FROM vectorstore.sync s WHERE s.name OPERATOR(pg_catalog.=) sync_name));
REVOKE ALL ON sync_row FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON sync_row TO PUBLIC;
CREATE INDEX job_sync_idx ON job (sync_name, row_key) WHERE sync_name IS NOT NULL;

CREATE FUNCTION _sync_before_insert() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    NEW.owner := (SELECT r.oid FROM pg_roles r WHERE r.rolname = current_user);
    RETURN NEW;
END $$;
CREATE TRIGGER sync_before_insert BEFORE INSERT ON sync
    FOR EACH ROW EXECUTE FUNCTION _sync_before_insert();

-- Statement trigger of trigger-mode syncs (sync.c): vs_sync_run() as the sync's owner.
CREATE FUNCTION _sync_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'vs_sync_trigger' LANGUAGE C;

-- The SELECT that yields (k, c, a) for every row of a sync's source.
CREATE FUNCTION _sync_query(s vectorstore.sync) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    content_sql text;
    attrs_sql text;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = s.source AND a.attname = s.content
               AND a.attnum > 0 AND NOT a.attisdropped) THEN
        content_sql := format('t.%I', s.content);
    ELSE
        content_sql := s.content;		-- an SQL expression over the row "t"
    END IF;
    IF s.attribute_columns IS NULL OR cardinality(s.attribute_columns) = 0 THEN
        attrs_sql := 'NULL::jsonb';
    ELSE
        SELECT 'jsonb_strip_nulls(jsonb_build_object(' ||
               string_agg(format('%L, t.%I', c, c), ', ') || '))'
          INTO attrs_sql FROM unnest(s.attribute_columns) c;
    END IF;
    RETURN format('SELECT (t.%I)::text AS k, (%s)::text AS c, %s AS a FROM %s t',
                  s.key_column, content_sql, attrs_sql, s.source::regclass);
END $$;

CREATE FUNCTION vs_sync_create(name text, source regclass, vector_store_id text,
                               key_column text, content text,
                               attribute_columns text[] DEFAULT NULL,
                               filename_pattern text DEFAULT '%s.txt',
                               chunking_strategy jsonb DEFAULT NULL,
                               "trigger" boolean DEFAULT false)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s vectorstore.sync;
BEGIN
    IF name IS NULL OR source IS NULL OR vector_store_id IS NULL OR key_column IS NULL
       OR content IS NULL OR filename_pattern IS NULL THEN
        RAISE EXCEPTION 'name, source, vector_store_id, key_column, content and filename_pattern must not be null'
            USING ERRCODE = '22004';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = source AND a.attname = key_column
                   AND a.attnum > 0 AND NOT a.attisdropped) THEN
        RAISE EXCEPTION 'column "%" of relation % does not exist', key_column, source
            USING ERRCODE = '42703';
    END IF;
    IF filename_pattern NOT LIKE '%\%s%' THEN
        RAISE EXCEPTION 'filename_pattern must contain %%s (the row key)' USING ERRCODE = '22023';
    END IF;
    PERFORM vectorstore._job_validate(NULL, chunking_strategy);
    INSERT INTO vectorstore.sync (name, source, vector_store_id, key_column, content,
                                  attribute_columns, filename_pattern, chunking_strategy,
                                  use_trigger, owner)
    VALUES (vs_sync_create.name, vs_sync_create.source, vs_sync_create.vector_store_id,
            vs_sync_create.key_column, vs_sync_create.content,
            vs_sync_create.attribute_columns, vs_sync_create.filename_pattern,
            vs_sync_create.chunking_strategy, vs_sync_create."trigger", 0)
    RETURNING * INTO s;
    -- try the query now rather than at the first run
    EXECUTE vectorstore._sync_query(s) || ' LIMIT 0';
    IF vs_sync_create."trigger" THEN
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION vectorstore._sync_trigger(%L)',
                       'vectorstore_sync_' || s.name, source, s.name);
    END IF;
END $$;

CREATE FUNCTION vs_sync_run(name text, OUT new bigint, OUT changed bigint,
                            OUT deleted bigint, OUT unchanged bigint)
RETURNS record LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s vectorstore.sync;
BEGIN
    SELECT * INTO s FROM vectorstore.sync y WHERE y.name = vs_sync_run.name FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'sync "%" does not exist', vs_sync_run.name USING ERRCODE = '42704';
    END IF;

    CREATE TEMP TABLE IF NOT EXISTS vs_sync_current
        (k text PRIMARY KEY, c text, a jsonb, h text) ON COMMIT DROP;
    TRUNCATE vs_sync_current;
    EXECUTE 'INSERT INTO pg_temp.vs_sync_current (k, c, a, h)'
         || ' SELECT q.k, q.c, q.a, md5(q.c || coalesce(q.a::text, '''')) FROM ('
         || vectorstore._sync_query(s)
         || ') q WHERE q.k IS NOT NULL AND q.c IS NOT NULL';

    -- new rows
    WITH ins AS (
        INSERT INTO vectorstore.job (kind, vector_store_id, filename, content, attributes,
                                     chunking_strategy, sync_name, row_key)
        SELECT 'upload', s.vector_store_id, format(s.filename_pattern, c.k),
               convert_to(c.c, 'UTF8'), c.a, s.chunking_strategy, s.name, c.k
        FROM pg_temp.vs_sync_current c
        WHERE NOT EXISTS (SELECT 1 FROM vectorstore.sync_row r
                          WHERE r.sync_name = s.name AND r.row_key = c.k)
        RETURNING id, row_key)
    INSERT INTO vectorstore.sync_row (sync_name, row_key, content_hash, job_id)
    SELECT s.name, ins.row_key, c.h, ins.id
    FROM ins JOIN pg_temp.vs_sync_current c ON c.k = ins.row_key;
    GET DIAGNOSTICS new = ROW_COUNT;

    -- changed rows, and rows whose last job failed or was cancelled
    WITH chg AS (
        SELECT c.k, c.c, c.a, c.h, r.job_id
        FROM pg_temp.vs_sync_current c
        JOIN vectorstore.sync_row r ON r.sync_name = s.name AND r.row_key = c.k
        LEFT JOIN vectorstore.job j ON j.id = r.job_id
        WHERE r.content_hash <> c.h OR j.status IN ('failed', 'cancelled')),
    ins AS (
        INSERT INTO vectorstore.job (kind, vector_store_id, filename, content, attributes,
                                     chunking_strategy, sync_name, row_key, replaces_job)
        SELECT 'replace', s.vector_store_id, format(s.filename_pattern, chg.k),
               convert_to(chg.c, 'UTF8'), chg.a, s.chunking_strategy, s.name, chg.k, chg.job_id
        FROM chg
        RETURNING id, row_key)
    UPDATE vectorstore.sync_row r SET job_id = ins.id, content_hash = c.h
    FROM ins JOIN pg_temp.vs_sync_current c ON c.k = ins.row_key
    WHERE r.sync_name = s.name AND r.row_key = ins.row_key;
    GET DIAGNOSTICS changed = ROW_COUNT;

    -- deleted rows
    WITH gone AS (
        DELETE FROM vectorstore.sync_row r
        WHERE r.sync_name = s.name
          AND NOT EXISTS (SELECT 1 FROM pg_temp.vs_sync_current c WHERE c.k = r.row_key)
        RETURNING r.row_key, r.job_id)
    INSERT INTO vectorstore.job (kind, vector_store_id, sync_name, row_key, replaces_job)
    SELECT 'delete', s.vector_store_id, s.name, gone.row_key, gone.job_id FROM gone;
    GET DIAGNOSTICS deleted = ROW_COUNT;

    SELECT count(*) - new - changed INTO unchanged FROM pg_temp.vs_sync_current;
    UPDATE vectorstore.sync y SET last_run_at = now(),
           last_run = jsonb_build_object('new', new, 'changed', changed,
                                         'deleted', deleted, 'unchanged', unchanged)
     WHERE y.name = s.name;
    TRUNCATE pg_temp.vs_sync_current;
END $$;

CREATE FUNCTION vs_sync_drop(name text, delete_files boolean DEFAULT false) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s vectorstore.sync;
BEGIN
    SELECT * INTO s FROM vectorstore.sync y WHERE y.name = vs_sync_drop.name FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF delete_files THEN
        INSERT INTO vectorstore.job (kind, vector_store_id, sync_name, row_key, replaces_job)
        SELECT 'delete', s.vector_store_id, s.name, r.row_key, r.job_id
        FROM vectorstore.sync_row r WHERE r.sync_name = s.name;
    END IF;
    IF s.use_trigger AND EXISTS (SELECT 1 FROM pg_class WHERE oid = s.source) THEN
        EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', 'vectorstore_sync_' || s.name,
                       s.source::regclass);
    END IF;
    DELETE FROM vectorstore.sync y WHERE y.name = s.name;
    RETURN true;
END $$;

COMMENT ON FUNCTION vs_sync_create(text, regclass, text, text, text, text[], text, jsonb, boolean) IS
  'Define a sync: one file per row of source (key_column identifies the row; content is a column name or an SQL expression over the row "t"; attribute_columns become file attributes). trigger => true queues changes as they commit.';
COMMENT ON FUNCTION vs_sync_run(text) IS
  'Compare the source table with what was synced and queue uploads (new), replacements (changed) and deletions (deleted) for the worker; returns the counts. Schedule it with pg_cron.';
COMMENT ON FUNCTION vs_sync_drop(text, boolean) IS
  'Forget a sync (and its trigger); with delete_files => true its files are first queued for detaching and deletion.';

-- Row key <-> file id, to join search results (file_id) back to rows.
-- file_id is the file that search currently returns for the row.
CREATE VIEW sync_rows WITH (security_invoker = true) AS
    SELECT r.sync_name, s.source::regclass AS source, s.vector_store_id, r.row_key,
           CASE WHEN j.status IN ('completed', 'deleting') THEN j.file_id
                ELSE (SELECT p.file_id FROM vectorstore.job p
                      WHERE p.sync_name = r.sync_name AND p.row_key = r.row_key
                        AND p.id < r.job_id AND p.status = 'completed'
                      ORDER BY p.id DESC LIMIT 1) END AS file_id,
           r.job_id, j.status, r.content_hash
    FROM sync_row r
    JOIN sync s ON s.name = r.sync_name
    LEFT JOIN job j ON j.id = r.job_id;

-- Per sync: where its rows are, and an estimate of the time left from the
-- rate at which its jobs completed in the last five minutes.
CREATE VIEW sync_progress WITH (security_invoker = true) AS
    SELECT s.name, s.vector_store_id, c.rows, c.queued, c.uploading, c.attached, c.failed,
           p.pending AS jobs_pending, s.last_run_at, s.last_run,
           CASE WHEN p.pending = 0 THEN interval '0'
                WHEN t.done > 0 THEN make_interval(secs => p.pending * t.span / t.done)
           END AS eta
    FROM sync s
    CROSS JOIN LATERAL (
        SELECT count(r.row_key) AS rows,
               count(*) FILTER (WHERE j.status = 'queued') AS queued,
               count(*) FILTER (WHERE j.status IN ('uploading', 'uploaded', 'attaching', 'deleting')) AS uploading,
               count(*) FILTER (WHERE j.status = 'completed') AS attached,
               count(*) FILTER (WHERE j.status IN ('failed', 'cancelled')) AS failed
        FROM vectorstore.sync_row r LEFT JOIN vectorstore.job j ON j.id = r.job_id
        WHERE r.sync_name = s.name) c
    CROSS JOIN LATERAL (
        SELECT count(*) AS pending FROM vectorstore.job q
        WHERE q.sync_name = s.name AND q.status NOT IN ('completed', 'failed', 'cancelled')) p
    CROSS JOIN LATERAL (
        SELECT count(*) AS done,
               greatest(extract(epoch FROM now() - min(f.coalesce_start)), 1) AS span
        FROM (SELECT f.finished_at, coalesce(f.started_at, f.created_at) AS coalesce_start
              FROM vectorstore.job f
              WHERE f.sync_name = s.name AND f.status = 'completed'
                AND f.finished_at > now() - interval '5 minutes') f) t;

GRANT SELECT ON sync_rows, sync_progress TO PUBLIC;

COMMENT ON TABLE sync IS 'Table syncs defined with vs_sync_create(); each role sees its own.';
COMMENT ON TABLE sync_row IS 'Per sync and row key: the content hash last queued and its job.';
COMMENT ON VIEW sync_rows IS 'Row key to file id for each sync: join vs_search() results here.';
COMMENT ON VIEW sync_progress IS 'Per sync: rows queued, in flight, attached, failed, and the estimated time left.';
COMMENT ON FUNCTION _sync_before_insert() IS 'Internal trigger: a sync belongs to the role that creates it.';
COMMENT ON FUNCTION _sync_trigger() IS 'Internal trigger of trigger-mode syncs: vs_sync_run() as the sync''s owner.';
COMMENT ON FUNCTION _sync_query(sync) IS 'Internal: the SELECT a sync reads its source with.';

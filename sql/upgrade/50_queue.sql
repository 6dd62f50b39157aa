
---------------------------------------------------------------------------
-- The queue and table sync (issue 10): roles reach them only through
-- functions, owners and sources by name, the state machine as SQL
-- functions; dump and restore keep them, a copy starts paused (issue 15).
-- This file migrates the 0.1.0 tables and drops what is replaced; the
-- functions, views and comments are then made by the install's own files,
-- linked here (51_queue_functions.sql, 61_sync_functions.sql), so an update
-- and a fresh install run the same text (test/t/090_upgrade.pl compares the
-- outcome with a fresh install object by object).
---------------------------------------------------------------------------

-- What 0.1.0 let roles do directly, and the objects that are replaced.
DROP VIEW vectorstore.worker_status, vectorstore.recent_failures, vectorstore.queue_depth,
    vectorstore.jobs, vectorstore.sync_progress, vectorstore.sync_rows;
DROP TRIGGER job_before_insert ON vectorstore.job;
DROP TRIGGER job_before_update ON vectorstore.job;
DROP TRIGGER job_wake ON vectorstore.job;
DROP TRIGGER sync_before_insert ON vectorstore.sync;
DROP POLICY job_owner ON vectorstore.job;
DROP POLICY sync_owner ON vectorstore.sync;
DROP POLICY sync_row_owner ON vectorstore.sync_row;
ALTER TABLE vectorstore.job DISABLE ROW LEVEL SECURITY;
ALTER TABLE vectorstore.sync DISABLE ROW LEVEL SECURITY;
ALTER TABLE vectorstore.sync_row DISABLE ROW LEVEL SECURITY;
REVOKE ALL ON vectorstore.job, vectorstore.worker_state, vectorstore.sync, vectorstore.sync_row FROM PUBLIC;
REVOKE ALL ON SEQUENCE vectorstore.job_id_seq FROM PUBLIC;
DROP FUNCTION vectorstore.vs_enqueue_upload(text, text, bytea, jsonb, jsonb),
    vectorstore.vs_enqueue_upload(text, text, text, jsonb, jsonb),
    vectorstore.vs_job_retry(bigint), vectorstore.vs_job_cancel(bigint),
    vectorstore.vs_sync_create(text, regclass, text, text, text, text[], text, jsonb, boolean),
    vectorstore.vs_sync_run(text), vectorstore.vs_sync_drop(text, boolean),
    vectorstore._sync_query(vectorstore.sync),
    vectorstore._job_before_insert(), vectorstore._job_before_update(),
    vectorstore._sync_before_insert(), vectorstore._queue_wake(),
    vectorstore._credential_current_name(), vectorstore._job_validate(jsonb, jsonb),
    vectorstore._current_user_is_superuser(), vectorstore._current_user_oid();

-- Jobs: the owner by name (a job of a role dropped since 0.1.0 keeps the
-- name "unknown (OID=n)" and fails when sent), a secret per job, request
-- options, the target of an upload, attach-alone.
ALTER TABLE vectorstore.job RENAME COLUMN owner TO owner_oid;
ALTER TABLE vectorstore.job ADD COLUMN owner name;
UPDATE vectorstore.job j SET owner = pg_catalog.pg_get_userbyid(j.owner_oid);
ALTER TABLE vectorstore.job ALTER COLUMN owner SET NOT NULL;
ALTER TABLE vectorstore.job DROP COLUMN owner_oid;
ALTER TABLE vectorstore.job
    ADD COLUMN request_options jsonb,
    ADD COLUMN secret text NOT NULL DEFAULT pg_catalog.replace(pg_catalog.gen_random_uuid()::text, '-', ''),
    ADD COLUMN target text,
    ADD COLUMN solo boolean NOT NULL DEFAULT false,
    ADD COLUMN throttles integer NOT NULL DEFAULT 0 CHECK (throttles >= 0),
    ADD COLUMN origin text,
    ADD CONSTRAINT job_attempts_check CHECK (attempts >= 0),
    DROP CONSTRAINT job_check,
    DROP CONSTRAINT job_check1;
ALTER TABLE vectorstore.job
    ADD CONSTRAINT job_check CHECK (kind = 'delete' OR filename IS NOT NULL),
    ADD CONSTRAINT job_check1 CHECK (kind = 'delete' OR content IS NOT NULL
                                     OR status IN ('completed', 'failed', 'cancelled')),
    ADD CONSTRAINT job_check2 CHECK (kind = 'upload' OR replaces_job IS NOT NULL);
-- 0.1.0 uploads whose answer was lost carry 0.1.0's guessable marker: they
-- are not adopted but sent again (the sweep requeues them at once).
UPDATE vectorstore.job j SET not_before = pg_catalog.now()
 WHERE j.status = 'uploading' AND j.file_id IS NULL;
DROP INDEX vectorstore.job_orphan_idx;
CREATE INDEX job_turn_idx ON vectorstore.job (status, owner, (coalesce(credential, '')), not_before, id)
    WHERE status IN ('queued', 'uploaded', 'deleting');
CREATE INDEX job_discard_idx ON vectorstore.job (not_before)
    WHERE status IN ('failed', 'cancelled') AND file_id IS NOT NULL AND kind <> 'delete';
-- ... and in turns per owner and credential (the removals' fair pick).
CREATE INDEX job_discard_turn_idx ON vectorstore.job (owner, (coalesce(credential, '')), not_before, id)
    WHERE status IN ('failed', 'cancelled') AND file_id IS NOT NULL AND kind <> 'delete';
CREATE INDEX job_lost_idx ON vectorstore.job (owner, (coalesce(credential, '')), not_before)
    WHERE status = 'uploading' AND file_id IS NULL;

-- The worker's state: the row 0.1.0's script made stays (a dump now carries
-- it); it takes this database's identity, and is keyed by its nonce, in
-- 55_restore.sql (the functions it uses come in 51).
ALTER TABLE vectorstore.worker_state
    ADD COLUMN system_identifier text,
    ADD COLUMN database_oid oid,
    ADD COLUMN nonce text,
    ADD COLUMN made_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    ADD COLUMN paused boolean NOT NULL DEFAULT false,
    ADD COLUMN paused_reason text,
    ADD COLUMN paused_at timestamptz,
    ADD COLUMN uploads_adopted bigint NOT NULL DEFAULT 0,
    ADD COLUMN jobs_purged bigint NOT NULL DEFAULT 0,
    ADD COLUMN last_purge_at timestamptz,
    DROP COLUMN sweep_due_at,
    DROP COLUMN last_sweep_at,
    ALTER COLUMN token DROP DEFAULT;
UPDATE vectorstore.worker_state s SET nonce = pg_catalog.replace(pg_catalog.gen_random_uuid()::text, '-', '');
ALTER TABLE vectorstore.worker_state ALTER COLUMN nonce SET NOT NULL;

CREATE TABLE vectorstore.sweep (
    owner              name NOT NULL,
    credential         text NOT NULL,
    due_at             timestamptz,
    listing_started_at timestamptz,
    cursor             text,
    pages              integer NOT NULL DEFAULT 0,
    errors             integer NOT NULL DEFAULT 0,
    last_done_at       timestamptz,
    last_error         text,
    PRIMARY KEY (owner, credential)
);
REVOKE ALL ON vectorstore.sweep FROM PUBLIC;

-- Syncs: owner by name, source by qualified name, the credential their jobs
-- use (that of the sync's latest job, as 0.1.0 took the runner's), request
-- options, the last error of a run by the worker.
ALTER TABLE vectorstore.sync RENAME COLUMN owner TO owner_oid;
ALTER TABLE vectorstore.sync RENAME COLUMN source TO source_oid;
ALTER TABLE vectorstore.sync ADD COLUMN owner name, ADD COLUMN source text,
    ADD COLUMN request_options jsonb, ADD COLUMN credential text,
    ADD COLUMN last_error text, ADD COLUMN retry_at timestamptz,
    ADD COLUMN errors integer NOT NULL DEFAULT 0 CHECK (errors >= 0);
UPDATE vectorstore.sync y SET owner = pg_catalog.pg_get_userbyid(y.owner_oid),
       source = coalesce((SELECT pg_catalog.quote_ident(n.nspname) OPERATOR(pg_catalog.||) '.'
                                 OPERATOR(pg_catalog.||) pg_catalog.quote_ident(c.relname)
                          FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                          WHERE c.oid = y.source_oid),
                         pg_catalog.format('pg_catalog."missing relation %s"', y.source_oid)),
       credential = (SELECT j.credential FROM vectorstore.job j WHERE j.sync_name = y.name
                     ORDER BY j.id DESC LIMIT 1);
ALTER TABLE vectorstore.sync ALTER COLUMN owner SET NOT NULL, ALTER COLUMN source SET NOT NULL;
ALTER TABLE vectorstore.sync DROP COLUMN owner_oid, DROP COLUMN source_oid;
CREATE INDEX sync_row_job_idx ON vectorstore.sync_row (job_id);

CREATE TABLE vectorstore.sync_change (
    id         bigserial PRIMARY KEY,
    sync_name  text NOT NULL,
    relid      oid NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
REVOKE ALL ON vectorstore.sync_change FROM PUBLIC;
REVOKE ALL ON SEQUENCE vectorstore.sync_change_id_seq FROM PUBLIC;
CREATE INDEX sync_change_name_idx ON vectorstore.sync_change (sync_name, id);
-- The worker runs every trigger-mode sync once: until this update, the
-- trigger of a database at 0.1.0 served by this library recorded nothing.
INSERT INTO vectorstore.sync_change (sync_name, relid)
SELECT y.name, pg_catalog.to_regclass(y.source) FROM vectorstore.sync y
WHERE y.use_trigger AND pg_catalog.to_regclass(y.source) IS NOT NULL;

SELECT pg_catalog.pg_extension_config_dump('vectorstore.job', '');
SELECT pg_catalog.pg_extension_config_dump('vectorstore.job_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('vectorstore.worker_state', '');
SELECT pg_catalog.pg_extension_config_dump('vectorstore.sweep', '');
SELECT pg_catalog.pg_extension_config_dump('vectorstore.sync', '');
SELECT pg_catalog.pg_extension_config_dump('vectorstore.sync_row', '');

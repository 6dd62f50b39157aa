
---------------------------------------------------------------------------
-- The durable upload queue and its state machine (the background worker,
-- src/worker.c and src/step.c, runs it; doc/worker.md draws the diagram)
---------------------------------------------------------------------------
-- A job is one file to upload and attach (kind 'upload'), one to upload and
-- attach in place of an older job's file (kind 'replace': the old file is
-- detached and deleted once the new one is searchable), or an older job's
-- file to detach and delete (kind 'delete'). Jobs are ordinary logged rows:
-- an enqueue that rolls back leaves nothing, a committed one survives any
-- crash.
--
-- Roles reach these tables only through functions: PUBLIC has no privilege
-- on any table or sequence here. vs_enqueue_upload(), vs_job_cancel(),
-- vs_job_retry() and the sync functions are C functions that take the
-- caller's identity (GetUserId()) first and then run the transition below
-- as the extension's owner, in a security-restricted operation. Roles read
-- their own rows through the views at the end of this part.
--
-- Every state and every transition is a function in this file; none is
-- executable by PUBLIC, and each runs with search_path = pg_catalog, pg_temp.
-- The worker calls them by name with arrays and writes no UPDATE of its own.
--
--   queued ──claim──▶ uploading ──uploaded──▶ uploaded ──claim──▶ attaching
--     ▲                 │  answer lost: the sweep adopts its file,      │ batch
--     └──── requeue ────┘  or requeues it                               ▼ polled
--   deleting ◀──── replace jobs, once their file is searchable ──── completed
--      └──── the older file detached and deleted ────▶ completed
--   any unfinished state ──▶ failed (permanent error, attempts used up,
--                            authority gone) | cancelled (vs_job_cancel)
--
-- Every claim sets not_before to the end of a lease: a claim whose outcome is
-- never recorded (the worker died, a record raised, a row was locked) is
-- claimable again when the lease ends (an upload's lease is the reconcile
-- delay: the sweep decides it).
CREATE TABLE vectorstore.job (
    id                bigserial PRIMARY KEY,
    kind              text NOT NULL DEFAULT 'upload'
                      CHECK (kind IN ('upload', 'replace', 'delete')),
    vector_store_id   text NOT NULL,
    filename          text,
    content           bytea,
    attributes        jsonb,
    chunking_strategy jsonb,
    request_options   jsonb,
    owner             name NOT NULL,
    credential        text,
    secret            text NOT NULL DEFAULT pg_catalog.replace(pg_catalog.gen_random_uuid()::text, '-', ''),
    status            text NOT NULL DEFAULT 'queued'
                      CHECK (status IN ('queued', 'uploading', 'uploaded', 'attaching',
                                        'deleting', 'completed', 'failed', 'cancelled')),
    file_id           text,
    replaces_job      bigint,
    batch_id          text,
    target            text,
    solo              boolean NOT NULL DEFAULT false,
    attempts          integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error        text,
    not_before        timestamptz NOT NULL DEFAULT pg_catalog.now(),
    sync_name         text,
    row_key           text,
    created_at        timestamptz NOT NULL DEFAULT pg_catalog.now(),
    started_at        timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT pg_catalog.now(),
    finished_at       timestamptz,
    throttles         integer NOT NULL DEFAULT 0 CHECK (throttles >= 0),
    -- the identity row (worker_state.nonce) of the database the job was
    -- queued in (the default: 55_worker_row.sql); the worker sends nothing
    -- while a job of another's is here (a restore, a copy) until resumed
    origin            text,
    -- content may be purged once a job has finished (vectorstore.job_retention)
    CHECK (kind = 'delete' OR filename IS NOT NULL),
    CHECK (kind = 'delete' OR content IS NOT NULL
           OR status IN ('completed', 'failed', 'cancelled')),
    CHECK (kind = 'upload' OR replaces_job IS NOT NULL)
);
CREATE INDEX job_origin_idx ON vectorstore.job (origin);
CREATE INDEX job_active_idx ON vectorstore.job (status, not_before)
    WHERE status NOT IN ('completed', 'failed', 'cancelled');
-- The fair claim: per status, one run per (owner, credential) in the order
-- its jobs are due (not_before, id), so a claim reads the due jobs only and
-- stops at the first one backed off (058_claim_backoff_scan).
CREATE INDEX job_turn_idx ON vectorstore.job (status, owner, (coalesce(credential, '')), not_before, id)
    WHERE status IN ('queued', 'uploaded', 'deleting');
CREATE INDEX job_file_idx ON vectorstore.job (file_id) WHERE file_id IS NOT NULL;
CREATE INDEX job_finished_idx ON vectorstore.job (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX job_replaces_idx ON vectorstore.job (replaces_job) WHERE replaces_job IS NOT NULL;
CREATE INDEX job_batch_idx ON vectorstore.job (batch_id) WHERE status = 'attaching';
-- Files of failed or cancelled jobs still to be deleted.
CREATE INDEX job_discard_idx ON vectorstore.job (not_before)
    WHERE status IN ('failed', 'cancelled') AND file_id IS NOT NULL AND kind <> 'delete';
-- ... and in turns per owner and credential (the removals' fair pick).
CREATE INDEX job_discard_turn_idx ON vectorstore.job (owner, (coalesce(credential, '')), not_before, id)
    WHERE status IN ('failed', 'cancelled') AND file_id IS NOT NULL AND kind <> 'delete';
-- Uploads whose answer was lost, per owner and credential (the sweep).
CREATE INDEX job_lost_idx ON vectorstore.job (owner, (coalesce(credential, '')), not_before)
    WHERE status = 'uploading' AND file_id IS NULL;
REVOKE ALL ON vectorstore.job FROM PUBLIC;
REVOKE ALL ON SEQUENCE vectorstore.job_id_seq FROM PUBLIC;

-- This database's worker: the identity its upload markers are tied to,
-- whether it is paused, its heartbeat and counters. A row per identity
-- (cluster, database) whose work the database holds: the script makes this
-- database's (55_worker_row.sql), a dump carries them, and a row of another
-- identity means the database is a copy (51_queue_functions.sql,
-- _worker_copy_of). Keyed by a random nonce, so a restored row never
-- conflicts with the one the restore's CREATE EXTENSION made.
CREATE TABLE vectorstore.worker_state (
    nonce              text PRIMARY KEY,
    system_identifier  text NOT NULL,
    database_oid       oid NOT NULL,
    made_at            timestamptz NOT NULL DEFAULT pg_catalog.now(),
    token              text NOT NULL,
    paused             boolean NOT NULL DEFAULT false,
    paused_reason      text,
    paused_at          timestamptz,
    pid                integer,
    started_at         timestamptz,
    heartbeat_at       timestamptz,
    jobs_done          bigint NOT NULL DEFAULT 0,
    jobs_failed        bigint NOT NULL DEFAULT 0,
    files_uploaded     bigint NOT NULL DEFAULT 0,
    uploads_adopted    bigint NOT NULL DEFAULT 0,
    duplicates_deleted bigint NOT NULL DEFAULT 0,
    jobs_purged        bigint NOT NULL DEFAULT 0,
    last_purge_at      timestamptz,
    last_error         text
);
REVOKE ALL ON vectorstore.worker_state FROM PUBLIC;

-- The sweep, per owner and credential: when it is due, and where a listing
-- of /files that spans several passes has got to.
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

-- pg_dump keeps what users made, and the identity rows (worker_state: the
-- script makes this database's, so that a restore knows it is a copy).
SELECT pg_catalog.pg_extension_config_dump('vectorstore.job', '');
SELECT pg_catalog.pg_extension_config_dump('vectorstore.job_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('vectorstore.worker_state', '');
SELECT pg_catalog.pg_extension_config_dump('vectorstore.sweep', '');

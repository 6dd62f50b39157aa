
---------------------------------------------------------------------------
-- Table sync: keep a vector store holding one file per row of a table
---------------------------------------------------------------------------
-- The difference between a table and its store is computed by one C
-- function (sync.c) as the sync's owner: by vs_sync_run() in the caller's
-- session, or by the worker in its own process for trigger-mode syncs, whose
-- trigger only records that the table changed (sync_change). It hashes each
-- row's content and attributes and hands them, a chunk at a time, to
-- _sync_apply(), which queues 'upload' jobs for new rows and 'replace' jobs
-- for changed ones (the new file is attached before the old one is detached
-- and deleted); _sync_finish() queues 'delete' jobs for rows that are gone.
-- No role may read or change these tables: the functions and views below
-- are the way in, and each role sees only its own syncs.
CREATE TABLE vectorstore.sync (
    name              text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_.-]{1,63}$'),
    source            text NOT NULL,
    vector_store_id   text NOT NULL,
    key_column        text NOT NULL,
    content           text NOT NULL,
    attribute_columns text[],
    filename_pattern  text NOT NULL DEFAULT '%s.txt',
    chunking_strategy jsonb,
    request_options   jsonb,
    credential        text,
    use_trigger       boolean NOT NULL DEFAULT false,
    owner             name NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT pg_catalog.now(),
    last_run_at       timestamptz,
    last_run          jsonb,
    last_error        text,
    retry_at          timestamptz,
    errors            integer NOT NULL DEFAULT 0 CHECK (errors >= 0)
);
REVOKE ALL ON vectorstore.sync FROM PUBLIC;

CREATE TABLE vectorstore.sync_row (
    sync_name    text NOT NULL REFERENCES vectorstore.sync(name) ON DELETE CASCADE,
    row_key      text NOT NULL,
    content_hash text NOT NULL,
    job_id       bigint NOT NULL,
    PRIMARY KEY (sync_name, row_key)
);
REVOKE ALL ON vectorstore.sync_row FROM PUBLIC;
CREATE INDEX job_sync_idx ON vectorstore.job (sync_name, row_key) WHERE sync_name IS NOT NULL;
CREATE INDEX sync_row_job_idx ON vectorstore.sync_row (job_id);

-- Append-only: a trigger-mode sync's source changed (by a committed
-- statement). No unique index, so writers never wait on each other here.
CREATE TABLE vectorstore.sync_change (
    id         bigserial PRIMARY KEY,
    sync_name  text NOT NULL,
    relid      oid NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
REVOKE ALL ON vectorstore.sync_change FROM PUBLIC;
REVOKE ALL ON SEQUENCE vectorstore.sync_change_id_seq FROM PUBLIC;
CREATE INDEX sync_change_name_idx ON vectorstore.sync_change (sync_name, id);

SELECT pg_catalog.pg_extension_config_dump('vectorstore.sync', '');
SELECT pg_catalog.pg_extension_config_dump('vectorstore.sync_row', '');

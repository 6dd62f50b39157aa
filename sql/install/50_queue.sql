
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
CREATE TABLE vectorstore.job (
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
CREATE INDEX job_active_idx ON vectorstore.job (status, not_before)
    WHERE status NOT IN ('completed', 'failed', 'cancelled');
CREATE INDEX job_file_idx ON vectorstore.job (file_id) WHERE file_id IS NOT NULL;
CREATE INDEX job_finished_idx ON vectorstore.job (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX job_replaces_idx ON vectorstore.job (replaces_job) WHERE replaces_job IS NOT NULL;
-- The jobs of a file batch the worker polls (only while they are attaching).
CREATE INDEX job_batch_idx ON vectorstore.job (batch_id) WHERE status = 'attaching';
-- The sweep's check for files of failed or cancelled jobs, run every pass.
CREATE INDEX job_orphan_idx ON vectorstore.job (id)
    WHERE status IN ('failed', 'cancelled') AND file_id IS NOT NULL AND kind <> 'delete';

ALTER TABLE vectorstore.job ENABLE ROW LEVEL SECURITY;
CREATE POLICY job_owner ON vectorstore.job
    USING (owner OPERATOR(pg_catalog.=) (SELECT r.oid FROM pg_catalog.pg_roles r
                                         WHERE r.rolname OPERATOR(pg_catalog.=) current_user));
REVOKE ALL ON vectorstore.job FROM PUBLIC;
GRANT SELECT, INSERT ON vectorstore.job TO PUBLIC;
GRANT UPDATE (status, attempts, last_error, not_before, finished_at, updated_at) ON vectorstore.job TO PUBLIC;
GRANT USAGE ON SEQUENCE vectorstore.job_id_seq TO PUBLIC;

-- One row: this database's worker and the marker its uploads carry.
CREATE TABLE vectorstore.worker_state (
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
INSERT INTO vectorstore.worker_state DEFAULT VALUES;
REVOKE ALL ON vectorstore.worker_state FROM PUBLIC;
GRANT SELECT ON vectorstore.worker_state TO PUBLIC;

-- C helpers (queue.c)
CREATE FUNCTION vectorstore._credential_current_name() RETURNS text
    AS 'MODULE_PATHNAME', 'vs_credential_current_name' LANGUAGE C VOLATILE;
CREATE FUNCTION vectorstore._job_validate(attributes jsonb, chunking_strategy jsonb) RETURNS void
    AS 'MODULE_PATHNAME', 'vs_job_validate' LANGUAGE C IMMUTABLE;
CREATE FUNCTION vectorstore._current_user_is_superuser() RETURNS boolean
    AS 'MODULE_PATHNAME', 'vs_current_user_is_superuser' LANGUAGE C VOLATILE;
CREATE FUNCTION vectorstore._current_user_oid() RETURNS oid
    AS 'MODULE_PATHNAME', 'vs_current_user_oid' LANGUAGE C VOLATILE;
CREATE FUNCTION vectorstore._queue_wake() RETURNS trigger
    AS 'MODULE_PATHNAME', 'vs_queue_wake' LANGUAGE C;

-- Fill in who enqueued and with which credential; refuse forged rows.
CREATE FUNCTION vectorstore._job_before_insert() RETURNS trigger
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
CREATE FUNCTION vectorstore._job_before_update() RETURNS trigger
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

CREATE TRIGGER job_before_insert BEFORE INSERT ON vectorstore.job
    FOR EACH ROW EXECUTE FUNCTION vectorstore._job_before_insert();
-- The WHEN clause spares the function call where it would return NEW at once
-- (the worker, a superuser, updates thousands of rows a second).
CREATE TRIGGER job_before_update BEFORE UPDATE ON vectorstore.job
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
                       AND NOT vectorstore._current_user_is_superuser())
    EXECUTE FUNCTION vectorstore._job_before_update();
-- Wake this database's worker when the transaction commits.
CREATE TRIGGER job_wake AFTER INSERT OR UPDATE ON vectorstore.job
    FOR EACH STATEMENT EXECUTE FUNCTION vectorstore._queue_wake();

---------------------------------------------------------------------------
-- Enqueueing and managing jobs
---------------------------------------------------------------------------
CREATE FUNCTION vectorstore.vs_enqueue_upload(vector_store_id text, filename text, content bytea,
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

CREATE FUNCTION vectorstore.vs_enqueue_upload(vector_store_id text, filename text, content text,
                                  attributes jsonb DEFAULT NULL,
                                  chunking_strategy jsonb DEFAULT NULL)
RETURNS bigint LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT vectorstore.vs_enqueue_upload(vector_store_id, filename,
                                         convert_to(content, 'UTF8'),
                                         attributes, chunking_strategy)
$$;

CREATE FUNCTION vectorstore.vs_job_retry(job_id bigint) RETURNS boolean
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

CREATE FUNCTION vectorstore.vs_job_cancel(job_id bigint) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE vectorstore.job j
       SET status = 'cancelled', finished_at = now(), updated_at = now()
     WHERE j.id = job_id AND j.status NOT IN ('completed', 'failed', 'cancelled');
    RETURN FOUND;
END $$;

COMMENT ON FUNCTION vectorstore.vs_enqueue_upload(text, text, bytea, jsonb, jsonb) IS
  'Queue a file for upload and attachment to a vector store by the background worker; returns the job id at once. Transactional: nothing is sent unless the transaction commits.';
COMMENT ON FUNCTION vectorstore.vs_enqueue_upload(text, text, text, jsonb, jsonb) IS
  'Queue a text file (sent as UTF-8) for upload and attachment to a vector store by the background worker; returns the job id.';
COMMENT ON FUNCTION vectorstore.vs_job_retry(bigint) IS
  'Send a failed or cancelled job of yours back to the worker (attempts start again at 0); returns whether it was requeued.';
COMMENT ON FUNCTION vectorstore.vs_job_cancel(bigint) IS
  'Cancel a job of yours that has not finished; a file it already uploaded is deleted by the worker. Returns whether it was cancelled.';

---------------------------------------------------------------------------
-- Monitoring (views run with the caller's rights: roles see their own jobs)
---------------------------------------------------------------------------
CREATE VIEW vectorstore.jobs WITH (security_invoker = true) AS
    SELECT j.id, j.kind, j.vector_store_id, j.filename, octet_length(j.content) AS bytes,
           j.attributes, j.owner::regrole AS owner, j.credential, j.status, j.file_id,
           j.replaces_job, j.batch_id, j.attempts, j.last_error, j.not_before,
           j.sync_name, j.row_key, j.created_at, j.started_at, j.updated_at, j.finished_at
    FROM vectorstore.job j;

CREATE VIEW vectorstore.queue_depth WITH (security_invoker = true) AS
    SELECT j.vector_store_id, j.status, count(*) AS jobs,
           min(j.created_at) AS oldest, max(j.updated_at) AS last_change
    FROM vectorstore.job j
    GROUP BY j.vector_store_id, j.status;

CREATE VIEW vectorstore.recent_failures WITH (security_invoker = true) AS
    SELECT j.id, j.kind, j.vector_store_id, j.filename, j.owner::regrole AS owner,
           j.attempts, j.last_error, j.finished_at
    FROM vectorstore.job j
    WHERE j.status = 'failed' AND j.finished_at > now() - interval '1 day'
    ORDER BY j.finished_at DESC;

CREATE VIEW vectorstore.worker_status WITH (security_invoker = true) AS
    SELECT w.pid, a.backend_type, a.application_name, w.started_at, w.heartbeat_at,
           now() - w.heartbeat_at AS since_heartbeat,
           w.jobs_done, w.jobs_failed, w.files_uploaded, w.duplicates_deleted,
           (SELECT count(*) FROM vectorstore.job j WHERE j.status NOT IN ('completed', 'failed', 'cancelled')) AS jobs_pending,
           (SELECT count(*) FROM vectorstore.job j WHERE j.status = 'completed'
              AND j.finished_at > now() - interval '1 minute')::float8 / 60 AS jobs_per_second,
           w.sweep_due_at, w.last_sweep_at, w.last_error
    FROM vectorstore.worker_state w
    LEFT JOIN pg_stat_activity a ON a.pid = w.pid;

GRANT SELECT ON vectorstore.jobs, vectorstore.queue_depth, vectorstore.recent_failures, vectorstore.worker_status TO PUBLIC;

COMMENT ON TABLE vectorstore.job IS
  'The durable upload queue processed by the background worker; each role sees its own rows.';
COMMENT ON TABLE vectorstore.worker_state IS
  'This database''s worker: heartbeat, counters, the marker token of its uploads, sweep schedule.';
COMMENT ON VIEW vectorstore.jobs IS 'Your queued jobs without their content.';
COMMENT ON VIEW vectorstore.queue_depth IS 'Jobs per vector store and status.';
COMMENT ON VIEW vectorstore.recent_failures IS 'Jobs that failed in the last day, newest first.';
COMMENT ON VIEW vectorstore.worker_status IS 'The worker of this database: liveness, counters and throughput.';
COMMENT ON FUNCTION vectorstore._credential_current_name() IS
  'Internal: the credential name the session''s requests use (NULL: the settings).';
COMMENT ON FUNCTION vectorstore._job_validate(jsonb, jsonb) IS
  'Internal: validate a job''s attributes and chunking_strategy as the API would.';
COMMENT ON FUNCTION vectorstore._current_user_is_superuser() IS
  'Internal: whether the current user is a superuser (for the job table''s update trigger).';
COMMENT ON FUNCTION vectorstore._current_user_oid() IS
  'Internal: the oid of current_user (the owner of the jobs a session queues).';
COMMENT ON FUNCTION vectorstore._queue_wake() IS
  'Internal trigger: wake this database''s worker when the transaction commits.';
COMMENT ON FUNCTION vectorstore._job_before_insert() IS
  'Internal trigger: fill in a job''s owner and credential from the session.';
COMMENT ON FUNCTION vectorstore._job_before_update() IS
  'Internal trigger: roles other than superusers may only cancel or retry their jobs.';

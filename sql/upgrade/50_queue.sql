
---------------------------------------------------------------------------
-- The queue and table sync (issue 10): roles reach them only through
-- functions, owners and sources by name, the state machine as SQL
-- functions; dump and restore keep them, a copy starts paused (issue 15).
-- The first half migrates the 0.1.0 tables and drops what is replaced; the
-- second half is the functions, views and comments of
-- sql/install/50_queue.sql and 60_sync.sql as they are (test/t/090_upgrade.pl
-- compares the outcome with a fresh install object by object).
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
CREATE INDEX job_turn_idx ON vectorstore.job (status, owner, (coalesce(credential, '')), id)
    WHERE status IN ('queued', 'uploaded', 'deleting');
CREATE INDEX job_discard_idx ON vectorstore.job (not_before)
    WHERE status IN ('failed', 'cancelled') AND file_id IS NOT NULL AND kind <> 'delete';
CREATE INDEX job_lost_idx ON vectorstore.job (owner, (coalesce(credential, '')), not_before)
    WHERE status = 'uploading' AND file_id IS NULL;

-- The worker's state: the row 0.1.0's script made stays (a dump now carries
-- it); its identity is taken by the first worker of this library.
ALTER TABLE vectorstore.worker_state
    ADD COLUMN system_identifier text,
    ADD COLUMN database_oid oid,
    ADD COLUMN nonce text,
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

---------------------------------------------------------------------------
-- As in sql/install/50_queue.sql and 60_sync.sql
---------------------------------------------------------------------------
-- C helpers (queue.c, worker.c)
CREATE FUNCTION vectorstore._queue_wake() RETURNS trigger
    AS 'MODULE_PATHNAME', 'vs_queue_wake' LANGUAGE C;
REVOKE ALL ON FUNCTION vectorstore._queue_wake() FROM PUBLIC;
-- Wake this database's worker when the transaction commits.
CREATE TRIGGER job_wake AFTER INSERT OR UPDATE ON vectorstore.job
    FOR EACH STATEMENT EXECUTE FUNCTION vectorstore._queue_wake();

---------------------------------------------------------------------------
-- The one retry policy
---------------------------------------------------------------------------
-- How long a job waits after its n-th failed try: what the server or the
-- classifier asked for (delay_ms), and at least 0.5 s doubling per attempt
-- up to a minute. Computed without overflow whatever the attempts.
CREATE FUNCTION vectorstore._job_backoff(p_attempts integer, p_delay_ms integer) RETURNS interval
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN greatest(least(greatest(p_delay_ms, 0), 3600000),
                               least(500 * (1 << least(greatest(p_attempts, 0), 7)),
                                                60000))
           * interval '1 millisecond';
END
$$;

-- A try of jobs that did not succeed, by the outcome of its request
-- (outcome.c's classifier: 'retry', 'throttle', 'unknown', 'permanent'):
--   throttle   back to retry_status after the credential's hold (delay_ms:
--              at least what the server asked, doubling with every 429 of
--              the credential in a row, from 1 s up to a minute; step.c's
--              vq_throttle_set), never less than 1 s; costs no attempt but
--              counts in throttles: the job fails with the 429 after
--              max_throttles of them (vectorstore.worker_max_throttles)
--   retry      back to retry_status after the back-off; one attempt
--   unknown    an upload (retry_status 'queued') whose answer was lost:
--              stays 'uploading' without a file id until the sweep
--              (reconcile_ms from now); one attempt. Elsewhere as retry.
--   permanent  failed now
--   unsent     never sent (a request withdrawn before it started: its
--              credential's server stopped answering): back to
--              retry_status at once; costs no attempt and no throttle
-- A job that has used max_attempts fails. A job finished meanwhile
-- (cancelled), or no longer in the state its claim put it in (an upload
-- adopted by the sweep while its request was still in flight), is left as
-- it is. Rows someone holds locked are skipped (their
-- lease ends and they are tried again). Returns how many failed.
CREATE FUNCTION vectorstore._job_record_failure(p_ids bigint[], p_outcomes text[], p_delays integer[],
                                                p_errors text[], p_retry_status text,
                                                p_max_attempts integer, p_reconcile_ms integer,
                                                p_targets text[], p_max_throttles integer,
                                                OUT failed integer)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    WITH f AS (SELECT * FROM unnest(p_ids, p_outcomes, p_delays, p_errors, p_targets)
               f(id, outcome, delay, err, target)),
    l AS (SELECT j.id, j.attempts, f.outcome, f.delay, f.err, f.target,
                 CASE WHEN f.outcome IN ('throttle', 'unsent') THEN j.attempts
                      ELSE least(j.attempts, 1000000) + 1 END AS tries,
                 CASE WHEN f.outcome = 'throttle' THEN least(j.throttles, 1000000) + 1
                      ELSE j.throttles END AS throttled,
                 f.outcome = 'permanent'
                 OR (f.outcome = 'throttle' AND least(j.throttles, 1000000) + 1 >= p_max_throttles)
                 OR (f.outcome NOT IN ('throttle', 'unsent')
                     AND least(j.attempts, 1000000) + 1 >= p_max_attempts)
                     AS gives_up
          FROM f JOIN vectorstore.job j ON j.id = f.id
          -- still where the claim put it: not finished, nor moved on meanwhile
          -- (an upload whose lease ended in flight and that the sweep adopted)
          WHERE j.status = CASE p_retry_status WHEN 'queued' THEN 'uploading'
                                               WHEN 'uploaded' THEN 'attaching'
                                               ELSE p_retry_status END
            AND (p_retry_status <> 'queued' OR j.file_id IS NULL)
          FOR UPDATE OF j SKIP LOCKED),
    u AS (UPDATE vectorstore.job j SET
            attempts = l.tries,
            throttles = l.throttled,
            last_error = CASE WHEN l.outcome = 'unsent' THEN j.last_error ELSE l.err END,
            status = CASE WHEN l.gives_up THEN 'failed'
                          WHEN l.outcome = 'unknown' AND p_retry_status = 'queued' THEN 'uploading'
                          ELSE p_retry_status END,
            file_id = CASE WHEN l.outcome = 'unknown' AND p_retry_status = 'queued' THEN NULL
                           ELSE j.file_id END,
            target = CASE WHEN l.outcome = 'unknown' AND p_retry_status = 'queued' THEN l.target
                          ELSE j.target END,
            batch_id = NULL,
            finished_at = CASE WHEN l.gives_up THEN pg_catalog.now() END,
            not_before = pg_catalog.now() +
                CASE WHEN l.outcome = 'unsent' THEN interval '0'
                     WHEN l.outcome = 'throttle'
                     THEN least(greatest(l.delay, 1000), 3600000) * interval '1 millisecond'
                     WHEN l.outcome = 'unknown' AND p_retry_status = 'queued'
                     THEN p_reconcile_ms * interval '1 millisecond'
                     ELSE vectorstore._job_backoff(l.attempts, l.delay) END,
            updated_at = pg_catalog.now()
          FROM l WHERE j.id = l.id
          RETURNING j.status)
    SELECT pg_catalog.count(*)::integer INTO failed FROM u WHERE u.status = 'failed';
END
$$;

-- Jobs that fail at once with their error (bad data, a bad id, authority
-- gone), whatever their state unless finished. Returns how many failed.
CREATE FUNCTION vectorstore._job_fail(p_ids bigint[], p_errors text[], OUT failed integer)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    WITH f AS (SELECT * FROM unnest(p_ids, p_errors) f(id, err)),
    l AS (SELECT j.id, f.err FROM f JOIN vectorstore.job j ON j.id = f.id
          WHERE j.status NOT IN ('completed', 'failed', 'cancelled')
          FOR UPDATE OF j SKIP LOCKED),
    u AS (UPDATE vectorstore.job j SET status = 'failed', last_error = l.err, batch_id = NULL,
                 attempts = least(j.attempts, 1000000) + 1,
                 finished_at = pg_catalog.now(), not_before = pg_catalog.now(),
                 updated_at = pg_catalog.now()
          FROM l WHERE j.id = l.id RETURNING 1)
    SELECT pg_catalog.count(*)::integer INTO failed FROM u;
END
$$;

---------------------------------------------------------------------------
-- Claims: fair between roles and credentials
---------------------------------------------------------------------------
-- Jobs of a status that are due, locked (SKIP LOCKED: what a role holds is
-- left alone) and in turns: the first due job of every (owner, credential),
-- then the second of each, ... so one role's thousands of jobs do not come
-- before another role's one. Credentials held back by a 429 are left out;
-- a credential listed in p_room_creds gets at most its p_room jobs (the
-- units the worker may still open for it: step.c's vq_room).
CREATE FUNCTION vectorstore._job_fair_pick(p_status text, p_throttled text[], p_max integer,
                                           p_room_creds text[], p_room integer[])
RETURNS TABLE (id bigint, turn bigint)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- one static query per status: the status is a literal, so the partial
    -- index job_turn_idx applies, and it is parsed and planned once per
    -- session, not at every claim (as EXECUTE would). A plan kept from when
    -- the job table was small would scan the whole table at every pass: the
    -- worker analyzes the table when it has doubled (worker.c), which makes
    -- the plans again.
    IF p_status = 'queued' THEN
        RETURN QUERY
        WITH RECURSIVE g(owner, cred) AS (
            (SELECT q.owner, coalesce(q.credential, '') FROM vectorstore.job q
             WHERE q.status = 'queued'
             ORDER BY q.owner, coalesce(q.credential, '') LIMIT 1)
            UNION ALL
            SELECT n.owner, n.cred FROM g, LATERAL (
                SELECT q.owner, coalesce(q.credential, '') AS cred FROM vectorstore.job q
                WHERE q.status = 'queued'
                  AND (q.owner, coalesce(q.credential, '')) > (g.owner, g.cred)
                ORDER BY q.owner, coalesce(q.credential, '') LIMIT 1) n),
        c AS (
            SELECT l.id, pg_catalog.row_number() OVER (PARTITION BY g.owner, g.cred ORDER BY l.id) AS turn
            FROM g CROSS JOIN LATERAL (
                SELECT q.id FROM vectorstore.job q
                WHERE q.status = 'queued' AND q.owner = g.owner
                  AND coalesce(q.credential, '') = g.cred
                  AND q.not_before <= pg_catalog.now() AND g.cred <> ALL (p_throttled)
                ORDER BY q.id
                LIMIT least(p_max, coalesce((SELECT r.room FROM unnest(p_room_creds, p_room) r(cred, room)
                                             WHERE r.cred = g.cred LIMIT 1), p_max))
                FOR UPDATE SKIP LOCKED) l)
        SELECT c.id, c.turn FROM c ORDER BY c.turn, c.id LIMIT p_max;
    ELSIF p_status = 'uploaded' THEN
        RETURN QUERY
        WITH RECURSIVE g(owner, cred) AS (
            (SELECT q.owner, coalesce(q.credential, '') FROM vectorstore.job q
             WHERE q.status = 'uploaded'
             ORDER BY q.owner, coalesce(q.credential, '') LIMIT 1)
            UNION ALL
            SELECT n.owner, n.cred FROM g, LATERAL (
                SELECT q.owner, coalesce(q.credential, '') AS cred FROM vectorstore.job q
                WHERE q.status = 'uploaded'
                  AND (q.owner, coalesce(q.credential, '')) > (g.owner, g.cred)
                ORDER BY q.owner, coalesce(q.credential, '') LIMIT 1) n),
        c AS (
            SELECT l.id, pg_catalog.row_number() OVER (PARTITION BY g.owner, g.cred ORDER BY l.id) AS turn
            FROM g CROSS JOIN LATERAL (
                SELECT q.id FROM vectorstore.job q
                WHERE q.status = 'uploaded' AND q.owner = g.owner
                  AND coalesce(q.credential, '') = g.cred
                  AND q.not_before <= pg_catalog.now() AND g.cred <> ALL (p_throttled)
                ORDER BY q.id
                LIMIT least(p_max, coalesce((SELECT r.room FROM unnest(p_room_creds, p_room) r(cred, room)
                                             WHERE r.cred = g.cred LIMIT 1), p_max))
                FOR UPDATE SKIP LOCKED) l)
        SELECT c.id, c.turn FROM c ORDER BY c.turn, c.id LIMIT p_max;
    ELSIF p_status = 'deleting' THEN
        RETURN QUERY
        WITH RECURSIVE g(owner, cred) AS (
            (SELECT q.owner, coalesce(q.credential, '') FROM vectorstore.job q
             WHERE q.status = 'deleting'
             ORDER BY q.owner, coalesce(q.credential, '') LIMIT 1)
            UNION ALL
            SELECT n.owner, n.cred FROM g, LATERAL (
                SELECT q.owner, coalesce(q.credential, '') AS cred FROM vectorstore.job q
                WHERE q.status = 'deleting'
                  AND (q.owner, coalesce(q.credential, '')) > (g.owner, g.cred)
                ORDER BY q.owner, coalesce(q.credential, '') LIMIT 1) n),
        c AS (
            SELECT l.id, pg_catalog.row_number() OVER (PARTITION BY g.owner, g.cred ORDER BY l.id) AS turn
            FROM g CROSS JOIN LATERAL (
                SELECT q.id FROM vectorstore.job q
                WHERE q.status = 'deleting' AND q.owner = g.owner
                  AND coalesce(q.credential, '') = g.cred
                  AND q.not_before <= pg_catalog.now() AND g.cred <> ALL (p_throttled)
                ORDER BY q.id
                LIMIT least(p_max, coalesce((SELECT r.room FROM unnest(p_room_creds, p_room) r(cred, room)
                                             WHERE r.cred = g.cred LIMIT 1), p_max))
                FOR UPDATE SKIP LOCKED) l)
        SELECT c.id, c.turn FROM c ORDER BY c.turn, c.id LIMIT p_max;
    ELSE
        RAISE EXCEPTION 'vectorstore: no fair pick for status %', p_status;
    END IF;
END
$$ ROWS 50;

-- queued -> uploading: at most max_jobs and about max_bytes of content (one
-- larger file is taken alone). The lease is the reconcile delay: an upload
-- never recorded is the sweep's to decide.
CREATE FUNCTION vectorstore._job_claim_uploads(p_throttled text[], p_lease_ms integer,
                                               p_max_jobs integer, p_max_bytes bigint,
                                               p_room_creds text[], p_room integer[])
RETURNS TABLE (id bigint, owner name, credential text, filename text, content bytea,
               secret text, request_options jsonb)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN QUERY
    WITH p AS (SELECT f.id, f.turn,
                      (SELECT pg_catalog.octet_length(j.content) FROM vectorstore.job j
                       WHERE j.id = f.id) AS bytes
               FROM vectorstore._job_fair_pick('queued', p_throttled, p_max_jobs,
                                                       p_room_creds, p_room) f),
    pick AS (SELECT s.id FROM (SELECT p.id, pg_catalog.row_number() OVER w AS n,
                                      pg_catalog.sum(p.bytes) OVER w AS total
                               FROM p WINDOW w AS (ORDER BY p.turn, p.id)) s
             WHERE s.n = 1 OR s.total <= p_max_bytes)
    UPDATE vectorstore.job j SET status = 'uploading', updated_at = pg_catalog.now(),
           started_at = coalesce(j.started_at, pg_catalog.now()),
           target = NULL,
           not_before = pg_catalog.now() + p_lease_ms * interval '1 millisecond'
    WHERE j.id = ANY (ARRAY(SELECT pick.id FROM pick))
    RETURNING j.id, j.owner, j.credential, j.filename, j.content, j.secret, j.request_options;
END
$$;


-- uploading -> uploaded: POST /files answered with the file's id. A job
-- cancelled meanwhile keeps its status but gets the file id, so the file is
-- deleted. Returns how many were recorded.
CREATE FUNCTION vectorstore._job_record_uploaded(p_ids bigint[], p_file_ids text[], OUT recorded integer)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    WITH f AS (SELECT * FROM unnest(p_ids, p_file_ids) f(id, fid)),
    l AS (SELECT j.id, f.fid FROM f JOIN vectorstore.job j ON j.id = f.id
          WHERE j.file_id IS NULL AND j.status IN ('uploading', 'queued', 'failed', 'cancelled')
          FOR UPDATE OF j SKIP LOCKED),
    u AS (UPDATE vectorstore.job j SET file_id = l.fid, last_error = NULL,
                 status = CASE WHEN j.status IN ('uploading', 'queued') THEN 'uploaded' ELSE j.status END,
                 not_before = pg_catalog.now(), updated_at = pg_catalog.now()
          FROM l WHERE j.id = l.id RETURNING 1)
    SELECT pg_catalog.count(*)::integer INTO recorded FROM u;
END
$$;

-- uploaded -> attaching (and attaching jobs whose batch was never recorded,
-- once their lease is over: attaching is idempotent).
CREATE FUNCTION vectorstore._job_claim_attaches(p_throttled text[], p_lease_ms integer, p_max_jobs integer)
RETURNS TABLE (id bigint, owner name, credential text, vector_store_id text, file_id text,
               attributes jsonb, chunking_strategy jsonb, request_options jsonb, solo boolean)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN QUERY
    -- (in the order of job_active_idx: an order by id would walk every job)
    WITH stranded AS (
        SELECT q.id, 0::bigint AS turn FROM vectorstore.job q
        WHERE q.status = 'attaching' AND q.batch_id IS NULL AND q.not_before <= pg_catalog.now()
          AND coalesce(q.credential, '') <> ALL (p_throttled)
        ORDER BY q.status, q.not_before LIMIT p_max_jobs FOR UPDATE SKIP LOCKED),
    pick AS (SELECT s.id FROM (SELECT * FROM stranded
                               UNION ALL
                               SELECT * FROM vectorstore._job_fair_pick('uploaded', p_throttled, p_max_jobs,
                                                                         '{}', '{}')) s
             ORDER BY s.turn, s.id LIMIT p_max_jobs)
    UPDATE vectorstore.job j SET status = 'attaching', batch_id = NULL, updated_at = pg_catalog.now(),
           not_before = pg_catalog.now() + p_lease_ms * interval '1 millisecond'
    WHERE j.id = ANY (ARRAY(SELECT pick.id FROM pick))
    RETURNING j.id, j.owner, j.credential, j.vector_store_id, j.file_id, j.attributes,
              j.chunking_strategy, j.request_options, j.solo;
END
$$;

-- attaching: the file batch was created; poll it after poll_ms.
CREATE FUNCTION vectorstore._job_record_batch(p_ids bigint[], p_batch_id text, p_poll_ms integer,
                                              OUT recorded integer)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    WITH l AS (SELECT j.id FROM vectorstore.job j
               WHERE j.id = ANY (p_ids) AND j.status = 'attaching' AND j.batch_id IS NULL
               FOR UPDATE SKIP LOCKED),
    u AS (UPDATE vectorstore.job j SET batch_id = p_batch_id, last_error = NULL,
                 not_before = pg_catalog.now() + p_poll_ms * interval '1 millisecond',
                 updated_at = pg_catalog.now()
          FROM l WHERE j.id = l.id RETURNING 1)
    SELECT pg_catalog.count(*)::integer INTO recorded FROM u;
END
$$;

-- attaching -> uploaded, each job alone: a file batch of several jobs was
-- refused, and only a batch of one tells whose fault it was. No attempt.
CREATE FUNCTION vectorstore._job_attach_alone(p_ids bigint[], p_error text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    WITH l AS (SELECT j.id FROM vectorstore.job j
               WHERE j.id = ANY (p_ids) AND j.status = 'attaching'
               FOR UPDATE SKIP LOCKED)
    UPDATE vectorstore.job j SET status = 'uploaded', solo = true, batch_id = NULL,
           last_error = p_error, not_before = pg_catalog.now(), updated_at = pg_catalog.now()
    FROM l WHERE j.id = l.id;
END
$$;

-- File batches due for a poll, one row per batch (a batch holds the jobs of
-- one owner), in turns per credential. Nothing is written: polling is
-- idempotent, and the worker keeps a batch it polled from being polled again
-- within the floor even if the record of its answer skipped locked rows.
CREATE FUNCTION vectorstore._job_claim_polls(p_throttled text[], p_lease_ms integer, p_max integer)
RETURNS TABLE (owner name, credential text, vector_store_id text, batch_id text, request_options jsonb,
               ids bigint[])
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN QUERY
    WITH due AS (
        SELECT q.id, q.owner, q.credential, q.vector_store_id, q.batch_id, q.request_options, q.not_before
        FROM vectorstore.job q
        WHERE q.status = 'attaching' AND q.batch_id IS NOT NULL AND q.not_before <= pg_catalog.now()
          AND coalesce(q.credential, '') <> ALL (p_throttled)),
    b AS (SELECT d.owner, d.credential, d.vector_store_id, d.batch_id, d.request_options,
                 pg_catalog.array_agg(d.id ORDER BY d.id) AS ids,
                 pg_catalog.min(d.not_before) AS due
          FROM due d GROUP BY d.owner, d.credential, d.vector_store_id, d.batch_id, d.request_options),
    pick AS (SELECT b.*, pg_catalog.row_number() OVER (PARTITION BY b.owner, coalesce(b.credential, '')
                                                       ORDER BY b.due) AS turn
             FROM b ORDER BY turn, b.due LIMIT p_max)
    SELECT pick.owner, pick.credential, pick.vector_store_id, pick.batch_id, pick.request_options, pick.ids
    FROM pick;
END
$$;

-- A job whose file is searchable: done, or, for a 'replace', on to deleting
-- the file it replaces.
-- What a poll of a file batch found:
--   'in_progress'  poll again after poll_ms (error: why the poll failed)
--   'completed'    every file completed: the jobs are done
--   'files'        the batch finished with some files not completed: per
--                  file (file_ids/statuses/errors from its file list),
--                  completed ones are done, the others try the attach again
--                  (one attempt) or fail
-- Only jobs still attaching with this batch are touched. Returns how many
-- were done and how many failed.
CREATE FUNCTION vectorstore._job_record_polled(p_ids bigint[], p_batch_id text, p_state text,
                                               p_poll_ms integer, p_error text,
                                               p_file_ids text[], p_file_statuses text[],
                                               p_file_errors text[], p_max_attempts integer,
                                               OUT done integer, OUT failed integer)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    WITH l AS (SELECT j.id, j.kind, j.attempts, j.file_id FROM vectorstore.job j
               WHERE j.id = ANY (p_ids) AND j.status = 'attaching' AND j.batch_id = p_batch_id
               FOR UPDATE SKIP LOCKED),
    f AS (SELECT * FROM unnest(p_file_ids, p_file_statuses, p_file_errors) f(fid, st, err)),
    r AS (SELECT l.id, l.kind, l.attempts,
                 CASE WHEN p_state = 'completed' THEN 'completed'
                      WHEN p_state = 'in_progress' THEN 'in_progress'
                      ELSE coalesce(f.st, 'missing') END AS st,
                 f.err
          FROM l LEFT JOIN f ON f.fid = l.file_id),
    u AS (UPDATE vectorstore.job j SET
            updated_at = pg_catalog.now(),
            last_error = CASE WHEN r.st = 'in_progress' THEN p_error
                              WHEN r.st = 'completed' THEN NULL
                              ELSE coalesce(r.err, 'file ' || r.st || ' in file batch ' || p_batch_id) END,
            not_before = CASE WHEN r.st = 'in_progress' THEN pg_catalog.now() + p_poll_ms * interval '1 millisecond'
                              WHEN r.st = 'completed' THEN pg_catalog.now()
                              ELSE pg_catalog.now() + vectorstore._job_backoff(r.attempts, 0) END,
            attempts = CASE WHEN r.st IN ('in_progress', 'completed') THEN j.attempts
                            ELSE least(j.attempts, 1000000) + 1 END,
            status = CASE WHEN r.st = 'in_progress' THEN 'attaching'
                          WHEN r.st = 'completed' AND r.kind = 'replace' THEN 'deleting'
                          WHEN r.st = 'completed' THEN 'completed'
                          WHEN least(j.attempts, 1000000) + 1 >= p_max_attempts THEN 'failed'
                          ELSE 'uploaded' END,
            batch_id = CASE WHEN r.st = 'in_progress' THEN j.batch_id END,
            finished_at = CASE WHEN r.st = 'completed' AND r.kind <> 'replace' THEN pg_catalog.now()
                               WHEN r.st NOT IN ('in_progress', 'completed')
                                    AND least(j.attempts, 1000000) + 1 >= p_max_attempts
                               THEN pg_catalog.now() END
          FROM r WHERE j.id = r.id
          RETURNING j.status)
    SELECT (pg_catalog.count(*) FILTER (WHERE u.status = 'completed'))::integer,
           (pg_catalog.count(*) FILTER (WHERE u.status = 'failed'))::integer INTO done, failed
    FROM u;
END
$$;

-- Files to remove: the file a 'delete' or a 'replace' job (status
-- 'deleting') removes — that of the last job before it, for the same row,
-- that completed, walking back over jobs that failed or were cancelled, and
-- waiting while one on the way has not finished — and the files of failed or
-- cancelled jobs ('discard'). file_id NULL: nothing to remove. The credential
-- is the one the file was uploaded with.
CREATE FUNCTION vectorstore._job_claim_removals(p_throttled text[], p_lease_ms integer, p_max integer,
                                                p_room_creds text[], p_room integer[])
RETURNS TABLE (id bigint, purpose text, owner name, credential text, vector_store_id text,
               file_id text, request_options jsonb)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- most passes have nothing to remove: two index probes say so
    IF NOT EXISTS (SELECT 1 FROM vectorstore.job q
                   WHERE q.status = 'deleting' AND q.not_before <= pg_catalog.now())
       AND NOT EXISTS (SELECT 1 FROM vectorstore.job q
                       WHERE q.status IN ('failed', 'cancelled') AND q.file_id IS NOT NULL
                         AND q.kind <> 'delete' AND q.not_before <= pg_catalog.now()) THEN
        RETURN;
    END IF;
    RETURN QUERY
    WITH RECURSIVE d AS (
        SELECT f.id, f.turn FROM vectorstore._job_fair_pick('deleting', p_throttled, p_max,
                                                            p_room_creds, p_room) f),
    -- only jobs of the same owner: a removal never reaches another role's file
    chain AS (
        SELECT j.id AS root, j.owner AS root_owner, t.id, t.status, t.file_id, t.vector_store_id,
               t.credential, t.request_options, t.replaces_job, 1 AS depth
        FROM d JOIN vectorstore.job j ON j.id = d.id AND j.id = ANY (ARRAY(SELECT d.id FROM d))
        JOIN vectorstore.job t ON t.id = j.replaces_job AND t.owner = j.owner
        UNION ALL
        SELECT c.root, c.root_owner, t.id, t.status, t.file_id, t.vector_store_id, t.credential,
               t.request_options, t.replaces_job, c.depth + 1
        FROM chain c JOIN vectorstore.job t ON t.id = c.replaces_job AND t.owner = c.root_owner
        WHERE c.status IN ('failed', 'cancelled') AND c.depth < 1000),
    dels AS (
        SELECT j.id, 'delete'::text AS purpose, j.owner,
               CASE WHEN e.root IS NULL THEN j.credential ELSE e.credential END AS credential,
               coalesce(e.vector_store_id, j.vector_store_id) AS vector_store_id,
               CASE WHEN e.status = 'completed' THEN e.file_id END AS file_id,
               CASE WHEN e.root IS NULL THEN j.request_options ELSE e.request_options END AS request_options,
               d.turn
        FROM d JOIN vectorstore.job j ON j.id = d.id AND j.id = ANY (ARRAY(SELECT d.id FROM d))
        LEFT JOIN LATERAL (SELECT * FROM chain c WHERE c.root = j.id ORDER BY c.depth DESC LIMIT 1) e ON true
        WHERE e.root IS NULL OR e.status IN ('completed', 'failed', 'cancelled')),
    discards AS (
        SELECT q.id, 'discard'::text AS purpose, q.owner, q.credential, q.vector_store_id, q.file_id,
               q.request_options, 0::bigint AS turn
        FROM vectorstore.job q
        WHERE q.status IN ('failed', 'cancelled') AND q.file_id IS NOT NULL AND q.kind <> 'delete'
          AND q.not_before <= pg_catalog.now()
          AND coalesce(q.credential, '') <> ALL (p_throttled)
        ORDER BY q.not_before LIMIT p_max FOR UPDATE SKIP LOCKED),
    pick AS (SELECT * FROM (SELECT * FROM dels UNION ALL SELECT * FROM discards) a
             ORDER BY a.turn, a.id LIMIT p_max),
    -- deletes that wait for a job on their chain to finish: look again in a second
    waits AS (UPDATE vectorstore.job j SET not_before = pg_catalog.now() + interval '1 second'
              WHERE j.id = ANY (ARRAY(SELECT d.id FROM d
                                      WHERE NOT EXISTS (SELECT 1 FROM dels WHERE dels.id = d.id)))),
    u AS (UPDATE vectorstore.job j
          SET not_before = pg_catalog.now() + p_lease_ms * interval '1 millisecond'
          WHERE j.id = ANY (ARRAY(SELECT pick.id FROM pick)))
    SELECT pick.id, pick.purpose, pick.owner, pick.credential, pick.vector_store_id, pick.file_id,
           pick.request_options
    FROM pick ORDER BY pick.turn, pick.id;
END
$$;

-- The file is gone from the store and the Files API (or there was none):
-- a 'deleting' job is completed; a failed or cancelled job forgets its file.
CREATE FUNCTION vectorstore._job_record_removed(p_ids bigint[], OUT done integer)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    WITH l AS (SELECT j.id FROM vectorstore.job j
               WHERE j.id = ANY (p_ids) AND (j.status = 'deleting' OR
                     (j.status IN ('failed', 'cancelled') AND j.kind <> 'delete'))
               FOR UPDATE SKIP LOCKED),
    u AS (UPDATE vectorstore.job j SET
            status = CASE WHEN j.status = 'deleting' THEN 'completed' ELSE j.status END,
            finished_at = CASE WHEN j.status = 'deleting' THEN pg_catalog.now() ELSE j.finished_at END,
            last_error = CASE WHEN j.status = 'deleting' THEN NULL ELSE j.last_error END,
            file_id = CASE WHEN j.status = 'deleting' THEN j.file_id END,
            not_before = pg_catalog.now(), updated_at = pg_catalog.now()
          FROM l WHERE j.id = l.id RETURNING j.status)
    SELECT (pg_catalog.count(*) FILTER (WHERE u.status = 'completed'))::integer INTO done FROM u;
END
$$;

-- A file of a failed or cancelled job could not be deleted: try again after
-- the back-off, and give up (logging it in last_error) after max_attempts;
-- a delete never sent ('unsent') is due again at once, costing nothing.
CREATE FUNCTION vectorstore._job_discard_failed(p_ids bigint[], p_outcomes text[], p_delays integer[],
                                                p_errors text[], p_max_attempts integer) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    WITH f AS (SELECT * FROM unnest(p_ids, p_outcomes, p_delays, p_errors) f(id, outcome, delay, err)),
    l AS (SELECT j.id, j.attempts, j.file_id, f.outcome, f.delay, f.err
          FROM f JOIN vectorstore.job j ON j.id = f.id
          WHERE j.status IN ('failed', 'cancelled') AND j.file_id IS NOT NULL
          FOR UPDATE OF j SKIP LOCKED)
    UPDATE vectorstore.job j SET
        attempts = CASE WHEN l.outcome = 'unsent' THEN j.attempts
                        ELSE least(j.attempts, 1000000) + 1 END,
        file_id = CASE WHEN l.outcome = 'unsent' THEN j.file_id
                       WHEN l.outcome = 'permanent' OR least(j.attempts, 1000000) + 1 >= p_max_attempts
                       THEN NULL ELSE j.file_id END,
        last_error = CASE WHEN l.outcome = 'unsent' THEN j.last_error
                          WHEN l.outcome = 'permanent' OR least(j.attempts, 1000000) + 1 >= p_max_attempts
                          THEN pg_catalog.concat_ws('; ', j.last_error,
                                   'its file ' || l.file_id || ' was not deleted: ' || l.err)
                          ELSE j.last_error END,
        not_before = pg_catalog.now() + CASE WHEN l.outcome = 'unsent' THEN interval '0'
                                             ELSE vectorstore._job_backoff(l.attempts, l.delay) END,
        updated_at = pg_catalog.now()
    FROM l WHERE j.id = l.id;
END
$$;

---------------------------------------------------------------------------
-- The sweep: uploads whose answer was lost, duplicates and orphans
---------------------------------------------------------------------------
-- Files are named "vsjob-<token>-<job id>-<secret>_<filename>": the token is
-- tied to this database's identity (system identifier, database oid and a
-- random nonce: worker_state), the secret is random per job and shown to no
-- role. The sweep lists /files through each (owner, credential) that has
-- uploads to reconcile, resuming from a cursor across passes.

-- Sweeps due: an (owner, credential) with an upload whose lease (the
-- reconcile delay) is over, a follow-up due, or a listing under way.
CREATE FUNCTION vectorstore._sweep_claim(p_max integer)
RETURNS TABLE (owner name, credential text, cursor text, pages integer)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO vectorstore.sweep AS s (owner, credential, due_at)
    SELECT DISTINCT q.owner, coalesce(q.credential, ''), pg_catalog.now()
    FROM vectorstore.job q
    WHERE q.status = 'uploading' AND q.file_id IS NULL AND q.not_before <= pg_catalog.now()
    ON CONFLICT ON CONSTRAINT sweep_pkey DO UPDATE
        SET due_at = least(s.due_at, EXCLUDED.due_at)
        WHERE s.due_at IS NULL OR s.due_at > EXCLUDED.due_at;
    RETURN QUERY
    WITH c AS (SELECT s.owner, s.credential FROM vectorstore.sweep s
               WHERE s.due_at <= pg_catalog.now() OR s.cursor IS NOT NULL
               ORDER BY s.due_at NULLS FIRST LIMIT p_max FOR UPDATE SKIP LOCKED)
    UPDATE vectorstore.sweep s
       SET listing_started_at = coalesce(s.listing_started_at, pg_catalog.now())
      FROM c WHERE s.owner = c.owner AND s.credential = c.credential
    RETURNING s.owner, s.credential, s.cursor, s.pages;
END $$;

-- One page of marked files listed through (owner, credential) at base_url.
-- A job whose upload answer was lost adopts its file when the marker carries
-- its id and secret, it was listed through the job's own owner and
-- credential at the server the upload went to, and its size is the
-- content's. A marked file is deleted only when the marker names a job of
-- this database (id and secret), no job owns that file, and its job already
-- has another file or has finished; never a file a live job owns, whoever's
-- credential listed it. Returns the files to delete.
CREATE FUNCTION vectorstore._sweep_page(p_owner name, p_credential text, p_base_url text,
                                        p_file_ids text[], p_job_ids bigint[], p_secrets text[],
                                        p_bytes bigint[])
RETURNS TABLE (file_id text, adopted boolean)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN QUERY
    WITH f AS (SELECT * FROM unnest(p_file_ids, p_job_ids, p_secrets, p_bytes) f(fid, jid, secret, bytes)),
    cand AS (SELECT DISTINCT ON (j.id) j.id, f.fid
             FROM f JOIN vectorstore.job j ON j.id = f.jid AND j.secret = f.secret
             WHERE j.owner = p_owner AND coalesce(j.credential, '') = p_credential
               AND j.status IN ('uploading', 'queued') AND j.file_id IS NULL
               AND j.kind IN ('upload', 'replace')
               AND pg_catalog.octet_length(j.content) = f.bytes
               AND (j.target IS NULL OR j.target = p_base_url)
               AND NOT EXISTS (SELECT 1 FROM vectorstore.job o WHERE o.file_id = f.fid)
             ORDER BY j.id, f.fid),
    locked AS (SELECT j.id FROM vectorstore.job j JOIN cand ON cand.id = j.id
               FOR UPDATE OF j SKIP LOCKED)
    UPDATE vectorstore.job j SET file_id = cand.fid, status = 'uploaded', last_error = NULL,
           not_before = pg_catalog.now(), updated_at = pg_catalog.now()
    FROM cand JOIN locked ON locked.id = cand.id WHERE j.id = cand.id
    RETURNING j.file_id, true;

    RETURN QUERY
    SELECT f.fid, false
    FROM unnest(p_file_ids, p_job_ids, p_secrets) f(fid, jid, secret)
    JOIN vectorstore.job j ON j.id = f.jid AND j.secret = f.secret
    WHERE NOT EXISTS (SELECT 1 FROM vectorstore.job o WHERE o.file_id = f.fid)
      AND (j.file_id IS NOT NULL OR j.status IN ('completed', 'failed', 'cancelled'));
END $$;

-- A listing went on (cursor), failed (error: try again after a back-off) or
-- reached the end. At the end, uploads of (owner, credential) whose lease
-- ended before the listing started and that found no file are queued again
-- (or fail after max_attempts); one sent to another base URL than the
-- credential's present one fails with a clear error instead. If any was
-- queued again, a follow-up sweep runs a reconcile delay later for uploads
-- that land even later (their files are then duplicates, deleted).
CREATE FUNCTION vectorstore._sweep_progress(p_owner name, p_credential text, p_base_url text,
                                            p_cursor text, p_pages integer, p_done boolean,
                                            p_error text, p_max_attempts integer,
                                            p_reconcile_ms integer, OUT requeued integer,
                                            OUT failed integer)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s vectorstore.sweep;
BEGIN
    requeued := 0;
    failed := 0;
    SELECT * INTO s FROM vectorstore.sweep w
     WHERE w.owner = p_owner AND w.credential = p_credential FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF p_error IS NOT NULL THEN
        -- a listing that keeps failing must not keep its uploads waiting for
        -- ever: after max_attempts failed listings in a row they fail
        IF s.errors + 1 >= p_max_attempts THEN
            SELECT x.failed INTO failed FROM vectorstore._job_fail(
                ARRAY(SELECT j.id FROM vectorstore.job j
                      WHERE j.status = 'uploading' AND j.file_id IS NULL AND j.owner = p_owner
                        AND coalesce(j.credential, '') = p_credential
                        AND j.not_before <= s.listing_started_at ORDER BY j.id),
                ARRAY(SELECT 'its upload''s answer was lost, and the files could not be listed to find it: ' || p_error
                      FROM vectorstore.job j
                      WHERE j.status = 'uploading' AND j.file_id IS NULL AND j.owner = p_owner
                        AND coalesce(j.credential, '') = p_credential
                        AND j.not_before <= s.listing_started_at ORDER BY j.id)) x;
        END IF;
        UPDATE vectorstore.sweep w SET last_error = p_error, cursor = NULL, pages = 0,
               listing_started_at = NULL,
               errors = CASE WHEN s.errors + 1 >= p_max_attempts THEN 0 ELSE w.errors + 1 END,
               due_at = pg_catalog.now() + vectorstore._job_backoff(w.errors, 0)
         WHERE w.owner = p_owner AND w.credential = p_credential;
        RETURN;
    END IF;
    IF NOT p_done THEN
        UPDATE vectorstore.sweep w SET cursor = p_cursor, pages = w.pages + p_pages
         WHERE w.owner = p_owner AND w.credential = p_credential;
        RETURN;
    END IF;
    WITH l AS (SELECT j.id, j.target, j.attempts FROM vectorstore.job j
               WHERE j.status = 'uploading' AND j.file_id IS NULL AND j.owner = p_owner
                 AND coalesce(j.credential, '') = p_credential
                 AND j.not_before <= s.listing_started_at
               FOR UPDATE SKIP LOCKED),
    u AS (UPDATE vectorstore.job j SET
            status = CASE WHEN l.target IS NOT NULL AND l.target <> p_base_url THEN 'failed'
                          WHEN l.attempts >= p_max_attempts THEN 'failed' ELSE 'queued' END,
            last_error = CASE WHEN l.target IS NOT NULL AND l.target <> p_base_url
                              THEN pg_catalog.format('the answer to its upload to %s was lost, and its credential now points at %s: '
                                                     'it cannot be told whether the file was made there; vs_job_retry() uploads it again',
                                                     l.target, p_base_url)
                              ELSE j.last_error END,
            finished_at = CASE WHEN (l.target IS NOT NULL AND l.target <> p_base_url)
                                    OR l.attempts >= p_max_attempts THEN pg_catalog.now() END,
            not_before = pg_catalog.now(), updated_at = pg_catalog.now()
          FROM l WHERE j.id = l.id RETURNING j.status)
    SELECT (pg_catalog.count(*) FILTER (WHERE u.status = 'queued'))::integer,
           (pg_catalog.count(*) FILTER (WHERE u.status = 'failed'))::integer
      INTO requeued, failed FROM u;
    UPDATE vectorstore.sweep w SET cursor = NULL, pages = 0, listing_started_at = NULL,
           last_done_at = pg_catalog.now(), last_error = NULL, errors = 0,
           due_at = CASE WHEN requeued > 0 THEN pg_catalog.now() + p_reconcile_ms * interval '1 millisecond' END
     WHERE w.owner = p_owner AND w.credential = p_credential;
END $$;

-- The sweep of (owner, credential) cannot run: the role may no longer use
-- the credential (or no longer exists). Its lost uploads fail with that error.
CREATE FUNCTION vectorstore._sweep_unauthorized(p_owner name, p_credential text, p_error text,
                                                OUT failed integer)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    SELECT f.failed INTO failed FROM vectorstore._job_fail(
        ARRAY(SELECT j.id FROM vectorstore.job j
              WHERE j.status = 'uploading' AND j.file_id IS NULL AND j.owner = p_owner
                AND coalesce(j.credential, '') = p_credential ORDER BY j.id),
        ARRAY(SELECT p_error FROM vectorstore.job j
              WHERE j.status = 'uploading' AND j.file_id IS NULL AND j.owner = p_owner
                AND coalesce(j.credential, '') = p_credential ORDER BY j.id)) f;
    DELETE FROM vectorstore.sweep w WHERE w.owner = p_owner AND w.credential = p_credential;
END $$;

---------------------------------------------------------------------------
-- The worker's own state: identity, pause, heartbeat, when work is due
---------------------------------------------------------------------------
-- Called when a worker starts, with the identity of the database it serves.
-- Makes the row the first time. A row made for another database (a restore
-- into another cluster, a CREATE DATABASE ... TEMPLATE copy) means this is a
-- copy: the worker is paused until a superuser resumes it
-- (vs_worker_resume()), which makes the copy a database of its own, with a
-- new marker token. A row without an identity (updated from 0.1.0) takes
-- this one.
CREATE FUNCTION vectorstore._worker_start(p_system_identifier text, p_database_oid oid, p_pid integer,
                                          OUT token text, OUT paused boolean, OUT paused_reason text,
                                          OUT copy_detected boolean)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    w vectorstore.worker_state;
    n text;
BEGIN
    copy_detected := false;
    SELECT * INTO w FROM vectorstore.worker_state s FOR UPDATE;
    IF NOT FOUND THEN
        n := pg_catalog.replace(pg_catalog.gen_random_uuid()::text, '-', '');
        INSERT INTO vectorstore.worker_state (system_identifier, database_oid, nonce, token)
        VALUES (p_system_identifier, p_database_oid, n,
                pg_catalog.substr(pg_catalog.md5(p_system_identifier || '/' || p_database_oid || '/' || n), 1, 16))
        RETURNING * INTO w;
    ELSIF w.system_identifier IS NULL OR w.database_oid IS NULL THEN
        UPDATE vectorstore.worker_state s SET system_identifier = p_system_identifier,
               database_oid = p_database_oid,
               token = pg_catalog.substr(pg_catalog.md5(p_system_identifier || '/' || p_database_oid || '/' || s.nonce), 1, 16)
        RETURNING * INTO w;
    ELSIF w.system_identifier <> p_system_identifier OR w.database_oid <> p_database_oid THEN
        copy_detected := NOT w.paused OR w.paused_reason NOT LIKE 'copy%';
        UPDATE vectorstore.worker_state s SET paused = true, paused_at = pg_catalog.now(),
               paused_reason = pg_catalog.format('copy of database %s of cluster %s: nothing is sent until a superuser runs vectorstore.vs_worker_resume()',
                                                 w.database_oid, w.system_identifier)
        RETURNING * INTO w;
    END IF;
    IF NOT w.paused THEN
        UPDATE vectorstore.worker_state s SET pid = p_pid, started_at = pg_catalog.now(),
               heartbeat_at = pg_catalog.now();
    END IF;
    token := w.token;
    paused := w.paused;
    paused_reason := w.paused_reason;
END $$;

-- Pause or resume this database's worker (vs_worker_pause/resume). Resuming
-- a copy makes it a database of its own: its identity is taken and a new
-- nonce (so a new marker token) is made.
CREATE FUNCTION vectorstore._worker_set_paused(p_paused boolean, p_reason text,
                                               p_system_identifier text, p_database_oid oid)
RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n text := pg_catalog.replace(pg_catalog.gen_random_uuid()::text, '-', '');
    was boolean;
BEGIN
    SELECT s.paused INTO was FROM vectorstore.worker_state s FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO vectorstore.worker_state (system_identifier, database_oid, nonce, token, paused,
                                              paused_reason, paused_at)
        VALUES (p_system_identifier, p_database_oid, n,
                pg_catalog.substr(pg_catalog.md5(p_system_identifier || '/' || p_database_oid || '/' || n), 1, 16),
                p_paused, CASE WHEN p_paused THEN p_reason END,
                CASE WHEN p_paused THEN pg_catalog.now() END);
        RETURN false;
    END IF;
    IF p_paused THEN
        UPDATE vectorstore.worker_state s SET paused = true, paused_reason = p_reason,
               paused_at = pg_catalog.now(), pid = NULL;
    ELSE
        UPDATE vectorstore.worker_state s SET paused = false, paused_reason = NULL, paused_at = NULL,
               nonce = CASE WHEN s.system_identifier IS DISTINCT FROM p_system_identifier
                              OR s.database_oid IS DISTINCT FROM p_database_oid THEN n ELSE s.nonce END,
               token = CASE WHEN s.system_identifier IS DISTINCT FROM p_system_identifier
                              OR s.database_oid IS DISTINCT FROM p_database_oid
                            THEN pg_catalog.substr(pg_catalog.md5(p_system_identifier || '/' || p_database_oid || '/' || n), 1, 16)
                            ELSE s.token END,
               system_identifier = p_system_identifier, database_oid = p_database_oid;
    END IF;
    RETURN was;
END $$;

-- Each pass: the heartbeat and the counters gathered since the last one.
-- Skips the row when someone holds it (false: keep the counts for later).
CREATE FUNCTION vectorstore._worker_heartbeat(p_pid integer, p_done bigint, p_failed bigint,
                                              p_uploaded bigint, p_adopted bigint, p_deleted bigint,
                                              p_error text, OUT ok boolean, OUT paused boolean)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    WITH l AS (SELECT s.id FROM vectorstore.worker_state s FOR UPDATE SKIP LOCKED),
    u AS (UPDATE vectorstore.worker_state s SET heartbeat_at = pg_catalog.now(), pid = p_pid,
                 jobs_done = s.jobs_done + p_done, jobs_failed = s.jobs_failed + p_failed,
                 files_uploaded = s.files_uploaded + p_uploaded,
                 uploads_adopted = s.uploads_adopted + p_adopted,
                 duplicates_deleted = s.duplicates_deleted + p_deleted,
                 last_error = coalesce(p_error, s.last_error)
          FROM l WHERE s.id = l.id RETURNING s.paused)
    SELECT EXISTS (SELECT 1 FROM u),
           coalesce((SELECT u.paused FROM u),
                    (SELECT s.paused FROM vectorstore.worker_state s), false)
      INTO ok, paused;
END
$$;

-- The worker leaves (idle, paused, or shutting down).
CREATE FUNCTION vectorstore._worker_stop(p_pid integer) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    WITH l AS (SELECT s.id FROM vectorstore.worker_state s WHERE s.pid = p_pid FOR UPDATE SKIP LOCKED)
    UPDATE vectorstore.worker_state s SET pid = NULL FROM l WHERE s.id = l.id;
END
$$;

-- Retention (vectorstore.job_retention): finished jobs older than it lose
-- their content, and those nothing refers to any more go — not the job a
-- sync row maps to, nor one a job still in progress replaces (it holds the
-- file that job removes), nor one whose file is still to be deleted. At most
-- p_max rows per call. Returns how many rows were deleted.
CREATE FUNCTION vectorstore._job_purge(p_retention interval, p_max integer, OUT purged integer)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    WITH old AS (SELECT j.id FROM vectorstore.job j
                 WHERE j.finished_at < pg_catalog.now() - p_retention AND j.content IS NOT NULL
                   AND j.status IN ('completed', 'failed', 'cancelled')
                 LIMIT p_max FOR UPDATE SKIP LOCKED)
    UPDATE vectorstore.job j SET content = NULL FROM old WHERE j.id = old.id;
    WITH gone AS (SELECT j.id FROM vectorstore.job j
                  WHERE j.finished_at < pg_catalog.now() - p_retention
                    AND j.status IN ('completed', 'failed', 'cancelled')
                    AND (j.file_id IS NULL OR j.status = 'completed' OR j.kind = 'delete')
                    AND NOT EXISTS (SELECT 1 FROM vectorstore.sync_row r WHERE r.job_id = j.id)
                    AND NOT EXISTS (SELECT 1 FROM vectorstore.job n WHERE n.replaces_job = j.id
                                      AND n.status NOT IN ('completed', 'failed', 'cancelled'))
                  LIMIT p_max FOR UPDATE SKIP LOCKED),
    d AS (DELETE FROM vectorstore.job j USING gone WHERE j.id = gone.id RETURNING 1)
    SELECT pg_catalog.count(*)::integer INTO purged FROM d;
    UPDATE vectorstore.worker_state s SET last_purge_at = pg_catalog.now(),
           jobs_purged = s.jobs_purged + purged;
END $$;

---------------------------------------------------------------------------
-- What roles call (through the C functions of queue.c, as the extension's
-- owner, with the caller's name taken before the switch)
---------------------------------------------------------------------------
-- A new job of p_owner (credential NULL: the settings).
CREATE FUNCTION vectorstore._job_enqueue(p_owner name, p_credential text, p_vector_store_id text,
                                         p_filename text, p_content bytea, p_attributes jsonb,
                                         p_chunking_strategy jsonb, p_request_options jsonb)
RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v bigint;
BEGIN
    INSERT INTO vectorstore.job (kind, vector_store_id, filename, content, attributes,
                                 chunking_strategy, request_options, owner, credential)
    VALUES ('upload', p_vector_store_id, p_filename, p_content, p_attributes, p_chunking_strategy,
            p_request_options, p_owner, p_credential)
    RETURNING id INTO v;
    RETURN v;
END
$$;

-- Cancel a job of p_owner (NULL: a superuser, any job) that has not finished.
-- A 'replace' job whose new file is already searchable (deleting the old
-- one) cannot be cancelled any more.
CREATE FUNCTION vectorstore._job_cancel(p_owner name, p_id bigint) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v boolean;
BEGIN
    WITH u AS (UPDATE vectorstore.job j
               SET status = 'cancelled', finished_at = pg_catalog.now(), updated_at = pg_catalog.now(),
                   not_before = pg_catalog.now(), batch_id = NULL
               WHERE j.id = p_id AND (p_owner IS NULL OR j.owner = p_owner)
                 AND j.status NOT IN ('completed', 'failed', 'cancelled')
                 AND NOT (j.kind = 'replace' AND j.status = 'deleting')
               RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM u) INTO v;
    RETURN v;
END
$$;

-- Send a failed or cancelled job of p_owner back to the worker, attempts
-- from 0. A job whose content was purged and that has no file cannot be.
CREATE FUNCTION vectorstore._job_retry(p_owner name, p_id bigint) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v boolean;
BEGIN
    WITH u AS (UPDATE vectorstore.job j
               SET status = CASE WHEN j.kind = 'delete' THEN 'deleting'
                                 WHEN j.file_id IS NOT NULL THEN 'uploaded'
                                 ELSE 'queued' END,
                   attempts = 0, throttles = 0, last_error = NULL, not_before = pg_catalog.now(), solo = false,
                   batch_id = NULL, target = NULL, finished_at = NULL, updated_at = pg_catalog.now()
               WHERE j.id = p_id AND (p_owner IS NULL OR j.owner = p_owner)
                 AND j.status IN ('failed', 'cancelled')
                 AND (j.kind = 'delete' OR j.file_id IS NOT NULL OR j.content IS NOT NULL)
               RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM u) INTO v;
    RETURN v;
END
$$;

REVOKE ALL ON FUNCTION vectorstore._job_backoff(integer, integer),
    vectorstore._job_record_failure(bigint[], text[], integer[], text[], text, integer, integer, text[], integer),
    vectorstore._job_fail(bigint[], text[]),
    vectorstore._job_fair_pick(text, text[], integer, text[], integer[]),
    vectorstore._job_claim_uploads(text[], integer, integer, bigint, text[], integer[]),
    vectorstore._job_record_uploaded(bigint[], text[]),
    vectorstore._job_claim_attaches(text[], integer, integer),
    vectorstore._job_record_batch(bigint[], text, integer),
    vectorstore._job_attach_alone(bigint[], text),
    vectorstore._job_claim_polls(text[], integer, integer),
    vectorstore._job_record_polled(bigint[], text, text, integer, text, text[], text[], text[], integer),
    vectorstore._job_claim_removals(text[], integer, integer, text[], integer[]),
    vectorstore._job_record_removed(bigint[]),
    vectorstore._job_discard_failed(bigint[], text[], integer[], text[], integer),
    vectorstore._sweep_claim(integer),
    vectorstore._sweep_page(name, text, text, text[], bigint[], text[], bigint[]),
    vectorstore._sweep_progress(name, text, text, text, integer, boolean, text, integer, integer),
    vectorstore._sweep_unauthorized(name, text, text),
    vectorstore._worker_start(text, oid, integer),
    vectorstore._worker_set_paused(boolean, text, text, oid),
    vectorstore._worker_heartbeat(integer, bigint, bigint, bigint, bigint, bigint, text),
    vectorstore._worker_stop(integer),
    vectorstore._job_purge(interval, integer),
    vectorstore._job_enqueue(name, text, text, text, bytea, jsonb, jsonb, jsonb),
    vectorstore._job_cancel(name, bigint),
    vectorstore._job_retry(name, bigint)
  FROM PUBLIC;

---------------------------------------------------------------------------
-- Enqueueing and managing jobs (C: queue.c)
---------------------------------------------------------------------------
CREATE FUNCTION vectorstore.vs_enqueue_upload(vector_store_id text, filename text, content bytea,
                                              attributes jsonb DEFAULT NULL,
                                              chunking_strategy jsonb DEFAULT NULL,
                                              request_options jsonb DEFAULT NULL)
RETURNS bigint AS 'MODULE_PATHNAME', 'vs_enqueue_upload_bytea' LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vectorstore.vs_enqueue_upload(vector_store_id text, filename text, content text,
                                              attributes jsonb DEFAULT NULL,
                                              chunking_strategy jsonb DEFAULT NULL,
                                              request_options jsonb DEFAULT NULL)
RETURNS bigint AS 'MODULE_PATHNAME', 'vs_enqueue_upload_text' LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vectorstore.vs_job_cancel(job_id bigint) RETURNS boolean
    AS 'MODULE_PATHNAME', 'vs_job_cancel' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

CREATE FUNCTION vectorstore.vs_job_retry(job_id bigint) RETURNS boolean
    AS 'MODULE_PATHNAME', 'vs_job_retry' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

CREATE FUNCTION vectorstore.vs_worker_pause() RETURNS boolean
    AS 'MODULE_PATHNAME', 'vs_worker_pause' LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION vectorstore.vs_worker_resume() RETURNS boolean
    AS 'MODULE_PATHNAME', 'vs_worker_resume' LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION vectorstore.vs_worker_pause(), vectorstore.vs_worker_resume() FROM PUBLIC;

COMMENT ON FUNCTION vectorstore.vs_enqueue_upload(text, text, bytea, jsonb, jsonb, jsonb) IS
  'Queue a file for upload and attachment to a vector store by the background worker; returns the job id at once. Transactional: nothing is sent unless the transaction commits. request_options (extra_headers, extra_query, extra_body, timeout, max_retries) are checked now and used when the job is sent.';
COMMENT ON FUNCTION vectorstore.vs_enqueue_upload(text, text, text, jsonb, jsonb, jsonb) IS
  'Queue a text file (sent as UTF-8) for upload and attachment to a vector store by the background worker; returns the job id.';
COMMENT ON FUNCTION vectorstore.vs_job_retry(bigint) IS
  'Send a failed or cancelled job of yours back to the worker (attempts start again at 0); returns whether it was requeued. Whether you may still use its credential is checked when it is sent.';
COMMENT ON FUNCTION vectorstore.vs_job_cancel(bigint) IS
  'Cancel a job of yours that has not finished; a file it already uploaded is deleted by the worker. Returns whether it was cancelled.';
COMMENT ON FUNCTION vectorstore.vs_worker_pause() IS
  'Pause this database''s background worker (superuser only; survives a restart). Returns whether it was already paused.';
COMMENT ON FUNCTION vectorstore.vs_worker_resume() IS
  'Resume this database''s background worker (superuser only); also what a restored or copied database needs before it sends anything. Returns whether it was paused.';

---------------------------------------------------------------------------
-- Monitoring: views that show each role its own rows (a superuser all).
-- They run with their owner's rights over tables no role may read, filter
-- on the caller (current_user), and are security barriers, so a function in
-- a caller's WHERE clause never sees another role's row.
---------------------------------------------------------------------------
CREATE VIEW vectorstore.jobs WITH (security_barrier = true) AS
    SELECT j.id, j.kind, j.vector_store_id, j.filename, pg_catalog.octet_length(j.content) AS bytes,
           j.attributes, j.owner, j.credential, j.status, j.file_id, j.replaces_job, j.batch_id,
           j.attempts, j.last_error, j.not_before, j.sync_name, j.row_key, j.created_at,
           j.started_at, j.updated_at, j.finished_at, j.request_options
    FROM vectorstore.job j
    WHERE j.owner OPERATOR(pg_catalog.=) CURRENT_USER
       OR (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER);

CREATE VIEW vectorstore.queue_depth WITH (security_barrier = true) AS
    SELECT j.vector_store_id, j.status, pg_catalog.count(*) AS jobs,
           pg_catalog.min(j.created_at) AS oldest, pg_catalog.max(j.updated_at) AS last_change
    FROM vectorstore.jobs j
    GROUP BY j.vector_store_id, j.status;

CREATE VIEW vectorstore.recent_failures WITH (security_barrier = true) AS
    SELECT j.id, j.kind, j.vector_store_id, j.filename, j.owner, j.attempts, j.last_error, j.finished_at
    FROM vectorstore.jobs j
    WHERE j.status OPERATOR(pg_catalog.=) 'failed'
      AND j.finished_at OPERATOR(pg_catalog.>) (pg_catalog.now() OPERATOR(pg_catalog.-) interval '1 day')
    ORDER BY j.finished_at DESC;

-- pid: only while that process is this database's worker (a restored copy
-- carries the original's pid in worker_state until a worker starts there)
CREATE VIEW vectorstore.worker_status WITH (security_barrier = true) AS
    SELECT CASE WHEN a.pid IS NOT NULL THEN w.pid END AS pid, a.backend_type, a.application_name, w.started_at, w.heartbeat_at,
           pg_catalog.now() OPERATOR(pg_catalog.-) w.heartbeat_at AS since_heartbeat,
           w.paused, w.paused_reason, w.paused_at,
           w.jobs_done, w.jobs_failed, w.files_uploaded, w.uploads_adopted, w.duplicates_deleted,
           w.jobs_purged, w.last_purge_at,
           (SELECT pg_catalog.count(*) FROM vectorstore.jobs j
             WHERE j.status OPERATOR(pg_catalog.<>) ALL ('{completed,failed,cancelled}'::text[])) AS jobs_pending,
           (SELECT pg_catalog.count(*) FROM vectorstore.jobs j
             WHERE j.status OPERATOR(pg_catalog.=) 'completed'
               AND j.finished_at OPERATOR(pg_catalog.>) (pg_catalog.now() OPERATOR(pg_catalog.-) interval '1 minute'))::float8
             OPERATOR(pg_catalog./) 60 AS jobs_per_second,
           (SELECT pg_catalog.min(s.due_at) FROM vectorstore.sweep s) AS sweep_due_at,
           (SELECT pg_catalog.max(s.last_done_at) FROM vectorstore.sweep s) AS last_sweep_at,
           w.last_error
    FROM vectorstore.worker_state w
    LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid OPERATOR(pg_catalog.=) w.pid
          AND a.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()
          AND a.backend_type OPERATOR(pg_catalog.=) 'vectorstore worker';

GRANT SELECT ON vectorstore.jobs, vectorstore.queue_depth, vectorstore.recent_failures,
    vectorstore.worker_status TO PUBLIC;

COMMENT ON TABLE vectorstore.job IS
  'The durable upload queue processed by the background worker. No role may read or change it: roles use the vs_* functions and the jobs view.';
COMMENT ON TABLE vectorstore.worker_state IS
  'This database''s worker: the identity its upload markers are tied to, whether it is paused, heartbeat and counters.';
COMMENT ON TABLE vectorstore.sweep IS
  'Per owner and credential: when the worker next lists /files to reconcile lost uploads, and how far a listing has got.';
COMMENT ON COLUMN vectorstore.job.owner IS 'The role that queued the job, by name (a role re-created under the same name gets its jobs back).';
COMMENT ON COLUMN vectorstore.job.credential IS 'The named credential the job is sent with (NULL: the settings), checked again when it is sent.';
COMMENT ON COLUMN vectorstore.job.secret IS 'Random, part of the uploaded file''s name; a lost upload is adopted only from a file carrying it. Shown to no role.';
COMMENT ON COLUMN vectorstore.job.target IS 'The base URL an upload was sent to; a lost answer is reconciled only there.';
COMMENT ON COLUMN vectorstore.job.solo IS 'Attach this job in a file batch of its own (a batch holding it was refused).';
COMMENT ON COLUMN vectorstore.job.not_before IS 'When the worker may next act on the job (back-off, poll time, or the end of a claim''s lease).';
COMMENT ON COLUMN vectorstore.job.attempts IS 'Failed tries so far (a 429 is not one); the job fails at vectorstore.worker_max_attempts.';
COMMENT ON COLUMN vectorstore.job.throttles IS '429 answers so far (they cost no attempt); the job fails with the 429 at vectorstore.worker_max_throttles.';
COMMENT ON VIEW vectorstore.jobs IS 'Your jobs (all jobs for a superuser), without their content.';
COMMENT ON VIEW vectorstore.queue_depth IS 'Your jobs per vector store and status.';
COMMENT ON VIEW vectorstore.recent_failures IS 'Your jobs that failed in the last day, newest first.';
COMMENT ON VIEW vectorstore.worker_status IS 'The worker of this database: whether it runs or is paused (and why), heartbeat, counters; jobs_pending counts your jobs.';
COMMENT ON FUNCTION vectorstore._queue_wake() IS
  'Internal trigger: wake this database''s worker when the transaction commits.';
COMMENT ON FUNCTION vectorstore._job_backoff(integer, integer) IS
  'Internal: the back-off after a failed try (the one retry policy).';
COMMENT ON FUNCTION vectorstore._job_record_failure(bigint[], text[], integer[], text[], text, integer, integer, text[], integer) IS
  'Internal transition: a try that did not succeed, by its outcome (retry, throttle, unknown, permanent).';
COMMENT ON FUNCTION vectorstore._job_fail(bigint[], text[]) IS
  'Internal transition: fail jobs now with their error.';
COMMENT ON FUNCTION vectorstore._job_fair_pick(text, text[], integer, text[], integer[]) IS
  'Internal: due jobs of a status, locked, in turns per owner and credential.';
COMMENT ON FUNCTION vectorstore._job_claim_uploads(text[], integer, integer, bigint, text[], integer[]) IS
  'Internal transition: queued -> uploading.';
COMMENT ON FUNCTION vectorstore._job_record_uploaded(bigint[], text[]) IS
  'Internal transition: uploading -> uploaded, with the file id.';
COMMENT ON FUNCTION vectorstore._job_claim_attaches(text[], integer, integer) IS
  'Internal transition: uploaded -> attaching.';
COMMENT ON FUNCTION vectorstore._job_record_batch(bigint[], text, integer) IS
  'Internal transition: attaching, with the file batch that attaches it.';
COMMENT ON FUNCTION vectorstore._job_attach_alone(bigint[], text) IS
  'Internal transition: attaching -> uploaded, to be attached in a batch of its own.';
COMMENT ON FUNCTION vectorstore._job_claim_polls(text[], integer, integer) IS
  'Internal: file batches due for a poll.';
COMMENT ON FUNCTION vectorstore._job_record_polled(bigint[], text, text, integer, text, text[], text[], text[], integer) IS
  'Internal transition: what a poll of a file batch found (attaching -> completed | deleting | uploaded | failed).';
COMMENT ON FUNCTION vectorstore._job_claim_removals(text[], integer, integer, text[], integer[]) IS
  'Internal: files to detach and delete (deleting jobs; files of failed or cancelled jobs).';
COMMENT ON FUNCTION vectorstore._job_record_removed(bigint[]) IS
  'Internal transition: deleting -> completed; a failed or cancelled job forgets its deleted file.';
COMMENT ON FUNCTION vectorstore._job_discard_failed(bigint[], text[], integer[], text[], integer) IS
  'Internal: a file of a failed or cancelled job could not be deleted.';
COMMENT ON FUNCTION vectorstore._sweep_claim(integer) IS
  'Internal: the (owner, credential) sweeps that are due.';
COMMENT ON FUNCTION vectorstore._sweep_page(name, text, text, text[], bigint[], text[], bigint[]) IS
  'Internal transition: adopt lost uploads from a page of marked files; the duplicates and orphans to delete.';
COMMENT ON FUNCTION vectorstore._sweep_progress(name, text, text, text, integer, boolean, text, integer, integer) IS
  'Internal transition: a listing went on, failed or ended (uploading -> queued | failed for lost uploads that found no file).';
COMMENT ON FUNCTION vectorstore._sweep_unauthorized(name, text, text) IS
  'Internal transition: lost uploads of a role that may no longer use their credential fail.';
COMMENT ON FUNCTION vectorstore._worker_start(text, oid, integer) IS
  'Internal: a worker starts; detects a copied or restored database and pauses it.';
COMMENT ON FUNCTION vectorstore._worker_set_paused(boolean, text, text, oid) IS
  'Internal: pause or resume the worker.';
COMMENT ON FUNCTION vectorstore._worker_heartbeat(integer, bigint, bigint, bigint, bigint, bigint, text) IS
  'Internal: the worker''s heartbeat and counters.';
COMMENT ON FUNCTION vectorstore._worker_stop(integer) IS
  'Internal: the worker leaves.';
COMMENT ON FUNCTION vectorstore._job_purge(interval, integer) IS
  'Internal: purge what finished jobs no longer need (vectorstore.job_retention).';
COMMENT ON FUNCTION vectorstore._job_enqueue(name, text, text, text, bytea, jsonb, jsonb, jsonb) IS
  'Internal transition: a new job (-> queued).';
COMMENT ON FUNCTION vectorstore._job_cancel(name, bigint) IS
  'Internal transition: cancel a job (-> cancelled).';
COMMENT ON FUNCTION vectorstore._job_retry(name, bigint) IS
  'Internal transition: retry a failed or cancelled job (-> queued | uploaded | deleting).';
-- Statement trigger of trigger-mode syncs (sync.c): records the change.
-- Creating the trigger needs the TRIGGER privilege on the table; what it
-- does is only append (sync name, table) to sync_change, which the worker
-- ignores unless the table is that sync's source.
CREATE OR REPLACE FUNCTION vectorstore._sync_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'vs_sync_changed' LANGUAGE C;

-- A new sync of p_owner.
CREATE FUNCTION vectorstore._sync_insert(p_owner name, p_name text, p_source text, p_vector_store_id text,
                                         p_key_column text, p_content text, p_attribute_columns text[],
                                         p_filename_pattern text, p_chunking_strategy jsonb,
                                         p_request_options jsonb, p_credential text, p_use_trigger boolean)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO vectorstore.sync (name, source, vector_store_id, key_column, content, attribute_columns,
                                  filename_pattern, chunking_strategy, request_options, credential,
                                  use_trigger, owner)
    VALUES (p_name, p_source, p_vector_store_id, p_key_column, p_content, p_attribute_columns,
            p_filename_pattern, p_chunking_strategy, p_request_options, p_credential, p_use_trigger, p_owner);
END
$$;

-- Lock a sync for a run (runs of a sync are serialized); with p_skip_locked
-- (the worker) a sync someone holds is left for later. Returns the sync and
-- the last change recorded for it (what this run covers).
CREATE FUNCTION vectorstore._sync_lock(p_name text, p_skip_locked boolean,
                                       OUT s vectorstore.sync, OUT last_change bigint)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_skip_locked THEN
        SELECT * INTO s FROM vectorstore.sync y WHERE y.name = p_name FOR UPDATE SKIP LOCKED;
    ELSE
        SELECT * INTO s FROM vectorstore.sync y WHERE y.name = p_name FOR UPDATE;
    END IF;
    SELECT pg_catalog.max(c.id) INTO last_change FROM vectorstore.sync_change c WHERE c.sync_name = p_name;
END $$;

-- One chunk of a sync's rows (key, hash of content and attributes, content,
-- attributes): new rows get an 'upload' job, changed ones (and rows whose
-- last job failed or was cancelled) a 'replace' job.
CREATE FUNCTION vectorstore._sync_apply(p_name text, p_keys text[], p_hashes text[], p_contents text[],
                                        p_attributes jsonb[], OUT new integer, OUT changed integer)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s vectorstore.sync;
BEGIN
    SELECT * INTO STRICT s FROM vectorstore.sync y WHERE y.name = p_name;
    WITH c AS (SELECT * FROM unnest(p_keys, p_hashes, p_contents, p_attributes) c(k, h, body, a)),
    ins AS (
        INSERT INTO vectorstore.job (kind, vector_store_id, filename, content, attributes,
                                     chunking_strategy, request_options, owner, credential,
                                     sync_name, row_key)
        SELECT 'upload', s.vector_store_id, pg_catalog.format(s.filename_pattern, c.k),
               pg_catalog.convert_to(c.body, 'UTF8'), c.a, s.chunking_strategy, s.request_options,
               s.owner, s.credential, s.name, c.k
        FROM c
        WHERE NOT EXISTS (SELECT 1 FROM vectorstore.sync_row r
                          WHERE r.sync_name = s.name AND r.row_key = c.k)
        RETURNING id, row_key),
    rows AS (INSERT INTO vectorstore.sync_row (sync_name, row_key, content_hash, job_id)
             SELECT s.name, ins.row_key, c.h, ins.id
             FROM ins JOIN c ON c.k = ins.row_key RETURNING 1)
    SELECT pg_catalog.count(*)::integer INTO new FROM rows;

    WITH c AS (SELECT * FROM unnest(p_keys, p_hashes, p_contents, p_attributes) c(k, h, body, a)),
    chg AS (
        SELECT c.k, c.h, c.body, c.a, r.job_id
        FROM c JOIN vectorstore.sync_row r ON r.sync_name = s.name AND r.row_key = c.k
        LEFT JOIN vectorstore.job j ON j.id = r.job_id
        WHERE r.content_hash <> c.h OR j.status IN ('failed', 'cancelled')),
    ins AS (
        INSERT INTO vectorstore.job (kind, vector_store_id, filename, content, attributes,
                                     chunking_strategy, request_options, owner, credential,
                                     sync_name, row_key, replaces_job)
        SELECT 'replace', s.vector_store_id, pg_catalog.format(s.filename_pattern, chg.k),
               pg_catalog.convert_to(chg.body, 'UTF8'), chg.a, s.chunking_strategy, s.request_options,
               s.owner, s.credential, s.name, chg.k, chg.job_id
        FROM chg
        RETURNING id, row_key),
    upd AS (UPDATE vectorstore.sync_row r SET job_id = ins.id, content_hash = chg.h
            FROM ins JOIN chg ON chg.k = ins.row_key
            WHERE r.sync_name = s.name AND r.row_key = ins.row_key RETURNING 1)
    SELECT pg_catalog.count(*)::integer INTO changed FROM upd;
END $$;

-- The end of a run: rows not seen (p_keys holds every key the run saw) get
-- a 'delete' job; the run's counts are kept; the changes it covered are
-- forgotten.
CREATE FUNCTION vectorstore._sync_finish(p_name text, p_keys text[], p_last_change bigint,
                                         p_new bigint, p_changed bigint,
                                         OUT deleted bigint, OUT unchanged bigint)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s vectorstore.sync;
BEGIN
    SELECT * INTO STRICT s FROM vectorstore.sync y WHERE y.name = p_name;
    WITH gone AS (
        DELETE FROM vectorstore.sync_row r
        WHERE r.sync_name = s.name
          AND NOT EXISTS (SELECT 1 FROM unnest(p_keys) k(key) WHERE k.key = r.row_key)
        RETURNING r.row_key, r.job_id),
    ins AS (
        INSERT INTO vectorstore.job (kind, vector_store_id, owner, credential, request_options,
                                     sync_name, row_key, replaces_job, status)
        SELECT 'delete', s.vector_store_id, s.owner, s.credential, s.request_options, s.name,
               gone.row_key, gone.job_id, 'deleting'
        FROM gone RETURNING 1)
    SELECT pg_catalog.count(*) INTO deleted FROM ins;
    unchanged := pg_catalog.cardinality(p_keys) - p_new - p_changed;
    UPDATE vectorstore.sync y SET last_run_at = pg_catalog.now(), last_error = NULL, retry_at = NULL, errors = 0,
           last_run = pg_catalog.jsonb_build_object('new', p_new, 'changed', p_changed,
                                                    'deleted', deleted, 'unchanged', unchanged)
     WHERE y.name = s.name;
    DELETE FROM vectorstore.sync_change c WHERE c.sync_name = s.name AND c.id <= p_last_change;
END $$;

-- A run by the worker failed (the table is gone, locked, the owner cannot
-- read it, its content expression raised...): keep the error, try again later.
CREATE FUNCTION vectorstore._sync_failed(p_name text, p_error text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- 10 s, doubling with every failure in a row, up to an hour: a sync that
    -- keeps timing out takes less and less of the sync worker's time
    UPDATE vectorstore.sync y SET last_error = p_error, errors = least(y.errors, 1000000) + 1,
           retry_at = pg_catalog.now()
                      + least(10 * (1 << least(y.errors, 9)), 3600) * interval '1 second'
    WHERE y.name = p_name;
END
$$;

-- Trigger-mode syncs whose source changed, oldest change first. Changes
-- recorded by a trigger on another table than the sync's source (anyone may
-- attach the trigger to their own table) are dropped.
CREATE FUNCTION vectorstore._sync_due(p_max integer) RETURNS TABLE (name text, owner name)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM vectorstore.sync_change c
    WHERE NOT EXISTS (SELECT 1 FROM vectorstore.sync y
                      WHERE y.name = c.sync_name AND y.use_trigger
                        AND pg_catalog.to_regclass(y.source) = c.relid);
    -- in turns between owners: the oldest change of every owner, then the
    -- second of each, ... so one role's many syncs do not come before
    -- another role's one
    RETURN QUERY
    SELECT d.name, d.owner FROM (
        SELECT y.name, y.owner, c.since,
               pg_catalog.row_number() OVER (PARTITION BY y.owner ORDER BY c.since, y.name) AS turn
        FROM vectorstore.sync y
        JOIN (SELECT c.sync_name, pg_catalog.min(c.changed_at) AS since FROM vectorstore.sync_change c
              GROUP BY c.sync_name) c ON c.sync_name = y.name
        WHERE y.retry_at IS NULL OR y.retry_at <= pg_catalog.now()) d
    ORDER BY d.turn, d.since, d.name LIMIT p_max;
END $$;

-- When a trigger-mode sync is next due (NULL: none): the queue's worker
-- starts the sync worker then.
CREATE FUNCTION vectorstore._sync_next_due() RETURNS timestamptz
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (SELECT pg_catalog.min(greatest(c.changed_at, y.retry_at))
              FROM vectorstore.sync_change c JOIN vectorstore.sync y ON y.name = c.sync_name
             WHERE y.use_trigger);
END $$;

-- Forget a sync (vs_sync_drop), first queueing the deletion of its files.
CREATE FUNCTION vectorstore._sync_drop(p_name text, p_delete_files boolean) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s vectorstore.sync;
BEGIN
    SELECT * INTO s FROM vectorstore.sync y WHERE y.name = p_name FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF p_delete_files THEN
        INSERT INTO vectorstore.job (kind, vector_store_id, owner, credential, request_options,
                                     sync_name, row_key, replaces_job, status)
        SELECT 'delete', s.vector_store_id, s.owner, s.credential, s.request_options, s.name,
               r.row_key, r.job_id, 'deleting'
        FROM vectorstore.sync_row r WHERE r.sync_name = s.name;
    END IF;
    DELETE FROM vectorstore.sync_change c WHERE c.sync_name = s.name;
    DELETE FROM vectorstore.sync y WHERE y.name = s.name;
    RETURN true;
END $$;

-- When the worker has something to do next (NULL: nothing until woken).
CREATE FUNCTION vectorstore._worker_next_due(p_retention interval) RETURNS timestamptz
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN least(
        -- the unfinished states one by one: an index probe each, where a
        -- min over all of them would read every unfinished job
        (SELECT pg_catalog.min(q.not_before) FROM vectorstore.job q WHERE q.status = 'queued'),
        (SELECT pg_catalog.min(q.not_before) FROM vectorstore.job q WHERE q.status = 'uploading'),
        (SELECT pg_catalog.min(q.not_before) FROM vectorstore.job q WHERE q.status = 'uploaded'),
        (SELECT pg_catalog.min(q.not_before) FROM vectorstore.job q WHERE q.status = 'attaching'),
        (SELECT pg_catalog.min(q.not_before) FROM vectorstore.job q WHERE q.status = 'deleting'),
        (SELECT pg_catalog.min(q.not_before) FROM vectorstore.job q
          WHERE q.status IN ('failed', 'cancelled') AND q.file_id IS NOT NULL AND q.kind <> 'delete'),
        (SELECT pg_catalog.min(coalesce(w.due_at, pg_catalog.now())) FROM vectorstore.sweep w
          WHERE w.due_at IS NOT NULL OR w.cursor IS NOT NULL),
        (SELECT pg_catalog.min(greatest(c.changed_at, y.retry_at))
           FROM vectorstore.sync_change c JOIN vectorstore.sync y ON y.name = c.sync_name),
        (SELECT greatest(pg_catalog.min(q.finished_at) + p_retention,
                                    (SELECT s.last_purge_at FROM vectorstore.worker_state s)
                                      + least(interval '1 minute', p_retention))
           FROM vectorstore.job q
          WHERE p_retention IS NOT NULL AND q.finished_at IS NOT NULL
            AND q.status IN ('completed', 'failed', 'cancelled')));
END
$$;

REVOKE ALL ON FUNCTION vectorstore._sync_insert(name, text, text, text, text, text, text[], text, jsonb, jsonb, text, boolean),
    vectorstore._sync_lock(text, boolean),
    vectorstore._sync_apply(text, text[], text[], text[], jsonb[]),
    vectorstore._sync_finish(text, text[], bigint, bigint, bigint),
    vectorstore._sync_failed(text, text),
    vectorstore._sync_due(integer),
    vectorstore._sync_next_due(),
    vectorstore._sync_drop(text, boolean),
    vectorstore._worker_next_due(interval)
  FROM PUBLIC;

CREATE FUNCTION vectorstore.vs_sync_create(name text, source regclass, vector_store_id text,
                                           key_column text, content text,
                                           attribute_columns text[] DEFAULT NULL,
                                           filename_pattern text DEFAULT '%s.txt',
                                           chunking_strategy jsonb DEFAULT NULL,
                                           "trigger" boolean DEFAULT false,
                                           request_options jsonb DEFAULT NULL)
RETURNS void AS 'MODULE_PATHNAME', 'vs_sync_create' LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vectorstore.vs_sync_run(name text, OUT new bigint, OUT changed bigint,
                                        OUT deleted bigint, OUT unchanged bigint)
RETURNS record AS 'MODULE_PATHNAME', 'vs_sync_run' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

CREATE FUNCTION vectorstore.vs_sync_drop(name text, delete_files boolean DEFAULT false) RETURNS boolean
    AS 'MODULE_PATHNAME', 'vs_sync_drop' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

COMMENT ON FUNCTION vectorstore.vs_sync_create(text, regclass, text, text, text, text[], text, jsonb, boolean, jsonb) IS
  'Define a sync: one file per row of source (key_column identifies the row; content is a column name or an SQL expression over the row "t"; attribute_columns become file attributes, timestamps as epoch seconds). trigger => true has the worker queue changes after they commit.';
COMMENT ON FUNCTION vectorstore.vs_sync_run(text) IS
  'Compare the source table with what was synced, as the sync''s owner, and queue uploads (new), replacements (changed) and deletions (deleted) for the worker; returns the counts. Schedule it with pg_cron.';
COMMENT ON FUNCTION vectorstore.vs_sync_drop(text, boolean) IS
  'Forget a sync (and its trigger); with delete_files => true its files are first queued for detaching and deletion.';

-- The caller's syncs (all for a superuser).
CREATE VIEW vectorstore.syncs WITH (security_barrier = true) AS
    SELECT y.name, y.source, y.vector_store_id, y.key_column, y.content, y.attribute_columns,
           y.filename_pattern, y.chunking_strategy, y.request_options, y.credential, y.use_trigger,
           y.owner, y.created_at, y.last_run_at, y.last_run, y.last_error
    FROM vectorstore.sync y
    WHERE y.owner OPERATOR(pg_catalog.=) CURRENT_USER
       OR (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER);

-- Row key <-> file id, to join search results (file_id) back to rows.
-- file_id is the file that search currently returns for the row.
CREATE VIEW vectorstore.sync_rows WITH (security_barrier = true) AS
    SELECT r.sync_name, y.source, y.vector_store_id, r.row_key,
           CASE WHEN j.status OPERATOR(pg_catalog.=) ANY ('{completed,deleting}'::text[]) THEN j.file_id
                ELSE (SELECT p.file_id FROM vectorstore.job p
                      WHERE p.sync_name OPERATOR(pg_catalog.=) r.sync_name
                        AND p.row_key OPERATOR(pg_catalog.=) r.row_key
                        AND p.id OPERATOR(pg_catalog.<) r.job_id
                        AND p.status OPERATOR(pg_catalog.=) 'completed'
                      ORDER BY p.id DESC LIMIT 1) END AS file_id,
           r.job_id, j.status, r.content_hash
    FROM vectorstore.sync_row r
    JOIN vectorstore.syncs y ON y.name OPERATOR(pg_catalog.=) r.sync_name
    LEFT JOIN vectorstore.job j ON j.id OPERATOR(pg_catalog.=) r.job_id;

-- Per sync: where its rows are, and an estimate of the time left from the
-- rate at which its jobs completed in the last five minutes.
CREATE VIEW vectorstore.sync_progress WITH (security_barrier = true) AS
    SELECT y.name, y.vector_store_id, c.rows, c.queued, c.uploading, c.attached, c.failed,
           p.pending AS jobs_pending, y.last_run_at, y.last_run, y.last_error,
           CASE WHEN p.pending OPERATOR(pg_catalog.=) 0 THEN interval '0'
                WHEN t.done OPERATOR(pg_catalog.>) 0
                THEN pg_catalog.make_interval(secs => (p.pending::float8 OPERATOR(pg_catalog.*) t.span)
                                                      OPERATOR(pg_catalog./) t.done::float8)
           END AS eta
    FROM vectorstore.syncs y
    CROSS JOIN LATERAL (
        SELECT pg_catalog.count(r.row_key) AS rows,
               pg_catalog.count(*) FILTER (WHERE j.status OPERATOR(pg_catalog.=) 'queued') AS queued,
               pg_catalog.count(*) FILTER (WHERE j.status OPERATOR(pg_catalog.=) ANY ('{uploading,uploaded,attaching,deleting}'::text[])) AS uploading,
               pg_catalog.count(*) FILTER (WHERE j.status OPERATOR(pg_catalog.=) 'completed') AS attached,
               pg_catalog.count(*) FILTER (WHERE j.status OPERATOR(pg_catalog.=) ANY ('{failed,cancelled}'::text[])) AS failed
        FROM vectorstore.sync_row r LEFT JOIN vectorstore.job j ON j.id OPERATOR(pg_catalog.=) r.job_id
        WHERE r.sync_name OPERATOR(pg_catalog.=) y.name) c
    CROSS JOIN LATERAL (
        SELECT pg_catalog.count(*) AS pending FROM vectorstore.job q
        WHERE q.sync_name OPERATOR(pg_catalog.=) y.name
          AND q.status OPERATOR(pg_catalog.<>) ALL ('{completed,failed,cancelled}'::text[])) p
    CROSS JOIN LATERAL (
        SELECT pg_catalog.count(*) AS done,
               greatest(pg_catalog.date_part('epoch', pg_catalog.now() OPERATOR(pg_catalog.-)
                                   pg_catalog.min(coalesce(f.started_at, f.created_at))), 1::float8) AS span
        FROM vectorstore.job f
        WHERE f.sync_name OPERATOR(pg_catalog.=) y.name AND f.status OPERATOR(pg_catalog.=) 'completed'
          AND f.finished_at OPERATOR(pg_catalog.>) (pg_catalog.now() OPERATOR(pg_catalog.-) interval '5 minutes')) t;

GRANT SELECT ON vectorstore.syncs, vectorstore.sync_rows, vectorstore.sync_progress TO PUBLIC;

COMMENT ON TABLE vectorstore.sync IS 'Table syncs defined with vs_sync_create(). No role may read it: see the syncs view.';
COMMENT ON TABLE vectorstore.sync_row IS 'Per sync and row key: the content hash last queued and its job.';
COMMENT ON TABLE vectorstore.sync_change IS 'Trigger-mode syncs whose source changed, for the worker to compute.';
COMMENT ON COLUMN vectorstore.sync.source IS 'The table or view read, by qualified name (a dump restored elsewhere means the same table).';
COMMENT ON COLUMN vectorstore.sync.owner IS 'The role the sync belongs to, by name; its difference is computed with this role''s rights.';
COMMENT ON COLUMN vectorstore.sync.credential IS 'The credential its jobs are sent with (NULL: the settings): the owner''s when the sync was created.';
COMMENT ON COLUMN vectorstore.sync_row.content_hash IS 'md5 of the row''s content and its attributes as JSON: a change of either queues a replacement.';
COMMENT ON VIEW vectorstore.syncs IS 'Your syncs (all for a superuser).';
COMMENT ON VIEW vectorstore.sync_rows IS 'Row key to file id for each of your syncs: join vs_search() results here.';
COMMENT ON VIEW vectorstore.sync_progress IS 'Per sync of yours: rows queued, in flight, attached, failed, the last run and its error, and the estimated time left.';
COMMENT ON FUNCTION vectorstore._sync_trigger() IS 'Internal trigger of trigger-mode syncs: records that the table changed, for the worker.';
COMMENT ON FUNCTION vectorstore._sync_insert(name, text, text, text, text, text, text[], text, jsonb, jsonb, text, boolean) IS 'Internal: a new sync.';
COMMENT ON FUNCTION vectorstore._sync_lock(text, boolean) IS 'Internal: lock a sync for a run.';
COMMENT ON FUNCTION vectorstore._sync_apply(text, text[], text[], text[], jsonb[]) IS 'Internal transition: queue uploads and replacements for a chunk of a sync''s rows (-> queued).';
COMMENT ON FUNCTION vectorstore._sync_finish(text, text[], bigint, bigint, bigint) IS 'Internal transition: queue deletions for rows that are gone (-> deleting); record the run.';
COMMENT ON FUNCTION vectorstore._sync_failed(text, text) IS 'Internal: a worker''s run of a sync failed.';
COMMENT ON FUNCTION vectorstore._sync_due(integer) IS 'Internal: trigger-mode syncs whose source changed, in turns between owners.';
COMMENT ON FUNCTION vectorstore._sync_next_due() IS 'Internal: when a trigger-mode sync is next due (the sync worker is started then).';
COMMENT ON FUNCTION vectorstore._sync_drop(text, boolean) IS 'Internal: forget a sync, optionally queueing the deletion of its files.';
COMMENT ON FUNCTION vectorstore._worker_next_due(interval) IS 'Internal: when the worker next has something to do.';

-- Wake this database's worker when the update commits: a worker of this
-- library left the database alone while it was at 0.1.0.
UPDATE vectorstore.job SET updated_at = updated_at WHERE false;

---------------------------------------------------------------------------
-- The upload queue's functions: its state machine, the worker's transitions,
-- the functions roles call and the views they read (the tables are in
-- 50_queue.sql). sql/upgrade/ links this file: an update from 0.1.0 creates
-- these objects from the same text as a fresh install.
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
-- then the second of each, ... (a run's jobs in the order they became due,
-- not_before then id, as its index holds them: a claim reads the due jobs
-- only, not the backed-off ones before them), so one role's thousands of
-- jobs do not come before another role's one. Within a turn, (owner, credential) come in
-- order from the one after p_after_owner/p_after_cred (the one that came
-- first in the step's previous claim), round the circle: a claim that takes
-- one job (a file over the byte bound) or fewer than there are owners does
-- not always take the same owner's (the oldest backlog's); and before the
-- round, the (owner, credential) with fewer units open in the worker
-- (p_open_owners/p_open_creds/p_open) comes first, so that a credential's
-- room goes to whoever it has served least. turn, returned,
-- is the rank in that order; g_turn, g_open, g_owner and g_cred are what it
-- is made of (the job's turn in its run, its run's open count, owner and
-- credential), for a caller that merges two picks in the same order. Credentials held back by a 429 are left out; a
-- credential listed in p_room_creds gets at most its p_room jobs, all its
-- owners together (its n-th job in the same order, turns and the round, is
-- taken while n is within its room: the units the worker may still open for
-- it, step.c's vq_cred_room).
CREATE FUNCTION vectorstore._job_fair_pick(p_status text, p_throttled text[], p_max integer,
                                           p_room_creds text[], p_room integer[],
                                           p_after_owner name, p_after_cred text,
                                           p_open_owners name[], p_open_creds text[], p_open integer[])
RETURNS TABLE (id bigint, turn bigint, g_turn bigint, g_open integer, g_owner name, g_cred text)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- one static query per status: the status is a literal, so the partial
    -- index job_turn_idx applies and the plan is kept (a status given as a
    -- parameter was planned again at almost every claim, and its generic
    -- plan read the index by the status list and sorted). A plan kept from
    -- when the job table was small would scan the whole table at every
    -- pass: the worker analyzes the table when it has doubled (worker.c),
    -- which makes the plans again. (So the four are the same but for it;
    -- 'discard' is not a status but the jobs whose file is to be discarded.)
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
            SELECT l.id, g.owner, g.cred, gx.open,
                   pg_catalog.row_number() OVER (PARTITION BY g.owner, g.cred ORDER BY l.not_before, l.id) AS turn
            FROM g CROSS JOIN LATERAL (
                SELECT coalesce((SELECT x.n FROM unnest(p_open_owners, p_open_creds, p_open) x(owner, cred, n)
                                 WHERE x.owner = g.owner AND x.cred = g.cred LIMIT 1), 0) AS open) gx
            CROSS JOIN LATERAL (
                SELECT q.id, q.not_before FROM vectorstore.job q
                WHERE q.status = 'queued' AND q.owner = g.owner
                  AND coalesce(q.credential, '') = g.cred
                  AND q.not_before <= pg_catalog.now() AND g.cred <> ALL (p_throttled)
                ORDER BY q.not_before, q.id
                LIMIT least(p_max, coalesce((SELECT r.room FROM unnest(p_room_creds, p_room) r(cred, room)
                                             WHERE r.cred = g.cred LIMIT 1), p_max))
                FOR UPDATE SKIP LOCKED) l),
        r AS (
            SELECT c.id, c.turn, c.owner, c.cred, c.open,
                   pg_catalog.row_number() OVER (
                       PARTITION BY c.cred
                       ORDER BY c.turn, c.open,
                                coalesce((c.owner, c.cred) <= (p_after_owner, p_after_cred), false),
                                c.owner, c.id) AS nth
            FROM c),
        o AS (
            SELECT r.id, pg_catalog.row_number() OVER (
                       ORDER BY r.turn, r.open,
                                coalesce((r.owner, r.cred) <= (p_after_owner, p_after_cred), false),
                                r.owner, r.cred) AS turn,
                   r.turn AS g_turn, r.open, r.owner, r.cred
            FROM r
            WHERE r.nth <= coalesce((SELECT x.room FROM unnest(p_room_creds, p_room) x(cred, room)
                                     WHERE x.cred = r.cred LIMIT 1), p_max))
        SELECT o.id, o.turn, o.g_turn, o.open, o.owner, o.cred FROM o ORDER BY o.turn LIMIT p_max;
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
            SELECT l.id, g.owner, g.cred, gx.open,
                   pg_catalog.row_number() OVER (PARTITION BY g.owner, g.cred ORDER BY l.not_before, l.id) AS turn
            FROM g CROSS JOIN LATERAL (
                SELECT coalesce((SELECT x.n FROM unnest(p_open_owners, p_open_creds, p_open) x(owner, cred, n)
                                 WHERE x.owner = g.owner AND x.cred = g.cred LIMIT 1), 0) AS open) gx
            CROSS JOIN LATERAL (
                SELECT q.id, q.not_before FROM vectorstore.job q
                WHERE q.status = 'uploaded' AND q.owner = g.owner
                  AND coalesce(q.credential, '') = g.cred
                  AND q.not_before <= pg_catalog.now() AND g.cred <> ALL (p_throttled)
                ORDER BY q.not_before, q.id
                LIMIT least(p_max, coalesce((SELECT r.room FROM unnest(p_room_creds, p_room) r(cred, room)
                                             WHERE r.cred = g.cred LIMIT 1), p_max))
                FOR UPDATE SKIP LOCKED) l),
        r AS (
            SELECT c.id, c.turn, c.owner, c.cred, c.open,
                   pg_catalog.row_number() OVER (
                       PARTITION BY c.cred
                       ORDER BY c.turn, c.open,
                                coalesce((c.owner, c.cred) <= (p_after_owner, p_after_cred), false),
                                c.owner, c.id) AS nth
            FROM c),
        o AS (
            SELECT r.id, pg_catalog.row_number() OVER (
                       ORDER BY r.turn, r.open,
                                coalesce((r.owner, r.cred) <= (p_after_owner, p_after_cred), false),
                                r.owner, r.cred) AS turn,
                   r.turn AS g_turn, r.open, r.owner, r.cred
            FROM r
            WHERE r.nth <= coalesce((SELECT x.room FROM unnest(p_room_creds, p_room) x(cred, room)
                                     WHERE x.cred = r.cred LIMIT 1), p_max))
        SELECT o.id, o.turn, o.g_turn, o.open, o.owner, o.cred FROM o ORDER BY o.turn LIMIT p_max;
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
            SELECT l.id, g.owner, g.cred, gx.open,
                   pg_catalog.row_number() OVER (PARTITION BY g.owner, g.cred ORDER BY l.not_before, l.id) AS turn
            FROM g CROSS JOIN LATERAL (
                SELECT coalesce((SELECT x.n FROM unnest(p_open_owners, p_open_creds, p_open) x(owner, cred, n)
                                 WHERE x.owner = g.owner AND x.cred = g.cred LIMIT 1), 0) AS open) gx
            CROSS JOIN LATERAL (
                SELECT q.id, q.not_before FROM vectorstore.job q
                WHERE q.status = 'deleting' AND q.owner = g.owner
                  AND coalesce(q.credential, '') = g.cred
                  AND q.not_before <= pg_catalog.now() AND g.cred <> ALL (p_throttled)
                ORDER BY q.not_before, q.id
                LIMIT least(p_max, coalesce((SELECT r.room FROM unnest(p_room_creds, p_room) r(cred, room)
                                             WHERE r.cred = g.cred LIMIT 1), p_max))
                FOR UPDATE SKIP LOCKED) l),
        r AS (
            SELECT c.id, c.turn, c.owner, c.cred, c.open,
                   pg_catalog.row_number() OVER (
                       PARTITION BY c.cred
                       ORDER BY c.turn, c.open,
                                coalesce((c.owner, c.cred) <= (p_after_owner, p_after_cred), false),
                                c.owner, c.id) AS nth
            FROM c),
        o AS (
            SELECT r.id, pg_catalog.row_number() OVER (
                       ORDER BY r.turn, r.open,
                                coalesce((r.owner, r.cred) <= (p_after_owner, p_after_cred), false),
                                r.owner, r.cred) AS turn,
                   r.turn AS g_turn, r.open, r.owner, r.cred
            FROM r
            WHERE r.nth <= coalesce((SELECT x.room FROM unnest(p_room_creds, p_room) x(cred, room)
                                     WHERE x.cred = r.cred LIMIT 1), p_max))
        SELECT o.id, o.turn, o.g_turn, o.open, o.owner, o.cred FROM o ORDER BY o.turn LIMIT p_max;
    ELSIF p_status = 'discard' THEN
        -- the files of failed and cancelled jobs still to be deleted
        RETURN QUERY
        WITH RECURSIVE g(owner, cred) AS (
            (SELECT q.owner, coalesce(q.credential, '') FROM vectorstore.job q
             WHERE q.status IN ('failed', 'cancelled') AND q.file_id IS NOT NULL AND q.kind <> 'delete'
             ORDER BY q.owner, coalesce(q.credential, '') LIMIT 1)
            UNION ALL
            SELECT n.owner, n.cred FROM g, LATERAL (
                SELECT q.owner, coalesce(q.credential, '') AS cred FROM vectorstore.job q
                WHERE q.status IN ('failed', 'cancelled') AND q.file_id IS NOT NULL AND q.kind <> 'delete'
                  AND (q.owner, coalesce(q.credential, '')) > (g.owner, g.cred)
                ORDER BY q.owner, coalesce(q.credential, '') LIMIT 1) n),
        c AS (
            SELECT l.id, g.owner, g.cred, gx.open,
                   pg_catalog.row_number() OVER (PARTITION BY g.owner, g.cred ORDER BY l.not_before, l.id) AS turn
            FROM g CROSS JOIN LATERAL (
                SELECT coalesce((SELECT x.n FROM unnest(p_open_owners, p_open_creds, p_open) x(owner, cred, n)
                                 WHERE x.owner = g.owner AND x.cred = g.cred LIMIT 1), 0) AS open) gx
            CROSS JOIN LATERAL (
                SELECT q.id, q.not_before FROM vectorstore.job q
                WHERE q.status IN ('failed', 'cancelled') AND q.file_id IS NOT NULL AND q.kind <> 'delete' AND q.owner = g.owner
                  AND coalesce(q.credential, '') = g.cred
                  AND q.not_before <= pg_catalog.now() AND g.cred <> ALL (p_throttled)
                ORDER BY q.not_before, q.id
                LIMIT least(p_max, coalesce((SELECT r.room FROM unnest(p_room_creds, p_room) r(cred, room)
                                             WHERE r.cred = g.cred LIMIT 1), p_max))
                FOR UPDATE SKIP LOCKED) l),
        r AS (
            SELECT c.id, c.turn, c.owner, c.cred, c.open,
                   pg_catalog.row_number() OVER (
                       PARTITION BY c.cred
                       ORDER BY c.turn, c.open,
                                coalesce((c.owner, c.cred) <= (p_after_owner, p_after_cred), false),
                                c.owner, c.id) AS nth
            FROM c),
        o AS (
            SELECT r.id, pg_catalog.row_number() OVER (
                       ORDER BY r.turn, r.open,
                                coalesce((r.owner, r.cred) <= (p_after_owner, p_after_cred), false),
                                r.owner, r.cred) AS turn,
                   r.turn AS g_turn, r.open, r.owner, r.cred
            FROM r
            WHERE r.nth <= coalesce((SELECT x.room FROM unnest(p_room_creds, p_room) x(cred, room)
                                     WHERE x.cred = r.cred LIMIT 1), p_max))
        SELECT o.id, o.turn, o.g_turn, o.open, o.owner, o.cred FROM o ORDER BY o.turn LIMIT p_max;
    ELSE
        RAISE EXCEPTION 'vectorstore: no fair pick for status %', p_status;
    END IF;
END
$$ ROWS 50;

-- queued -> uploading: at most max_jobs, in the fair pick's order, and what
-- fits within max_bytes of content: per credential, beside the content the
-- worker still holds for it (p_held_creds/p_held: its open uploads), and in
-- the claim as a whole. Each bound takes its files up to the first that
-- does not fit, so a big file is not passed over for ever by smaller ones:
-- it waits for what its credential holds to be sent, and a file larger than
-- max_bytes is then taken alone. So one credential's big files (a slow
-- server's) hold no more of the worker's memory than that and never stop
-- another credential's uploads. The lease is the reconcile delay: an upload
-- never recorded is the sweep's to decide.
CREATE FUNCTION vectorstore._job_claim_uploads(p_throttled text[], p_lease_ms integer,
                                               p_max_jobs integer, p_max_bytes bigint,
                                               p_held_creds text[], p_held bigint[],
                                               p_room_creds text[], p_room integer[],
                                               p_after_owner name, p_after_cred text,
                                               p_open_owners name[], p_open_creds text[], p_open integer[])
RETURNS TABLE (id bigint, owner name, credential text, filename text, content bytea,
               secret text, request_options jsonb, first boolean)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN QUERY
    WITH p AS (SELECT f.id, f.turn, b.bytes, b.cred,
                      coalesce((SELECT h.n FROM unnest(p_held_creds, p_held) h(cred, n)
                                WHERE h.cred = b.cred LIMIT 1), 0) AS held
               FROM vectorstore._job_fair_pick('queued', p_throttled, p_max_jobs,
                                               p_room_creds, p_room, p_after_owner, p_after_cred,
                                               p_open_owners, p_open_creds, p_open) f
               CROSS JOIN LATERAL (
                   SELECT pg_catalog.octet_length(j.content) + pg_catalog.octet_length(j.filename) AS bytes,
                          coalesce(j.credential, '') AS cred
                   FROM vectorstore.job j WHERE j.id = f.id) b),
    fit AS (SELECT c.id, c.turn, c.bytes
            FROM (SELECT p.*, pg_catalog.row_number() OVER w AS n,
                         pg_catalog.sum(p.bytes) OVER w AS total
                  FROM p WINDOW w AS (PARTITION BY p.cred ORDER BY p.turn, p.id)) c
            WHERE c.held + c.total <= p_max_bytes OR (c.n = 1 AND c.held = 0)),
    pick AS (SELECT s.id FROM (SELECT fit.id, pg_catalog.row_number() OVER w AS n,
                                      pg_catalog.sum(fit.bytes) OVER w AS total
                               FROM fit WINDOW w AS (ORDER BY fit.turn, fit.id)) s
             WHERE s.n = 1 OR s.total <= p_max_bytes)
    UPDATE vectorstore.job j SET status = 'uploading', updated_at = pg_catalog.now(),
           started_at = coalesce(j.started_at, pg_catalog.now()),
           target = NULL,
           not_before = pg_catalog.now() + p_lease_ms * interval '1 millisecond'
    WHERE j.id = ANY (ARRAY(SELECT pick.id FROM pick))
    RETURNING j.id, j.owner, j.credential, j.filename, j.content, j.secret, j.request_options,
              j.id = (SELECT p.id FROM p ORDER BY p.turn LIMIT 1);
    PERFORM vectorstore._worker_claim_guard();
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
CREATE FUNCTION vectorstore._job_claim_attaches(p_throttled text[], p_lease_ms integer, p_max_jobs integer,
                                                p_room_creds text[], p_room integer[],
                                                p_after_owner name, p_after_cred text,
                                                p_open_owners name[], p_open_creds text[], p_open integer[])
RETURNS TABLE (id bigint, owner name, credential text, vector_store_id text, file_id text,
               attributes jsonb, chunking_strategy jsonb, request_options jsonb, solo boolean,
               first boolean)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN QUERY
    -- (in the order of job_active_idx: an order by id would walk every job)
    WITH stranded AS (
        SELECT q.id, 0::bigint AS turn FROM vectorstore.job q
        WHERE q.status = 'attaching' AND q.batch_id IS NULL AND q.not_before <= pg_catalog.now()
          AND coalesce(q.credential, '') <> ALL (p_throttled)
        ORDER BY q.status, q.not_before LIMIT p_max_jobs FOR UPDATE SKIP LOCKED),
    f AS (SELECT f0.id, f0.turn FROM vectorstore._job_fair_pick('uploaded', p_throttled, p_max_jobs,
                                                   p_room_creds, p_room, p_after_owner, p_after_cred,
                                                   p_open_owners, p_open_creds, p_open) f0),
    pick AS (SELECT s.id FROM (SELECT * FROM stranded UNION ALL SELECT * FROM f) s
             ORDER BY s.turn, s.id LIMIT p_max_jobs)
    UPDATE vectorstore.job j SET status = 'attaching', batch_id = NULL, updated_at = pg_catalog.now(),
           not_before = pg_catalog.now() + p_lease_ms * interval '1 millisecond'
    WHERE j.id = ANY (ARRAY(SELECT pick.id FROM pick))
    RETURNING j.id, j.owner, j.credential, j.vector_store_id, j.file_id, j.attributes,
              j.chunking_strategy, j.request_options, j.solo,
              j.id = (SELECT f.id FROM f ORDER BY f.turn LIMIT 1);
    PERFORM vectorstore._worker_claim_guard();
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
    PERFORM vectorstore._worker_claim_guard();
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
                                                p_room_creds text[], p_room integer[],
                                                p_after_owner name, p_after_cred text,
                                                p_open_owners name[], p_open_creds text[], p_open integer[])
RETURNS TABLE (id bigint, purpose text, owner name, credential text, vector_store_id text,
               file_id text, request_options jsonb, first boolean)
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
        SELECT f.* FROM vectorstore._job_fair_pick('deleting', p_throttled, p_max,
                                                            p_room_creds, p_room,
                                                            p_after_owner, p_after_cred,
                                                            p_open_owners, p_open_creds, p_open) f),
    -- only jobs of the same owner: a removal never reaches another role's file
    chain AS (
        SELECT j.id AS root, j.owner AS root_owner, t.id, t.status, t.file_id, t.vector_store_id,
               t.credential, t.request_options, t.replaces_job, 1 AS depth
        -- each delete by its id (LIMIT 1: not flattened into a join, which
        -- a plan made with stale statistics ran as a scan of every job that
        -- replaces another)
        FROM d CROSS JOIN LATERAL (SELECT j0.id, j0.owner, j0.replaces_job FROM vectorstore.job j0
                                   WHERE j0.id = d.id LIMIT 1) j
        JOIN vectorstore.job t ON t.id = j.replaces_job AND t.owner = j.owner
        UNION ALL
        SELECT c.root, c.root_owner, t.id, t.status, t.file_id, t.vector_store_id, t.credential,
               t.request_options, t.replaces_job, c.depth + 1
        FROM chain c JOIN vectorstore.job t ON t.id = c.replaces_job AND t.owner = c.root_owner
        WHERE c.status IN ('failed', 'cancelled') AND c.depth < 1000),
    -- each delete's deepest (one sort of the walk, not a scan of it per delete)
    last AS (SELECT DISTINCT ON (c.root) c.* FROM chain c ORDER BY c.root, c.depth DESC),
    dels AS (
        SELECT j.id, 'delete'::text AS purpose, j.owner,
               CASE WHEN e.root IS NULL THEN j.credential ELSE e.credential END AS credential,
               coalesce(e.vector_store_id, j.vector_store_id) AS vector_store_id,
               CASE WHEN e.status = 'completed' THEN e.file_id END AS file_id,
               CASE WHEN e.root IS NULL THEN j.request_options ELSE e.request_options END AS request_options,
               d.g_turn, d.g_open, d.g_owner, d.g_cred
        FROM d JOIN vectorstore.job j ON j.id = d.id AND j.id = ANY (ARRAY(SELECT d.id FROM d))
        LEFT JOIN last e ON e.root = j.id
        WHERE e.root IS NULL OR e.status IN ('completed', 'failed', 'cancelled')),
    -- files of failed or cancelled jobs, in turns like the deletes
    x AS (
        SELECT f.* FROM vectorstore._job_fair_pick('discard', p_throttled, p_max,
                                                            p_room_creds, p_room,
                                                            p_after_owner, p_after_cred,
                                                            p_open_owners, p_open_creds, p_open) f),
    discards AS (
        SELECT q.id, 'discard'::text AS purpose, q.owner, q.credential, q.vector_store_id, q.file_id,
               q.request_options, x.g_turn, x.g_open, x.g_owner, x.g_cred
        FROM x JOIN vectorstore.job q ON q.id = x.id),
    -- both merged in the fair pick's own order (a job's turn in its run of
    -- deletes or discards, its run's open count, the round, then owner and
    -- credential: the ranks of two picks alone would give every tie to the
    -- older id), and a credential's room for both together
    rm AS (
        SELECT a.*, pg_catalog.row_number() OVER (
                   ORDER BY a.g_turn, a.g_open,
                            coalesce((a.g_owner, a.g_cred) <= (p_after_owner, p_after_cred), false),
                            a.g_owner, a.g_cred, a.id) AS turn
        FROM (SELECT * FROM dels UNION ALL SELECT * FROM discards) a),
    rmc AS (
        SELECT rm.*, pg_catalog.row_number() OVER (PARTITION BY coalesce(rm.credential, '')
                                                    ORDER BY rm.turn) AS nth
        FROM rm),
    pick AS (SELECT b.id, b.purpose, b.owner, b.credential, b.vector_store_id, b.file_id,
                    b.request_options, b.turn
             FROM rmc b
             WHERE b.nth <= coalesce((SELECT r.room FROM unnest(p_room_creds, p_room) r(cred, room)
                                      WHERE r.cred = coalesce(b.credential, '') LIMIT 1), p_max)
             ORDER BY b.turn LIMIT p_max),
    -- deletes that wait for a job on their chain to finish: look again in a second
    waits AS (UPDATE vectorstore.job j SET not_before = pg_catalog.now() + interval '1 second'
              WHERE j.id = ANY (ARRAY(SELECT d.id FROM d
                                      WHERE NOT EXISTS (SELECT 1 FROM dels WHERE dels.id = d.id)))),
    u AS (UPDATE vectorstore.job j
          SET not_before = pg_catalog.now() + p_lease_ms * interval '1 millisecond'
          WHERE j.id = ANY (ARRAY(SELECT pick.id FROM pick)))
    SELECT pick.id, pick.purpose, pick.owner, pick.credential, pick.vector_store_id, pick.file_id,
           pick.request_options, pick.id = (SELECT p1.id FROM pick p1 ORDER BY p1.turn LIMIT 1)
    FROM pick ORDER BY pick.turn;
    PERFORM vectorstore._worker_claim_guard();
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
    PERFORM vectorstore._worker_claim_guard();
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
    PERFORM vectorstore._worker_claim_guard();
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
-- The worker's identity rows (worker_state), one per identity (the cluster's
-- system identifier, the database's oid) whose work this database holds.
-- The install script makes this database's row: no role's transaction makes
-- or holds one (222, 225), and the worker never waits for one. pg_dump
-- carries the rows, so a restored database holds its origin's row beside
-- the one its CREATE EXTENSION made, and a CREATE DATABASE ... TEMPLATE copy
-- its template's alone. A row of another identity means this database is a
-- copy (_worker_copy_of): nothing is sent until a superuser resumes it
-- (vs_worker_resume()), which removes such rows. Rows are keyed by a random
-- nonce, so a restored row never conflicts with the one the script made
-- (054), and each row's marker token is made from its own identity and
-- nonce. Two rows of this identity (a dump restored into the database it
-- was taken from) are one database's: the oldest is kept (_worker_own).

-- This database's identity (C: queue.c); PUBLIC may call it (worker_status
-- does): it shows what worker_status shows of a copy.
CREATE FUNCTION vectorstore._worker_identity(OUT system_identifier text, OUT database_oid oid)
    AS 'MODULE_PATHNAME', 'vs_worker_identity' LANGUAGE C STABLE PARALLEL SAFE;

-- This database's row (its nonce): the oldest of its identity; NULL when
-- there is none (a copy made from a template).
CREATE FUNCTION vectorstore._worker_own() RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT s.nonce FROM vectorstore.worker_state s, vectorstore._worker_identity() i
    WHERE s.system_identifier = i.system_identifier AND s.database_oid = i.database_oid
    ORDER BY s.made_at, s.nonce LIMIT 1
$$;

-- What a copy's worker_status says (formatting only: PUBLIC may call it,
-- as the view does).
CREATE FUNCTION vectorstore._worker_copy_reason(p_system_identifier text, p_database_oid oid) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.format('copy of database %s of cluster %s: nothing is sent until a superuser runs vectorstore.vs_worker_resume()',
                             p_database_oid, p_system_identifier)
$$;

-- What a database holding jobs queued in another (a restore, perhaps still
-- running; a copy made before its worker started) says (PUBLIC may call it).
CREATE FUNCTION vectorstore._worker_jobs_held_reason() RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT 'holds jobs queued in another database (restored or copied): nothing is sent until they are this database''s, or a superuser runs vectorstore.vs_worker_resume()'::text
$$;

-- Why this database is a copy (the oldest row of another identity); NULL
-- when it is not.
CREATE FUNCTION vectorstore._worker_copy_of() RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT vectorstore._worker_copy_reason(s.system_identifier, s.database_oid)
    FROM vectorstore.worker_state s, vectorstore._worker_identity() i
    WHERE s.system_identifier <> i.system_identifier OR s.database_oid <> i.database_oid
    ORDER BY s.made_at, s.nonce LIMIT 1
$$;

-- Why this database holds jobs of another (job.origin: the row of the
-- database each was queued in; a restore or a copy brings the origin's),
-- or NULL. The least and greatest origin, and whether one is NULL: three
-- probes of job_origin_idx whatever the plan (a comparison with own would
-- be planned, once the plan is generic, without knowing own, and read the
-- whole table: 230).
CREATE FUNCTION vectorstore._worker_jobs_held() RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    own text := vectorstore._worker_own();
    lo text;
    hi text;
BEGIN
    SELECT pg_catalog.min(j.origin), pg_catalog.max(j.origin) INTO lo, hi FROM vectorstore.job j;
    IF (lo IS NOT NULL AND (lo IS DISTINCT FROM own OR hi IS DISTINCT FROM own))
       OR EXISTS (SELECT 1 FROM vectorstore.job j WHERE j.origin IS NULL) THEN
        RETURN vectorstore._worker_jobs_held_reason();
    END IF;
    RETURN NULL;
END $$;

-- The last word of every claim (_job_claim_*, _sweep_claim, _sweep_page):
-- what it took counts only if this database is neither a copy nor holds
-- another's jobs. Run after the claim, with a later snapshot, so jobs a
-- restore commits while a claim runs are either not in the claim or seen
-- here; otherwise it raises, and the claim's transaction rolls back (the
-- worker's next heartbeat sees why and leaves).
CREATE FUNCTION vectorstore._worker_claim_guard() RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    why text := coalesce(vectorstore._worker_copy_of(), vectorstore._worker_jobs_held());
BEGIN
    IF why IS NOT NULL THEN
        RAISE EXCEPTION 'vectorstore worker: nothing claimed: this database is a %', why
              USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
END $$;

-- The marker token of an identity row: made from its identity and nonce.
CREATE FUNCTION vectorstore._worker_token(p_system_identifier text, p_database_oid oid, p_nonce text)
RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.substr(pg_catalog.md5(p_system_identifier || '/' || p_database_oid || '/' || p_nonce), 1, 16)
$$;

-- A new row of this database's identity: a random nonce, and the marker
-- token made from both. Returns its nonce.
CREATE FUNCTION vectorstore._worker_make_row() RETURNS text
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO vectorstore.worker_state (nonce, system_identifier, database_oid, token)
    SELECT r.nonce, i.system_identifier, i.database_oid,
           vectorstore._worker_token(i.system_identifier, i.database_oid, r.nonce)
    FROM vectorstore._worker_identity() i,
         (SELECT pg_catalog.replace(pg_catalog.gen_random_uuid()::text, '-', '') AS nonce) r
    RETURNING nonce
$$;

-- A worker starts: its marker token, and whether it is paused. A copy is
-- paused here (copy_detected: the first time, which the worker logs).
-- held: it holds jobs of another database (not yet a copy by its rows: a
-- restore still running, say), so the worker waits and looks again.
CREATE FUNCTION vectorstore._worker_start(p_pid integer,
                                          OUT token text, OUT paused boolean, OUT paused_reason text,
                                          OUT copy_detected boolean, OUT held text)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    own text := vectorstore._worker_own();
    copy_of text := vectorstore._worker_copy_of();
    w vectorstore.worker_state;
BEGIN
    IF own IS NULL THEN
        own := vectorstore._worker_make_row();
    END IF;
    SELECT * INTO STRICT w FROM vectorstore.worker_state s WHERE s.nonce = own FOR UPDATE;
    -- other rows of this identity (a dump restored into the database it came
    -- from) are this database's too: their jobs become the kept row's
    WITH gone AS (DELETE FROM vectorstore.worker_state s USING vectorstore._worker_identity() i
                   WHERE s.system_identifier = i.system_identifier AND s.database_oid = i.database_oid
                     AND s.nonce <> own
                  RETURNING s.nonce)
    UPDATE vectorstore.job j SET origin = own FROM gone WHERE j.origin = gone.nonce;
    copy_detected := copy_of IS NOT NULL AND (NOT w.paused OR w.paused_reason IS DISTINCT FROM copy_of);
    IF copy_detected THEN
        UPDATE vectorstore.worker_state s SET paused = true, paused_reason = copy_of,
               paused_at = pg_catalog.now(), pid = NULL
         WHERE s.nonce = own RETURNING * INTO w;
    ELSIF NOT w.paused AND vectorstore._worker_jobs_held() IS NULL THEN
        UPDATE vectorstore.worker_state s SET pid = p_pid, started_at = pg_catalog.now(),
               heartbeat_at = pg_catalog.now()
         WHERE s.nonce = own;
    END IF;
    token := w.token;
    paused := w.paused;
    paused_reason := w.paused_reason;
    held := CASE WHEN NOT w.paused THEN vectorstore._worker_jobs_held() END;
END $$;

-- Pause or resume this database's worker (vs_worker_pause/resume); returns
-- whether it was paused. Resuming a copy makes it a database of its own:
-- the rows of other identities go (its own row, made at its restore or
-- start, has a nonce and a marker token of its own), and each of its
-- trigger-mode syncs is computed once (sync_change names tables by oid, so
-- it is not dumped: a change the original's trigger recorded but had not
-- computed yet would otherwise be lost in a restore; the computation queues
-- only differences).
CREATE FUNCTION vectorstore._worker_set_paused(p_paused boolean, p_reason text) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    own text := vectorstore._worker_own();
    copy_of text := vectorstore._worker_copy_of();
    was boolean;
BEGIN
    IF own IS NULL THEN
        own := vectorstore._worker_make_row();
    END IF;
    SELECT s.paused OR copy_of IS NOT NULL OR vectorstore._worker_jobs_held() IS NOT NULL INTO STRICT was
      FROM vectorstore.worker_state s WHERE s.nonce = own FOR UPDATE;
    IF p_paused THEN
        UPDATE vectorstore.worker_state s SET paused = true, paused_reason = coalesce(copy_of, p_reason),
               paused_at = pg_catalog.now(), pid = NULL
         WHERE s.nonce = own;
    ELSE
        UPDATE vectorstore.worker_state s SET paused = false, paused_reason = NULL, paused_at = NULL
         WHERE s.nonce = own;
        DELETE FROM vectorstore.worker_state s WHERE s.nonce <> own;
        UPDATE vectorstore.job j SET origin = own WHERE j.origin IS DISTINCT FROM own;
        IF copy_of IS NOT NULL THEN
            INSERT INTO vectorstore.sync_change (sync_name, relid)
            SELECT y.name, pg_catalog.to_regclass(y.source) FROM vectorstore.sync y
            WHERE y.use_trigger AND pg_catalog.to_regclass(y.source) IS NOT NULL;
        END IF;
    END IF;
    RETURN was;
END $$;

-- Each pass: the heartbeat and the counters gathered since the last one.
-- Skips the row when someone holds it (false: keep the counts for later).
CREATE FUNCTION vectorstore._worker_heartbeat(p_pid integer, p_done bigint, p_failed bigint,
                                              p_uploaded bigint, p_adopted bigint, p_deleted bigint,
                                              p_error text, OUT ok boolean, OUT paused boolean,
                                              OUT held text)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    own text := vectorstore._worker_own();
BEGIN
    WITH l AS (SELECT s.nonce FROM vectorstore.worker_state s WHERE s.nonce = own FOR UPDATE SKIP LOCKED),
    u AS (UPDATE vectorstore.worker_state s SET heartbeat_at = pg_catalog.now(), pid = p_pid,
                 jobs_done = s.jobs_done + p_done, jobs_failed = s.jobs_failed + p_failed,
                 files_uploaded = s.files_uploaded + p_uploaded,
                 uploads_adopted = s.uploads_adopted + p_adopted,
                 duplicates_deleted = s.duplicates_deleted + p_deleted,
                 last_error = coalesce(p_error, s.last_error)
          FROM l WHERE s.nonce = l.nonce RETURNING s.paused)
    SELECT EXISTS (SELECT 1 FROM u),
           coalesce((SELECT u.paused FROM u),
                    (SELECT s.paused FROM vectorstore.worker_state s WHERE s.nonce = own), false)
      INTO ok, paused;
    held := coalesce(vectorstore._worker_copy_of(), vectorstore._worker_jobs_held());
END
$$;

-- The worker leaves (idle, paused, or shutting down).
CREATE FUNCTION vectorstore._worker_stop(p_pid integer) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    WITH l AS (SELECT s.nonce FROM vectorstore.worker_state s WHERE s.pid = p_pid FOR UPDATE SKIP LOCKED)
    UPDATE vectorstore.worker_state s SET pid = NULL FROM l WHERE s.nonce = l.nonce;
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
           jobs_purged = s.jobs_purged + purged
     WHERE s.nonce = vectorstore._worker_own();
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
    vectorstore._job_fair_pick(text, text[], integer, text[], integer[], name, text, name[], text[], integer[]),
    vectorstore._job_claim_uploads(text[], integer, integer, bigint, text[], bigint[], text[], integer[], name, text, name[], text[], integer[]),
    vectorstore._job_record_uploaded(bigint[], text[]),
    vectorstore._job_claim_attaches(text[], integer, integer, text[], integer[], name, text, name[], text[], integer[]),
    vectorstore._job_record_batch(bigint[], text, integer),
    vectorstore._job_attach_alone(bigint[], text),
    vectorstore._job_claim_polls(text[], integer, integer),
    vectorstore._job_record_polled(bigint[], text, text, integer, text, text[], text[], text[], integer),
    vectorstore._job_claim_removals(text[], integer, integer, text[], integer[], name, text, name[], text[], integer[]),
    vectorstore._job_record_removed(bigint[]),
    vectorstore._job_discard_failed(bigint[], text[], integer[], text[], integer),
    vectorstore._sweep_claim(integer),
    vectorstore._sweep_page(name, text, text, text[], bigint[], text[], bigint[]),
    vectorstore._sweep_progress(name, text, text, text, integer, boolean, text, integer, integer),
    vectorstore._sweep_unauthorized(name, text, text),
    vectorstore._worker_own(),
    vectorstore._worker_jobs_held(),
    vectorstore._worker_claim_guard(),
    vectorstore._worker_copy_of(),
    vectorstore._worker_token(text, oid, text),
    vectorstore._worker_make_row(),
    vectorstore._worker_start(integer),
    vectorstore._worker_set_paused(boolean, text),
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

-- This database's identity row (the oldest of its identity, or another's in
-- a copy made from a template, before its worker starts). A copy (a row of
-- another identity), or a database holding jobs queued in another, is shown
-- paused, whether or not a worker has started there: what _worker_copy_of
-- and _worker_jobs_held say, written out here because a view's functions
-- run with the caller's rights, and no role may call those. pid: only while
-- that process is this database's worker (a restored copy carries the
-- original's pid until a worker starts there).
CREATE VIEW vectorstore.worker_status WITH (security_barrier = true) AS
    WITH i AS (SELECT * FROM vectorstore._worker_identity()),
    r AS (
        SELECT s.nonce, s.made_at, s.system_identifier, s.database_oid, s.paused, s.paused_reason,
               s.paused_at, s.pid, s.started_at, s.heartbeat_at, s.jobs_done, s.jobs_failed,
               s.files_uploaded, s.uploads_adopted, s.duplicates_deleted, s.jobs_purged,
               s.last_purge_at, s.last_error,
               (s.system_identifier OPERATOR(pg_catalog.=) i.system_identifier
                     AND s.database_oid OPERATOR(pg_catalog.=) i.database_oid) AS own
        FROM vectorstore.worker_state s, i),
    o AS (
        SELECT vectorstore._worker_copy_reason(r.system_identifier, r.database_oid) AS reason
        FROM r WHERE NOT r.own ORDER BY r.made_at, r.nonce LIMIT 1),
    w AS (
        SELECT r.* FROM r ORDER BY r.own DESC, r.made_at, r.nonce LIMIT 1),
    jo AS (
        SELECT pg_catalog.min(j.origin) AS lo, pg_catalog.max(j.origin) AS hi FROM vectorstore.job j),
    h AS (
        SELECT vectorstore._worker_jobs_held_reason() AS reason FROM w, jo
        WHERE (jo.lo IS NOT NULL AND (jo.lo IS DISTINCT FROM w.nonce OR jo.hi IS DISTINCT FROM w.nonce))
           OR EXISTS (SELECT 1 FROM vectorstore.job j WHERE j.origin IS NULL))
    SELECT CASE WHEN a.pid IS NOT NULL THEN w.pid END AS pid, a.backend_type, a.application_name, w.started_at, w.heartbeat_at,
           pg_catalog.now() OPERATOR(pg_catalog.-) w.heartbeat_at AS since_heartbeat,
           w.paused OR o.reason IS NOT NULL OR h.reason IS NOT NULL AS paused,
           coalesce(o.reason, h.reason, w.paused_reason) AS paused_reason,
           CASE WHEN w.paused THEN w.paused_at END AS paused_at,
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
    FROM w LEFT JOIN o ON true LEFT JOIN h ON true
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
COMMENT ON COLUMN vectorstore.job.origin IS 'The identity row (worker_state.nonce) of the database the job was queued in; nothing is sent while the database holds a job of another''s (a restore, a copy) until it is known for what it is.';
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
COMMENT ON FUNCTION vectorstore._job_fair_pick(text, text[], integer, text[], integer[], name, text, name[], text[], integer[]) IS
  'Internal: due jobs of a status, locked, in turns per owner and credential.';
COMMENT ON FUNCTION vectorstore._job_claim_uploads(text[], integer, integer, bigint, text[], bigint[], text[], integer[], name, text, name[], text[], integer[]) IS
  'Internal transition: queued -> uploading.';
COMMENT ON FUNCTION vectorstore._job_record_uploaded(bigint[], text[]) IS
  'Internal transition: uploading -> uploaded, with the file id.';
COMMENT ON FUNCTION vectorstore._job_claim_attaches(text[], integer, integer, text[], integer[], name, text, name[], text[], integer[]) IS
  'Internal transition: uploaded -> attaching.';
COMMENT ON FUNCTION vectorstore._job_record_batch(bigint[], text, integer) IS
  'Internal transition: attaching, with the file batch that attaches it.';
COMMENT ON FUNCTION vectorstore._job_attach_alone(bigint[], text) IS
  'Internal transition: attaching -> uploaded, to be attached in a batch of its own.';
COMMENT ON FUNCTION vectorstore._job_claim_polls(text[], integer, integer) IS
  'Internal: file batches due for a poll.';
COMMENT ON FUNCTION vectorstore._job_record_polled(bigint[], text, text, integer, text, text[], text[], text[], integer) IS
  'Internal transition: what a poll of a file batch found (attaching -> completed | deleting | uploaded | failed).';
COMMENT ON FUNCTION vectorstore._job_claim_removals(text[], integer, integer, text[], integer[], name, text, name[], text[], integer[]) IS
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
COMMENT ON FUNCTION vectorstore._worker_identity() IS
  'Internal: this database''s identity (the cluster''s system identifier, the database''s oid).';
COMMENT ON FUNCTION vectorstore._worker_own() IS
  'Internal: this database''s identity row (its nonce), the oldest of its identity.';
COMMENT ON FUNCTION vectorstore._worker_copy_reason(text, oid) IS
  'Internal: what worker_status says of a copy of the database of that identity.';
COMMENT ON FUNCTION vectorstore._worker_copy_of() IS
  'Internal: why this database is a copy (it holds a row of another identity), or NULL.';
COMMENT ON FUNCTION vectorstore._worker_jobs_held_reason() IS
  'Internal: what worker_status says of a database holding jobs queued in another.';
COMMENT ON FUNCTION vectorstore._worker_jobs_held() IS
  'Internal: why this database holds jobs queued in another (a restore, a copy), or NULL.';
COMMENT ON FUNCTION vectorstore._worker_claim_guard() IS
  'Internal: the last word of every claim: raises (the claim rolls back) when this database is a copy or holds another''s jobs.';
COMMENT ON FUNCTION vectorstore._worker_token(text, oid, text) IS
  'Internal: the marker token of an identity row.';
COMMENT ON FUNCTION vectorstore._worker_make_row() IS
  'Internal: a new identity row for this database, with a random nonce and the marker token made from it.';
COMMENT ON FUNCTION vectorstore._worker_start(integer) IS
  'Internal: a worker starts; detects a copied or restored database and pauses it.';
COMMENT ON FUNCTION vectorstore._worker_set_paused(boolean, text) IS
  'Internal: pause or resume the worker; resuming a copy makes it a database of its own.';
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

---------------------------------------------------------------------------
-- Table sync's functions and views (the tables are in 60_sync.sql).
-- sql/upgrade/ links this file: an update from 0.1.0 creates these objects
-- from the same text as a fresh install.
---------------------------------------------------------------------------
-- Statement trigger of trigger-mode syncs (sync.c): records the change.
-- Creating the trigger needs the TRIGGER privilege on the table; what it
-- does is only append (sync name, table) to sync_change, which the worker
-- ignores unless the table is that sync's source.
-- (OR REPLACE: an update from 0.1.0 keeps the function, which the triggers
-- on the synced tables depend on)
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
                                     sync_name, row_key, origin)
        SELECT 'upload', s.vector_store_id, pg_catalog.format(s.filename_pattern, c.k),
               pg_catalog.convert_to(c.body, 'UTF8'), c.a, s.chunking_strategy, s.request_options,
               s.owner, s.credential, s.name, c.k, (SELECT vectorstore._worker_own())
        FROM c
        WHERE NOT EXISTS (SELECT 1 FROM vectorstore.sync_row r
                          WHERE r.sync_name = s.name AND r.row_key = c.k)
        RETURNING id, row_key),
    rows AS (INSERT INTO vectorstore.sync_row (sync_name, row_key, content_hash, job_id)
             SELECT s.name, ins.row_key, c.h, ins.id
             FROM ins JOIN c ON c.k = ins.row_key RETURNING 1)
    SELECT pg_catalog.count(*)::integer INTO new FROM rows;

    WITH c AS (SELECT * FROM unnest(p_keys, p_hashes, p_contents, p_attributes) c(k, h, body, a)),
    -- a new job replaces the row's job, or what that one replaced if it failed
    -- or was cancelled (final: the removals' walk would pass over it anyway),
    -- so that a row's chain does not grow with every cancelled run
    chg AS (
        SELECT c.k, c.h, c.body, c.a,
               CASE WHEN j.status IN ('failed', 'cancelled') AND j.replaces_job IS NOT NULL
                    THEN j.replaces_job ELSE r.job_id END AS job_id
        FROM c JOIN vectorstore.sync_row r ON r.sync_name = s.name AND r.row_key = c.k
        LEFT JOIN vectorstore.job j ON j.id = r.job_id
        WHERE r.content_hash <> c.h OR j.status IN ('failed', 'cancelled')),
    ins AS (
        INSERT INTO vectorstore.job (kind, vector_store_id, filename, content, attributes,
                                     chunking_strategy, request_options, owner, credential,
                                     sync_name, row_key, replaces_job, origin)
        SELECT 'replace', s.vector_store_id, pg_catalog.format(s.filename_pattern, chg.k),
               pg_catalog.convert_to(chg.body, 'UTF8'), chg.a, s.chunking_strategy, s.request_options,
               s.owner, s.credential, s.name, chg.k, chg.job_id, (SELECT vectorstore._worker_own())
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
                                     sync_name, row_key, replaces_job, status, origin)
        SELECT 'delete', s.vector_store_id, s.owner, s.credential, s.request_options, s.name,
               gone.row_key,
               CASE WHEN j.status IN ('failed', 'cancelled') AND j.replaces_job IS NOT NULL
                    THEN j.replaces_job ELSE gone.job_id END, 'deleting',
               (SELECT vectorstore._worker_own())
        FROM gone LEFT JOIN vectorstore.job j ON j.id = gone.job_id RETURNING 1)
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
                                     sync_name, row_key, replaces_job, status, origin)
        SELECT 'delete', s.vector_store_id, s.owner, s.credential, s.request_options, s.name,
               r.row_key,
               CASE WHEN j.status IN ('failed', 'cancelled') AND j.replaces_job IS NOT NULL
                    THEN j.replaces_job ELSE r.job_id END, 'deleting',
               (SELECT vectorstore._worker_own())
        FROM vectorstore.sync_row r LEFT JOIN vectorstore.job j ON j.id = r.job_id
        WHERE r.sync_name = s.name;
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
                                    (SELECT s.last_purge_at FROM vectorstore.worker_state s
                                      WHERE s.nonce = vectorstore._worker_own())
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

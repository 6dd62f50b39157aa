
---------------------------------------------------------------------------
-- Table sync: keep a vector store holding one file per row of a table
---------------------------------------------------------------------------
-- vs_sync_run() compares each row's content hash with the mapping in
-- sync_row and queues jobs for the worker: 'upload' for new rows, 'replace'
-- for changed ones (the new file is attached before the old one is
-- detached and deleted), 'delete' for rows that are gone. Each role sees
-- and runs only its own syncs (row level security).
CREATE TABLE vectorstore.sync (
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
ALTER TABLE vectorstore.sync ENABLE ROW LEVEL SECURITY;
CREATE POLICY sync_owner ON vectorstore.sync
    USING (owner OPERATOR(pg_catalog.=) (SELECT r.oid FROM pg_catalog.pg_roles r
                                         WHERE r.rolname OPERATOR(pg_catalog.=) current_user));
REVOKE ALL ON vectorstore.sync FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON vectorstore.sync TO PUBLIC;

CREATE TABLE vectorstore.sync_row (
    sync_name    text NOT NULL REFERENCES vectorstore.sync(name) ON DELETE CASCADE,
    row_key      text NOT NULL,
    content_hash text NOT NULL,
    job_id       bigint NOT NULL,
    PRIMARY KEY (sync_name, row_key)
);
ALTER TABLE vectorstore.sync_row ENABLE ROW LEVEL SECURITY;
CREATE POLICY sync_row_owner ON vectorstore.sync_row
    USING (EXISTS (SELECT 1 FROM vectorstore.sync s WHERE s.name OPERATOR(pg_catalog.=) sync_name));
REVOKE ALL ON vectorstore.sync_row FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON vectorstore.sync_row TO PUBLIC;
CREATE INDEX job_sync_idx ON vectorstore.job (sync_name, row_key) WHERE sync_name IS NOT NULL;

CREATE FUNCTION vectorstore._sync_before_insert() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    NEW.owner := (SELECT r.oid FROM pg_roles r WHERE r.rolname = current_user);
    RETURN NEW;
END $$;
CREATE TRIGGER sync_before_insert BEFORE INSERT ON vectorstore.sync
    FOR EACH ROW EXECUTE FUNCTION vectorstore._sync_before_insert();

-- Statement trigger of trigger-mode syncs (sync.c): vs_sync_run() as the sync's owner.
CREATE FUNCTION vectorstore._sync_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'vs_sync_trigger' LANGUAGE C;

-- The SELECT that yields (k, c, a) for every row of a sync's source.
CREATE FUNCTION vectorstore._sync_query(s vectorstore.sync) RETURNS text
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

CREATE FUNCTION vectorstore.vs_sync_create(name text, source regclass, vector_store_id text,
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

CREATE FUNCTION vectorstore.vs_sync_run(name text, OUT new bigint, OUT changed bigint,
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

CREATE FUNCTION vectorstore.vs_sync_drop(name text, delete_files boolean DEFAULT false) RETURNS boolean
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

COMMENT ON FUNCTION vectorstore.vs_sync_create(text, regclass, text, text, text, text[], text, jsonb, boolean) IS
  'Define a sync: one file per row of source (key_column identifies the row; content is a column name or an SQL expression over the row "t"; attribute_columns become file attributes). trigger => true queues changes as they commit.';
COMMENT ON FUNCTION vectorstore.vs_sync_run(text) IS
  'Compare the source table with what was synced and queue uploads (new), replacements (changed) and deletions (deleted) for the worker; returns the counts. Schedule it with pg_cron.';
COMMENT ON FUNCTION vectorstore.vs_sync_drop(text, boolean) IS
  'Forget a sync (and its trigger); with delete_files => true its files are first queued for detaching and deletion.';

-- Row key <-> file id, to join search results (file_id) back to rows.
-- file_id is the file that search currently returns for the row.
CREATE VIEW vectorstore.sync_rows WITH (security_invoker = true) AS
    SELECT r.sync_name, s.source::regclass AS source, s.vector_store_id, r.row_key,
           CASE WHEN j.status IN ('completed', 'deleting') THEN j.file_id
                ELSE (SELECT p.file_id FROM vectorstore.job p
                      WHERE p.sync_name = r.sync_name AND p.row_key = r.row_key
                        AND p.id < r.job_id AND p.status = 'completed'
                      ORDER BY p.id DESC LIMIT 1) END AS file_id,
           r.job_id, j.status, r.content_hash
    FROM vectorstore.sync_row r
    JOIN vectorstore.sync s ON s.name = r.sync_name
    LEFT JOIN vectorstore.job j ON j.id = r.job_id;

-- Per sync: where its rows are, and an estimate of the time left from the
-- rate at which its jobs completed in the last five minutes.
CREATE VIEW vectorstore.sync_progress WITH (security_invoker = true) AS
    SELECT s.name, s.vector_store_id, c.rows, c.queued, c.uploading, c.attached, c.failed,
           p.pending AS jobs_pending, s.last_run_at, s.last_run,
           CASE WHEN p.pending = 0 THEN interval '0'
                WHEN t.done > 0 THEN make_interval(secs => p.pending * t.span / t.done)
           END AS eta
    FROM vectorstore.sync s
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

GRANT SELECT ON vectorstore.sync_rows, vectorstore.sync_progress TO PUBLIC;

COMMENT ON TABLE vectorstore.sync IS 'Table syncs defined with vs_sync_create(); each role sees its own.';
COMMENT ON TABLE vectorstore.sync_row IS 'Per sync and row key: the content hash last queued and its job.';
COMMENT ON VIEW vectorstore.sync_rows IS 'Row key to file id for each sync: join vs_search() results here.';
COMMENT ON VIEW vectorstore.sync_progress IS 'Per sync: rows queued, in flight, attached, failed, and the estimated time left.';
COMMENT ON FUNCTION vectorstore._sync_before_insert() IS 'Internal trigger: a sync belongs to the role that creates it.';
COMMENT ON FUNCTION vectorstore._sync_trigger() IS 'Internal trigger of trigger-mode syncs: vs_sync_run() as the sync''s owner.';
COMMENT ON FUNCTION vectorstore._sync_query(vectorstore.sync) IS 'Internal: the SELECT a sync reads its source with.';

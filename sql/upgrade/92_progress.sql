
-- Progress of long calls (new in 0.2.0).
CREATE FUNCTION vectorstore.vs_progress(OUT pid integer, OUT phase text, OUT done bigint,
                                        OUT total bigint, OUT percent float8,
                                        OUT started_at timestamptz, OUT updated_at timestamptz)
RETURNS SETOF record AS 'MODULE_PATHNAME', 'vs_progress'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 10;

-- Runs with its owner's rights: vs_progress() itself shows a role only its
-- own sessions (all of them to members of pg_read_all_stats).
CREATE VIEW vectorstore.progress AS
    SELECT p.pid, a.usename, a.datname, p.phase, p.done, p.total, p.percent,
           p.started_at, p.updated_at, now() - p.started_at AS running_for, a.query
    FROM vectorstore.vs_progress() p
    LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = p.pid;
GRANT SELECT ON vectorstore.progress TO PUBLIC;

COMMENT ON FUNCTION vectorstore.vs_progress() IS
  'The vectorstore calls in progress in the sessions you may see: requests done of total, per phase (needs shared_preload_libraries for other sessions).';
COMMENT ON VIEW vectorstore.progress IS
  'Long vectorstore calls in progress (vs_upload_many, vs_sync_run, waits on batches), with their session.';

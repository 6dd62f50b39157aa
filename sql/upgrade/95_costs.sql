
---------------------------------------------------------------------------
-- What the planner is told about the network functions (planner.c).
-- Set here, after every function exists, so that no module's CREATE
-- FUNCTION has to carry it and a function added later is not forgotten:
--   COST 1000 on every C function named vs_* that sends requests (all but
--     the few listed below). The planner evaluates the cheaper conditions of a scan
--     first, so "WHERE id % 100 = 0 AND vs_search_json(...) IS NOT NULL"
--     sends a request only for the rows that pass the cheap test. 1000 is
--     measured with JIT on (bench/README.md, "COST and JIT"): above any
--     cheap condition (operators cost 1, SQL and PL/pgSQL functions 100),
--     below what would make ordinary queries cross jit_above_cost.
--   SUPPORT _search_support on vs_search and vs_search_many: their rows
--     are estimated from max_num_results (times the number of queries).
---------------------------------------------------------------------------
CREATE FUNCTION vectorstore._search_support(internal) RETURNS internal
AS 'MODULE_PATHNAME', 'vs_search_support' LANGUAGE C STRICT;

COMMENT ON FUNCTION vectorstore._search_support(internal) IS
  'Internal: planner support of vs_search and vs_search_many (rows from max_num_results, times the number of queries).';

DO $vs$
DECLARE
    f pg_catalog.regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::pg_catalog.regprocedure
        FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_language l ON l.oid = p.prolang
        WHERE p.pronamespace = 'vectorstore'::pg_catalog.regnamespace
          AND l.lanname = 'c' AND p.proname LIKE 'vs\_%'
          -- the C functions that send nothing: the queue's, the sync's,
          -- credentials', the worker's switches and what sessions learned
          AND p.proname <> ALL ('{vs_pacing,vs_credential_set,vs_enqueue_upload,vs_job_cancel,
                                  vs_job_retry,vs_sync_create,vs_sync_drop,vs_sync_run,
                                  vs_worker_pause,vs_worker_resume,vs_queue_wake,
                                  vs_credentials_changed,vs_sync_changed,vs_progress}'::pg_catalog.name[])
    LOOP
        EXECUTE pg_catalog.format('ALTER FUNCTION %s COST 1000', f);
    END LOOP;
    FOR f IN
        SELECT p.oid::pg_catalog.regprocedure
        FROM pg_catalog.pg_proc p
        WHERE p.pronamespace = 'vectorstore'::pg_catalog.regnamespace
          AND p.proname IN ('vs_search', 'vs_search_many')
    LOOP
        EXECUTE pg_catalog.format('ALTER FUNCTION %s SUPPORT vectorstore._search_support', f);
    END LOOP;
END
$vs$;

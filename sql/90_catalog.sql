-- Runs only under make installcheck or test/run.sh, which start a local server
-- and point this session at it: never against the server's own API and key.
SELECT coalesce(current_setting('vstest.emulator_url', true) ~ '^http://127\.0\.0\.1:[0-9]+$'
                AND current_setting('vectorstore.base_url', true)
                    IN (current_setting('vstest.emulator_url', true) || '/v1',
                        current_setting('vstest.emulator_url', true) || '/openai'), false) AS vs_harness \gset
\if :vs_harness
\else
\echo 'not run: these suites send requests only to the local server that make installcheck starts'
\quit
\endif
-- The SQL surface itself: every public function is documented, network
-- functions are VOLATILE and PARALLEL UNSAFE, nothing is callable by PUBLIC
-- without USAGE on the schema, superuser-only helpers are not executable by PUBLIC.
SET search_path = vectorstore, public;

-- public functions (not starting with "_") without COMMENT ON FUNCTION: none
SELECT p.oid::regprocedure AS undocumented
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'vectorstore' AND p.proname NOT LIKE '\_%'
  AND obj_description(p.oid, 'pg_proc') IS NULL
ORDER BY 1::text;

-- public C functions (all of them make requests) not VOLATILE or not PARALLEL UNSAFE: none
SELECT p.oid::regprocedure AS not_volatile_unsafe
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE n.nspname = 'vectorstore' AND l.lanname = 'c' AND p.proname NOT LIKE '\_%'
  AND (p.provolatile <> 'v' OR p.proparallel <> 'u')
ORDER BY 1::text;

-- PUBLIC has no USAGE on the schema
SELECT has_schema_privilege('public', 'vectorstore', 'USAGE') AS public_usage;

-- superuser-only functions are not executable by PUBLIC
SELECT p.proname, has_function_privilege('public', p.oid, 'EXECUTE') AS public_execute
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'vectorstore' AND p.proname LIKE 'vs\_credential\_%'
ORDER BY 1;

-- the key table is readable by nobody but its owner
SELECT has_table_privilege('public', 'vectorstore.credential', 'SELECT') AS public_reads_keys;

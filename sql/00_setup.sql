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
-- Test helpers shared by every regression suite: the local emulator's control
-- surface (reset, faults, counters), reached through curl by COPY FROM PROGRAM.
-- The harness (test/run.sh) puts the emulator's URL in vstest.emulator_url.
\set ON_ERROR_STOP 0
SET client_min_messages = warning;
CREATE SCHEMA vstest;

CREATE FUNCTION vstest.emu(method text, path text, body jsonb DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql SET client_min_messages = warning AS $$
DECLARE
    url text := current_setting('vstest.emulator_url') || path;
    cmd text;
    result text;
BEGIN
    cmd := format('curl -sS --max-time 30 -X %s %s', method, quote_literal(url));
    IF body IS NOT NULL THEN
        cmd := cmd || ' -H ''Content-Type: application/json'' --data-binary '
               || '''' || replace(body::text, '''', '''"''"''') || '''';
    END IF;
    CREATE TEMP TABLE IF NOT EXISTS vstest_out (line text);
    TRUNCATE vstest_out;
    EXECUTE format('COPY vstest_out FROM PROGRAM %L WITH (FORMAT csv, DELIMITER E''\x1f'', QUOTE E''\x1e'')', cmd);
    SELECT string_agg(line, E'\n') INTO result FROM vstest_out;
    RETURN CASE WHEN result IS NULL OR result = '' THEN NULL ELSE result::jsonb END;
END $$;

CREATE FUNCTION vstest.emu_reset() RETURNS void LANGUAGE sql
    AS $$ SELECT vstest.emu('POST', '/_emulator/reset'); SELECT vstest.emu('DELETE', '/_emulator/faults'); $$;
CREATE FUNCTION vstest.emu_config(cfg jsonb) RETURNS void LANGUAGE sql
    AS $$ SELECT vstest.emu('POST', '/_emulator/config', cfg) $$;
CREATE FUNCTION vstest.emu_fault(spec jsonb) RETURNS void LANGUAGE sql
    AS $$ SELECT vstest.emu('POST', '/_emulator/faults', spec) $$;
CREATE FUNCTION vstest.emu_clear_faults() RETURNS void LANGUAGE sql
    AS $$ SELECT vstest.emu('DELETE', '/_emulator/faults') $$;
CREATE FUNCTION vstest.emu_stats() RETURNS jsonb LANGUAGE sql
    AS $$ SELECT vstest.emu('GET', '/_emulator/stats') $$;
-- requests seen for a route (templated, e.g. 'GET /v1/vector_stores/{id}'), by status or all
CREATE FUNCTION vstest.emu_count(route text, status text DEFAULT NULL) RETURNS int LANGUAGE sql AS $$
    SELECT coalesce(CASE WHEN status IS NULL
        THEN (SELECT sum(value::int) FROM jsonb_each_text(vstest.emu_stats()->'requests'->route))::int
        ELSE (vstest.emu_stats()->'requests'->route->>status)::int END, 0)
$$;

-- the helpers work: the emulator answers and counts
SELECT vstest.emu_reset();
SELECT (vstest.emu('GET', '/_emulator/health')->>'ok')::boolean AS emulator_up;
SELECT vstest.emu_stats() ? 'connections_accepted' AS has_counters;

-- Run a statement and report how it failed (or 'ok'), with the volatile parts
-- of the context (x-request-id) masked so the output is deterministic.
CREATE FUNCTION vstest.try(stmt text,
    OUT code text, OUT message text, OUT detail text, OUT hint text, OUT context text)
LANGUAGE plpgsql AS $$
DECLARE ctx text;
BEGIN
    EXECUTE stmt;
    code := '00000'; message := 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
        detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT, ctx = PG_EXCEPTION_CONTEXT;
    context := regexp_replace(substring(ctx FROM 'vectorstore request: [^\n]*'),
                              'x-request-id [^)]*', 'x-request-id ...');
    detail := nullif(detail, ''); hint := nullif(hint, '');
END $$;

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
-- The HTTP client: retries as the SDKs do (counted on the emulator), error
-- mapping to SQLSTATEs, timeouts, statement_timeout, keep-alive.
SET search_path = vectorstore, public;
\set SHOW_CONTEXT never
SELECT vstest.emu_reset();

-- keep-alive: 100 sequential calls in this (new) session use one connection.
-- Every curl call of the test helpers is a connection of its own: the one
-- that reads the counters afterwards is subtracted.
SELECT (vstest.emu_stats()->>'connections_accepted')::int AS conns_before \gset
SELECT id AS store FROM vs_store_create(name => 'http') \gset
SELECT count(*) FROM (SELECT vs_store_get(:'store') FROM generate_series(1, 100)) g;
SELECT (vstest.emu_stats()->>'connections_accepted')::int - :conns_before - 1 AS backend_connections;
SELECT vstest.emu_count('GET /v1/vector_stores/{id}', '200') AS gets;

-- helper: attempts seen for the GET route since the last reset
CREATE FUNCTION pg_temp.attempts() RETURNS text LANGUAGE sql AS $$
    SELECT coalesce((SELECT string_agg(key || ':' || value, ' ' ORDER BY key)
                     FROM jsonb_each_text(vstest.emu_stats()->'requests'->'GET /v1/vector_stores/{id}')), 'none')
$$;

-- 429 with retry-after-ms: retried twice, then success
SELECT vstest.emu_reset();
SELECT id AS store FROM vs_store_create(name => 'retry') \gset
SELECT vstest.emu_fault('{"kind": "429", "count": 2, "retry_after_ms": 50, "route": "/vector_stores/"}');
SELECT (vs_store_get(:'store')).name;
SELECT pg_temp.attempts();

-- 429 with Retry-After as an HTTP date 3 s ahead: waited for (not the ~0.5 s backoff)
SELECT vstest.emu_reset();
SELECT id AS store FROM vs_store_create(name => 'retry') \gset
SELECT vstest.emu_fault(jsonb_build_object('kind', '429', 'count', 1, 'route', '/vector_stores/',
       'retry_after', to_char((now() + interval '3 s') AT TIME ZONE 'UTC', 'Dy, DD Mon YYYY HH24:MI:SS "GMT"')));
SELECT clock_timestamp() AS t0 \gset
SELECT (vs_store_get(:'store')).name;
SELECT clock_timestamp() - :'t0' > interval '1.5 s' AS waited_for_date;
SELECT pg_temp.attempts();

-- 429 with Retry-After in seconds
SELECT vstest.emu_reset();
SELECT id AS store FROM vs_store_create(name => 'retry') \gset
SELECT vstest.emu_fault('{"kind": "429", "count": 1, "retry_after": "1", "route": "/vector_stores/"}');
SELECT clock_timestamp() AS t0 \gset
SELECT (vs_store_get(:'store')).name;
SELECT clock_timestamp() - :'t0' > interval '0.9 s' AS waited_one_second;
SELECT pg_temp.attempts();

-- 500, 502, 503, a reset connection and 408/409 (by status override): retried
SELECT vstest.emu_reset();
SELECT id AS store FROM vs_store_create(name => 'retry') \gset
SELECT vstest.emu_fault('{"faults": [
    {"kind": "500", "count": 1, "route": "/vector_stores/"},
    {"kind": "502", "count": 1, "route": "/vector_stores/"},
    {"kind": "503", "count": 1, "route": "/vector_stores/"}]}');
SET vectorstore.max_retries = 3;
SELECT (vs_store_get(:'store')).name;
SELECT pg_temp.attempts();
RESET vectorstore.max_retries;
SELECT vstest.emu_reset();
SELECT id AS store FROM vs_store_create(name => 'retry') \gset
SELECT vstest.emu_fault('{"kind": "reset", "count": 1, "route": "/vector_stores/"}');
SELECT (vs_store_get(:'store')).name;
SELECT pg_temp.attempts();
SELECT vstest.emu_reset();
SELECT id AS store FROM vs_store_create(name => 'retry') \gset
SELECT vstest.emu_fault('{"faults": [{"kind": "500", "status": 408, "count": 1, "route": "/vector_stores/"},
                                      {"kind": "500", "status": 409, "count": 1, "route": "/vector_stores/"}]}');
SELECT (vs_store_get(:'store')).name;
SELECT pg_temp.attempts();

-- a stall longer than vectorstore.timeout: the attempt times out and is retried
SELECT vstest.emu_reset();
SELECT id AS store FROM vs_store_create(name => 'retry') \gset
SELECT vstest.emu_fault('{"kind": "stall", "count": 1, "stall_ms": 5000, "route": "/vector_stores/"}');
SET vectorstore.timeout = '300ms';
SELECT (vs_store_get(:'store')).name;
RESET vectorstore.timeout;
SELECT pg_temp.attempts();

-- retries exhausted: the last error is reported, with the attempts made
SELECT vstest.emu_reset();
SELECT id AS store FROM vs_store_create(name => 'retry') \gset
SELECT vstest.emu_fault('{"kind": "503", "count": 10, "route": "/vector_stores/"}');
SELECT code, message, detail FROM vstest.try(format('SELECT vs_store_get(%L)', :'store'));
SELECT pg_temp.attempts();
SELECT vstest.emu_clear_faults();
SELECT vstest.emu_fault('{"kind": "429", "count": 10, "retry_after_ms": 10, "route": "/vector_stores/"}');
SELECT code, message, hint FROM vstest.try(format('SELECT vs_store_get(%L)', :'store'));
SELECT vstest.emu_clear_faults();
SET vectorstore.max_retries = 0;
SELECT vstest.emu_fault('{"kind": "503", "count": 1, "route": "/vector_stores/"}');
SELECT code FROM vstest.try(format('SELECT vs_store_get(%L)', :'store'));
RESET vectorstore.max_retries;

-- never retried: x-should-retry: false, and 400/401/403/404/413/422
SELECT vstest.emu_reset();
SELECT id AS store FROM vs_store_create(name => 'retry') \gset
SELECT vstest.emu_fault('{"kind": "should_retry_false", "count": 1, "route": "/vector_stores/"}');
SELECT code, message FROM vstest.try(format('SELECT vs_store_get(%L)', :'store'));
SELECT pg_temp.attempts();
CREATE FUNCTION pg_temp.status_case(status int, store text) RETURNS SETOF record LANGUAGE plpgsql AS $$
BEGIN
    PERFORM vstest.emu_fault(jsonb_build_object('kind', '500', 'status', status, 'count', 1, 'route', '/vector_stores/'));
    RETURN QUERY SELECT t.code, t.message, t.hint IS NOT NULL FROM vstest.try(format('SELECT vs_store_get(%L)', store)) t;
END $$;
SELECT s AS status, t.*
FROM unnest(ARRAY[400, 401, 403, 404, 413, 422]) s,
     LATERAL pg_temp.status_case(s, :'store') AS t(code text, message text, has_hint boolean);
SELECT pg_temp.attempts();

-- a 200 whose body is not JSON: 08P01, not retried
SELECT vstest.emu_clear_faults();
SELECT vstest.emu_fault('{"kind": "malformed_json", "count": 1, "route": "/vector_stores/"}');
SELECT code, message, detail LIKE 'The response body is not valid JSON%' AS says_why
FROM vstest.try(format('SELECT vs_store_get(%L)', :'store'));

-- a slow body still arrives whole
SELECT vstest.emu_fault('{"kind": "slow_body", "count": 1, "route": "/vector_stores/"}');
SELECT (vs_store_get(:'store')).name;

-- the response cap
SET vectorstore.max_response_size = '1kB';
SELECT code, message FROM vstest.try(format('SELECT vs_store_get(%L)', :'store'));
SELECT count(*) FROM (SELECT vs_store_create(name => 'filler ' || i, metadata => jsonb_build_object('pad', repeat('x', 500)))
                      FROM generate_series(1, 5) i) c;
SELECT code, message FROM vstest.try('SELECT count(*) FROM vs_stores()');
RESET vectorstore.max_response_size;

-- statement_timeout and cancel stop a stalled request promptly (57014), and
-- the session stays usable
SELECT vstest.emu_fault('{"kind": "stall", "count": 1, "stall_ms": 20000, "route": "/vector_stores/"}');
SET statement_timeout = '300ms';
SELECT clock_timestamp() AS t0 \gset
SELECT vs_store_get(:'store');
\echo :LAST_ERROR_SQLSTATE
RESET statement_timeout;
SELECT clock_timestamp() - :'t0' < interval '1 s' AS within_a_second;
-- also while waiting between retries
SELECT vstest.emu_clear_faults();
SELECT vstest.emu_fault('{"kind": "429", "count": 1, "retry_after": "30", "route": "/vector_stores/"}');
SET statement_timeout = '300ms';
SELECT clock_timestamp() AS t0 \gset
SELECT vs_store_get(:'store');
\echo :LAST_ERROR_SQLSTATE
RESET statement_timeout;
SELECT clock_timestamp() - :'t0' < interval '1 s' AS within_a_second;
SELECT vstest.emu_clear_faults();
SELECT (vs_store_get(:'store')).name AS still_usable;

-- nothing listening: connection refused, retried, then 08001
SET vectorstore.max_retries = 1;
SET vectorstore.connect_timeout = '1s';
SET vectorstore.base_url = 'http://127.0.0.1:1/v1';
SELECT code, message FROM vstest.try($$SELECT vs_store_get('vs_x')$$);
RESET vectorstore.base_url;
RESET vectorstore.max_retries;
RESET vectorstore.connect_timeout;

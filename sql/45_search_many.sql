-- Fan-out reads (vs_search_many, vs_store_file_get_many, vs_file_get_many),
-- what the planner is told (row estimates, COST), the per-statement request
-- cap, and vs_upload_many's adaptive concurrency — each counted on the
-- local server, not timed.
SET search_path = vectorstore, public;
\set SHOW_CONTEXT never
SELECT vstest.emu_reset();
SELECT vstest.emu_config('{"processing_delay_ms": 20}');

-- How a statement failed: SQLSTATE, message, detail and the context lines
-- that name the request or the element (x-request-id masked).
CREATE FUNCTION vstest.fails(stmt text,
    OUT code text, OUT message text, OUT detail text, OUT context text)
LANGUAGE plpgsql AS $$
DECLARE ctx text;
BEGIN
    EXECUTE stmt;
    code := '00000'; message := 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
        detail = PG_EXCEPTION_DETAIL, ctx = PG_EXCEPTION_CONTEXT;
    context := (SELECT string_agg(regexp_replace(regexp_replace(l, 'x-request-id [^)]*', 'x-request-id ...'),
                                                 '/vs_[A-Za-z0-9]+/', '/vs_.../'), ' / ')
                FROM regexp_split_to_table(ctx, E'\n') l
                WHERE l ~ '^(vectorstore request|vs_[a-z_]+_many): ');
    detail := nullif(regexp_replace(detail, 'vs_[A-Za-z0-9]{8,}', 'vs_...', 'g'), '');
END $$;
-- API requests the local server has seen for a route (all statuses)
CREATE FUNCTION vstest.sent(route text) RETURNS int LANGUAGE sql
    AS $$ SELECT vstest.emu_count(route) $$;

-- a store of two tenants' documents
CREATE TEMP TABLE kb (id int, tenant text, body text);
INSERT INTO kb VALUES
 (1, 'acme',   'Refund policy: refunds within 14 days of the return.'),
 (2, 'acme',   'Shipping policy: parcels ship within two days.'),
 (3, 'acme',   'Warranty policy: two years on every device.'),
 (4, 'globex', 'Refund policy: store credit only, no cash refunds, for every order placed online or in a shop.'),
 (5, 'globex', 'Shipping policy: free shipping over fifty euros.'),
 (6, 'globex', 'Warranty policy: one year, extendable.');
SELECT id AS vs FROM vs_store_create(name => 'many') \gset
SELECT count(*) FILTER (WHERE u.status = 'completed') AS completed
FROM (SELECT array_agg('kb' || id || '.txt' ORDER BY id) n, array_agg(body ORDER BY id) b,
             array_agg(jsonb_build_object('id', id, 'tenant', tenant) ORDER BY id) a FROM kb) d,
     LATERAL vs_upload_many(:'vs', d.n, d.b, d.a) u;

CREATE TEMP TABLE questions (qid int, tenant text, q text);
INSERT INTO questions VALUES (1, 'acme', 'refund policy'), (2, 'globex', 'refund policy'),
  (3, 'acme', 'shipping days'), (4, 'globex', 'free shipping'), (5, 'acme', 'warranty years'),
  (6, 'globex', 'warranty'), (7, 'acme', 'refund policy');

-- order and query_index: the same rows as one vs_search per question,
-- numbered by position (a repeated question is searched again)
CREATE TEMP TABLE many AS
SELECT m.*, o AS output_order
FROM vs_search_many(:'vs', (SELECT array_agg(q ORDER BY qid) FROM questions), max_num_results => 2)
     WITH ORDINALITY m(query_index, query, rank, file_id, filename, score, content, attributes, o);
CREATE TEMP TABLE one_by_one AS
SELECT q.qid AS query_index, q.q AS query, r.rank, r.file_id, r.filename, r.score, r.content, r.attributes
FROM questions q CROSS JOIN LATERAL vs_search(:'vs', q.q, max_num_results => 2) r;
SELECT count(*) AS rows,
       (SELECT count(*) FROM (SELECT query_index, query, rank, file_id, filename, score, content, attributes FROM many
                              EXCEPT ALL SELECT * FROM one_by_one) x) AS only_in_many,
       (SELECT count(*) FROM (SELECT * FROM one_by_one
                              EXCEPT ALL SELECT query_index, query, rank, file_id, filename, score, content, attributes FROM many) x) AS only_one_by_one
FROM many;
-- rows come out ordered by (query_index, rank)
SELECT bool_and(output_order = expected) AS in_order
FROM (SELECT output_order, row_number() OVER (ORDER BY query_index, rank) AS expected FROM many) s;
SELECT query_index, query, rank, filename FROM many ORDER BY output_order;

-- answers that arrive out of turn are held back: three of six searches
-- stalled, the rows still come in input order
SELECT vstest.emu_fault('{"kind": "stall", "count": 3, "stall_ms": 300, "route": "/search"}');
SELECT bool_and(o = expected) AS in_order_after_stalls, count(DISTINCT query_index) AS queries
FROM (SELECT o, query_index, row_number() OVER (ORDER BY query_index, rank) AS expected
      FROM vs_search_many(:'vs', ARRAY['refund', 'shipping', 'warranty', 'policy', 'days', 'years'],
                          max_num_results => 3)
           WITH ORDINALITY m(query_index, query, rank, file_id, filename, score, content, attributes, o)) s;
SELECT vstest.emu_clear_faults();

-- one search per element, max_concurrency 1 gives the same rows
SELECT vstest.sent('POST /v1/vector_stores/{id}/search') AS s0 \gset
SELECT count(*) AS rows_serial FROM vs_search_many(:'vs', (SELECT array_agg(q ORDER BY qid) FROM questions),
                                                   max_num_results => 2, max_concurrency => 1);
SELECT vstest.sent('POST /v1/vector_stores/{id}/search') - :s0 AS searches_sent;

-- per-query filters: each question filtered by its own tenant
SELECT m.query_index, q.tenant AS asked_for, array_agg(DISTINCT m.attributes->>'tenant') AS tenants_found
FROM vs_search_many(:'vs', (SELECT array_agg(q ORDER BY qid) FROM questions),
                    filters => (SELECT jsonb_agg(jsonb_build_object('type', 'eq', 'key', 'tenant', 'value', tenant) ORDER BY qid)
                                FROM questions)) m
JOIN questions q ON q.qid = m.query_index
GROUP BY 1, 2 ORDER BY 1;
-- null in the array: no filter for that query; one object: the same filter for all
SELECT query_index, array_agg(DISTINCT attributes->>'tenant' ORDER BY attributes->>'tenant') AS tenants
FROM vs_search_many(:'vs', ARRAY['refund policy', 'refund policy'],
                    filters => '[null, {"type": "eq", "key": "tenant", "value": "globex"}]')
GROUP BY 1 ORDER BY 1;
SELECT query_index, array_agg(DISTINCT attributes->>'tenant') AS tenants
FROM vs_search_many(:'vs', ARRAY['refund', 'shipping'], filters => '{"type": "eq", "key": "tenant", "value": "acme"}')
GROUP BY 1 ORDER BY 1;
-- the other arguments reach every search
SELECT count(*) AS above_threshold FROM vs_search_many(:'vs', ARRAY['refund policy', 'warranty'],
    ranking_options => '{"score_threshold": 0.99}');
SELECT count(DISTINCT query_index) AS rewritten FROM vs_search_many(:'vs', ARRAY['What is the REFUND policy?'],
    rewrite_query => true);

-- empty queries: no rows and no request; NULL elements and bad arguments:
-- an error naming the element, before anything is sent
SELECT vstest.sent('POST /v1/vector_stores/{id}/search') AS s0 \gset
SELECT count(*) AS no_rows FROM vs_search_many(:'vs', ARRAY[]::text[]);
SELECT count(*) AS no_rows FROM vs_search_many(:'vs', '{}', filters => '[]');
SELECT * FROM vstest.fails($$SELECT * FROM vs_search_many('$$ || :'vs' || $$', ARRAY['refund', NULL, 'x'])$$);
SELECT * FROM vstest.fails($$SELECT * FROM vs_search_many('$$ || :'vs' || $$', ARRAY['refund', ''])$$);
SELECT * FROM vstest.fails($$SELECT * FROM vs_search_many('$$ || :'vs' || $$', NULL)$$);
SELECT * FROM vstest.fails($$SELECT * FROM vs_search_many(NULL, ARRAY['x'])$$);
SELECT * FROM vstest.fails($$SELECT * FROM vs_search_many('$$ || :'vs' || $$', ARRAY[['a'], ['b']])$$);
SELECT * FROM vstest.fails($$SELECT * FROM vs_search_many('$$ || :'vs' || $$', ARRAY['a'], max_num_results => 51)$$);
SELECT * FROM vstest.fails($$SELECT * FROM vs_search_many('$$ || :'vs' || $$', ARRAY['a'], ranking_options => '{"ranker": "best"}')$$);
SELECT * FROM vstest.fails($$SELECT * FROM vs_search_many('$$ || :'vs' || $$', ARRAY['a', 'b'], filters => '[{"type": "eq", "key": "k", "value": 1}]')$$);
SELECT * FROM vstest.fails($$SELECT * FROM vs_search_many('$$ || :'vs' || $$', ARRAY['a', 'b'], filters => '[null, {"type": "like", "key": "k", "value": 1}]')$$);
SELECT * FROM vstest.fails($$SELECT * FROM vs_search_many('$$ || :'vs' || $$', ARRAY['a'], filters => '"acme"')$$);
SELECT * FROM vstest.fails($$SELECT * FROM vs_search_many('$$ || :'vs' || $$', ARRAY['a'], max_concurrency => 0)$$);
SELECT * FROM vstest.fails($$SELECT * FROM vs_search_many('$$ || :'vs' || $$', ARRAY['a'], max_concurrency => 65)$$);
SELECT * FROM vstest.fails($$SELECT * FROM vs_search_many('$$ || :'vs' || $$', ARRAY['a'], request_options => '{"extra_headers": {"Authorization": "x"}}')$$);
SELECT * FROM vstest.fails($$SELECT * FROM vs_search_many('vs_1/../files', ARRAY['a'])$$);
SELECT vstest.sent('POST /v1/vector_stores/{id}/search') - :s0 AS searches_sent;

-- a query that still fails raises an ERROR naming its index: the server
-- refuses the filter of the third query (nested deeper than it allows)
SELECT repeat('{"type": "and", "filters": [', 70) || '{"type": "eq", "key": "tenant", "value": "acme"}'
       || repeat(']}', 70) AS deep \gset
SELECT code, message, context FROM vstest.fails(format($$SELECT * FROM vs_search_many(%L, ARRAY['a', 'b', 'c', 'd'],
    filters => jsonb_build_array(null, null, %L::jsonb, null))$$, :'vs', :'deep'));
-- ... and a store that does not exist fails on the first answer read
SELECT code, message, context ~ 'vs_search_many: queries\[[12]\]$' AS names_an_index
FROM vstest.fails($$SELECT * FROM vs_search_many('vs_nope', ARRAY['a', 'b'])$$);

-- 429 on some queries: retried as vs_search retries them (retry-after-ms),
-- the rows are the same
SELECT vstest.sent('POST /v1/vector_stores/{id}/search') AS s0 \gset
SELECT vstest.emu_fault('{"kind": 429, "count": 3, "route": "/search", "retry_after_ms": 20}');
SELECT count(*) AS rows,
       count(*) = (SELECT count(*) FROM many) AS same_count,
       (SELECT count(*) FROM (SELECT query_index, query, rank, file_id, score FROM many
                              EXCEPT ALL
                              SELECT query_index, query, rank, file_id, score
                              FROM vs_search_many(:'vs', (SELECT array_agg(q ORDER BY qid) FROM questions), max_num_results => 2)) x) AS differences
FROM vs_search_many(:'vs', (SELECT array_agg(q ORDER BY qid) FROM questions), max_num_results => 2);
SELECT vstest.emu_count('POST /v1/vector_stores/{id}/search', '429') AS throttled,
       vstest.sent('POST /v1/vector_stores/{id}/search') - :s0 AS searches_sent;
-- the retried ones said so on the wire
SELECT count(*) AS retried_on_the_wire
FROM jsonb_array_elements(vstest.emu('GET', '/_emulator/requests')->'requests') r
WHERE r->>'route' = 'POST /v1/vector_stores/{id}/search' AND r->'headers' ? 'x-stainless-retry-count';
SELECT vstest.emu('DELETE', '/_emulator/requests') IS NOT NULL AS log_cleared;
-- more 429s than retries: the query's error, with its index
SELECT vstest.emu_fault('{"kind": 429, "count": 50, "route": "/search", "retry_after_ms": 1}');
SELECT code, message, context ~ 'vs_search_many: queries\[[0-9]\]$' AS names_an_index
FROM vstest.fails($$SELECT * FROM vs_search_many('$$ || :'vs' || $$', ARRAY['a', 'b'], request_options => '{"max_retries": 1}')$$);
SELECT vstest.emu_clear_faults();
-- request_options reach every request
SELECT vstest.emu('DELETE', '/_emulator/requests') IS NOT NULL AS log_cleared;
SELECT count(*) AS rows FROM vs_search_many(:'vs', ARRAY['refund', 'shipping', 'warranty'],
    request_options => '{"extra_headers": {"X-Tenant-Batch": "b7"}}');
SELECT count(*) FILTER (WHERE r->'headers'->>'x-tenant-batch' = 'b7') AS with_header, count(*) AS searches
FROM jsonb_array_elements(vstest.emu('GET', '/_emulator/requests')->'requests') r
WHERE r->>'route' = 'POST /v1/vector_stores/{id}/search';

-- timeout mid-flight: every search is held 3 s, the statement may take 300 ms
SELECT vstest.emu_config('{"latency": {"search": 3000}}');
SET statement_timeout = '300ms';
SELECT * FROM vs_search_many(:'vs', ARRAY['a', 'b', 'c', 'd']);
RESET statement_timeout;
SELECT vstest.emu_config('{"latency": {}}');
SELECT count(*) > 0 AS works_afterwards FROM vs_search_many(:'vs', ARRAY['refund', 'warranty']);

-- the status of many files: one row per id, in order, with file_index
SELECT array_agg(file_id ORDER BY filename) AS ids FROM vs_search(:'vs', 'policy', max_num_results => 50) \gset
SELECT f.file_index, f.status, f.attributes->>'id' AS kb_id, s.filename
FROM vs_store_file_get_many(:'vs', (:'ids'::text[])[1:4]) f
JOIN vs_search(:'vs', 'policy', max_num_results => 50) s ON s.file_id = f.id
ORDER BY f.file_index;
SELECT file_index, filename, bytes > 0 AS has_bytes, purpose
FROM vs_file_get_many(ARRAY[(:'ids'::text[])[2], (:'ids'::text[])[1], (:'ids'::text[])[2]]) ORDER BY file_index;
SELECT * FROM vstest.fails($$SELECT * FROM vs_file_get_many(ARRAY['$$ || (:'ids'::text[])[1] || $$', 'file-nope'])$$);
SELECT * FROM vstest.fails($$SELECT * FROM vs_store_file_get_many('$$ || :'vs' || $$', ARRAY['file-nope'])$$);
SELECT * FROM vstest.fails($$SELECT * FROM vs_file_get_many(ARRAY['a', '..'])$$);
SELECT count(*) AS no_rows FROM vs_file_get_many(ARRAY[]::text[]);
-- their columns are the object types' (a file of a store without vector_store_id, the argument)
SELECT (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a
        WHERE a.attrelid = 'vectorstore.vector_store_file'::regclass AND a.attnum > 0 AND a.attname <> 'vector_store_id')
     = (SELECT proargnames[6:] FROM pg_proc WHERE proname = 'vs_store_file_get_many') AS store_file_columns,
       (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a
        WHERE a.attrelid = 'vectorstore.openai_file'::regclass AND a.attnum > 0)
     = (SELECT proargnames[5:] FROM pg_proc WHERE proname = 'vs_file_get_many') AS file_columns;

---------------------------------------------------------------------------
-- The planner: rows from max_num_results, network functions after cheap conditions
---------------------------------------------------------------------------
CREATE FUNCTION vstest.plan_rows(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE l text;
BEGIN
    FOR l IN EXECUTE 'EXPLAIN ' || q LOOP
        RETURN substring(l FROM 'rows=([0-9]+)');
    END LOOP;
END $$;
SELECT vstest.plan_rows($$SELECT * FROM vs_search('vs_1', 'x', max_num_results => 3)$$) AS search_3,
       vstest.plan_rows($$SELECT * FROM vs_search('vs_1', 'x')$$) AS search_default,
       vstest.plan_rows($$SELECT * FROM vs_search('vs_1', ARRAY['x', 'y'], 7)$$) AS array_query_7,
       vstest.plan_rows($$SELECT * FROM vs_search('vs_1', 'x', max_num_results => 500)$$) AS search_500,
       vstest.plan_rows($$SELECT * FROM vs_search_many('vs_1', ARRAY['a', 'b', 'c'], max_num_results => 4)$$) AS many_3x4,
       vstest.plan_rows($$SELECT * FROM vs_search_many('vs_1', '{a,b,c,d,e}')$$) AS many_5x10,
       vstest.plan_rows($$SELECT * FROM vs_search_many('vs_1', ARRAY['a', 'b'], max_num_results => NULL)$$) AS many_2xdefault;
PREPARE p(int) AS SELECT * FROM vs_search('vs_1', 'x', max_num_results => $1);
SET plan_cache_mode = force_generic_plan;
SELECT vstest.plan_rows('EXECUTE p(3)') AS generic_plan;
RESET plan_cache_mode;
DEALLOCATE p;

-- COST on every network function (every C function vs_* but vs_pacing);
-- the planner support on vs_search and vs_search_many
-- (every C function by name, with its cost: those that send nothing keep 1)
SELECT p.proname AS c_function, min(p.procost) AS cost, count(*) AS overloads
FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
WHERE p.pronamespace = 'vectorstore'::regnamespace AND l.lanname = 'c' AND p.proname LIKE 'vs\_%'
GROUP BY p.proname HAVING min(p.procost) = max(p.procost) ORDER BY 2 DESC, 1;
SELECT count(*) AS network_functions FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
WHERE p.pronamespace = 'vectorstore'::regnamespace AND l.lanname = 'c' AND p.procost = 1000;
SELECT p.oid::regprocedure AS function, p.prosupport AS support FROM pg_proc p
WHERE p.pronamespace = 'vectorstore'::regnamespace AND p.prosupport <> 0 ORDER BY 1::text;

-- the 300-row query of issue 13 sends 3 searches, not 300
CREATE TEMP TABLE t300 AS SELECT i AS id FROM generate_series(1, 300) i;
ANALYZE t300;
SELECT vstest.sent('POST /v1/vector_stores/{id}/search') AS s0 \gset
SELECT count(*) AS rows FROM t300 WHERE id % 100 = 0 AND vs_search_json(:'vs', 'refund') IS NOT NULL;
SELECT vstest.sent('POST /v1/vector_stores/{id}/search') - :s0 AS searches_sent;
-- written the other way round too
SELECT vstest.sent('POST /v1/vector_stores/{id}/search') AS s0 \gset
SELECT count(*) AS rows FROM t300 WHERE vs_search_json(:'vs', 'refund') IS NOT NULL AND id % 100 = 0;
SELECT vstest.sent('POST /v1/vector_stores/{id}/search') - :s0 AS searches_sent;
-- after a PL/pgSQL condition (COST 100) as well
CREATE FUNCTION vstest.slow_check(i int) RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN RETURN i % 150 = 0; END $$;
SELECT vstest.sent('POST /v1/vector_stores/{id}/search') AS s0 \gset
SELECT count(*) AS rows FROM t300 WHERE vs_search_json(:'vs', 'refund') IS NOT NULL AND vstest.slow_check(id);
SELECT vstest.sent('POST /v1/vector_stores/{id}/search') - :s0 AS searches_sent;
-- with 0.1.0's COST 1 the same query sent a search for every row
BEGIN;
ALTER FUNCTION vs_search_json(text, text, integer, jsonb, jsonb, boolean, jsonb) COST 1;
SELECT vstest.sent('POST /v1/vector_stores/{id}/search') AS s0 \gset
SELECT count(*) AS rows FROM t300 WHERE vs_search_json(:'vs', 'refund') IS NOT NULL AND id % 100 = 0;
SELECT vstest.sent('POST /v1/vector_stores/{id}/search') - :s0 AS searches_sent_at_cost_1;
ROLLBACK;

---------------------------------------------------------------------------
-- The per-statement request cap (vectorstore.max_requests_per_statement)
---------------------------------------------------------------------------
SHOW vectorstore.max_requests_per_statement;
SET vectorstore.max_requests_per_statement = 5;
-- one search per row of a 10-row table: 5 are sent, then 54000 naming the setting
SELECT vstest.sent('POST /v1/vector_stores/{id}/search') AS s0 \gset
SELECT * FROM vstest.fails($$SELECT count(vs_search_json('$$ || :'vs' || $$', 'q' || i)) FROM generate_series(1, 10) i$$);
SELECT vstest.sent('POST /v1/vector_stores/{id}/search') - :s0 AS searches_sent;
-- the fan-out counts each search: 5 of 8 sent
SELECT vstest.sent('POST /v1/vector_stores/{id}/search') AS s0 \gset
SELECT code, message FROM vstest.fails($$SELECT * FROM vs_search_many('$$ || :'vs' || $$', ARRAY['a','b','c','d','e','f','g','h'])$$);
SELECT vstest.sent('POST /v1/vector_stores/{id}/search') - :s0 AS searches_sent;
-- retries count: with a cap of 3, two 503s and the success of the first
-- call use it up, the second call is refused
SET vectorstore.max_requests_per_statement = 3;
SELECT vstest.sent('GET /v1/vector_stores/{id}') AS g0 \gset
SELECT vstest.emu_fault('{"kind": 503, "count": 2, "route": "/vector_stores/", "method": "GET", "retry_after_ms": 1}');
SELECT * FROM vstest.fails($$SELECT (vs_store_get('$$ || :'vs' || $$')).name, (vs_store_get('$$ || :'vs' || $$')).name$$);
SELECT vstest.emu_clear_faults();
SELECT vstest.sent('GET /v1/vector_stores/{id}') - :g0 AS attempts_sent;
SET vectorstore.max_requests_per_statement = 5;
-- per top-level statement: each statement may send 5
SELECT count(*) AS rows FROM vs_search_many(:'vs', ARRAY['refund','shipping','warranty','policy','days'], max_num_results => 1);
SELECT count(*) AS rows FROM vs_search_many(:'vs', ARRAY['refund','shipping','warranty','policy','days'], max_num_results => 1);
-- a function's statements share their caller's count
SELECT vstest.sent('GET /v1/vector_stores/{id}') AS g0 \gset
SELECT code, message FROM vstest.fails(format($q$DO $do$ BEGIN FOR i IN 1..10 LOOP PERFORM vs_store_get(%L); END LOOP; END $do$$q$, :'vs'));
SELECT vstest.sent('GET /v1/vector_stores/{id}') - :g0 AS gets_sent;
-- 0: no cap
SET vectorstore.max_requests_per_statement = 0;
SELECT count(vs_search_json(:'vs', 'q' || i)) AS searched FROM generate_series(1, 10) i;
RESET vectorstore.max_requests_per_statement;

---------------------------------------------------------------------------
-- vs_upload_many: adaptive concurrency per credential (pacing.c)
---------------------------------------------------------------------------
-- a new session starts where the SDK does: 5 uploads in flight, then more.
-- Each upload is held 200 ms, so the uploads that started before the first
-- answer are the first window.
\c
SET search_path = vectorstore, public;
SELECT vstest.emu_config('{"latency": {"upload": 200}}');
SELECT vstest.emu('DELETE', '/_emulator/requests') IS NOT NULL AS log_cleared;
SELECT id AS up FROM vs_store_create(name => 'paced') \gset
SELECT count(*) FILTER (WHERE status = 'completed') AS completed
FROM vs_upload_many(:'up', (SELECT array_agg('p' || i || '.txt') FROM generate_series(1, 30) i),
                    (SELECT array_agg('paced note ' || i) FROM generate_series(1, 30) i));
WITH up AS (
    SELECT (r->>'time_ms')::bigint AS started, (r->>'time_ms')::bigint + (r->>'duration_ms')::bigint AS answered
    FROM jsonb_array_elements(vstest.emu('GET', '/_emulator/requests')->'requests') r
    WHERE r->>'route' = 'POST /v1/files')
SELECT count(*) AS uploads,
       count(*) FILTER (WHERE started < (SELECT min(answered) FROM up)) AS first_window
FROM up;
SELECT credential, concurrency > 5 AS grew, peak_concurrency > 5 AS peak_above_5, requests, throttled, backoffs
FROM vs_pacing();
SELECT vstest.emu_config('{"latency": {}}');
-- max_concurrency is the ceiling: never more than 3 uploads in flight
\c
SET search_path = vectorstore, public;
SELECT vstest.emu_config('{"latency": {"upload": 100}}');
SELECT vstest.emu('DELETE', '/_emulator/requests') IS NOT NULL AS log_cleared;
SELECT count(*) FILTER (WHERE status = 'completed') AS completed
FROM vs_upload_many(:'up', (SELECT array_agg('c' || i || '.txt') FROM generate_series(1, 24) i),
                    (SELECT array_agg('capped note ' || i) FROM generate_series(1, 24) i), max_concurrency => 3);
WITH up AS (
    SELECT (r->>'time_ms')::bigint AS started, (r->>'time_ms')::bigint + (r->>'duration_ms')::bigint AS answered
    FROM jsonb_array_elements(vstest.emu('GET', '/_emulator/requests')->'requests') r
    WHERE r->>'route' = 'POST /v1/files')
-- (time_ms: when a request arrived; + duration_ms: when it was answered,
-- in whole milliseconds: 2 ms of slack)
SELECT max((SELECT count(*) FROM up s WHERE s.started <= r.started AND s.answered > r.started + 2)) AS most_in_flight
FROM up r;
SELECT vstest.emu_config('{"latency": {}}');
SELECT * FROM vstest.fails($$SELECT * FROM vs_upload_many('vs_x', ARRAY['a'], ARRAY['b'], max_concurrency => 65)$$);

-- a rate limit: the server answers 429 past 40 uploads/s; every upload
-- still completes, and even with vectorstore.max_retries = 0 (a 429 costs
-- no attempt), the pacer backed off, and it saw every 429 the server sent
\c
SET search_path = vectorstore, public;
SELECT vstest.emu_config('{"rate_limit": {"upload": 40}}');
SET vectorstore.max_retries = 0;
SELECT vstest.emu_count('POST /v1/files', '429') AS t0 \gset
SELECT count(*) FILTER (WHERE status = 'completed') AS completed, count(*) AS uploads
FROM vs_upload_many(:'up', (SELECT array_agg('r' || i || '.txt') FROM generate_series(1, 120) i),
                    (SELECT array_agg('rate limited note ' || i) FROM generate_series(1, 120) i));
SELECT vstest.emu_count('POST /v1/files', '429') - :t0 AS server_429s \gset
SELECT :server_429s > 0 AS server_throttled, throttled = :server_429s AS pacer_saw_each_429,
       backoffs > 0 AS backed_off, concurrency < peak_concurrency AS window_shrank
FROM vs_pacing();
SELECT vstest.emu_config('{"rate_limit": {}}');
-- a 503 is not free: with no retries it fails its row
SELECT vstest.emu_fault('{"kind": 503, "count": 1, "route": "/files", "method": "POST"}');
SELECT status, count(*) FROM vs_upload_many(:'up', ARRAY['x1.txt', 'x2.txt'], ARRAY['x one', 'x two'])
GROUP BY 1 ORDER BY 1;
SELECT vstest.emu_clear_faults();
RESET vectorstore.max_retries;
-- a 429 with a Retry-After holds back every upload of the credential:
-- uploads take 100 ms, four at a time; after the 429 none starts for the
-- second the server asked for, then they go on (a new session: nothing learned)
\c
SET search_path = vectorstore, public;
SELECT vstest.emu_config('{"latency": {"upload": 100}}');
SELECT vstest.emu_fault('{"kind": 429, "count": 1, "route": "/files", "method": "POST", "retry_after_ms": 1000}');
SELECT vstest.emu('DELETE', '/_emulator/requests') IS NOT NULL AS log_cleared;
SELECT count(*) FILTER (WHERE status = 'completed') AS completed
FROM vs_upload_many(:'up', (SELECT array_agg('h' || i || '.txt') FROM generate_series(1, 16) i),
                    (SELECT array_agg('held note ' || i) FROM generate_series(1, 16) i), max_concurrency => 4);
-- (the request log's time_ms is when a request arrived, duration_ms how
-- long until it was answered; a 429 is answered at once)
WITH up AS (
    SELECT (r->>'status')::int AS status, (r->>'time_ms')::bigint AS started
    FROM jsonb_array_elements(vstest.emu('GET', '/_emulator/requests')->'requests') r
    WHERE r->>'route' = 'POST /v1/files'),
t AS (SELECT started AS at FROM up WHERE status = 429)
SELECT count(*) FILTER (WHERE status = 429) AS throttled,
       count(*) FILTER (WHERE started > t.at + 150 AND started < t.at + 950) AS started_while_held,
       count(*) FILTER (WHERE started >= t.at + 950) > 0 AS went_on_after
FROM up, t;
SELECT vstest.emu_clear_faults();
SELECT vstest.emu_config('{"latency": {}}');

-- vs_pacing shows only the credentials the current role may use
SELECT vs_credential_set('pace_other', 'sk-other', base_url => current_setting('vectorstore.base_url'),
                         auth => current_setting('vectorstore.auth'),
                         query => nullif(current_setting('vectorstore.query'), '')::jsonb);
SET vectorstore.credential = 'pace_other';
SELECT count(*) AS completed FROM vs_upload_many(:'up', ARRAY['o.txt'], ARRAY['other credential']) WHERE status = 'completed';
RESET vectorstore.credential;
SELECT coalesce(credential, '(settings)') AS credential, requests > 0 AS used FROM vs_pacing() ORDER BY 1;
CREATE ROLE vs_pace_reader;
GRANT USAGE ON SCHEMA vectorstore TO vs_pace_reader;
SET ROLE vs_pace_reader;
SELECT coalesce(credential, '(settings)') AS credential FROM vs_pacing() ORDER BY 1;
RESET ROLE;
SELECT vs_credential_grant('pace_other', 'vs_pace_reader');
SET ROLE vs_pace_reader;
SELECT coalesce(credential, '(settings)') AS credential FROM vs_pacing() ORDER BY 1;
RESET ROLE;
SELECT vs_credential_drop('pace_other');
REVOKE USAGE ON SCHEMA vectorstore FROM vs_pace_reader;
DROP ROLE vs_pace_reader;

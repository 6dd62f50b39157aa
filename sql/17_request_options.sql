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
-- request_options on the wire, read back from the emulator's request log
-- (GET /_emulator/requests): extra headers present and absent, extra query
-- strings, extra_body merged into JSON bodies and sent as multipart form
-- fields, timeout and max_retries per request, the options reaching every
-- request of a composite call; and each refusal (headers that carry
-- credentials, identity or framing, CR/LF, parameters and body fields the
-- function sets, extra_body where there is no body), none of which sends
-- anything.
SET search_path = vectorstore, public;
\set SHOW_CONTEXT never
SELECT vstest.emu_reset();
SELECT vstest.emu_config('{"processing_delay_ms": 20}');

-- the request log since the last clear, one row per request, oldest first
CREATE FUNCTION pg_temp.wire_clear() RETURNS void LANGUAGE sql
    AS $$ SELECT vstest.emu('DELETE', '/_emulator/requests') $$;
CREATE FUNCTION pg_temp.wire() RETURNS SETOF jsonb LANGUAGE sql
    AS $$ SELECT jsonb_array_elements(vstest.emu('GET', '/_emulator/requests')->'requests') $$;
-- the headers of a request, but those that vary by machine or body length
CREATE FUNCTION pg_temp.hdrs(e jsonb) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(key || ': ' || regexp_replace(value, 'boundary=.*', 'boundary=...'), E'\n' ORDER BY key)
    FROM jsonb_each_text(e->'headers')
    WHERE key NOT IN ('host', 'user-agent', 'accept-encoding', 'content-length')
$$;
-- the form fields of a multipart request: name=value (file parts: name=@filename)
CREATE FUNCTION pg_temp.form(e jsonb) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(p->>'name' || '=' || coalesce('@' || (p->>'filename'), p->>'value'), ' & ' ORDER BY o)
    FROM jsonb_array_elements(CASE WHEN jsonb_typeof(e->'multipart') = 'array' THEN e->'multipart' END)
         WITH ORDINALITY AS t(p, o)
$$;

SELECT id AS vs FROM vs_store_create(name => 'wire') \gset

---------------------------------------------------------------------------
-- headers
---------------------------------------------------------------------------
-- no options: only what the function sends (OpenAI-Beta on vector store calls)
SELECT pg_temp.wire_clear();
SELECT name FROM vs_store_get(:'vs');
SELECT e->>'method' AS method, e->>'path' ~ '^/(v1|openai)/vector_stores/vs_' AS path_ok, e->>'query' AS query,
       pg_temp.hdrs(e) AS headers
FROM pg_temp.wire() e;
-- extra_headers: added, in the caller's spelling; a function's own header
-- (OpenAI-Beta, Accept) is replaced, not repeated
SELECT pg_temp.wire_clear();
SELECT name FROM vs_store_get(:'vs', request_options => '{"extra_headers": {"X-Trace-Id": "trace 1", "OpenAI-Beta": "assistants=v3", "Accept": "application/x-test", "X-Empty": ""}}');
SELECT pg_temp.hdrs(e) AS headers FROM pg_temp.wire() e;
-- numbers and booleans are sent as their JSON text
SELECT pg_temp.wire_clear();
SELECT name FROM vs_store_get(:'vs', request_options => '{"extra_headers": {"X-Num": 1.5, "X-Bool": true}}');
SELECT e->'headers'->>'x-num' AS x_num, e->'headers'->>'x-bool' AS x_bool FROM pg_temp.wire() e;
-- /files calls carry no OpenAI-Beta (as the SDKs); the credential's key and organization go along
SET vectorstore.organization = 'org-wire';
SELECT pg_temp.wire_clear();
SELECT count(*) FROM vs_files(max_items => 1, request_options => '{"extra_headers": {"X-Trace-Id": "t2"}}');
SELECT pg_temp.hdrs(e) AS headers FROM pg_temp.wire() e;
RESET vectorstore.organization;

---------------------------------------------------------------------------
-- query strings
---------------------------------------------------------------------------
-- extra_query after the function's own parameters, every value escaped
SELECT pg_temp.wire_clear();
SELECT name FROM vs_store_get(:'vs', request_options => '{"extra_query": {"x-version": "2025-04-01-preview", "q": "a b&c=d/é", "n": 3, "flag": false}}');
SELECT e->>'query' AS query FROM pg_temp.wire() e;
-- a credential's query parameter (Azure's api-version) goes on every request,
-- after the function's own and before extra_query, which cannot set it again
SET vectorstore.query = '{"api-version": "2024-10-21"}';
SELECT pg_temp.wire_clear();
SELECT name FROM vs_store_get(:'vs', request_options => '{"extra_query": {"tenant": "t0"}}');
SELECT e->>'query' AS query FROM pg_temp.wire() e;
SELECT code, message FROM vstest.try(format($$SELECT vs_store_get(%L, request_options => '{"extra_query": {"api-version": "2099-01-01"}}')$$, :'vs'));
SELECT count(*) AS requests_sent FROM pg_temp.wire();
RESET vectorstore.query;
-- on a list, on every page, after the paging parameters
SELECT count(*) FROM (SELECT vs_store_create(name => 'page ' || i) FROM generate_series(1, 2) i) c;
SELECT pg_temp.wire_clear();
SELECT count(*) AS stores FROM vs_stores("order" => 'asc', "limit" => 1, request_options => '{"extra_query": {"tenant": "t1"}}');
SELECT regexp_replace(e->>'query', 'vs_[A-Za-z0-9]+', 'vs_...') AS query FROM pg_temp.wire() e ORDER BY (e->>'seq')::int;

---------------------------------------------------------------------------
-- JSON bodies: extra_body merged at the top level, sent as given
---------------------------------------------------------------------------
SELECT pg_temp.wire_clear();
SELECT name, description FROM vs_store_create(name => 'merged', request_options => '{"extra_body": {"description": "from extra_body"}}');
SELECT e->'body' AS body, e->'headers'->>'content-type' AS content_type FROM pg_temp.wire() e;
-- a field the API does not have: the strict server refuses it (its 400 is 22023) ...
SELECT code, message, detail
FROM vstest.try($$SELECT vs_store_create(name => 'x', request_options => '{"extra_body": {"embedding_model": "all-MiniLM-L6-v2"}}')$$);
-- ... a compatible server takes it, and the row's raw keeps what it echoes
SELECT vstest.emu_config('{"lenient": true}');
SELECT pg_temp.wire_clear();
SELECT name, raw->>'embedding_model' AS embedding_model, raw->'provider' AS provider
FROM vs_store_create(name => 'llama', request_options => '{"extra_body": {"embedding_model": "all-MiniLM-L6-v2", "provider": {"id": "faiss", "dims": [384]}}}');
SELECT e->'body' AS body FROM pg_temp.wire() e;
-- search, update, attach and batch bodies take it too
SELECT pg_temp.wire_clear();
SELECT count(*) FROM vs_search(:'vs', 'anything', request_options => '{"extra_body": {"search_mode": "hybrid"}}');
SELECT name FROM vs_store_update(:'vs', name => 'wire 2', request_options => '{"extra_body": {"x_note": 1}}');
SELECT id AS wf FROM vs_file_upload('w.txt', 'wire file') \gset
SELECT id = :'wf' AS attached FROM vs_store_file_add(:'vs', :'wf', request_options => '{"extra_body": {"x_note": 2}}');
SELECT vector_store_id = :'vs' AS batch FROM vs_batch_create(:'vs', file_ids => ARRAY[:'wf'], request_options => '{"extra_body": {"x_note": 3}}');
SELECT e->>'route' AS route, e->'body'->'x_note' AS x_note, e->'body'->>'search_mode' AS search_mode
FROM pg_temp.wire() e WHERE e->>'method' = 'POST' ORDER BY (e->>'seq')::int;
SELECT vstest.emu_config('{"lenient": false}');

---------------------------------------------------------------------------
-- multipart: extra_body as form fields, nested objects in bracket notation
---------------------------------------------------------------------------
SELECT pg_temp.wire_clear();
SELECT filename, expires_at IS NOT NULL AS expires
FROM vs_file_upload('x.txt', 'form fields', request_options => '{"extra_body": {"expires_after": {"anchor": "created_at", "seconds": 7200}}}');
SELECT pg_temp.form(e) AS form, pg_temp.hdrs(e) AS headers FROM pg_temp.wire() e;
-- the typed argument sends the same fields, checked before sending
SELECT pg_temp.wire_clear();
SELECT (expires_at - created_at) AS expires_in
FROM vs_file_upload('y.txt', 'typed'::text, expires_after => '{"anchor": "created_at", "seconds": 3600}');
SELECT pg_temp.form(e) AS form FROM pg_temp.wire() e;
SELECT vstest.emu_config('{"lenient": true}');
SELECT pg_temp.wire_clear();
SELECT filename FROM vs_file_upload('z.bin', '\x00ff'::bytea, request_options => '{"extra_body": {"note": "a \"quoted\" value", "n": 2, "tags": {"a": "x", "b": {"c": true}}}}');
SELECT pg_temp.form(e) AS form FROM pg_temp.wire() e;
SELECT vstest.emu_config('{"lenient": false}');

---------------------------------------------------------------------------
-- timeout and max_retries, per request
---------------------------------------------------------------------------
-- three 503s: max_retries 3 gets through on the fourth attempt ...
SELECT vstest.emu_fault('{"kind": "503", "count": 3, "route": "/vector_stores/", "method": "GET"}');
SELECT pg_temp.wire_clear();
SELECT name FROM vs_store_get(:'vs', request_options => '{"max_retries": 3}');
SELECT string_agg(e->>'status', ' ' ORDER BY (e->>'seq')::int) AS attempts FROM pg_temp.wire() e;
-- ... max_retries 0 makes one attempt, where the setting's 2 retries would have succeeded
SELECT vstest.emu_fault('{"kind": "503", "count": 1, "route": "/vector_stores/", "method": "GET"}');
SELECT pg_temp.wire_clear();
SELECT code, message FROM vstest.try(format($$SELECT vs_store_get(%L, request_options => '{"max_retries": 0}')$$, :'vs'));
SELECT string_agg(e->>'status', ' ' ORDER BY (e->>'seq')::int) AS attempts FROM pg_temp.wire() e;
SELECT vstest.emu_clear_faults();
-- timeout: an attempt that stalls past it is abandoned (and, with no retries, reported)
SELECT vstest.emu_fault('{"kind": "stall", "count": 1, "stall_ms": 5000, "route": "/vector_stores/", "method": "GET"}');
SELECT code, message
FROM vstest.try(format($$SELECT vs_store_get(%L, request_options => '{"timeout": 200, "max_retries": 0}')$$, :'vs'));
SELECT vstest.emu_clear_faults();
-- the timeout is per attempt: one retry after the stalled attempt succeeds
SELECT vstest.emu_fault('{"kind": "stall", "count": 1, "stall_ms": 5000, "route": "/vector_stores/", "method": "GET"}');
SELECT name FROM vs_store_get(:'vs', request_options => '{"timeout": 300, "max_retries": 1}');
SELECT vstest.emu_clear_faults();

---------------------------------------------------------------------------
-- composite calls: every request carries the headers and query; extra_body
-- only the request that makes the object returned
---------------------------------------------------------------------------
-- (a strict server refuses the unknown field on the attach: the uploaded
-- File is deleted again, as on any failed attach)
SELECT pg_temp.wire_clear();
SELECT code, message, regexp_replace(detail, 'file-[A-Za-z0-9]+', 'file-...') AS detail
FROM vstest.try(format($$SELECT vs_upload(%L, 'u.txt', 'x', request_options => '{"extra_body": {"x_note": "attach"}}')$$, :'vs'));
SELECT e->>'route' AS route, e->>'status' AS status FROM pg_temp.wire() e ORDER BY (e->>'seq')::int;
SELECT code, message FROM vstest.try(format($$SELECT vs_upload(%L, 'u2.txt', 'x', chunking_strategy => '{"type": "auto"}', request_options => '{"extra_body": {"chunking_strategy": {"type": "auto"}}}')$$, :'vs'));
SELECT vstest.emu_config('{"lenient": true}');
SELECT pg_temp.wire_clear();
SELECT status FROM vs_upload(:'vs', 'u3.txt', 'uploaded with options', wait => true, poll_interval_ms => 10,
    request_options => '{"extra_headers": {"X-Trace-Id": "up"}, "extra_query": {"tenant": "t1"}, "extra_body": {"x_note": "attach"}}');
SELECT e->>'route' AS route, count(*) > 0 AS sent,
       bool_and(e->'headers'->>'x-trace-id' = 'up') AS header, bool_and(e->>'query' ~ '(^|&)tenant=t1$') AS query,
       bool_or(e->'body' ? 'x_note') AS body_field, bool_or(pg_temp.form(e) LIKE '%x_note%') AS form_field,
       bool_and(e->'headers' ? 'x-stainless-poll-helper') AS poll_helper,
       min(e->'headers'->>'x-stainless-custom-poll-interval') AS poll_interval
FROM pg_temp.wire() e GROUP BY 1 ORDER BY min((e->>'seq')::int);
-- vs_upload_many: uploads, the batch, its polls and its file list
SELECT pg_temp.wire_clear();
SELECT status, count(*) FROM vs_upload_many(:'vs', ARRAY['m1.txt', 'm2.txt'], ARRAY['one', 'two'], poll_interval_ms => 10,
    request_options => '{"extra_headers": {"X-Trace-Id": "many"}, "extra_query": {"tenant": "t2"}, "extra_body": {"x_note": "batch"}}')
GROUP BY status;
SELECT e->>'route' AS route, count(*) >= 1 AS sent,
       bool_and(e->'headers'->>'x-trace-id' = 'many') AS header,
       bool_and(e->>'query' LIKE '%tenant=t2') AS query,
       bool_or(e->'body' ? 'x_note') AS body_field, bool_or(pg_temp.form(e) LIKE '%x_note%') AS form_field
FROM pg_temp.wire() e GROUP BY 1 ORDER BY min((e->>'seq')::int);
SELECT vstest.emu_config('{"lenient": false}');

-- at most 256 names in extra_headers (and in extra_query): 256 are sent
SELECT pg_temp.wire_clear();
SELECT count(*) FROM vs_stores(max_items => 1, request_options => jsonb_build_object('extra_headers',
    (SELECT jsonb_object_agg('X-H' || g, 'v') FROM generate_series(1, 256) g)));
SELECT count(*) AS x_h_headers FROM pg_temp.wire() e, jsonb_object_keys(e->'headers') k WHERE k LIKE 'x-h%';

---------------------------------------------------------------------------
-- refusals: each raises 22023 before anything is sent
---------------------------------------------------------------------------
SELECT pg_temp.wire_clear();
CREATE TEMP TABLE refused (n int, opts jsonb);
INSERT INTO refused VALUES
 (1,  '{"extra_headers": {"Authorization": "Bearer sk-other"}}'),
 (2,  '{"extra_headers": {"api-key": "other"}}'),
 (3,  '{"extra_headers": {"OpenAI-Organization": "org-other"}}'),
 (4,  '{"extra_headers": {"openai-project": "proj-other"}}'),
 (5,  '{"extra_headers": {"Cookie": "session=1"}}'),
 (6,  '{"extra_headers": {"Host": "evil.example"}}'),
 (7,  '{"extra_headers": {"Content-Length": "0"}}'),
 (8,  '{"extra_headers": {"Content-Type": "text/plain"}}'),
 (9,  '{"extra_headers": {"Transfer-Encoding": "chunked"}}'),
 (10, '{"extra_headers": {"Connection": "close"}}'),
 (11, '{"extra_headers": {"Proxy-Authorization": "Basic x"}}'),
 (12, '{"extra_headers": {"X-Forwarded-For": "10.0.0.1"}}'),
 (13, '{"extra_headers": {"X-HTTP-Method-Override": "DELETE"}}'),
 (14, '{"extra_headers": {"X-Original-URL": "/v1/files"}}'),
 (15, '{"extra_headers": {"X-Trace": "a\r\nAuthorization: Bearer sk-other"}}'),
 (16, '{"extra_headers": {"X-Trace": "a\nb"}}'),
 (17, '{"extra_headers": {"X-Trace\r\nX-Evil": "1"}}'),
 (18, '{"extra_headers": {"X Trace": "1"}}'),
 (19, '{"extra_headers": {"": "1"}}'),
 (20, '{"extra_headers": {"X-Obj": {"a": 1}}}'),
 (21, '{"extra_headers": ["X-Trace"]}'),
 (22, '{"extra_query": {"": "1"}}'),
 (23, '{"extra_query": {"a": null}}'),
 (24, '{"extra_body": [1]}'),
 (25, '{"timeout": 0}'),
 (26, '{"timeout": 1.5}'),
 (27, '{"max_retries": 11}'),
 (28, '{"max_retries": "2"}'),
 (29, '{"retries": 2}'),
 (30, '[]');
SELECT r.n, t.code, t.message
FROM refused r, LATERAL vstest.try(format('SELECT vs_store_create(name => ''r'', request_options => %L)', r.opts)) t
ORDER BY r.n;
-- at most 256 header names and 256 query parameters in a list (every
-- request merges the lists by name): 257 refused before any request; the
-- same bound for a credential's lists
SELECT code, message FROM vstest.try($$SELECT count(*) FROM vs_stores(max_items => 1, request_options => jsonb_build_object('extra_headers',
    (SELECT jsonb_object_agg('X-H' || g, 'v') FROM generate_series(1, 257) g)))$$);
SELECT code, message FROM vstest.try($$SELECT count(*) FROM vs_stores(max_items => 1, request_options => jsonb_build_object('extra_query',
    (SELECT jsonb_object_agg('q' || g, 'v') FROM generate_series(1, 257) g)))$$);
SELECT code, message, detail FROM vstest.try(format('SET vectorstore.headers = %L',
    (SELECT jsonb_object_agg('X-H' || g, 'v') FROM generate_series(1, 257) g)));
SELECT code, message, detail FROM vstest.try(format('SET vectorstore.query = %L',
    (SELECT jsonb_object_agg('q' || g, 'v') FROM generate_series(1, 257) g)));
-- a body field or query parameter the function sets: use its argument
SELECT code, message FROM vstest.try($$SELECT vs_store_create(name => 'a', request_options => '{"extra_body": {"name": "b"}}')$$);
SELECT code, message FROM vstest.try(format($$SELECT count(*) FROM vs_search(%L, 'q', max_num_results => 2, request_options => '{"extra_body": {"max_num_results": 50}}')$$, :'vs'));
SELECT code, message FROM vstest.try($$SELECT vs_file_upload('a.txt', 'a', request_options => '{"extra_body": {"purpose": "batch"}}')$$);
SELECT code, message FROM vstest.try($$SELECT vs_file_upload('a.txt', 'a', request_options => '{"extra_body": {"file": "x"}}')$$);
SELECT code, message FROM vstest.try($$SELECT vs_file_upload('a.txt', 'a', expires_after => '{"anchor": "created_at", "seconds": 3600}', request_options => '{"extra_body": {"expires_after": {"seconds": 7200}}}')$$);
SELECT code, message FROM vstest.try($$SELECT count(*) FROM vs_stores(request_options => '{"extra_query": {"limit": 1}}')$$);
SELECT code, message FROM vstest.try($$SELECT count(*) FROM vs_stores(request_options => '{"extra_query": {"after": "vs_x"}}')$$);
SELECT code, message FROM vstest.try($$SELECT count(*) FROM vs_files(request_options => '{"extra_query": {"order": "asc"}}')$$);
-- extra_body where every request is a GET or DELETE
SELECT code, message, detail FROM vstest.try(format($$SELECT vs_store_get(%L, request_options => '{"extra_body": {"a": 1}}')$$, :'vs'));
SELECT code, message FROM vstest.try(format($$SELECT vs_store_delete(%L, request_options => '{"extra_body": {"a": 1}}')$$, :'vs'));
SELECT code, message FROM vstest.try($$SELECT count(*) FROM vs_files(request_options => '{"extra_body": {"a": 1}}')$$);
SELECT code, message FROM vstest.try(format($$SELECT vs_store_file_poll(%L, 'file-x', request_options => '{"extra_body": {"a": 1}}')$$, :'vs'));
-- nothing of the above reached the server
SELECT count(*) AS requests_sent FROM pg_temp.wire();
-- and the options are not kept between calls
SELECT name FROM vs_store_get(:'vs', request_options => '{"extra_headers": {"X-Once": "1"}}');
SELECT pg_temp.wire_clear();
SELECT name FROM vs_store_get(:'vs');
SELECT e->'headers' ? 'x-once' AS kept FROM pg_temp.wire() e;
-- '{}' and NULL are no options
SELECT pg_temp.wire_clear();
SELECT name FROM vs_store_get(:'vs', request_options => '{}');
SELECT name FROM vs_store_get(:'vs', request_options => NULL);
SELECT count(DISTINCT pg_temp.hdrs(e)) AS one_header_set, count(*) AS requests FROM pg_temp.wire() e;

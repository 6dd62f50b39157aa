-- Runs only under make installcheck or test/run.sh, which start a local server
-- and point this session at it: never against the server's own API and key.
SELECT coalesce(current_setting('vstest.emulator_url', true) ~ '^http://127\.0\.0\.1:[0-9]+$'
                AND current_setting('vectorstore.base_url', true)
                    = current_setting('vstest.emulator_url', true) || '/v1', false) AS vs_harness \gset
\if :vs_harness
\else
\echo 'not run: these suites send requests only to the local server that make installcheck starts'
\quit
\endif
-- Vector stores from SQL: CRUD, typed rows, validation before sending,
-- listing across pages.
SET search_path = vectorstore, public;
\set SHOW_CONTEXT never
SELECT vstest.emu_reset();

-- create with every argument; typed columns and the raw object
CREATE TEMP TABLE s AS
SELECT * FROM vs_store_create(name => 'Support FAQ', description => 'help centre',
                              expires_after => '{"anchor": "last_active_at", "days": 7}',
                              metadata => '{"team": "support", "lang": "en"}');
SELECT id LIKE 'vs_%' AS id_ok, name, description, status, usage_bytes,
       files_in_progress, files_completed, files_failed, files_cancelled, files_total,
       created_at > now() - interval '1 minute' AS created_recently,
       expires_at - last_active_at AS expires_in,
       expires_after, metadata, raw->>'object' AS object, raw->>'id' = id AS raw_matches
FROM s;
-- headers the SDK sends: the emulator counted one create
SELECT vstest.emu_count('POST /v1/vector_stores', '200') AS creates;

-- retrieve
SELECT g.name, g.metadata->>'team' AS team, g.id = s.id AS same
FROM s, vs_store_get(s.id) g;

-- update: name and metadata; NULL leaves a field alone; 'null' clears
SELECT u.name, u.metadata, u.expires_after IS NOT NULL AS kept_expiry
FROM s, vs_store_update(s.id, name => 'Support FAQ v2', metadata => '{"team": "docs"}') u;
SELECT u.name, u.expires_after, u.expires_at
FROM s, vs_store_update(s.id, expires_after => 'null') u;
SELECT (vs_store_get(id)).name FROM s;

-- validation before anything is sent (no request reaches the server)
SELECT vstest.emu_reset();
SELECT vs_store_create(metadata => (SELECT jsonb_object_agg('k' || i, 'v') FROM generate_series(1, 17) i));
SELECT vs_store_create(metadata => jsonb_build_object(repeat('k', 65), 'v'));
SELECT vs_store_create(metadata => jsonb_build_object('k', repeat('v', 513)));
SELECT vs_store_create(metadata => '{"k": 1}');
SELECT vs_store_create(metadata => '[1,2]');
SELECT vs_store_create(expires_after => '{"anchor": "last_active_at", "days": 0}');
SELECT vs_store_create(expires_after => '{"anchor": "last_active_at", "days": 366}');
SELECT vs_store_create(expires_after => '{"anchor": "created_at", "days": 3}');
SELECT vs_store_create(expires_after => '{"anchor": "last_active_at", "days": 3, "x": 1}');
SELECT vs_store_create(chunking_strategy => '{"type": "static", "static": {"max_chunk_size_tokens": 99, "chunk_overlap_tokens": 0}}');
SELECT vs_store_create(chunking_strategy => '{"type": "static", "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 401}}');
SELECT vs_store_create(chunking_strategy => '{"type": "fancy"}');
SELECT vs_store_create(file_ids => (SELECT array_agg('file-' || i) FROM generate_series(1, 501) i));
SELECT vs_store_create(file_ids => ARRAY['file-1', NULL]);
SELECT vs_stores("order" => 'sideways');
SELECT vs_stores("limit" => 0);
SELECT vs_stores("limit" => 101);
-- at the limits exactly: accepted
SELECT (vs_store_create(metadata => (SELECT jsonb_object_agg(repeat('k', 62) || lpad(i::text, 2, '0'), repeat('v', 512)) FROM generate_series(1, 16) i))).files_total;
SELECT vstest.emu_count('POST /v1/vector_stores') AS requests_sent;

-- ids are path segments: they cannot reach another path
SELECT vs_store_get('');
SELECT vs_store_get('..');
SELECT vs_store_get('vs_1/../../files');
SELECT vs_store_get('vs_1?limit=1');
SELECT vstest.emu_stats()->'requests' ? 'GET /v1/files' AS reached_files;

-- unknown id: the API's 404 as undefined_object, with detail and context
SELECT * FROM vstest.try($$SELECT vs_store_get('vs_doesnotexist')$$);
SELECT * FROM vstest.try($$SELECT vs_store_delete('vs_doesnotexist')$$);
SELECT * FROM vstest.try($$SELECT vs_store_update('vs_doesnotexist', name => 'x')$$);

-- 250 stores, listed across pages
SELECT vstest.emu_reset();
SELECT count(*) FROM (SELECT vs_store_create(name => 'store ' || lpad(i::text, 3, '0'))
                      FROM generate_series(1, 250) i) c;
SELECT count(*) AS n, count(DISTINCT id) AS distinct_ids, min(name), max(name) FROM vs_stores();
-- page size 7: 36 requests for 250 rows, same rows in ascending order
SELECT vstest.emu_count('GET /v1/vector_stores', '200') AS lists_before \gset
SELECT count(*) AS n,
       bool_and(name = 'store ' || lpad(ord::text, 3, '0')) AS in_order
FROM vs_stores("order" => 'asc', "limit" => 7) WITH ORDINALITY AS t(id, name, description, status, usage_bytes,
     fi, fc, ff, fca, ft, created_at, last_active_at, expires_at, expires_after, metadata, raw, ord);
SELECT vstest.emu_count('GET /v1/vector_stores', '200') - :lists_before AS list_requests;
-- after: resume from a cursor
SELECT count(*) FROM vs_stores("order" => 'asc', after => (SELECT id FROM vs_stores("order" => 'asc') LIMIT 1 OFFSET 9));
-- joins like any table
SELECT count(*) FROM vs_stores() s JOIN generate_series(1, 10) g ON s.name = 'store ' || lpad(g::text, 3, '0');

-- delete them all
SELECT count(*) FILTER (WHERE vs_store_delete(id)) AS deleted FROM vs_stores();
SELECT count(*) FROM vs_stores();

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

-- a NULL id raises 22004 (not a NULL row), the same for every function
SELECT * FROM vstest.try('SELECT vs_store_get(NULL)');
SELECT * FROM vstest.try('SELECT vs_store_update(NULL, name => ''x'')');
SELECT * FROM vstest.try('SELECT vs_store_delete(NULL)');

-- missing_ok: deleting what is not there is not an error, and says false
SELECT vstest.emu_reset();
SELECT id AS gone FROM vs_store_create(name => 'to delete') \gset
SELECT vs_store_delete(:'gone', missing_ok => true) AS deleted;
SELECT vs_store_delete(:'gone', missing_ok => true) AS deleted_again;
SELECT code FROM vstest.try(format('SELECT vs_store_delete(%L)', :'gone'));
-- only a 404 is "missing": any other failure still raises
SELECT vstest.emu_fault('{"kind": "500", "status": 403, "count": 1, "route": "/vector_stores/", "method": "DELETE"}');
SELECT code FROM vstest.try(format('SELECT vs_store_delete(%L, missing_ok => true)', :'gone'));
SELECT vstest.emu_count('DELETE /v1/vector_stores/{id}', '404') AS not_found_answers,
       vstest.emu_count('DELETE /v1/vector_stores/{id}', '403') AS forbidden_answers;

-- max_items: stop once that many rows are in, asking for no bigger pages
-- than needed; counted on the emulator
SELECT vstest.emu_reset();
SELECT count(*) FROM (SELECT vs_store_create(name => 'm' || lpad(i::text, 2, '0')) FROM generate_series(1, 30) i) c;
SELECT array_agg(name ORDER BY name) AS first_five FROM vs_stores("order" => 'asc', max_items => 5);
SELECT vstest.emu_count('GET /v1/vector_stores') AS list_requests;
-- pages of 7 for 10 items: 7, then 3 (a credential's api-version, in Azure
-- mode, left out of what is shown)
SELECT vstest.emu('DELETE', '/_emulator/requests');
SELECT count(*) FROM vs_stores("limit" => 7, max_items => 10);
SELECT string_agg(regexp_replace(regexp_replace(e->>'query', '&?api-version=[^&]*', ''), 'vs_[A-Za-z0-9]+', 'vs_...'),
                  ' | ' ORDER BY (e->>'seq')::int) AS queries
FROM jsonb_array_elements(vstest.emu('GET', '/_emulator/requests')->'requests') e;
-- more than there are: every page, then the end
SELECT count(*) FROM vs_stores(max_items => 1000);
SELECT * FROM vstest.try('SELECT vs_stores(max_items => 0)');

-- before: the rows just before an id, paging backwards
SELECT id AS m20 FROM vs_stores("order" => 'asc') WHERE name = 'm20' \gset
SELECT id AS m10 FROM vs_stores("order" => 'asc') WHERE name = 'm10' \gset
SELECT array_agg(name ORDER BY name) AS before_m20 FROM vs_stores("order" => 'asc', before => :'m20', max_items => 3);
SELECT count(*) AS all_before_m20, min(name), max(name) FROM vs_stores("order" => 'asc', "limit" => 4, before => :'m20');
-- after and before: the rows between
SELECT count(*) AS between, min(name), max(name) FROM vs_stores("order" => 'asc', "limit" => 3, after => :'m10', before => :'m20');

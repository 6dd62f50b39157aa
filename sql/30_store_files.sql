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
-- Vector store files from SQL: attach with attributes and a chunking
-- strategy, poll, read the parsed content, update attributes, list with
-- each status filter, detach; the upload helper (text with non-ASCII, bytea
-- with NUL bytes that fails processing and reports last_error); poll
-- timeout and cancel; validation before sending; bad ids.
SET search_path = vectorstore, public;
\set SHOW_CONTEXT never
SELECT vstest.emu_reset();
SELECT vstest.emu_config('{"processing_delay_ms": 20}');

SELECT id AS vs FROM vs_store_create(name => 'store files') \gset
SELECT id AS f1 FROM vs_file_upload('refunds.md', 'Refunds are issued within 14 days of purchase.') \gset

-- attach: the row has typed columns, last_error expanded, and raw
CREATE TEMP TABLE a AS
SELECT * FROM vs_store_file_add(:'vs', :'f1', attributes => '{"lang": "en", "year": 2024, "public": true}',
                                chunking_strategy => '{"type": "static", "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 50}}');
SELECT id = :'f1' AS same_id, vector_store_id = :'vs' AS same_store, status,
       last_error_code, last_error_message, chunking_strategy, attributes,
       created_at > now() - interval '1 minute' AS created_recently,
       raw->>'object' AS object
FROM a;

-- poll until processed: completed, with usage
SELECT status, usage_bytes > 0 AS has_usage, last_error_code
FROM vs_store_file_poll(:'vs', :'f1', poll_interval_ms => 10);
SELECT vstest.emu_count('GET /v1/vector_stores/{id}/files/{file_id}') > 0 AS polled;

-- retrieve, content
SELECT status, attributes->>'lang' AS lang FROM vs_store_file_get(:'vs', :'f1');
SELECT part, type, text FROM vs_store_file_content(:'vs', :'f1');

-- update attributes (replace; NULL removes them all)
SELECT attributes FROM vs_store_file_update(:'vs', :'f1', '{"lang": "de", "rating": 4.5}');
SELECT attributes FROM vs_store_file_update(:'vs', :'f1', NULL);
SELECT attributes FROM vs_store_file_update(:'vs', :'f1', '{"lang": "en"}');

-- the upload helper: upload + attach (+ wait), text as UTF-8
SELECT status, attributes, last_error_code
FROM vs_upload(:'vs', 'köln.txt', 'Köln liegt am Rhein. Grüße! ☃', attributes => '{"lang": "de"}', wait => true);
SELECT c.text FROM vs_store_files(:'vs') f, vs_store_file_content(:'vs', f.id) c
WHERE f.attributes->>'lang' = 'de';

-- a file with NUL bytes fails processing and says why
SELECT status, last_error_code, last_error_message
FROM vs_upload(:'vs', 'nul.bin', '\x68690068690a'::bytea, wait => true);

-- without wait the helper returns at once, in progress
SELECT vstest.emu_config('{"processing_delay_ms": 60000}');
SELECT status FROM vs_upload(:'vs', 'slow.txt', 'slow processing text');

-- listing: every page, each status filter
SELECT count(*) AS all_files FROM vs_store_files(:'vs');
SELECT count(*) AS paged FROM vs_store_files(:'vs', "limit" => 1);
SELECT s AS filter, (SELECT count(*) FROM vs_store_files(:'vs', filter => s)) AS files
FROM unnest(ARRAY['in_progress', 'completed', 'failed', 'cancelled']) s;
SELECT array_agg(status ORDER BY created_at, id) IS NOT NULL AS ok,
       count(DISTINCT status) AS statuses
FROM vs_store_files(:'vs', "order" => 'asc');

-- polling gives up after timeout with 55000, not a cancel
SELECT id AS slow FROM vs_store_files(:'vs', filter => 'in_progress') \gset
SELECT code, regexp_replace(message, '"[^"]*" is still in_progress after [0-9]+ ms', '"..." is still in_progress after N ms') AS message, hint
FROM vstest.try(format('SELECT vs_store_file_poll(%L, %L, timeout => ''200 ms'')', :'vs', :'slow'));
-- cancel (here statement_timeout) interrupts the wait at once: 57014
SET statement_timeout = '300ms';
SELECT vs_store_file_poll(:'vs', :'slow');
RESET statement_timeout;

-- detach: the File itself stays
SELECT vs_store_file_remove(:'vs', :'f1') AS removed;
SELECT count(*) AS still_attached FROM vs_store_files(:'vs') WHERE id = :'f1';
SELECT filename FROM vs_file_get(:'f1');

-- validation before anything is sent
SELECT vstest.emu_count('POST /v1/vector_stores/{id}/files') AS attaches_before \gset
SELECT vs_store_file_add(:'vs', :'f1', attributes => (SELECT jsonb_object_agg('k' || i, i) FROM generate_series(1, 17) i));
SELECT vs_store_file_add(:'vs', :'f1', attributes => jsonb_build_object(repeat('k', 65), 1));
SELECT vs_store_file_add(:'vs', :'f1', attributes => jsonb_build_object('k', repeat('v', 513)));
SELECT vs_store_file_add(:'vs', :'f1', attributes => '{"k": {"nested": 1}}');
SELECT vs_store_file_add(:'vs', :'f1', attributes => '{"k": [1, 2]}');
SELECT vs_store_file_add(:'vs', :'f1', attributes => '{"k": null}');
SELECT vs_store_file_add(:'vs', :'f1', attributes => '["k"]');
SELECT vs_store_file_add(:'vs', :'f1', chunking_strategy => '{"type": "static"}');
SELECT vs_store_file_update(:'vs', :'f1', '{"k": {"x": 1}}');
SELECT vs_upload(:'vs', 'x.txt', 'x', attributes => '{"k": [1]}');
SELECT vs_store_files(:'vs', filter => 'done');
SELECT vs_store_file_poll(:'vs', :'f1', timeout => '-1 s');
SELECT vs_store_file_poll(:'vs', :'f1', poll_interval_ms => 0);
SELECT vstest.emu_count('POST /v1/vector_stores/{id}/files') - :attaches_before AS attaches_sent;
-- at the limits exactly: accepted
SELECT (SELECT count(*) FROM jsonb_object_keys(attributes)) AS keys
FROM vs_store_file_add(:'vs', :'f1', attributes =>
    (SELECT jsonb_object_agg(repeat('k', 62) || lpad(i::text, 2, '0'), repeat('v', 512)) FROM generate_series(1, 16) i));

-- bad ids: 404 -> 42704
SELECT code, regexp_replace(context, 'vs_[A-Za-z0-9]+', 'vs_...') AS context
FROM vstest.try(format('SELECT vs_store_file_get(%L, ''file-nope'')', :'vs'));
SELECT code, context FROM vstest.try($$SELECT vs_store_file_get('vs_nope', 'file-nope')$$);
SELECT code FROM vstest.try(format('SELECT vs_store_file_add(%L, ''file-nope'')', :'vs'));
SELECT code FROM vstest.try(format('SELECT * FROM vs_store_file_content(%L, ''file-nope'')', :'vs'));
SELECT code FROM vstest.try(format('SELECT vs_store_file_remove(%L, ''file-nope'')', :'vs'));
SELECT code FROM vstest.try($$SELECT * FROM vs_store_files('vs_nope')$$);
-- a failed attach does not leave the uploaded File behind
SELECT count(*) AS files_before FROM vs_files() \gset
SELECT code, regexp_replace(detail, 'file-[A-Za-z0-9]+', 'file-...') AS detail
FROM vstest.try($$SELECT vs_upload('vs_nope', 'orphan.txt', 'nobody attaches me')$$);
SELECT count(*) - :files_before AS new_files FROM vs_files();

-- a NULL id raises 22004 everywhere
SELECT code, message FROM vstest.try('SELECT vs_store_file_get(NULL, ''file-x'')');
SELECT code, message FROM vstest.try(format('SELECT vs_store_file_get(%L, NULL)', :'vs'));
SELECT code, message FROM vstest.try(format('SELECT vs_store_file_remove(%L, NULL)', :'vs'));
SELECT code, message FROM vstest.try(format('SELECT * FROM vs_store_file_content(%L, NULL)', :'vs'));
SELECT code, message FROM vstest.try('SELECT * FROM vs_store_files(NULL)');
SELECT code, message FROM vstest.try(format('SELECT vs_store_file_poll(%L, NULL)', :'vs'));

-- missing_ok: detaching what is not attached (any more) says false
SELECT vs_store_file_remove(:'vs', :'f1', missing_ok => true) AS removed,
       vs_store_file_remove(:'vs', :'f1', missing_ok => true) AS removed_again;
SELECT vs_store_file_remove(:'vs', 'file-nope', missing_ok => true) AS never_there;

-- create-and-poll: vs_store_file_add(wait => true) returns it processed
SELECT vstest.emu_config('{"processing_delay_ms": 50}');
SELECT id AS f5 FROM vs_file_upload('waited.txt', 'attached and waited for') \gset
SELECT status, usage_bytes > 0 AS has_usage FROM vs_store_file_add(:'vs', :'f5', wait => true, poll_interval_ms => 10);
-- the polls it sent are the SDK's: poll helper header, the interval we chose
SELECT vstest.emu('DELETE', '/_emulator/requests');
SELECT id AS f6 FROM vs_file_upload('waited2.txt', 'attached and waited for, again') \gset
SELECT status FROM vs_store_file_add(:'vs', :'f6', wait => true, poll_interval_ms => 15);
SELECT e->>'method' AS method, count(*) >= 1 AS sent,
       bool_and(e->'headers'->>'x-stainless-poll-helper' = 'true') AS poll_helper,
       min(e->'headers'->>'x-stainless-custom-poll-interval') AS poll_interval
FROM jsonb_array_elements(vstest.emu('GET', '/_emulator/requests')->'requests') e
WHERE e->>'route' LIKE '% /v1/vector_stores/{id}/files%' GROUP BY 1 ORDER BY 1 DESC;
-- ... and gives up after timeout with 55000, the file attached and still processing
SELECT vstest.emu_config('{"processing_delay_ms": 60000}');
SELECT id AS f7 FROM vs_file_upload('slow2.txt', 'slow to process') \gset
SELECT code, regexp_replace(message, '"[^"]*" is still in_progress after [0-9]+ ms', '"..." is still in_progress after N ms') AS message
FROM vstest.try(format('SELECT vs_store_file_add(%L, %L, wait => true, timeout => ''100 ms'', poll_interval_ms => 20)', :'vs', :'f7'));
SELECT status FROM vs_store_file_get(:'vs', :'f7');
-- vs_upload(wait) takes a timeout (10 minutes by default, no longer fixed) and a poll interval
SELECT code, regexp_replace(message, '"[^"]*" is still in_progress after [0-9]+ ms', '"..." is still in_progress after N ms') AS message
FROM vstest.try(format('SELECT vs_upload(%L, ''t.txt'', ''timeout'', wait => true, timeout => ''100 ms'', poll_interval_ms => 20)', :'vs'));
SELECT vstest.emu_config('{"processing_delay_ms": 20}');
SELECT status FROM vs_upload(:'vs', 't2.txt', 'in time', wait => true, timeout => '1 min', poll_interval_ms => 10);
SELECT status FROM vs_upload(:'vs', 't3.txt', 'no limit', wait => true, timeout => NULL);
-- checked before anything is sent
SELECT vstest.emu_count('POST /v1/files') AS uploads_before \gset
SELECT code, message FROM vstest.try(format('SELECT vs_upload(%L, ''x'', ''x'', wait => true, timeout => ''-1 s'')', :'vs'));
SELECT code, message FROM vstest.try(format('SELECT vs_upload(%L, ''x'', ''x'', wait => true, poll_interval_ms => 0)', :'vs'));
SELECT code, message FROM vstest.try(format('SELECT vs_store_file_add(%L, %L, wait => true, poll_interval_ms => 3600001)', :'vs', :'f7'));
SELECT vstest.emu_count('POST /v1/files') - :uploads_before AS uploads_sent;

-- max_items over a store of 1,000 files: one list request of 5
SELECT id AS thousand FROM vs_store_create(name => 'thousand') \gset
SELECT count(*) AS attached FROM vs_upload_many(:'thousand',
    (SELECT array_agg('k' || i || '.txt') FROM generate_series(1, 1000) i),
    (SELECT array_agg('file ' || i) FROM generate_series(1, 1000) i), wait => false, max_concurrency => 16);
SELECT vstest.emu('DELETE', '/_emulator/requests');
SELECT count(*) AS rows FROM vs_store_files(:'thousand', max_items => 5);
SELECT count(*) AS list_requests, min(regexp_replace(e->>'query', '&?api-version=[^&]*', '')) AS query
FROM jsonb_array_elements(vstest.emu('GET', '/_emulator/requests')->'requests') e;
-- a LIMIT alone cannot stop a function in FROM: it lists every page
SELECT vstest.emu('DELETE', '/_emulator/requests');
SELECT count(*) AS rows FROM (SELECT * FROM vs_store_files(:'thousand') LIMIT 5) s;
SELECT count(*) AS list_requests FROM jsonb_array_elements(vstest.emu('GET', '/_emulator/requests')->'requests') e;
-- before pages backwards from an id; with a filter it applies to every page
SELECT id AS k500 FROM vs_store_files(:'thousand', "order" => 'asc', max_items => 500) WITH ORDINALITY AS t
ORDER BY t.ordinality DESC LIMIT 1 \gset
SELECT count(*) AS before_k500 FROM vs_store_files(:'thousand', "order" => 'asc', before => :'k500');
SELECT count(*) AS first_three FROM vs_store_files(:'thousand', filter => 'completed', max_items => 3);

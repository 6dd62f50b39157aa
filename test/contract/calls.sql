-- Every SQL function that talks to the API, called once or more through the
-- validating proxy built from the official spec (prism proxy --errors, see
-- test/run.sh contract_sql). With --errors, a request the spec rejects gets
-- a 422 and a response that violates it a 500, so each call below succeeding
-- means no violation; the run also fails on any violation line in Prism's log.
-- Not proxied (Prism cannot validate them): vs_file_content (the spec
-- declares JSON, the body is raw bytes: CONTRACT.md 5.8), error paths
-- (undeclared 4xx), and empty list pages (null first_id/last_id, CONTRACT.md
-- 5.5) — each is covered by the regression suites against the emulator.
\set ON_ERROR_STOP 1
SET search_path = vectorstore, public;
SET client_min_messages = warning;

CREATE FUNCTION pg_temp.check(ok boolean, what text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF ok IS NOT TRUE THEN RAISE EXCEPTION 'contract check failed: %', what; END IF;
    RAISE NOTICE 'ok: %', what;
END $$;
SET client_min_messages = notice;

-- vector stores
SELECT id AS store FROM vs_store_create(name => 'contract', description => 'd',
       expires_after => '{"anchor": "last_active_at", "days": 3}', metadata => '{"k": "v"}') \gset
SELECT pg_temp.check((vs_store_get(:'store')).metadata->>'k' = 'v', 'vs_store_create, vs_store_get');
SELECT pg_temp.check((vs_store_update(:'store', name => 'contract 2', metadata => '{"k": "w"}')).name = 'contract 2', 'vs_store_update');
SELECT pg_temp.check((vs_store_update(:'store', expires_after => 'null')).expires_after IS NULL, 'vs_store_update clears expires_after');
SELECT pg_temp.check(count(*) >= 1, 'vs_stores') FROM vs_stores("limit" => 1);

-- files
SELECT id AS f1 FROM vs_file_upload('one.txt', 'refund policy: thirty days for a full refund') \gset
SELECT id AS f2 FROM vs_file_upload('two.txt', 'shipping takes three to five days'::text, purpose => 'assistants') \gset
SELECT pg_temp.check((vs_file_get(:'f1')).filename = 'one.txt', 'vs_file_upload, vs_file_get');
SELECT pg_temp.check(count(*) >= 2, 'vs_files') FROM vs_files(purpose => 'assistants', "limit" => 1);

-- vector store files
SELECT pg_temp.check((vs_store_file_add(:'store', :'f1', attributes => '{"doc": 1, "lang": "en"}',
       chunking_strategy => '{"type": "static", "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 50}}')).id = :'f1', 'vs_store_file_add');
SELECT pg_temp.check((vs_store_file_poll(:'store', :'f1')).status = 'completed', 'vs_store_file_poll');
SELECT pg_temp.check((vs_store_file_get(:'store', :'f1')).attributes->>'lang' = 'en', 'vs_store_file_get');
SELECT pg_temp.check((vs_store_file_update(:'store', :'f1', '{"doc": 1, "lang": "de"}')).attributes->>'lang' = 'de', 'vs_store_file_update');
SELECT pg_temp.check(count(*) = 1, 'vs_store_files with filter') FROM vs_store_files(:'store', filter => 'completed', "limit" => 10);
SELECT pg_temp.check(string_agg(text, '') LIKE '%thirty days%', 'vs_store_file_content') FROM vs_store_file_content(:'store', :'f1');
SELECT pg_temp.check((vs_upload(:'store', 'three.txt', 'returns are free for damaged items',
       attributes => '{"doc": 3, "lang": "en"}', wait => true)).status = 'completed', 'vs_upload');

-- batches
SELECT id AS b1 FROM vs_batch_create(:'store', file_ids => ARRAY[:'f2'], attributes => '{"doc": 2, "lang": "fr"}') \gset
SELECT pg_temp.check((vs_batch_poll(:'store', :'b1')).status = 'completed', 'vs_batch_create (file_ids), vs_batch_poll');
SELECT pg_temp.check((vs_batch_get(:'store', :'b1')).files_completed = 1, 'vs_batch_get');
SELECT pg_temp.check(count(*) = 1, 'vs_batch_files') FROM vs_batch_files(:'store', :'b1', filter => 'completed');
SELECT id AS f4 FROM vs_file_upload('four.txt', 'gift cards never expire') \gset
SELECT id AS b2 FROM vs_batch_create(:'store', files => jsonb_build_array(jsonb_build_object('file_id', :'f4', 'attributes', '{"doc": 4, "lang": "en"}'::jsonb))) \gset
SELECT pg_temp.check((vs_batch_cancel(:'store', :'b2')).id = :'b2', 'vs_batch_create (files), vs_batch_cancel');
SELECT pg_temp.check(bool_and(status = 'completed') AND count(*) = 2, 'vs_upload_many')
FROM vs_upload_many(:'store', ARRAY['five.txt', 'six.txt'], ARRAY['store credit is worth more', 'express shipping refunds'],
                    ARRAY['{"doc": 5, "lang": "en"}', '{"doc": 6, "lang": "en"}']::jsonb[]);

-- search
SELECT pg_temp.check(count(*) >= 1, 'vs_search') FROM vs_search(:'store', 'refund', max_num_results => 5);
SELECT pg_temp.check(count(*) >= 1, 'vs_search with nested filters, ranking options, rewrite')
FROM vs_search(:'store', 'refund shipping', max_num_results => 50,
     filters => '{"type": "and", "filters": [{"type": "in", "key": "lang", "value": ["en", "de"]},
                  {"type": "or", "filters": [{"type": "gte", "key": "doc", "value": 1}, {"type": "eq", "key": "lang", "value": "x"}]}]}',
     ranking_options => '{"ranker": "auto", "score_threshold": 0.0}', rewrite_query => true);
SELECT pg_temp.check(count(*) >= 1, 'vs_search with an array query') FROM vs_search(:'store', ARRAY['refund', 'gift cards'], max_num_results => 1);
SELECT pg_temp.check(jsonb_array_length(vs_search_json(:'store', 'refund')->'data') >= 1, 'vs_search_json');
SELECT pg_temp.check(count(DISTINCT query_index) = 3, 'vs_search_many with per-query filters')
FROM vs_search_many(:'store', ARRAY['refund', 'shipping', 'store credit'], max_num_results => 3,
     filters => '[{"type": "in", "key": "lang", "value": ["en", "de"]}, null, {"type": "gte", "key": "doc", "value": 1}]',
     ranking_options => '{"ranker": "auto", "score_threshold": 0.0}', rewrite_query => true);
SELECT pg_temp.check(count(*) = 2 AND bool_and(status = 'completed'), 'vs_store_file_get_many')
FROM vs_store_file_get_many(:'store', ARRAY[:'f1', :'f1']);
SELECT pg_temp.check(count(*) = 2, 'vs_file_get_many') FROM vs_file_get_many(ARRAY[:'f1', :'f2']);

-- the arguments new in 0.2.0 (request_options with fields the spec has;
-- expires_after on uploads; create-and-poll; lists that stop early or page
-- backwards; vs_upload_many with file_ids; search rows with raw)
SELECT id AS store2 FROM vs_store_create(name => 'contract 0.2',
       request_options => '{"extra_body": {"description": "via extra_body"}, "extra_headers": {"X-Trace-Id": "contract"}, "timeout": 30000, "max_retries": 1}') \gset
SELECT pg_temp.check((vs_store_get(:'store2', request_options => '{"extra_headers": {"X-Trace-Id": "contract"}}')).description = 'via extra_body', 'request_options: extra_body, extra_headers, timeout, max_retries');
SELECT id AS f5 FROM vs_file_upload('seven.txt', 'refunds within seven days', expires_after => '{"anchor": "created_at", "seconds": 86400}') \gset
SELECT pg_temp.check((vs_file_get(:'f5')).expires_at IS NOT NULL, 'vs_file_upload with expires_after');
SELECT id AS f6 FROM vs_file_upload('eight.bin', '\x726566756e6473'::bytea, request_options => '{"extra_body": {"expires_after": {"anchor": "created_at", "seconds": 3600}}}') \gset
SELECT pg_temp.check((vs_file_get(:'f6')).expires_at IS NOT NULL, 'vs_file_upload with expires_after as extra form fields');
SELECT pg_temp.check((vs_store_file_add(:'store2', :'f5', attributes => '{"doc": 7}', wait => true, poll_interval_ms => 50)).status = 'completed', 'vs_store_file_add with wait');
SELECT pg_temp.check((vs_batch_create(:'store2', file_ids => ARRAY[:'f6'], wait => true, timeout => '1 min', poll_interval_ms => 50)).status = 'completed', 'vs_batch_create with wait');
SELECT pg_temp.check((vs_upload(:'store2', 'nine.txt', 'refunds in nine days', wait => true, timeout => '1 min', poll_interval_ms => 50)).status = 'completed', 'vs_upload with timeout and poll_interval_ms');
SELECT id AS f9 FROM vs_file_upload('ten.txt', 'refunds in ten days') \gset
SELECT pg_temp.check(count(*) = 2 AND bool_and(status = 'completed'), 'vs_upload_many with file_ids')
FROM vs_upload_many(:'store2', ARRAY['eleven.txt'], ARRAY['refunds in eleven days'], file_ids => ARRAY[:'f9'], poll_interval_ms => 50);
SELECT pg_temp.check(count(*) = 1, 'vs_stores with max_items') FROM vs_stores(max_items => 1);
SELECT pg_temp.check(count(*) = 2, 'vs_files with max_items') FROM vs_files(max_items => 2);
SELECT pg_temp.check(count(*) = 2, 'vs_store_files with max_items') FROM vs_store_files(:'store2', max_items => 2);
SELECT id AS newest FROM vs_store_files(:'store2', "order" => 'asc') WITH ORDINALITY AS t ORDER BY t.ordinality DESC LIMIT 1 \gset
SELECT pg_temp.check(count(*) = 4, 'vs_store_files with before') FROM vs_store_files(:'store2', "order" => 'asc', "limit" => 2, before => :'newest');
SELECT id AS b3 FROM vs_batch_create(:'store2', file_ids => ARRAY[:'f9']) \gset
SELECT pg_temp.check(count(*) = 1, 'vs_batch_files with max_items') FROM vs_batch_files(:'store2', :'b3', max_items => 1);
SELECT pg_temp.check(count(*) >= 1 AND bool_and(raw ? 'file_id' AND cardinality(content_parts) >= 1), 'vs_search rows with raw and content_parts')
FROM vs_search(:'store2', 'refunds', request_options => '{"extra_headers": {"X-Trace-Id": "contract"}}');
SELECT pg_temp.check(vs_store_file_remove(:'store2', :'f9', missing_ok => true), 'vs_store_file_remove with missing_ok');
SELECT pg_temp.check(vs_file_delete(:'f9', missing_ok => true), 'vs_file_delete with missing_ok');
SELECT pg_temp.check(vs_store_delete(:'store2', missing_ok => true), 'vs_store_delete with missing_ok');

-- detach, delete
SELECT pg_temp.check(vs_store_file_remove(:'store', :'f1'), 'vs_store_file_remove');
SELECT pg_temp.check(vs_file_delete(:'f1'), 'vs_file_delete');
SELECT pg_temp.check(vs_store_delete(:'store'), 'vs_store_delete');

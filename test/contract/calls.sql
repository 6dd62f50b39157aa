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

-- detach, delete
SELECT pg_temp.check(vs_store_file_remove(:'store', :'f1'), 'vs_store_file_remove');
SELECT pg_temp.check(vs_file_delete(:'f1'), 'vs_file_delete');
SELECT pg_temp.check(vs_store_delete(:'store'), 'vs_store_delete');

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
-- File batches from SQL: create with file_ids or per-file files, poll,
-- list their files with each status filter, cancel an in-progress batch;
-- vs_upload_many: 2,500 rows split into two batches, the aggregate call
-- pattern, per-row failures (upload, attach, processing); validation
-- before sending; bad ids.
SET search_path = vectorstore, public;
\set SHOW_CONTEXT never
SELECT vstest.emu_reset();
SELECT vstest.emu_config('{"processing_delay_ms": 20}');

SELECT id AS vs FROM vs_store_create(name => 'batches') \gset
CREATE TEMP TABLE up AS
SELECT i, (vs_file_upload('doc' || i || '.txt', 'document number ' || i || ' about batches')).id
FROM generate_series(1, 4) i;

-- file_ids: the same attributes for all
CREATE TEMP TABLE b1 AS
SELECT * FROM vs_batch_create(:'vs', file_ids => (SELECT array_agg(id ORDER BY i) FROM up WHERE i <= 2),
                              attributes => '{"source": "ids"}');
SELECT id LIKE 'vsfb_%' AS id_ok, vector_store_id = :'vs' AS same_store, status,
       files_total, created_at > now() - interval '1 minute' AS created_recently,
       raw->>'object' AS object
FROM b1;
SELECT p.status, p.files_in_progress, p.files_completed, p.files_failed, p.files_cancelled, p.files_total
FROM b1, vs_batch_poll(:'vs', b1.id, poll_interval_ms => 10) p;
SELECT b.status, b.files_completed FROM b1, vs_batch_get(:'vs', b1.id) b;
SELECT count(*) AS files, bool_and(f.status = 'completed') AS all_completed,
       bool_and(f.attributes->>'source' = 'ids') AS attributes_set
FROM b1, vs_batch_files(:'vs', b1.id) f;

-- files: each file with its own attributes and chunking strategy
CREATE TEMP TABLE b2 AS
SELECT * FROM vs_batch_create(:'vs', files => (
    SELECT jsonb_agg(jsonb_build_object('file_id', id, 'attributes', jsonb_build_object('n', i),
                                        'chunking_strategy', '{"type": "auto"}'::jsonb) ORDER BY i)
    FROM up WHERE i > 2));
SELECT p.status, p.files_total FROM b2, vs_batch_poll(:'vs', b2.id) p;
SELECT f.attributes FROM b2, vs_batch_files(:'vs', b2.id, "order" => 'asc') f ORDER BY (f.attributes->>'n')::int;

-- cancel an in-progress batch (processing made slow first)
SELECT vstest.emu_config('{"processing_delay_ms": 60000}');
CREATE TEMP TABLE slow AS
SELECT i, (vs_file_upload('slow' || i || '.txt', 'slow document ' || i)).id FROM generate_series(1, 3) i;
CREATE TEMP TABLE b3 AS
SELECT * FROM vs_batch_create(:'vs', file_ids => (SELECT array_agg(id) FROM slow));
SELECT status, files_in_progress FROM b3;
-- polling gives up after timeout with 55000
SELECT code, regexp_replace(message, '"[^"]*"', '"..."') ~ 'file batch "..." is still in_progress after [0-9]+ ms' AS message_ok, hint
FROM b3, vstest.try(format('SELECT vs_batch_poll(%L, %L, timeout => ''100 ms'')', :'vs', b3.id));
SELECT c.status, c.files_in_progress, c.files_cancelled, c.files_total FROM b3, vs_batch_cancel(:'vs', b3.id) c;
SELECT p.status FROM b3, vs_batch_poll(:'vs', b3.id) p;
-- each status filter, on the batch and on the store
SELECT s AS filter,
       (SELECT count(*) FROM b3, vs_batch_files(:'vs', b3.id, filter => s)) AS in_batch,
       (SELECT count(*) FROM vs_store_files(:'vs', filter => s)) AS in_store
FROM unnest(ARRAY['in_progress', 'completed', 'failed', 'cancelled']) s;
SELECT vstest.emu_config('{"processing_delay_ms": 20}');

-- validation before anything is sent
SELECT vstest.emu_count('POST /v1/vector_stores/{id}/file_batches') AS batches_before \gset
SELECT vs_batch_create(:'vs');
SELECT vs_batch_create(:'vs', file_ids => ARRAY['file-1'], files => '[{"file_id": "file-1"}]');
SELECT vs_batch_create(:'vs', file_ids => ARRAY[]::text[]);
SELECT vs_batch_create(:'vs', file_ids => (SELECT array_agg('file-' || i) FROM generate_series(1, 2001) i));
SELECT vs_batch_create(:'vs', file_ids => ARRAY['file-1', NULL]);
SELECT vs_batch_create(:'vs', file_ids => ARRAY['file-1'], attributes => '{"a": [1]}');
SELECT vs_batch_create(:'vs', file_ids => ARRAY['file-1'], chunking_strategy => '{"type": "static", "static": {"max_chunk_size_tokens": 5000, "chunk_overlap_tokens": 0}}');
SELECT vs_batch_create(:'vs', files => '{"file_id": "file-1"}');
SELECT vs_batch_create(:'vs', files => '[]');
SELECT vs_batch_create(:'vs', files => '[{"file_id": "file-1"}, {"attributes": {}}]');
SELECT vs_batch_create(:'vs', files => '[{"file_id": "file-1", "colour": "red"}]');
SELECT vs_batch_create(:'vs', files => '[{"file_id": "file-1"}, {"file_id": "file-2", "attributes": {"k": {"x": 1}}}]');
SELECT vs_batch_create(:'vs', files => '[{"file_id": "file-1", "chunking_strategy": {"type": "none"}}]');
SELECT vs_batch_create(:'vs', files => '[{"file_id": "file-1"}]', attributes => '{"a": 1}');
SELECT vs_batch_create(:'vs', files => (SELECT jsonb_agg(jsonb_build_object('file_id', 'file-' || i)) FROM generate_series(1, 2001) i));
SELECT vs_batch_files(:'vs', 'vsfb_x', filter => 'all');
SELECT vs_batch_poll(:'vs', 'vsfb_x', poll_interval_ms => -5);
SELECT vstest.emu_count('POST /v1/vector_stores/{id}/file_batches') - :batches_before AS batches_sent;

-- bad ids: 404 -> 42704
SELECT code FROM vstest.try(format('SELECT vs_batch_get(%L, ''vsfb_nope'')', :'vs'));
SELECT code FROM vstest.try(format('SELECT vs_batch_cancel(%L, ''vsfb_nope'')', :'vs'));
SELECT code FROM vstest.try(format('SELECT * FROM vs_batch_files(%L, ''vsfb_nope'')', :'vs'));
SELECT code FROM vstest.try(format('SELECT vs_batch_poll(%L, ''vsfb_nope'')', :'vs'));
SELECT code FROM vstest.try($$SELECT vs_batch_create('vs_nope', file_ids => ARRAY['file-1'])$$);
SELECT code FROM vstest.try(format('SELECT vs_batch_create(%L, file_ids => ARRAY[''file-nope''])', :'vs'));

---------------------------------------------------------------------------
-- vs_upload_many
---------------------------------------------------------------------------
SELECT vstest.emu_reset();
SELECT vstest.emu_config('{"processing_delay_ms": 20}');
SELECT id AS big FROM vs_store_create(name => 'bulk') \gset

-- 2,500 rows: concurrent uploads, two batches (2,000 + 500), all completed
CREATE TEMP TABLE docs AS
SELECT i AS id, 'doc-' || i || '.txt' AS title,
       'Document ' || i || ' talks about ' || (ARRAY['apples', 'pears', 'plums'])[1 + i % 3] AS body
FROM generate_series(1, 2500) i;
CREATE TEMP TABLE many AS
SELECT u.*
FROM (SELECT array_agg(title ORDER BY id) AS titles, array_agg(body ORDER BY id) AS bodies,
             array_agg(jsonb_build_object('doc_id', id) ORDER BY id) AS attrs FROM docs) d,
     LATERAL vs_upload_many(:'big', d.titles, d.bodies, d.attrs, max_concurrency => 16) u;
SELECT count(*) = 2500 AS all_rows, count(DISTINCT file_id) = 2500 AS distinct_files,
       count(DISTINCT batch_id) AS batches, min("index") AS first, max("index") AS last,
       bool_and(status = 'completed') AS all_completed, count(error) AS errors
FROM many;
SELECT count(*) AS files_per_batch FROM many GROUP BY batch_id ORDER BY 1 DESC;
SELECT bool_and(filename = 'doc-' || "index" || '.txt') AS rows_in_input_order FROM many;
SELECT vstest.emu_count('POST /v1/files', '200') AS uploads,
       vstest.emu_count('POST /v1/vector_stores/{id}/file_batches', '200') AS batch_creates;
SELECT files_completed, files_total FROM vs_store_get(:'big');
-- attributes went with each file
SELECT count(*) AS matching_attributes
FROM many m JOIN vs_store_files(:'big') f ON f.id = m.file_id
WHERE (f.attributes->>'doc_id')::int = m."index";

-- the aggregate call pattern straight from a table, in the select list
SELECT vstest.emu_reset();
SELECT id AS agg FROM vs_store_create(name => 'aggregate') \gset
SELECT (r).status, count(*)
FROM (SELECT vs_upload_many(:'agg', array_agg(title), array_agg(body),
                            array_agg(jsonb_build_object('doc_id', id))) AS r
      FROM docs WHERE id <= 5) s
GROUP BY 1;
SELECT vstest.emu_count('POST /v1/files') AS uploads_once;

-- per-row outcomes: a NUL-containing file fails processing, bytea overload
SELECT "index", filename, status, error
FROM vs_upload_many(:'agg', ARRAY['ok.bin', 'nul.bin'], ARRAY['\x6f6b'::bytea, '\x6e00756c'::bytea]);

-- failed uploads are rows with their error; the rest are attached
SELECT vstest.emu_fault('{"kind": "should_retry_false", "count": 2, "route": "/files", "method": "POST"}');
SELECT status, count(*), count(file_id) AS with_file, count(batch_id) AS with_batch,
       min(regexp_replace(error, 'x-request-id [^]]*', '')) AS error
FROM vs_upload_many(:'agg', ARRAY['u1', 'u2', 'u3', 'u4', 'u5'], ARRAY['one', 'two', 'three', 'four', 'five'])
GROUP BY status ORDER BY status;
-- a failed attach leaves every uploaded file reported, and deleted again: no orphan
SELECT count(*) AS files_before FROM vs_files() \gset
SELECT vstest.emu_fault('{"kind": "should_retry_false", "count": 1, "route": "/file_batches", "method": "POST"}');
SELECT status, count(*), count(file_id) AS with_file, count(batch_id) AS with_batch,
       min(regexp_replace(regexp_replace(error, 'vs_[A-Za-z0-9]+', 'vs_...'), 'file-[A-Za-z0-9]+', 'file-...')) AS error
FROM vs_upload_many(:'agg', ARRAY['a1', 'a2'], ARRAY['alpha', 'beta'])
GROUP BY status;
SELECT count(*) - :files_before AS orphans FROM vs_files();
-- a 2xx answer that is not JSON, to the batch: the same, no ERROR, no orphan
SELECT vstest.emu_fault('{"kind": "malformed_json", "count": 1, "route": "/file_batches", "method": "POST"}');
SELECT status, count(*), count(file_id) AS with_file, count(batch_id) AS with_batch,
       min(regexp_replace(regexp_replace(error, 'vs_[A-Za-z0-9]+', 'vs_...'), 'file-[A-Za-z0-9]+', 'file-...')) AS error
FROM vs_upload_many(:'agg', ARRAY['b1', 'b2'], ARRAY['gamma', 'delta'])
GROUP BY status;
SELECT count(*) - :files_before AS orphans FROM vs_files();

-- a batch that cannot be followed (polling fails) still reports every row
SELECT vstest.emu_fault('{"kind": "should_retry_false", "count": 1, "route": "/file_batches/", "method": "GET"}');
SELECT status, count(*), count(file_id) AS with_file, count(batch_id) AS with_batch,
       min(regexp_replace(error, 'vsfb_[A-Za-z0-9]+', 'vsfb_...')) AS error
FROM vs_upload_many(:'agg', ARRAY['p1', 'p2'], ARRAY['poll', 'fails'])
GROUP BY status;

-- without wait: attached and still in progress
SELECT vstest.emu_config('{"processing_delay_ms": 60000}');
SELECT status, count(*), count(batch_id) AS with_batch
FROM vs_upload_many(:'agg', ARRAY['w1', 'w2'], ARRAY['wait', 'not'], wait => false) GROUP BY status;
-- with wait and a timeout: no error, the rows say in_progress
SELECT status, count(*)
FROM vs_upload_many(:'agg', ARRAY['t1'], ARRAY['timeout'], timeout => '100 ms') GROUP BY status;
SELECT vstest.emu_config('{"processing_delay_ms": 20}');

-- empty input: no rows, no requests
SELECT count(*) AS no_rows FROM vs_upload_many(:'agg', ARRAY[]::text[], ARRAY[]::text[]);

-- validation before anything is sent
SELECT vstest.emu_count('POST /v1/files') AS uploads_before \gset
SELECT vs_upload_many(:'agg', ARRAY['a', 'b'], ARRAY['x']);
SELECT vs_upload_many(:'agg', ARRAY['a'], ARRAY['x'], ARRAY['{}'::jsonb, '{}']);
SELECT vs_upload_many(:'agg', ARRAY['a', NULL], ARRAY['x', 'y']);
SELECT vs_upload_many(:'agg', ARRAY['a', 'b'], ARRAY['x', NULL]);
SELECT vs_upload_many(:'agg', ARRAY['a', ''], ARRAY['x', 'y']);
SELECT vs_upload_many(:'agg', ARRAY['a', 'b'], ARRAY['x', 'y'], ARRAY[NULL, '{"k": [1]}'::jsonb]);
SELECT vs_upload_many(:'agg', ARRAY['a'], ARRAY['x'], chunking_strategy => '{"type": "dynamic"}');
SELECT vs_upload_many(:'agg', ARRAY['a'], ARRAY['x'], max_concurrency => 0);
SELECT vs_upload_many(:'agg', ARRAY[['a']], ARRAY[['x']]);
SELECT vstest.emu_count('POST /v1/files') - :uploads_before AS uploads_sent;

---------------------------------------------------------------------------
-- create-and-poll, lists that stop early, NULL ids
---------------------------------------------------------------------------
SELECT vstest.emu_reset();
SELECT vstest.emu_config('{"processing_delay_ms": 30}');
SELECT id AS vs FROM vs_store_create(name => 'batches 2') \gset
CREATE TEMP TABLE up2 AS
SELECT i, (vs_file_upload('w' || i || '.txt', 'waited document ' || i)).id FROM generate_series(1, 6) i;
-- wait: returns the batch once done (the SDK's createAndPoll)
SELECT status, files_completed, files_total
FROM vs_batch_create(:'vs', file_ids => (SELECT array_agg(id) FROM up2 WHERE i <= 3), wait => true, poll_interval_ms => 10);
SELECT vstest.emu_count('GET /v1/vector_stores/{id}/file_batches/{batch_id}') >= 1 AS polled;
-- and gives up after timeout with 55000
SELECT vstest.emu_config('{"processing_delay_ms": 60000}');
SELECT code, regexp_replace(message, '"[^"]*"', '"..."') ~ 'file batch "..." is still in_progress after [0-9]+ ms' AS message_ok, hint
FROM vstest.try(format('SELECT vs_batch_create(%L, file_ids => ARRAY[%L], wait => true, timeout => ''100 ms'', poll_interval_ms => 20)',
                       :'vs', (SELECT id FROM up2 WHERE i = 4)));
SELECT vstest.emu_config('{"processing_delay_ms": 30}');
-- files form with wait
SELECT status, files_total FROM vs_batch_create(:'vs', files => (SELECT jsonb_agg(jsonb_build_object('file_id', id)) FROM up2 WHERE i = 5), wait => true);

-- vs_batch_files: max_items and before (file 4 is still processing: left out)
CREATE TEMP TABLE b4 AS
SELECT * FROM vs_batch_create(:'vs', file_ids => (SELECT array_agg(id ORDER BY i) FROM up2 WHERE i <> 4), wait => true, poll_interval_ms => 10);
SELECT vstest.emu_count('GET /v1/vector_stores/{id}/file_batches/{batch_id}/files') AS lists_before \gset
SELECT count(*) AS two FROM b4, vs_batch_files(:'vs', b4.id, max_items => 2);
SELECT vstest.emu_count('GET /v1/vector_stores/{id}/file_batches/{batch_id}/files') - :lists_before AS list_requests;
SELECT f.id AS last_file FROM b4, vs_batch_files(:'vs', b4.id, "order" => 'asc') WITH ORDINALITY AS f ORDER BY f.ordinality DESC LIMIT 1 \gset
SELECT count(*) AS before_last FROM b4, vs_batch_files(:'vs', b4.id, "order" => 'asc', "limit" => 2, before => :'last_file');

-- NULL ids raise 22004
SELECT code, message FROM vstest.try('SELECT vs_batch_get(NULL, ''vsfb_x'')');
SELECT code, message FROM vstest.try(format('SELECT vs_batch_get(%L, NULL)', :'vs'));
SELECT code, message FROM vstest.try(format('SELECT vs_batch_cancel(%L, NULL)', :'vs'));
SELECT code, message FROM vstest.try(format('SELECT * FROM vs_batch_files(%L, NULL)', :'vs'));
SELECT code, message FROM vstest.try(format('SELECT vs_batch_poll(%L, NULL)', :'vs'));
SELECT code, message FROM vstest.try('SELECT vs_batch_create(NULL, file_ids => ARRAY[''file-1''])');

---------------------------------------------------------------------------
-- vs_upload_many with file_ids: existing files attached with the new ones
---------------------------------------------------------------------------
SELECT id AS vs3 FROM vs_store_create(name => 'with file ids') \gset
CREATE TEMP TABLE pre AS
SELECT i, (vs_file_upload('pre' || i || '.txt', 'already uploaded ' || i)).id FROM generate_series(1, 2) i;
CREATE TEMP TABLE mixed AS
SELECT * FROM vs_upload_many(:'vs3', ARRAY['new1.txt', 'new2.txt'], ARRAY['new one', 'new two'],
    attributes => ARRAY['{"k": "n1"}', '{"k": "n2"}', '{"k": "p1"}', NULL]::jsonb[],
    file_ids => (SELECT array_agg(id ORDER BY i) FROM pre), poll_interval_ms => 10);
SELECT "index", filename, file_id = (SELECT id FROM pre WHERE i = "index" - 2) AS given_id, status, error,
       count(*) OVER (PARTITION BY batch_id) AS in_batch
FROM mixed ORDER BY "index";
SELECT f.attributes->>'k' AS k, count(*) FROM vs_store_files(:'vs3') f GROUP BY 1 ORDER BY 1;
SELECT vstest.emu_count('POST /v1/files') AS uploads_so_far \gset
-- only file_ids: nothing uploaded, a batch and its poll
-- (typed NULLs pick the overload: a bare NULL fits text[] and bytea[] alike)
SELECT "index", filename, status FROM vs_upload_many(:'vs3', NULL::text[], NULL::text[], file_ids => (SELECT array_agg(id ORDER BY i) FROM pre));
SELECT vstest.emu_count('POST /v1/files') - :uploads_so_far AS uploads;
-- a failed attach deletes what this call uploaded, never the caller's files
SELECT vstest.emu_fault('{"kind": "should_retry_false", "count": 1, "route": "/file_batches", "method": "POST"}');
SELECT "index", status, file_id IS NOT NULL AS has_file,
       regexp_replace(regexp_replace(error, 'vs_[A-Za-z0-9]+', 'vs_...', 'g'), 'file-[A-Za-z0-9]+', 'file-...', 'g') AS error
FROM vs_upload_many(:'vs3', ARRAY['lost.txt'], ARRAY['lost'], file_ids => ARRAY[(SELECT id FROM pre WHERE i = 1)])
ORDER BY "index";
SELECT count(*) AS pre_files_still_there FROM pre, vs_file_get(pre.id) g;
-- checked before anything is sent
SELECT vstest.emu_count('POST /v1/files') AS uploads_before \gset
SELECT code, message FROM vstest.try(format('SELECT vs_upload_many(%L, NULL::text[], NULL::text[])', :'vs3'));
SELECT code, message FROM vstest.try(format('SELECT vs_upload_many(%L, ARRAY[''a''], NULL::text[], file_ids => ARRAY[''file-1''])', :'vs3'));
SELECT code, message FROM vstest.try(format('SELECT vs_upload_many(%L, ARRAY[''a''], ARRAY[''x''], file_ids => ARRAY[''file-1'', NULL])', :'vs3'));
SELECT code, message FROM vstest.try(format('SELECT vs_upload_many(%L, ARRAY[''a''], ARRAY[''x''], file_ids => ARRAY[''''])', :'vs3'));
SELECT code, message FROM vstest.try(format('SELECT vs_upload_many(%L, ARRAY[''a''], ARRAY[''x''], file_ids => ARRAY[''file-1'', ''file-2'', ''file-1''])', :'vs3'));
SELECT code, message FROM vstest.try(format('SELECT vs_upload_many(%L, ARRAY[''a''], ARRAY[''x''], ARRAY[''{}'', ''{}'']::jsonb[], file_ids => ARRAY[''file-1'', ''file-2''])', :'vs3'));
SELECT code, message FROM vstest.try(format('SELECT vs_upload_many(%L, ARRAY[''a''], ARRAY[''x''], poll_interval_ms => 0)', :'vs3'));
SELECT vstest.emu_count('POST /v1/files') - :uploads_before AS uploads_sent;

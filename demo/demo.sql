-- The vectorstore demo: rows become files in a vector store, and search
-- results are rows that join back to the table. Run by demo/run.sh.
\set ON_ERROR_STOP 1
\pset footer off
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS vectorstore;
SET search_path = public, vectorstore;
\i demo/sample.sql

\echo
\echo '== 1. A vector store, and a few rows uploaded as files (vs_upload_many, waits until processed)'
SELECT id AS store FROM vs_store_create(name => 'demo: help centre', metadata => '{"source": "demo"}') \gset
SELECT u.filename, u.status, u.error
FROM (SELECT array_agg('doc-' || id || '.txt' ORDER BY id) AS names,
             array_agg(title || E'\n\n' || body ORDER BY id) AS bodies,
             array_agg(jsonb_build_object('doc_id', id, 'category', category) ORDER BY id) AS attrs
      FROM docs WHERE id <= 8) d,
     LATERAL vs_upload_many(:'store', d.names, d.bodies, d.attrs) u;

\echo
\echo '== 2. Search, joined back to the source table through an attribute'
SELECT r.rank, round(r.score::numeric, 3) AS score, d.id, d.title
FROM vs_search(:'store', 'how long until my refund shows on the card', max_num_results => 3) r
JOIN docs d ON d.id = (r.attributes->>'doc_id')::int
ORDER BY r.rank;

\echo
\echo '== 3. The whole table kept in sync by the background worker (vs_sync_create / vs_sync_run)'
SELECT id AS store2 FROM vs_store_create(name => 'demo: synced docs') \gset
SELECT vs_sync_create('docs', 'docs', :'store2', key_column => 'id',
                      content => $$title || E'\n\n' || body$$,
                      attribute_columns => ARRAY['category'],
                      filename_pattern => 'doc-%s.txt');
SELECT * FROM vs_sync_run('docs');
SET client_min_messages = notice;
DO $$
DECLARE p record; i int := 0;
BEGIN
    LOOP
        SELECT * INTO p FROM vectorstore.sync_progress WHERE name = 'docs';
        RAISE NOTICE 'progress: % rows, % queued, % uploading, % attached, % failed, eta %',
            p.rows, p.queued, p.uploading, p.attached, p.failed, coalesce(p.eta::text, '?');
        EXIT WHEN p.jobs_pending = 0 OR i >= 120;
        i := i + 1;
        PERFORM pg_sleep(0.5);
    END LOOP;
END $$;

\echo
\echo '== 4. One search per question (LATERAL), results mapped to rows by the sync'
SELECT q.question, r.rank, d.title, d.category
FROM questions q
CROSS JOIN LATERAL vs_search(:'store2', q.question, max_num_results => 2) r
JOIN sync_rows s ON s.sync_name = 'docs' AND s.file_id = r.file_id
JOIN docs d ON d.id = s.row_key::int
ORDER BY q.id, r.rank;

\echo
\echo '== 5. Change the table, sync again: one update, one delete'
UPDATE docs SET body = body || ' Refunds to PayPal arrive within 24 hours.' WHERE id = 3;
DELETE FROM docs WHERE id = 30;
SELECT * FROM vs_sync_run('docs');
DO $$
BEGIN
    FOR i IN 1..120 LOOP
        EXIT WHEN (SELECT jobs_pending FROM vectorstore.sync_progress WHERE name = 'docs') = 0;
        PERFORM pg_sleep(0.5);
    END LOOP;
END $$;
SELECT name, rows, attached, failed, jobs_pending FROM sync_progress;
SELECT files_completed AS files_in_store FROM vs_store_get(:'store2');
SELECT r.rank, d.title FROM vs_search(:'store2', 'paypal refund', max_num_results => 1) r
JOIN sync_rows s ON s.sync_name = 'docs' AND s.file_id = r.file_id JOIN docs d ON d.id = s.row_key::int;

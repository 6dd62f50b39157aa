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
-- Files from SQL: uploads straight from text and bytea values (non-ASCII,
-- NUL bytes), retrieve, list across pages, download, delete; validation
-- before sending; bad ids.
SET search_path = vectorstore, public;
\set SHOW_CONTEXT never
SELECT vstest.emu_reset();

-- text is sent as its UTF-8 bytes; bytea byte for byte (NULs included)
CREATE TEMP TABLE f AS
SELECT 'text' AS kind, * FROM vs_file_upload('grüße.txt', 'Grüße aus Köln — ☃ snow');
INSERT INTO f SELECT 'bytea', * FROM vs_file_upload('blob.bin', '\x00ff00010203000a'::bytea);
INSERT INTO f SELECT 'user_data', * FROM vs_file_upload('data.txt', 'plain', purpose => 'user_data');
SELECT kind, id LIKE 'file-%' AS id_ok, filename, bytes, purpose, status,
       created_at > now() - interval '1 minute' AS created_recently,
       raw->>'object' AS object, raw->>'id' = id AS raw_matches
FROM f ORDER BY kind;
SELECT octet_length(convert_to('Grüße aus Köln — ☃ snow', 'UTF8')) AS utf8_bytes;

-- download: the exact bytes come back
SELECT kind, vs_file_content(id) AS content FROM f WHERE kind = 'bytea';
SELECT kind, convert_from(vs_file_content(id), 'UTF8') AS content FROM f WHERE kind = 'text';
SELECT vs_file_content(id) = convert_to('Grüße aus Köln — ☃ snow', 'UTF8') AS same_bytes
FROM f WHERE kind = 'text';

-- retrieve
SELECT g.filename, g.bytes, g.id = f.id AS same FROM f, vs_file_get(f.id) g ORDER BY f.kind;

-- list: every page is followed ("limit" is the page size)
SELECT count(*) AS files FROM vs_files();
SELECT count(*) AS files_paged FROM vs_files("limit" => 1);
SELECT vstest.emu_count('GET /v1/files') AS list_requests;
SELECT filename FROM vs_files(purpose => 'user_data');
SELECT array_agg(filename) AS ascending FROM vs_files("order" => 'asc');
SELECT count(*) AS after_first FROM vs_files("order" => 'asc', after => (SELECT id FROM f WHERE kind = 'text'));

-- validation before anything is sent
SELECT vstest.emu_count('POST /v1/files') AS uploads_before \gset
SELECT vs_file_upload('x.txt', 'x', purpose => 'homework');
SELECT vs_file_upload('', 'x');
SELECT vs_file_upload(NULL, 'x');
SELECT vs_file_upload('x.txt', NULL::text);
SELECT vs_files("limit" => 0);
SELECT vs_files("limit" => 10001);
SELECT vs_files("order" => 'up');
SELECT vstest.emu_count('POST /v1/files') - :uploads_before AS uploads_sent;

-- an empty file is a file
SELECT bytes FROM vs_file_upload('empty.txt', '');
SELECT octet_length(vs_file_content((SELECT id FROM vs_files() WHERE filename = 'empty.txt'))) AS empty_len;

-- bad ids: 404 -> 42704 (undefined_object), with the request in the context
SELECT code, message, context FROM vstest.try($$SELECT vs_file_get('file-nope')$$);
SELECT code, context FROM vstest.try($$SELECT vs_file_content('file-nope')$$);
SELECT code, context FROM vstest.try($$SELECT vs_file_delete('file-nope')$$);

-- delete
SELECT id AS empty_id FROM vs_files() WHERE filename = 'empty.txt' \gset
SELECT vs_file_delete(:'empty_id') AS deleted;
SELECT code FROM vstest.try(format('SELECT vs_file_get(%L)', :'empty_id'));
SELECT count(*) FILTER (WHERE vs_file_delete(id)) AS deleted FROM vs_files();
SELECT vstest.emu_count('DELETE /v1/files/{file_id}', '200') AS deletes;
SELECT count(*) AS left_over FROM vs_files();

-- a NULL id raises 22004 everywhere
SELECT * FROM vstest.try('SELECT vs_file_get(NULL)');
SELECT * FROM vstest.try('SELECT vs_file_delete(NULL)');
SELECT * FROM vstest.try('SELECT vs_file_content(NULL)');

-- missing_ok
SELECT id AS f1 FROM vs_file_upload('once.txt', 'once') \gset
SELECT vs_file_delete(:'f1', missing_ok => true) AS deleted, vs_file_delete(:'f1', missing_ok => true) AS again;

-- expires_after: the File expires that many seconds after creation; checked before sending
SELECT filename, expires_at - created_at AS expires_in, raw->>'expires_at' IS NOT NULL AS in_raw
FROM vs_file_upload('temp.txt', 'temporary', expires_after => '{"anchor": "created_at", "seconds": 86400}');
SELECT filename, expires_at - created_at AS expires_in
FROM vs_file_upload('temp.bin', '\x01'::bytea, expires_after => '{"anchor": "created_at", "seconds": 2592000}');
SELECT expires_at IS NULL AS no_expiry FROM vs_file_upload('keep.txt', 'kept', expires_after => 'null');
SELECT vstest.emu_count('POST /v1/files') AS uploads_before \gset
SELECT * FROM vstest.try($$SELECT vs_file_upload('x', 'x', expires_after => '{"anchor": "created_at", "seconds": 3599}')$$);
SELECT * FROM vstest.try($$SELECT vs_file_upload('x', 'x', expires_after => '{"anchor": "created_at", "seconds": 2592001}')$$);
SELECT * FROM vstest.try($$SELECT vs_file_upload('x', 'x', expires_after => '{"anchor": "created_at", "seconds": 3600.5}')$$);
SELECT * FROM vstest.try($$SELECT vs_file_upload('x', 'x', expires_after => '{"anchor": "last_active_at", "seconds": 3600}')$$);
SELECT * FROM vstest.try($$SELECT vs_file_upload('x', 'x', expires_after => '{"seconds": 3600}')$$);
SELECT * FROM vstest.try($$SELECT vs_file_upload('x', 'x', expires_after => '{"anchor": "created_at", "seconds": 3600, "days": 1}')$$);
SELECT * FROM vstest.try($$SELECT vs_file_upload('x', 'x', expires_after => '3600')$$);
SELECT vstest.emu_count('POST /v1/files') - :uploads_before AS uploads_sent;

-- max_items: one request of that size; GET /files has no "before" to page back with
SELECT vstest.emu_count('GET /v1/files') AS lists_before \gset
SELECT count(*) AS two FROM vs_files(max_items => 2);
SELECT vstest.emu_count('GET /v1/files') - :lists_before AS list_requests;
SELECT count(*) AS all_of_them FROM vs_files("limit" => 1, max_items => 100);

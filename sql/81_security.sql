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
-- Requests go only where they should, and data comes back verbatim.
--
-- 1. ids and cursors from user input are escaped as one path segment / one
--    query value: '../', '?', '#', '%2F', '/', spaces, newlines in an id
--    reach the templated route of the call they were given to (404 or 400
--    there), never another route; '.' and '..' are refused before sending.
-- 2. names, metadata, file names, file contents and attributes full of
--    quotes, backslashes, $$, SQL and JSON metacharacters, newlines and
--    non-ASCII come back byte for byte.
SET search_path = vectorstore, public;
\set SHOW_CONTEXT never
SELECT vstest.emu_reset();
SELECT vstest.emu_config('{"processing_delay_ms": 0}');
SELECT id AS s FROM vs_store_create(name => 'esc') \gset
SELECT id AS f FROM vs_file_upload('e.txt', 'escape test') \gset
SELECT status FROM vs_store_file_add(:'s', :'f');
SELECT status FROM vs_store_file_poll(:'s', :'f', poll_interval_ms => 10);
SELECT id AS b FROM vs_batch_create(:'s', file_ids => ARRAY[:'f']) \gset
SELECT set_config('vstest.s', :'s', false) IS NOT NULL AS set, set_config('vstest.b', :'b', false) IS NOT NULL AS set;

CREATE TEMP TABLE evil_id (id text);
INSERT INTO evil_id VALUES ('..'), ('.'), (''), ('../files'), ('../../v1/files'), ('x/../../files'),
    ('a/b'), ('a%2Fb'), ('a%2f..%2f..%2ffiles'), ('?limit=1'), ('x?purpose=batch'), ('#frag'),
    ('x#/files'), ('x y'), (E'x\ny'), (E'x\r\nHost: evil'), ('%00'), ('vs_é'), (:'s' || '/files'),
    (:'s' || '/../' || :'s'), (:'s' || '?x=1'), (:'s' || '#'), ('..%2F');

-- every call that puts a user id in the path or a cursor in the query
CREATE TEMP TABLE id_call (n int, fn text, stmt text);
INSERT INTO id_call VALUES
 (1, 'vs_store_get',          'SELECT vs_store_get(%1$L)'),
 (2, 'vs_store_update',       'SELECT vs_store_update(%1$L, name => ''x'')'),
 (3, 'vs_store_delete',       'SELECT vs_store_delete(%1$L)'),
 (4, 'vs_file_get',           'SELECT vs_file_get(%1$L)'),
 (5, 'vs_file_delete',        'SELECT vs_file_delete(%1$L)'),
 (6, 'vs_file_content',       'SELECT vs_file_content(%1$L)'),
 (7, 'vs_store_file_get',     'SELECT vs_store_file_get(%2$L, %1$L)'),
 (8, 'vs_store_file_remove',  'SELECT vs_store_file_remove(%2$L, %1$L)'),
 (9, 'vs_store_file_content', 'SELECT count(*) FROM vs_store_file_content(%2$L, %1$L)'),
 (10, 'vs_store_files',       'SELECT count(*) FROM vs_store_files(%1$L)'),
 (11, 'vs_batch_get',         'SELECT vs_batch_get(%2$L, %1$L)'),
 (12, 'vs_batch_cancel',      'SELECT vs_batch_cancel(%2$L, %1$L)'),
 (13, 'vs_batch_files',       'SELECT count(*) FROM vs_batch_files(%2$L, %1$L)'),
 (14, 'vs_search',            'SELECT count(*) FROM vs_search(%1$L, ''q'')'),
 (15, 'vs_stores after',      'SELECT count(*) FROM vs_stores(after => %1$L)'),
 (16, 'vs_files after',       'SELECT count(*) FROM vs_files(after => %1$L)'),
 (17, 'vs_store_files after', 'SELECT count(*) FROM vs_store_files(%2$L, after => %1$L)'),
 (18, 'vs_batch_files after', 'SELECT count(*) FROM vs_batch_files(%2$L, %3$L, after => %1$L)');

-- the route each call must reach (and nothing else)
CREATE TEMP TABLE id_route (n int, route text);
INSERT INTO id_route VALUES
 (1, 'GET /v1/vector_stores/{id}'), (2, 'POST /v1/vector_stores/{id}'), (3, 'DELETE /v1/vector_stores/{id}'),
 (4, 'GET /v1/files/{file_id}'), (5, 'DELETE /v1/files/{file_id}'), (6, 'GET /v1/files/{file_id}/content'),
 (7, 'GET /v1/vector_stores/{id}/files/{file_id}'), (8, 'DELETE /v1/vector_stores/{id}/files/{file_id}'),
 (9, 'GET /v1/vector_stores/{id}/files/{file_id}/content'), (10, 'GET /v1/vector_stores/{id}/files'),
 (11, 'GET /v1/vector_stores/{id}/file_batches/{batch_id}'),
 (12, 'POST /v1/vector_stores/{id}/file_batches/{batch_id}/cancel'),
 (13, 'GET /v1/vector_stores/{id}/file_batches/{batch_id}/files'), (14, 'POST /v1/vector_stores/{id}/search'),
 (15, 'GET /v1/vector_stores'), (16, 'GET /v1/files'), (17, 'GET /v1/vector_stores/{id}/files'),
 (18, 'GET /v1/vector_stores/{id}/file_batches/{batch_id}/files');

CREATE TEMP TABLE id_result (n int, id text, code text, routes jsonb);
DO $$
DECLARE c record; e record; r record; before jsonb; after jsonb; d jsonb;
    s text := current_setting('vstest.s'); b text := current_setting('vstest.b');
BEGIN
    FOR c IN SELECT * FROM id_call ORDER BY n LOOP
        FOR e IN SELECT * FROM evil_id LOOP
            before := vstest.emu_stats()->'requests';
            r := vstest.try(format(c.stmt, e.id, s, b));
            after := vstest.emu_stats()->'requests';
            -- the routes (and statuses) whose counters moved
            SELECT coalesce(jsonb_object_agg(k || ' ' || st, n2 - coalesce((before->k->>st)::int, 0)), '{}')
              INTO d
              FROM jsonb_each(after) AS a(k, v), LATERAL jsonb_each_text(v) AS x(st, n2t),
                   LATERAL (SELECT n2t::int AS n2) y
             WHERE n2 <> coalesce((before->k->>st)::int, 0);
            INSERT INTO id_result VALUES (c.n, e.id, r.code, d);
        END LOOP;
    END LOOP;
END $$;

-- per call: the only route reached is the call's own, never with a 2xx
SELECT c.fn,
       count(*) AS ids,
       count(*) FILTER (WHERE x.routes = '{}') AS not_sent,
       (SELECT string_agg(DISTINCT k, ', ') FROM id_result y, jsonb_object_keys(y.routes) k
         WHERE y.n = c.n AND regexp_replace(k, ' [^ ]+$', '') <> (SELECT route FROM id_route WHERE n = c.n)) AS other_routes,
       (SELECT string_agg(DISTINCT substring(k FROM ' ([^ ]+)$'), ',') FROM id_result y, jsonb_object_keys(y.routes) k
         WHERE y.n = c.n) AS statuses,
       string_agg(DISTINCT x.code, ',') AS codes
FROM id_call c JOIN id_result x USING (n)
GROUP BY c.n, c.fn ORDER BY c.n;
-- '.', '..' and '' never leave the server when used as a path segment
SELECT x.id, string_agg(DISTINCT x.code, ',') AS codes, bool_and(x.routes = '{}') AS nothing_sent
FROM id_result x WHERE x.id IN ('.', '..', '') AND x.n <= 14
GROUP BY x.id ORDER BY x.id;
-- no request ever reached an unknown route
SELECT count(*) AS unknown_route_requests
FROM jsonb_each(vstest.emu_stats()->'requests') r(k, v) WHERE k LIKE '%unknown route%';

-- 2. verbatim round trips
CREATE TEMP TABLE evil (n int, v text);
INSERT INTO evil VALUES
 (1, $v$it's "quoted" \ back\\slash $$ dollar $q$ $v$),
 (2, $v$'); DROP TABLE vectorstore.job; -- {"json": [1, {"a": null}]} \u0000 \n$v$),
 (3, E'new\nline\r\ncrlf\ttab'),
 (4, 'ünïcödé 日本語 😀 ' || chr(8232) || ' end'),
 (5, $v$%2F../?x=1#frag & = + %00 <b>html</b>$v$);

-- store name and metadata (key and value)
CREATE TEMP TABLE evil_store AS
SELECT e.n, e.v, st.*
FROM evil e, LATERAL vs_store_create(name => e.v,
    metadata => jsonb_build_object(left(e.v, 60), e.v)) st;
SELECT n, name = v AS name_verbatim, metadata = jsonb_build_object(left(v, 60), v) AS metadata_verbatim,
       (SELECT g.name = e.v AND g.metadata = e.metadata FROM vs_store_get(e.id) g) AS get_verbatim
FROM evil_store e ORDER BY n;
-- update with the same values
SELECT n, (vs_store_update(id, name => v || v, metadata => jsonb_build_object('k', v))).name = v || v AS updated_verbatim
FROM evil_store ORDER BY n;

-- file name and content (text and bytea), and the file as listed
CREATE TEMP TABLE evil_file AS
SELECT e.n, e.v, fi.id, fi.filename
FROM evil e, LATERAL vs_file_upload(e.v, e.v) fi;
-- A file name travels in a multipart header: like browsers and the SDK's
-- FormData (WHATWG), the extension sends '"', '\', CR and LF in it as %22,
-- %5C, %0D and %0A; a server that does not decode them (the emulator, as
-- python-multipart) keeps that form. Every other character is verbatim.
SELECT n, filename = v AS filename_verbatim,
       replace(replace(replace(replace(filename, '%22', '"'), '%5C', '\'), '%0D', E'\r'), '%0A', E'\n') = v
         AS filename_after_unescaping,
       convert_from(vs_file_content(id), 'UTF8') = v AS content_verbatim,
       (vs_file_get(id)).filename = filename AS get_same_name
FROM evil_file ORDER BY n;
SELECT encode(vs_file_content((vs_file_upload('bin', '\x00ff27225c0a24240d'::bytea)).id), 'hex') AS bytes_verbatim;

-- attributes (keys and values) through the store file and search
SELECT count(*) AS attached FROM evil_file f,
    LATERAL vs_store_file_add(:'s', f.id, attributes => jsonb_build_object(left(f.v, 60), f.v, 'n', f.n));
SELECT count(*) AS completed FROM evil_file f, LATERAL vs_store_file_poll(:'s', f.id, poll_interval_ms => 10) p
WHERE p.status = 'completed';
SELECT f.n, g.attributes = jsonb_build_object(left(f.v, 60), f.v, 'n', f.n) AS attributes_verbatim
FROM evil_file f, LATERAL vs_store_file_get(:'s', f.id) g ORDER BY f.n;
-- search by a word of each value's file, filter on the evil value itself
SELECT f.n, count(r.*) AS hits, bool_and(r.attributes = jsonb_build_object(left(f.v, 60), f.v, 'n', f.n)) AS search_attributes_verbatim,
       bool_and(r.filename = f.filename) AS search_same_filename
FROM evil_file f LEFT JOIN LATERAL vs_search(:'s', f.v,
    filters => jsonb_build_object('type', 'eq', 'key', left(f.v, 60), 'value', f.v)) r ON true
GROUP BY f.n ORDER BY f.n;
SELECT vstest.emu_reset();

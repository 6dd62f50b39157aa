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
-- Every synchronous function against every fault kind the emulator injects.
--
-- Each cell is two runs of one call:
--   once    the fault hits the first request only, vectorstore.max_retries = 2
--           (two, so one attempt slowed by a loaded machine does not matter):
--           retryable faults must be retried and end 'ok'; the others fail;
--   always  the fault hits every request and there are no retries: the call
--           must fail with a clear SQLSTATE (never XX000, never a crash).
-- After each run the session must still work (a plain vs_store_get).
-- vectorstore.timeout is 250 ms, so "stall" (5 s) is past it; slow_body in
-- the always run trickles 1 byte per 100 ms, also past it. Retry-After
-- values are 0, so the table costs only the backoff after resets and stalls.
SET search_path = vectorstore, public;
\set SHOW_CONTEXT never
SELECT vstest.emu_reset();
SELECT vstest.emu_config('{"processing_delay_ms": 0}');

-- fixtures: a store S with a completed file F, a batch B
SELECT id AS s FROM vs_store_create(name => 'faults', metadata => '{"k": "v"}') \gset
SELECT id AS f FROM vs_file_upload('f.txt', 'fault tolerant refund policy') \gset
SELECT status FROM vs_store_file_add(:'s', :'f', attributes => '{"a": 1}');
SELECT status FROM vs_store_file_poll(:'s', :'f', poll_interval_ms => 10);
SELECT id AS b FROM vs_batch_create(:'s', file_ids => ARRAY[:'f']) \gset
SELECT status FROM vs_batch_poll(:'s', :'b', poll_interval_ms => 10);
SELECT set_config('vstest.s', :'s', false) IS NOT NULL AS set,
       set_config('vstest.f', :'f', false) IS NOT NULL AS set,
       set_config('vstest.b', :'b', false) IS NOT NULL AS set;

-- the calls: {S} {F} {B} are the fixtures, {X} the result of setup (a fresh
-- object for the calls that destroy theirs)
CREATE TEMP TABLE call (n int, fn text, stmt text, setup text);
INSERT INTO call VALUES
 (1,  'vs_store_create',      $q$SELECT vs_store_create(name => 'c')$q$, NULL),
 (2,  'vs_store_get',         $q$SELECT vs_store_get('{S}')$q$, NULL),
 (3,  'vs_store_update',      $q$SELECT vs_store_update('{S}', name => 'faults')$q$, NULL),
 (4,  'vs_store_delete',      $q$SELECT vs_store_delete('{X}')$q$, $q$SELECT id FROM vs_store_create(name => 'd')$q$),
 (5,  'vs_stores',            $q$SELECT count(*) FROM vs_stores("limit" => 100)$q$, NULL),
 (6,  'vs_file_upload',       $q$SELECT vs_file_upload('u.txt', 'upload')$q$, NULL),
 (7,  'vs_file_get',          $q$SELECT vs_file_get('{F}')$q$, NULL),
 (8,  'vs_file_delete',       $q$SELECT vs_file_delete('{X}')$q$, $q$SELECT id FROM vs_file_upload('d.txt', 'delete me')$q$),
 (9,  'vs_file_content',      $q$SELECT vs_file_content('{F}')$q$, NULL),
 (10, 'vs_files',             $q$SELECT count(*) FROM vs_files()$q$, NULL),
 (11, 'vs_store_file_add',    $q$SELECT vs_store_file_add('{S}', '{F}')$q$, NULL),
 (12, 'vs_store_file_get',    $q$SELECT vs_store_file_get('{S}', '{F}')$q$, NULL),
 (13, 'vs_store_file_update', $q$SELECT vs_store_file_update('{S}', '{F}', '{"a": 1}')$q$, NULL),
 (14, 'vs_store_file_remove', $q$SELECT vs_store_file_remove('{S}', '{X}')$q$,
      $q$SELECT (vs_store_file_add('{S}', id)).id FROM vs_file_upload('r.txt', 'remove me')$q$),
 (15, 'vs_store_files',       $q$SELECT count(*) FROM vs_store_files('{S}')$q$, NULL),
 (16, 'vs_store_file_content', $q$SELECT count(*) FROM vs_store_file_content('{S}', '{F}')$q$, NULL),
 (17, 'vs_store_file_poll',   $q$SELECT vs_store_file_poll('{S}', '{F}', poll_interval_ms => 10)$q$, NULL),
 (18, 'vs_batch_create',      $q$SELECT vs_batch_create('{S}', file_ids => ARRAY['{F}'])$q$, NULL),
 (19, 'vs_batch_get',         $q$SELECT vs_batch_get('{S}', '{B}')$q$, NULL),
 (20, 'vs_batch_cancel',      $q$SELECT vs_batch_cancel('{S}', '{B}')$q$, NULL),
 (21, 'vs_batch_files',       $q$SELECT count(*) FROM vs_batch_files('{S}', '{B}')$q$, NULL),
 (22, 'vs_batch_poll',        $q$SELECT vs_batch_poll('{S}', '{B}', poll_interval_ms => 10)$q$, NULL),
 (23, 'vs_search',            $q$SELECT count(*) FROM vs_search('{S}', 'refund policy')$q$, NULL),
 (24, 'vs_search_json',       $q$SELECT vs_search_json('{S}', 'refund policy')$q$, NULL),
 (25, 'vs_upload',            $q$SELECT vs_upload('{S}', 'up.txt', 'uploaded', wait => true)$q$, NULL),
 -- per-row outcome: a row that did not complete raises P0001 with its status
 (26, 'vs_upload_many',       $q$SELECT pg_temp.vstest_row(status, error) FROM vs_upload_many('{S}', ARRAY['m.txt'], ARRAY['many'])$q$, NULL);

CREATE FUNCTION pg_temp.vstest_row(status text, error text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF status <> 'completed' THEN
        RAISE EXCEPTION 'row %', status USING DETAIL = error;
    END IF;
END $$;

-- the faults (short names are the table's columns)
CREATE TEMP TABLE fault (n int, kind text, spec jsonb, spec_always jsonb);
INSERT INTO fault VALUES
 (1, '429s',  '{"kind": 429, "retry_after": "0"}', NULL),
 (2, '429ms', '{"kind": 429, "retry_after_ms": "0"}', NULL),
 (3, '500',   '{"kind": 500, "retry_after_ms": "0"}', NULL),
 (4, '502',   '{"kind": 502, "retry_after_ms": "0"}', NULL),
 (5, '503',   '{"kind": 503, "retry_after_ms": "0"}', NULL),
 (6, 'reset', '{"kind": "reset"}', NULL),
 (7, 'stall', '{"kind": "stall", "stall_ms": 5000}', NULL),
 (8, 'slow',  '{"kind": "slow_body", "chunk_bytes": 64, "interval_ms": 1}',
              '{"kind": "slow_body", "chunk_bytes": 1, "interval_ms": 100}'),
 (9, 'badjs', '{"kind": "malformed_json"}', NULL),
 (10, 'noretry', '{"kind": "should_retry_false"}', NULL);

CREATE TEMP TABLE cell (fn int, fault int, once text, always text, once_msg text, always_msg text, usable boolean);

SET vectorstore.timeout = '250ms';
DO $$
DECLARE
    c record; k record; stmt text; x text; r record; o record; ok boolean := true;
    s text := current_setting('vstest.s'); f text := current_setting('vstest.f');
    b text := current_setting('vstest.b');
BEGIN
    FOR c IN SELECT * FROM call ORDER BY n LOOP
        FOR k IN SELECT * FROM fault ORDER BY n LOOP
            -- once: first request faulted, retries allowed
            stmt := replace(replace(replace(c.stmt, '{S}', s), '{F}', f), '{B}', b);
            IF c.setup IS NOT NULL THEN
                EXECUTE replace(c.setup, '{S}', s) INTO x;
                stmt := replace(stmt, '{X}', x);
            END IF;
            PERFORM set_config('vectorstore.max_retries', '2', false);
            PERFORM vstest.emu_fault(k.spec || '{"count": 1}');
            o := vstest.try(stmt);
            PERFORM vstest.emu_clear_faults();
            -- always: every request faulted, no retries
            stmt := replace(replace(replace(c.stmt, '{S}', s), '{F}', f), '{B}', b);
            IF c.setup IS NOT NULL THEN
                EXECUTE replace(c.setup, '{S}', s) INTO x;
                stmt := replace(stmt, '{X}', x);
            END IF;
            PERFORM set_config('vectorstore.max_retries', '0', false);
            PERFORM vstest.emu_fault(coalesce(k.spec_always, k.spec) || '{"count": 50}');
            r := vstest.try(stmt);
            PERFORM vstest.emu_clear_faults();
            -- the session still works
            ok := (vstest.try(format('SELECT vs_store_get(%L)', s))).code = '00000';
            INSERT INTO cell VALUES (c.n, k.n,
                CASE o.code WHEN '00000' THEN 'ok' WHEN 'P0001' THEN o.message ELSE o.code END,
                CASE r.code WHEN '00000' THEN 'ok' WHEN 'P0001' THEN r.message ELSE r.code END,
                CASE o.code WHEN 'P0001' THEN o.detail ELSE o.message END,
                CASE r.code WHEN 'P0001' THEN r.detail ELSE r.message END, ok);
        END LOOP;
    END LOOP;
END $$;
RESET vectorstore.timeout;
RESET vectorstore.max_retries;

-- the table: once/always per fault kind
SELECT c.fn, string_agg(rpad(k.kind, 7) || ' ' || x.once || '/' || x.always, ' | ' ORDER BY k.n) AS "kind once/always"
FROM cell x JOIN call c ON c.n = x.fn JOIN fault k ON k.n = x.fault
GROUP BY c.n, c.fn ORDER BY c.n;

-- the properties, in one line each
SELECT bool_and(usable) AS session_usable_after_every_cell FROM cell;
-- (vs_upload_many paces its uploads: a 429 costs it no attempt — pacing.c —
-- so it waits out the always-run's 50 429s and succeeds)
SELECT count(*) FILTER (WHERE once = 'XX000' OR always = 'XX000') AS internal_errors,
       count(*) FILTER (WHERE always = 'ok' AND k.kind <> 'badjs'
                        AND NOT (c.fn = 'vs_upload_many' AND k.kind LIKE '429%')) AS unexpected_successes
FROM cell x JOIN fault k ON k.n = x.fault JOIN call c ON c.n = x.fn;
-- retryable faults were retried: every once-cell of 429/5xx/reset/stall/slow is ok
SELECT k.kind, count(*) FILTER (WHERE once <> 'ok') AS not_recovered
FROM cell x JOIN fault k ON k.n = x.fault
WHERE k.kind IN ('429s', '429ms', '500', '502', '503', 'reset', 'stall', 'slow')
GROUP BY k.n, k.kind ORDER BY k.n;
-- what each failure says (numbers and ids masked)
SELECT DISTINCT k.kind, x.always AS code,
       regexp_replace(regexp_replace(x.always_msg, '"[^"]*"', '"..."', 'g'), '[0-9]+', 'N', 'g') AS message
FROM cell x JOIN fault k ON k.n = x.fault
WHERE x.always <> 'ok'
ORDER BY 1, 2, 3;
SELECT vstest.emu_reset();

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
-- JSON on the wire: what a jsonb argument says is what the request says.
-- Numbers keep every digit a double holds (cJSON's own printer rounded
-- 9007199254740992 to 9007199254740990 and 0.30000000000000004 to 0.3);
-- strings keep quotes, backslashes, control characters and non-ASCII text.
SET search_path = vectorstore, public;
SELECT vstest.emu_reset();
SELECT id AS vs FROM vs_store_create(name => 'json') \gset
SELECT id AS f FROM vs_file_upload('j.txt', 'json fidelity') \gset
SELECT count(*) FROM vstest.emu('DELETE', '/_emulator/requests');
SELECT status FROM vs_store_file_add(:'vs', :'f',
    attributes => '{"big": 9007199254740992, "tenth": 0.30000000000000004, "neg": -1.5e-300,
                    "s": "q\"uote \\ back\nline \u0001 é ☃"}');
-- the request body exactly as the local server received it
SELECT regexp_replace(r->>'body_text', 'file-[A-Za-z0-9]+', 'file-...') AS sent
FROM jsonb_array_elements(vstest.emu('GET', '/_emulator/requests')->'requests') r
WHERE r->>'method' = 'POST';
-- and read back as the same jsonb
SELECT (r->>'body_text')::jsonb->'attributes' = '{"big": 9007199254740992, "tenth": 0.30000000000000004, "neg": -1.5e-300,
                    "s": "q\"uote \\ back\nline \u0001 é ☃"}'::jsonb AS same_value
FROM jsonb_array_elements(vstest.emu('GET', '/_emulator/requests')->'requests') r
WHERE r->>'method' = 'POST';

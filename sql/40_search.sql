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
-- Search from SQL: one row per result in score order, every filter
-- operator and a nested and/or, score_threshold, max_num_results at 1 and
-- 50, an array query, the jsonb form; joined back to the source table
-- through an attribute, LATERAL per row of a questions table; validation
-- of filters and ranking options before sending; a bad store id.
SET search_path = vectorstore, public;
\set SHOW_CONTEXT never
SELECT vstest.emu_reset();
SELECT vstest.emu_config('{"processing_delay_ms": 20}');

CREATE TEMP TABLE docs (id int PRIMARY KEY, title text, body text, lang text, year int, public boolean);
INSERT INTO docs VALUES
 (1, 'Refunds',        'Refund policy: refunds are paid within 14 days of the return.',        'en', 2019, true),
 (2, 'Shipping',       'Shipping policy: parcels ship within two days, tracking included.',     'en', 2020, true),
 (3, 'Warranty',       'Warranty policy: two years of warranty on every device.',               'en', 2021, false),
 (4, 'Datenschutz',    'Privacy policy in German: Datenschutz und Daten, policy for privacy.',  'de', 2022, true),
 (5, 'Rückgabe',       'Return policy in German: Rückgabe within 30 days, refund by transfer.', 'de', 2023, false),
 (6, 'Livraison',      'Shipping policy in French: livraison in three days.',                   'fr', 2024, true),
 (7, 'Garantie',       'Warranty policy in French: garantie of one year.',                      'fr', 2025, false),
 (8, 'Gift cards',     'Gift card policy: gift cards never expire and cannot be refunded.',     'en', 2024, true);

SELECT id AS vs FROM vs_store_create(name => 'search') \gset
SELECT count(*) FILTER (WHERE u.status = 'completed') AS completed
FROM (SELECT array_agg(title ORDER BY id) t, array_agg(body ORDER BY id) b,
             array_agg(jsonb_build_object('doc_id', id, 'lang', lang, 'year', year, 'public', public) ORDER BY id) a
      FROM docs) d,
     LATERAL vs_upload_many(:'vs', d.t, d.b, d.a) u;

-- rows: file, filename, score, content, attributes, rank; in score order
SELECT rank, filename, content, attributes->>'doc_id' AS doc_id, score > 0 AS scored
FROM vs_search(:'vs', 'refund policy', max_num_results => 3);
SELECT bool_and(score <= prev) AS score_order, bool_and(rank = prev_rank + 1) AS ranks_consecutive
FROM (SELECT score, rank, lag(score) OVER (ORDER BY rank) AS prev, lag(rank) OVER (ORDER BY rank) AS prev_rank
      FROM vs_search(:'vs', 'policy', max_num_results => 50)) s
WHERE prev IS NOT NULL;
SELECT count(*) AS all_docs FROM vs_search(:'vs', 'policy', max_num_results => 50);

-- joined back to the source table through an attribute
SELECT r.rank, d.title, d.year
FROM vs_search(:'vs', 'warranty', max_num_results => 5) r
JOIN docs d ON d.id = (r.attributes->>'doc_id')::int
ORDER BY r.rank;

-- one search per row of a questions table (LATERAL), best hit each
CREATE TEMP TABLE questions (qid int, question text);
INSERT INTO questions VALUES (1, 'is tracking included when shipping'), (2, 'can I get a refund'),
                             (3, 'do gift cards expire');
SELECT q.qid, q.question, d.title AS best_match
FROM questions q
CROSS JOIN LATERAL vs_search(:'vs', q.question, max_num_results => 1) r
JOIN docs d ON d.id = (r.attributes->>'doc_id')::int
ORDER BY q.qid;
-- filtered and ordered in SQL, aggregated per question
SELECT q.qid, count(r.*) AS hits, string_agg(d.title, ', ' ORDER BY d.title) AS english_titles
FROM questions q
CROSS JOIN LATERAL vs_search(:'vs', q.question, max_num_results => 10) r
JOIN docs d ON d.id = (r.attributes->>'doc_id')::int
WHERE d.lang = 'en'
GROUP BY q.qid ORDER BY q.qid;

-- every filter operator: the doc_ids matched
CREATE TEMP TABLE filters (n int, f jsonb);
INSERT INTO filters VALUES
 (1,  '{"type": "eq",  "key": "lang", "value": "de"}'),
 (2,  '{"type": "ne",  "key": "lang", "value": "en"}'),
 (3,  '{"type": "gt",  "key": "year", "value": 2022}'),
 (4,  '{"type": "gte", "key": "year", "value": 2022}'),
 (5,  '{"type": "lt",  "key": "year", "value": 2021}'),
 (6,  '{"type": "lte", "key": "year", "value": 2021}'),
 (7,  '{"type": "in",  "key": "lang", "value": ["de", "fr"]}'),
 (8,  '{"type": "nin", "key": "year", "value": [2019, 2024]}'),
 (9,  '{"type": "eq",  "key": "public", "value": true}'),
 (10, '{"type": "and", "filters": [{"type": "eq", "key": "lang", "value": "en"},
                                    {"type": "or", "filters": [{"type": "lt", "key": "year", "value": 2020},
                                                               {"type": "eq", "key": "public", "value": false}]}]}'),
 (11, '{"type": "or",  "filters": [{"type": "in", "key": "doc_id", "value": [1, 2]},
                                    {"type": "and", "filters": [{"type": "eq", "key": "lang", "value": "fr"},
                                                                {"type": "gte", "key": "year", "value": 2025}]}]}'),
 (12, '{"type": "eq",  "key": "missing", "value": "x"}');
SELECT n, f->>'type' AS type,
       (SELECT array_agg((r.attributes->>'doc_id')::int ORDER BY (r.attributes->>'doc_id')::int)
        FROM vs_search(:'vs', 'policy', max_num_results => 50, filters => f) r) AS doc_ids
FROM filters ORDER BY n;

-- score_threshold drops weak results; max_num_results 1 and 50
SELECT count(*) AS above_threshold, bool_and(score >= 0.5) AS all_above
FROM vs_search(:'vs', 'refund policy', max_num_results => 50, ranking_options => '{"ranker": "auto", "score_threshold": 0.5}');
SELECT count(*) < (SELECT count(*) FROM vs_search(:'vs', 'refund policy', max_num_results => 50)) AS fewer
FROM vs_search(:'vs', 'refund policy', max_num_results => 50, ranking_options => '{"score_threshold": 0.5}');
SELECT count(*) AS none_at_1 FROM vs_search(:'vs', 'refund policy', ranking_options => '{"ranker": "none", "score_threshold": 1}');

SELECT id AS big FROM vs_store_create(name => 'big') \gset
SELECT count(*) AS uploaded
FROM vs_upload_many(:'big', (SELECT array_agg('n' || i || '.txt') FROM generate_series(1, 60) i),
                    (SELECT array_agg('note ' || i || ' about the same topic') FROM generate_series(1, 60) i)) u
WHERE u.status = 'completed';
SELECT count(*) AS max_1 FROM vs_search(:'big', 'topic', max_num_results => 1);
SELECT count(*) AS max_50 FROM vs_search(:'big', 'topic', max_num_results => 50);
SELECT count(*) AS default_10 FROM vs_search(:'big', 'topic');

-- an array query: several queries searched together
SELECT array_agg(DISTINCT d.title ORDER BY d.title) AS titles
FROM vs_search(:'vs', ARRAY['gift cards', 'garantie'], max_num_results => 2) r
JOIN docs d ON d.id = (r.attributes->>'doc_id')::int;

-- the whole page as jsonb (aggregate-friendly)
SELECT j->>'object' AS object, j->'search_query' AS search_query,
       jsonb_array_length(j->'data') AS results, j->'has_more' AS has_more
FROM vs_search_json(:'vs', 'refund', max_num_results => 2) j;
SELECT jsonb_array_length(vs_search_json(:'vs', ARRAY['refund', 'shipping'])->'search_query') AS queries;
SELECT q.qid, jsonb_array_length(vs_search_json(:'vs', q.question, max_num_results => 1)->'data') AS results
FROM questions q ORDER BY q.qid;
SELECT jsonb_typeof(vs_search_json(:'vs', 'Refund POLICY please', rewrite_query => true)->'search_query') AS rewritten;

-- validation before anything is sent
SELECT vstest.emu_count('POST /v1/vector_stores/{id}/search') AS searches_before \gset
SELECT vs_search(:'vs', 'x', max_num_results => 0);
SELECT vs_search(:'vs', 'x', max_num_results => 51);
SELECT vs_search(:'vs', '');
SELECT vs_search(:'vs', ARRAY[]::text[]);
SELECT vs_search(:'vs', ARRAY['a', NULL]);
SELECT vs_search(:'vs', 'x', ranking_options => '{"ranker": "best"}');
SELECT vs_search(:'vs', 'x', ranking_options => '{"score_threshold": 1.5}');
SELECT vs_search(:'vs', 'x', ranking_options => '{"score_threshold": "high"}');
SELECT vs_search(:'vs', 'x', ranking_options => '{"hybrid_search": {}}');
SELECT vs_search(:'vs', 'x', ranking_options => '[]');
SELECT vs_search(:'vs', 'x', filters => '[]');
SELECT vs_search(:'vs', 'x', filters => '{"type": "like", "key": "a", "value": "b"}');
SELECT vs_search(:'vs', 'x', filters => '{"key": "a", "value": "b"}');
SELECT vs_search(:'vs', 'x', filters => '{"type": "eq", "value": "b"}');
SELECT vs_search(:'vs', 'x', filters => '{"type": "eq", "key": 1, "value": "b"}');
SELECT vs_search(:'vs', 'x', filters => '{"type": "eq", "key": "a"}');
SELECT vs_search(:'vs', 'x', filters => '{"type": "eq", "key": "a", "value": ["b"]}');
SELECT vs_search(:'vs', 'x', filters => '{"type": "eq", "key": "a", "value": null}');
SELECT vs_search(:'vs', 'x', filters => '{"type": "gt", "key": "a", "value": {"n": 1}}');
SELECT vs_search(:'vs', 'x', filters => '{"type": "eq", "key": "a", "value": "b", "filters": []}');
SELECT vs_search(:'vs', 'x', filters => '{"type": "in", "key": "a", "value": "b"}');
SELECT vs_search(:'vs', 'x', filters => '{"type": "nin", "key": "a", "value": [1, true]}');
SELECT vs_search(:'vs', 'x', filters => '{"type": "and", "filters": []}');
SELECT vs_search(:'vs', 'x', filters => '{"type": "or"}');
SELECT vs_search(:'vs', 'x', filters => '{"type": "and", "filters": [{"type": "eq", "key": "a", "value": 1}], "key": "a"}');
SELECT vs_search(:'vs', 'x', filters => '{"type": "and", "filters": [{"type": "eq", "key": "a", "value": 1}, {"type": "in", "key": "b", "value": "c"}]}');
SELECT vs_search(:'vs', 'x', filters => '{"type": "or", "filters": [{"type": "eq", "key": "a", "value": 1}, {"type": "and", "filters": [{"type": "lt", "key": "y", "value": 2}, {"type": "nin", "key": "z", "value": [[1]]}]}]}');
SELECT vs_search(:'vs', 'x', filters => '{"type": "and", "filters": [1]}');
SELECT vs_search_json(:'vs', 'x', filters => '{"type": "in", "key": "a", "value": 1}');
SELECT vstest.emu_count('POST /v1/vector_stores/{id}/search') - :searches_before AS searches_sent;
-- empty "in" lists and 'null'::jsonb filters are accepted
SELECT count(*) AS empty_in FROM vs_search(:'vs', 'policy', filters => '{"type": "in", "key": "lang", "value": []}');
SELECT count(*) AS null_filters FROM vs_search(:'vs', 'policy', filters => 'null');

-- a bad store id: 404 -> 42704
SELECT code, context FROM vstest.try($$SELECT * FROM vs_search('vs_nope', 'x')$$);
SELECT code FROM vstest.try($$SELECT vs_search_json('vs_nope', 'x')$$);

-- raw: the whole result as sent; content_parts: the text parts in order
SELECT rank, raw->>'file_id' = file_id AS raw_file_id, raw->'score' IS NOT NULL AS raw_score,
       jsonb_array_length(raw->'content') = cardinality(content_parts) AS parts_match,
       array_to_string(content_parts, E'\n') = content AS joined_is_content,
       content_parts[1] = raw->'content'->0->>'text' AS first_part
FROM vs_search(:'vs', 'refund policy', max_num_results => 3);
SELECT content_parts FROM vs_search(:'vs', 'gift cards', max_num_results => 1);
-- the array overload and request_options too
SELECT count(*) FROM vs_search(:'vs', ARRAY['gift cards'], max_num_results => 1, request_options => '{"extra_headers": {"X-Trace-Id": "s"}}');
SELECT jsonb_array_length(vs_search_json(:'vs', 'refund', max_num_results => 2, request_options => '{"max_retries": 0}')->'data') AS results;
-- a NULL store or query raises 22004
SELECT code, message FROM vstest.try('SELECT * FROM vs_search(NULL, ''x'')');
SELECT code, message FROM vstest.try(format('SELECT * FROM vs_search(%L, NULL::text)', :'vs'));
SELECT code, message FROM vstest.try('SELECT vs_search_json(NULL, ''x'')');

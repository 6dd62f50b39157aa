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
-- A vector store as a table (vectorstore_fdw). The same rows are kept in an
-- ordinary table (items) and uploaded as files whose attributes are those
-- rows (NULLs left out, as a sync does, and a few of another JSON type);
-- for every shape of condition the foreign table must give the rows SQL
-- gives over the ordinary table, and the local server's request log must
-- show exactly one search per query, carrying the filter and the limit.
SET search_path = vectorstore, public;
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SELECT vstest.emu_reset();
SELECT vstest.emu_config('{"processing_delay_ms": 20}');

-- the request log: searches since a sequence number, oldest first
CREATE FUNCTION vstest.emu_seq() RETURNS bigint LANGUAGE sql
    AS $$ SELECT (vstest.emu('GET', '/_emulator/requests?since=9223372036854775806')->>'last_seq')::bigint $$;
CREATE FUNCTION vstest.emu_searches(since bigint) RETURNS SETOF jsonb LANGUAGE sql AS $$
    SELECT r FROM jsonb_array_elements(vstest.emu('GET', '/_emulator/requests?since=' || since)->'requests') r
    WHERE r->>'route' = 'POST /v1/vector_stores/{id}/search' ORDER BY (r->>'seq')::bigint
$$;
-- EXPLAIN with the store's id masked
CREATE FUNCTION vstest.explain(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE line text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
        RETURN NEXT regexp_replace(line, 'vs_[A-Za-z0-9]+', 'vs_...', 'g');
    END LOOP;
END $$;
CREATE FUNCTION vstest.explain_verbose(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE line text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF, VERBOSE) ' || q LOOP
        RETURN NEXT regexp_replace(line, 'vs_[A-Za-z0-9]+', 'vs_...', 'g');
    END LOOP;
END $$;

-- The ordinary table: one row per file. Bodies differ in length so that
-- scores differ (BM25), and every body matches the query "policy".
CREATE TABLE items (
    id        int PRIMARY KEY,
    team      text,
    tag       text COLLATE "C",
    label     text COLLATE "und-x-icu",
    year      int,
    price     numeric,
    rating    float8,
    big       bigint,
    public    boolean,
    published timestamptz
);
INSERT INTO items VALUES
 (1,  'billing',   'alpha',  'apple',  2019, 9.99,  4.5,  1, true,    '2024-01-01 00:00:00+00'),
 (2,  'billing',   'Beta',   'Banana', 2020, 19.5,  3,    1152921504606846976, false,    '2024-06-01 12:00:00.5+00'),
 (3,  'support',   'beta',   'banana', 2021, 0.1,   5,    -5, true,    '2023-12-31 23:59:59.999999+00'),
 (4,  'support',   'Gamma',  'cherry', 2022, 100,   2.25, 0, false,    '1999-01-01 00:00:00+00'),
 (5,  'logistics', 'gamma',  'Cherry', 2023, 0.3,   1,    42, true,    '2030-05-05 05:05:05+00'),
 (6,  'logistics', 'éclair', 'Éclair', 2024, 1e-7,  0,    7,                NULL, NULL),
 (7,  NULL,        'zeta',   'zebra',  NULL, NULL,  -1.5, NULL, false,    '2024-01-01 00:00:00+00'),
 (8,  '',          '',       '',       2024, 0,     3,    3, true,    '2024-03-03 03:03:03+00'),
 (9,  'billing ',  'Zeta',   'Zebra',  2025, 5,     4.5,  -1152921504606846976, false,   '2023-01-01 00:00:00+00'),
 (10, NULL,        NULL,     NULL,     NULL, NULL,  NULL, NULL,             NULL, NULL),
 (11, NULL,        NULL,     NULL,     NULL, NULL,  NULL, NULL,             NULL, NULL),
 (12, NULL,        NULL,     NULL,     NULL, NULL,  NULL, NULL,             NULL, NULL);

-- Attributes as uploaded: each row's non-null values (timestamps as epoch
-- seconds); file 11 has values of other JSON types than its columns (read as
-- NULL, as the API's filters treat them), file 12 has no attributes at all.
CREATE TEMP TABLE uploads AS
SELECT i.id, 'item-' || i.id || '.txt' AS filename,
       'policy ' || repeat('word ', i.id * 3) || 'end' AS body,
       CASE i.id
         WHEN 11 THEN '{"id": 11, "team": 7, "year": "2024", "public": "yes", "price": true,
                        "published": "2024-01-01T00:00:00+00:00", "tag": false, "rating": "3"}'::jsonb
         WHEN 12 THEN NULL
         ELSE jsonb_strip_nulls(jsonb_build_object('id', i.id, 'team', i.team, 'tag', i.tag,
                'label', i.label, 'year', i.year, 'price', i.price, 'rating', i.rating,
                'big', i.big, 'public', i.public,
                'published', extract(epoch FROM i.published)))
       END AS attributes
FROM items i;

SELECT id AS vs FROM vs_store_create(name => 'fdw items') \gset
SELECT count(*) FILTER (WHERE u.status = 'completed') AS completed
FROM (SELECT array_agg(filename ORDER BY id) f, array_agg(body ORDER BY id) b,
             array_agg(attributes ORDER BY id) a FROM uploads) d,
     LATERAL vs_upload_many(:'vs', d.f, d.b, d.a) u;

CREATE FOREIGN TABLE items_search (
    query     text,
    file_id   text,
    filename  text,
    score     float8,
    content   text,
    rank      int,
    attributes jsonb,
    raw       jsonb,
    max_num_results int,
    rewrite_query boolean,
    ranker    text,
    id        int,
    team      text,
    tag       text COLLATE "C",
    label     text COLLATE "und-x-icu",
    year      int,
    price     numeric,
    rating    float8,
    big       bigint,
    public    boolean,
    published timestamptz
) SERVER vectorstore OPTIONS (vector_store_id :'vs', max_num_results '50');

-- the same data: every row of the search equals the ordinary table's row
-- (file 12 has no id attribute: its filename says which row it is)
CREATE TEMP TABLE seen AS
SELECT substring(filename FROM 'item-(\d+)')::int AS item, team, tag, label, year, price, rating,
       big, public, published
FROM items_search WHERE query = 'policy';
SELECT count(*) AS files FROM seen;
SELECT 'only in the search' AS side, * FROM (SELECT * FROM seen EXCEPT SELECT * FROM items) x
UNION ALL
SELECT 'only in the table', * FROM (SELECT * FROM items EXCEPT SELECT * FROM seen) y;
-- the fixed columns
SELECT s.query, s.filename, s.content = u.body AS content_is_body, s.rank,
       s.attributes IS NOT DISTINCT FROM u.attributes AS attributes_as_uploaded,
       s.raw->>'file_id' = s.file_id AS raw_is_result, s.max_num_results, s.score > 0 AS scored
FROM items_search s JOIN uploads u ON u.filename = s.filename
WHERE s.query = 'policy' ORDER BY s.rank;

-- Every shape of condition: the rows (item numbers) of the search against
-- the ordinary table's, how many searches were sent, and what they carried.
CREATE TEMP TABLE shapes (n serial, cond text);
INSERT INTO shapes (cond) VALUES
 -- text: equality is exact under any deterministic collation; order only under "C"
 ($$team = 'billing'$$),
 ($$team <> 'billing'$$),
 ($$team = ''$$),
 ($$team IN ('billing', 'support')$$),
 ($$team NOT IN ('billing', 'support')$$),
 ($$team NOT IN ('billing', NULL)$$),
 ($$team IN ('billing', NULL)$$),
 ($$team = ANY ('{}'::text[])$$),
 ($$team <> ALL ('{}'::text[])$$),
 ($$tag < 'beta'$$),
 ($$tag >= 'Beta'$$),
 ($$tag > 'zeta'$$),
 ($$tag <= 'éclair'$$),
 ($$label < 'b'$$),
 ($$label = 'banana'$$),
 ($$team COLLATE "C" > 'b'$$),
 ($$team > 'b'$$),
 -- numbers: the API compares doubles (2^60 + 1 is no double: it rounds to 2^60)
 ($$year = 2020$$),
 ($$year <> 2020$$),
 ($$year > 2021$$),
 ($$year <= 2021$$),
 ($$year IN (2019, 2024)$$),
 ($$year NOT IN (2019, 2024)$$),
 ($$year NOT IN (2019, NULL)$$),
 ($$2022 < year$$),
 ($$year = 2020::bigint$$),
 ($$year > 2020.5$$),
 ($$price = 0.1$$),
 ($$price > 0.3$$),
 ($$price = 0.10000000000000000001$$),
 ($$price < 0.10000000000000000001$$),
 ($$price >= 0.10000000000000000001$$),
 ($$price <= 0.09999999999999999999$$),
 ($$price > 'NaN'$$),
 ($$price < 'Infinity'$$),
 ($$rating >= 3$$),
 ($$rating > 3::real$$),
 ($$rating = 'NaN'$$),
 ($$rating < 'Infinity'$$),
 ($$rating > '-Infinity'$$),
 ($$big = 1152921504606846977$$),
 ($$big < 1152921504606846977$$),
 ($$big >= 1152921504606846977$$),
 ($$big > 1152921504606846975$$),
 ($$big <> 1152921504606846977$$),
 ($$big IN (1152921504606846977, 42)$$),
 ($$big NOT IN (1152921504606846977, 42)$$),
 -- booleans: no order in the API
 ($$public$$),
 ($$NOT public$$),
 ($$public = false$$),
 ($$public <> true$$),
 ($$public IN (true)$$),
 ($$public NOT IN (true)$$),
 ($$public IS TRUE$$),
 ($$public IS NOT TRUE$$),
 ($$public IS NOT FALSE$$),
 ($$public IS UNKNOWN$$),
 ($$public IS NOT UNKNOWN$$),
 ($$public > false$$),
 -- timestamps: epoch seconds
 ($$published >= '2024-01-01 00:00:00+00'$$),
 ($$published < '2024-06-01 12:00:00.5+00'$$),
 ($$published = '2024-06-01 12:00:00.5+00'$$),
 ($$published = '2023-12-31 23:59:59.999999+00'$$),
 ($$published > 'infinity'$$),
 ($$published > '-infinity'$$),
 ($$published < '2000-01-01'::date$$),
 -- NULL: IS NULL cannot be sent; IS NOT NULL can
 ($$team IS NULL$$),
 ($$team IS NOT NULL$$),
 ($$NOT (team IS NULL)$$),
 ($$team = NULL$$),
 ($$team <> NULL$$),
 -- missing attributes and values of another type (file 11: team 7, year "2024")
 ($$team = '7'$$),
 ($$year = 2024$$),
 ($$year <> 2024$$),
 ($$price <> 0$$),
 -- NOT, nested AND / OR
 ($$NOT (team = 'billing')$$),
 ($$NOT (year < 2021)$$),
 ($$NOT (team = 'billing' AND year > 2019)$$),
 ($$NOT (team = 'billing' OR public)$$),
 ($$(team = 'billing' AND year >= 2020) OR (team = 'support' AND NOT public)$$),
 ($$team = 'billing' AND (year < 2020 OR (public AND rating >= 4))$$),
 ($$NOT (year IN (2019, 2020) OR NOT (rating > 2))$$),
 ($$team = 'billing' OR year IS NULL$$),
 -- not sendable: checked locally, with the right rows
 ($$upper(team) = 'BILLING'$$),
 ($$team = lower('BILLING')$$),
 ($$team || '' = 'billing'$$),
 ($$team = 'billing' OR label ILIKE 'a%'$$),
 ($$team LIKE 'bill%'$$),
 ($$rating * 2 > 5$$);

-- Each shape searches "policy s<n>": the word s<n> is in no file, so the
-- results are those of "policy", and the request log tells the shapes'
-- searches apart (one read of the log for all of them).
CREATE FUNCTION vstest.shape(n int, cond text, OUT same boolean, OUT items int[], OUT local_check boolean)
LANGUAGE plpgsql AS $$
DECLARE
    want int[];
    line text;
BEGIN
    EXECUTE format($q$SELECT array_agg(substring(filename FROM 'item-(\d+)')::int ORDER BY 1)
                      FROM items_search WHERE query = 'policy s%s' AND (%s)$q$, n, cond) INTO items;
    EXECUTE format('SELECT array_agg(id ORDER BY id) FROM items WHERE (%s)', cond) INTO want;
    same := items IS NOT DISTINCT FROM want;
    local_check := false;
    FOR line IN EXECUTE format($q$EXPLAIN (COSTS OFF) SELECT * FROM items_search
                                 WHERE query = 'policy' AND (%s)$q$, cond) LOOP
        local_check := local_check OR line ~ '^\s+Filter:';
    END LOOP;
END $$;

SELECT vstest.emu_seq() AS before \gset
CREATE TEMP TABLE shape_results AS
SELECT s.n, s.cond, r.* FROM shapes s, LATERAL vstest.shape(s.n, s.cond) r;
CREATE TEMP TABLE shape_requests AS SELECT r->'body' AS body FROM vstest.emu_searches(:before) r;
\pset format unaligned
\pset fieldsep ' | '
SELECT s.n, s.cond, s.same, s.items, count(q.body) AS searches, s.local_check,
       max(q.body->>'max_num_results') AS max_num_results, max(q.body->>'filters')::jsonb AS filters
FROM shape_results s LEFT JOIN shape_requests q ON q.body->>'query' = 'policy s' || s.n
GROUP BY s.n, s.cond, s.same, s.items, s.local_check ORDER BY s.n;
\pset format aligned
\pset fieldsep '|'
-- every shape gives SQL's rows
SELECT count(*) AS shapes, count(*) FILTER (WHERE NOT same) AS wrong FROM shape_results;

-- LIMIT: sent as max_num_results when nothing is checked locally, and the
-- rows are SQL's top rows over all the results (a materialized CTE is not
-- offered the LIMIT)
CREATE FUNCTION vstest.limited(n int, cond text, tail text,
    OUT same boolean, OUT items int[], OUT limit_node boolean)
LANGUAGE plpgsql AS $$
DECLARE
    want int[];
    line text;
BEGIN
    EXECUTE format($q$WITH r AS MATERIALIZED (SELECT * FROM items_search WHERE query = 'policy' AND (%s))
                      SELECT array_agg(i) FROM (SELECT substring(filename FROM 'item-(\d+)')::int AS i
                                                FROM r %s) x$q$, cond, tail) INTO want;
    EXECUTE format($q$SELECT array_agg(i) FROM (SELECT substring(filename FROM 'item-(\d+)')::int AS i
                      FROM items_search WHERE query = 'policy l%s' AND (%s) %s) x$q$, n, cond, tail) INTO items;
    same := items IS NOT DISTINCT FROM want;
    limit_node := false;
    FOR line IN EXECUTE format($q$EXPLAIN (COSTS OFF) SELECT * FROM items_search
                                 WHERE query = 'policy' AND (%s) %s$q$, cond, tail) LOOP
        limit_node := limit_node OR line ~ 'Limit';
    END LOOP;
END $$;
SELECT vstest.emu_seq() AS before \gset
CREATE TEMP TABLE limited_results AS
SELECT t.n, t.cond, t.tail, r.*
FROM (VALUES (1, $$true$$, 'ORDER BY score DESC LIMIT 3'),
             (2, $$true$$, 'ORDER BY rank LIMIT 2 OFFSET 1'),
             (3, $$true$$, 'LIMIT 4'),
             (4, $$team <> 'billing'$$, 'ORDER BY score DESC LIMIT 3'),
             (5, $$public IS NOT UNKNOWN$$, 'ORDER BY score DESC, rank LIMIT 2'),
             (6, $$team IS NULL$$, 'ORDER BY score DESC LIMIT 2'),
             (7, $$true$$, 'ORDER BY filename LIMIT 2'),
             (8, $$true$$, 'ORDER BY score DESC LIMIT 0'),
             (9, $$true$$, 'ORDER BY score DESC LIMIT 100'),
             (10, $$true$$, 'ORDER BY score DESC OFFSET 10')) t(n, cond, tail),
     LATERAL vstest.limited(t.n, t.cond, t.tail) r;
SELECT l.cond, l.tail, l.same, l.items, count(r) AS searches,
       max((r->'body'->>'max_num_results')::int) AS max_num_results, l.limit_node
FROM limited_results l
LEFT JOIN vstest.emu_searches(:before) r ON r->'body'->>'query' = 'policy l' || l.n
GROUP BY l.n, l.cond, l.tail, l.same, l.items, l.limit_node ORDER BY l.n;
SELECT count(*) AS cases, count(*) FILTER (WHERE NOT same) AS wrong FROM limited_results;

-- what the plan says is sent, and what is checked locally
SELECT vstest.explain($$SELECT filename FROM items_search
    WHERE query = 'policy' AND team = 'billing' AND year >= 2020 AND public$$);
SELECT vstest.explain($$SELECT filename FROM items_search
    WHERE query = 'policy' AND team <> 'billing' AND upper(label) = 'APPLE'$$);
SELECT vstest.explain($$SELECT filename FROM items_search
    WHERE query = 'policy' AND team = 'billing' ORDER BY score DESC LIMIT 3$$);
SELECT vstest.explain($$SELECT filename FROM items_search
    WHERE query = 'policy' AND team IS NULL ORDER BY score DESC LIMIT 3$$);
SELECT vstest.explain($$SELECT filename FROM items_search WHERE query = 'policy' AND team = NULL$$);
SELECT vstest.explain_verbose($$SELECT filename, score FROM items_search s
    WHERE query = 'policy' AND score >= 0.2 AND max_num_results = 5$$);
SELECT count(*) AS key_shown FROM vstest.explain_verbose($$SELECT * FROM items_search WHERE query = 'x'$$) l
WHERE l LIKE '%sk-installcheck%';

-- the issue's example: a top-3 subquery joined to the source table, one search
SELECT vstest.emu_seq() AS before \gset
SELECT d.id, d.team, d.year
FROM (SELECT * FROM items_search
      WHERE query = 'policy' AND team = 'billing' AND year >= 2020
      ORDER BY score DESC LIMIT 3) s
JOIN items d ON d.id = s.id ORDER BY s.score DESC;
SELECT count(*) AS searches, max(r->'body'->>'max_num_results') AS max_num_results,
       max(r->'body'->>'filters') AS filters
FROM vstest.emu_searches(:before) r;

-- inside a join: max_num_results = n asks for n; the search is the outer
-- side of a nested loop over the table (one search)
CREATE TABLE big_items AS SELECT g AS id, 'row ' || g AS title FROM generate_series(1, 20000) g;
ALTER TABLE big_items ADD PRIMARY KEY (id);
ANALYZE big_items;
SELECT vstest.explain($$SELECT b.title, s.score FROM items_search s JOIN big_items b ON b.id = s.id
    WHERE s.query = 'policy' AND s.max_num_results = 4 AND s.team <> 'x'$$);
SELECT vstest.emu_seq() AS before \gset
SELECT b.title, s.rank FROM items_search s JOIN big_items b ON b.id = s.id
WHERE s.query = 'policy' AND s.max_num_results = 4 AND s.team <> 'x' ORDER BY s.rank;
SELECT count(*) AS searches, max(r->'body'->>'max_num_results') AS max_num_results
FROM vstest.emu_searches(:before) r;

-- a parameter in a prepared statement, with custom and generic plans
PREPARE by_team(text, int) AS
    SELECT substring(filename FROM 'item-(\d+)')::int AS item FROM items_search
    WHERE query = 'policy' AND team = $1 AND year >= $2 ORDER BY score DESC LIMIT 5;
SELECT vstest.emu_seq() AS before \gset
EXECUTE by_team('billing', 2020);
SET plan_cache_mode = force_generic_plan;
SELECT vstest.explain('EXECUTE by_team(''billing'', 2020)');
EXECUTE by_team('support', 2021);
EXECUTE by_team(NULL, 2021);
RESET plan_cache_mode;
SELECT r->'body'->'filters' AS filters, r->'body'->'max_num_results' AS max_num_results
FROM vstest.emu_searches(:before) r;
SELECT array_agg(id ORDER BY id) AS want FROM items WHERE team = 'support' AND year >= 2021;

-- LATERAL: one search per outer row, each with that row's query and filter
CREATE TEMP TABLE questions (qid int, question text, team text);
INSERT INTO questions VALUES (1, 'policy word', 'billing'), (2, 'policy end', 'support'),
                             (3, 'policy', NULL);
SELECT vstest.emu_seq() AS before \gset
SELECT q.qid, s.rank, substring(s.filename FROM 'item-(\d+)')::int AS item
FROM questions q
CROSS JOIN LATERAL (SELECT * FROM items_search s
                    WHERE s.query = q.question AND s.team = q.team
                    ORDER BY s.score DESC LIMIT 2) s
ORDER BY q.qid, s.rank;
SELECT r->'body'->>'query' AS query, r->'body'->'filters' AS filters,
       r->'body'->'max_num_results' AS max_num_results
FROM vstest.emu_searches(:before) r;
-- the same by SQL over every result of each question
WITH r AS MATERIALIZED (SELECT * FROM items_search WHERE query = ANY (ARRAY['policy word', 'policy end']))
SELECT q.qid, x.rank, x.item
FROM questions q
CROSS JOIN LATERAL (SELECT row_number() OVER (ORDER BY r.score DESC) AS rank,
                           substring(r.filename FROM 'item-(\d+)')::int AS item
                    FROM r WHERE r.query = q.question AND r.team = q.team
                    ORDER BY r.score DESC LIMIT 2) x
ORDER BY q.qid, x.rank;
-- a join on the query column: a nested loop with the search inside, per row
SELECT vstest.explain($$SELECT q.qid, s.filename FROM questions q JOIN items_search s ON s.query = q.question
    WHERE s.max_num_results = 1$$);
SELECT vstest.emu_seq() AS before \gset
SELECT q.qid, substring(s.filename FROM 'item-(\d+)')::int AS item
FROM questions q JOIN items_search s ON s.query = q.question
WHERE s.max_num_results = 1 ORDER BY q.qid;
SELECT count(*) AS searches FROM vstest.emu_searches(:before);
-- an outer row asking what the one before asked is answered without a request
SELECT vstest.emu_seq() AS before \gset
SELECT q.n, substring(s.filename FROM 'item-(\d+)')::int AS item
FROM (VALUES (1, 'policy word'), (2, 'policy word'), (3, 'policy end')) q(n, x)
JOIN items_search s ON s.query = q.x
WHERE s.max_num_results = 1 ORDER BY q.n;
SELECT r->'body'->>'query' AS query FROM vstest.emu_searches(:before) r;

-- query = ANY(array): each searched on its own, concurrently; the query
-- column tells rows apart; duplicates and NULLs are searched once / never
SELECT vstest.emu_seq() AS before \gset
SELECT query, count(*) AS rows, min(rank) AS first, max(rank) AS last
FROM items_search WHERE query = ANY (ARRAY['policy word', 'policy end', 'policy word', NULL])
  AND max_num_results = 3
GROUP BY query ORDER BY query;
SELECT r->'body'->>'query' AS query, r->'body'->'max_num_results' AS max_num_results
FROM vstest.emu_searches(:before) r ORDER BY 1;
SELECT vstest.emu_seq() AS before \gset
SELECT query, rank, substring(filename FROM 'item-(\d+)')::int AS item
FROM items_search WHERE query IN ('policy word', 'policy end') ORDER BY score DESC LIMIT 3;
SELECT count(*) AS searches, max(r->'body'->>'max_num_results') AS max_num_results
FROM vstest.emu_searches(:before) r;

-- score >= x is score_threshold (x: between the third and fourth score);
-- rewrite_query and ranker are inputs too
SELECT (s3.score + s4.score) / 2 AS x
FROM items_search s3, items_search s4
WHERE s3.query = 'policy' AND s3.rank = 3 AND s4.query = 'policy' AND s4.rank = 4 \gset
SELECT vstest.emu_seq() AS before \gset
SELECT array_agg(rank ORDER BY rank) AS ranks FROM items_search WHERE query = 'policy' AND score >= :x;
SELECT rewrite_query, ranker, count(*) AS rows
FROM items_search WHERE query = 'the policy please' AND rewrite_query AND ranker = 'none'
GROUP BY 1, 2;
SELECT (r->'body'->'ranking_options'->>'score_threshold')::float8 = :x AS threshold_sent,
       r->'body'->'ranking_options'->'ranker' AS ranker, r->'body'->'rewrite_query' AS rewrite_query
FROM vstest.emu_searches(:before) r;
-- table options: defaults for every search of the table
CREATE FOREIGN TABLE items_ranked (query text, filename text, score float8, ranker text, rewrite_query boolean)
    SERVER vectorstore OPTIONS (vector_store_id :'vs', ranker 'default-2024-11-15',
                                score_threshold '0.05', rewrite_query 'true', max_num_results '2');
SELECT vstest.emu_seq() AS before \gset
SELECT ranker, rewrite_query, count(*) AS rows FROM items_ranked WHERE query = 'policy' GROUP BY 1, 2;
SELECT r->'body'->'ranking_options' AS ranking_options, r->'body'->'rewrite_query' AS rewrite_query,
       r->'body'->'max_num_results' AS max_num_results
FROM vstest.emu_searches(:before) r;

-- conditions that hold for no row send nothing
SELECT vstest.emu_seq() AS before \gset
SELECT count(*) FROM items_search WHERE query = NULL;
SELECT count(*) FROM items_search WHERE query = ANY ('{}'::text[]);
SELECT count(*) FROM items_search WHERE query = 'policy' AND score >= 1.5;
SELECT count(*) FROM items_search WHERE query = 'policy' AND max_num_results = NULL;
SELECT count(*) FROM (SELECT * FROM items_search WHERE query = 'policy' LIMIT 0) x;
SELECT count(*) AS searches FROM vstest.emu_searches(:before);

-- errors, before anything is sent
SELECT * FROM vstest.try($$SELECT * FROM items_search$$);
SELECT * FROM vstest.try($$SELECT * FROM items_search WHERE team = 'billing'$$);
SELECT * FROM vstest.try($$SELECT * FROM items_search WHERE query = 'a' OR query = 'b'$$);
SELECT * FROM vstest.try($$SELECT * FROM items_search WHERE query = ''$$);
SELECT * FROM vstest.try($$SELECT * FROM items_search WHERE query = 'x' AND max_num_results = 51$$);
SELECT * FROM vstest.try($$SELECT * FROM items_search WHERE query = 'x' AND ranker = 'best'$$);
SELECT * FROM vstest.try($$SELECT * FROM items_search WHERE query = 'x' LIMIT -1$$);
SELECT count(*) AS searches FROM vstest.emu_searches(:before);

-- many queries at once are bounded by the statement's request cap
SET vectorstore.max_requests_per_statement = 2;
SELECT * FROM vstest.try($$SELECT count(*) FROM items_search WHERE query = ANY (ARRAY['a', 'b', 'c'])$$);
RESET vectorstore.max_requests_per_statement;

-- definitions: options and column types are checked
CREATE FOREIGN TABLE bad1 (query text) SERVER vectorstore OPTIONS (vector_store_id 'vs_1', api_key 'sk-1');
CREATE FOREIGN TABLE bad2 (query text) SERVER vectorstore OPTIONS (vector_store 'vs_1');
CREATE FOREIGN TABLE bad3 (query text) SERVER vectorstore OPTIONS (vector_store_id 'vs_1', max_num_results '51');
CREATE FOREIGN TABLE bad4 (query text) SERVER vectorstore OPTIONS (vector_store_id 'vs_1', ranker 'best');
CREATE FOREIGN TABLE bad5 (query text) SERVER vectorstore OPTIONS (vector_store_id 'vs_1', score_threshold '2');
CREATE FOREIGN TABLE bad6 (query text, x text OPTIONS (attr 'y')) SERVER vectorstore OPTIONS (vector_store_id 'vs_1');
CREATE FOREIGN TABLE bad7 (query text, score text) SERVER vectorstore OPTIONS (vector_store_id 'vs_1');
SELECT * FROM vstest.try($$SELECT * FROM bad7 WHERE query = 'x'$$);
CREATE FOREIGN TABLE bad8 (query text, tags text[]) SERVER vectorstore OPTIONS (vector_store_id 'vs_1');
SELECT * FROM vstest.try($$SELECT * FROM bad8 WHERE query = 'x'$$);
CREATE FOREIGN TABLE bad9 (query text) SERVER vectorstore;
SELECT * FROM vstest.try($$SELECT * FROM bad9 WHERE query = 'x'$$);
ALTER SERVER vectorstore OPTIONS (base_url 'http://evil.example');
CREATE USER MAPPING FOR CURRENT_USER SERVER vectorstore OPTIONS (api_key 'sk-secret');
-- a column renamed to the attribute it reads; an attribute named like a fixed column
CREATE FOREIGN TABLE items_renamed (query text, filename text, dept text OPTIONS (attribute 'team'),
                                    rank_attr int OPTIONS (attribute 'id'))
    SERVER vectorstore OPTIONS (vector_store_id :'vs', max_num_results '50');
SELECT array_agg(rank_attr ORDER BY rank_attr) AS items FROM items_renamed
WHERE query = 'policy' AND dept = 'support';
DROP FOREIGN TABLE bad7, bad8, bad9, items_renamed;

-- a reading an attribute's type cannot hold: a clear error
CREATE FOREIGN TABLE items_small (query text, filename text, price int)
    SERVER vectorstore OPTIONS (vector_store_id :'vs', max_num_results '50');
SELECT code, regexp_replace(message, 'file-[A-Za-z0-9]+', 'file-...') AS message, hint
FROM vstest.try($$SELECT * FROM items_small WHERE query = 'policy'$$);
DROP FOREIGN TABLE items_small;

-- Who may search: the credential is checked when the scan starts, as the
-- functions check it (PostgreSQL checks USAGE on a server only when a table
-- is created on it). A view searches with its owner's credential.
CREATE ROLE fdw_alice;
CREATE ROLE fdw_bob;
GRANT USAGE ON SCHEMA vectorstore, vstest TO fdw_alice, fdw_bob;
CREATE SCHEMA fdw_alice AUTHORIZATION fdw_alice;
GRANT SELECT ON items_search TO fdw_alice, fdw_bob;
REVOKE USAGE ON FOREIGN SERVER vectorstore FROM PUBLIC;
SET ROLE fdw_bob;
SELECT * FROM vstest.try($$SELECT count(*) FROM items_search WHERE query = 'policy'$$);
RESET ROLE;
-- a user mapping names a credential: alice must have been granted it
-- (with the session's auth and query: Azure's api-key and api-version under test/run.sh regress_azure)
SELECT vs_credential_set('fdw-team', 'sk-fdw-team', auth => current_setting('vectorstore.auth'),
                         query => nullif(current_setting('vectorstore.query'), '')::jsonb);
CREATE USER MAPPING FOR fdw_alice SERVER vectorstore OPTIONS (credential 'fdw-team');
SET ROLE fdw_alice;
SELECT * FROM vstest.try($$SELECT count(*) FROM items_search WHERE query = 'policy'$$);
RESET ROLE;
SELECT vs_credential_grant('fdw-team', 'fdw_alice');
SELECT vstest.emu_seq() AS before \gset
SET ROLE fdw_alice;
SELECT count(*) AS rows FROM items_search WHERE query = 'policy' AND team = 'billing';
SELECT l FROM vstest.explain_verbose($$SELECT filename FROM items_search WHERE query = 'x'$$) l
WHERE l ~ 'Credential|sk-';
-- through alice's view, bob searches with alice's credential
CREATE VIEW fdw_alice.alice_billing AS
    SELECT filename FROM vectorstore.items_search WHERE query = 'policy' AND team = 'billing';
GRANT USAGE ON SCHEMA fdw_alice TO fdw_bob;
GRANT SELECT ON fdw_alice.alice_billing TO fdw_bob;
RESET ROLE;
SET ROLE fdw_bob;
SELECT count(*) AS rows FROM fdw_alice.alice_billing;
RESET ROLE;
SELECT coalesce(substring(r->'headers'->>'authorization' FROM '^Bearer (.*)'), r->'headers'->>'api-key') AS key
FROM vstest.emu_searches(:before) r;
-- the grant revoked: refused again
SELECT vs_credential_revoke('fdw-team', 'fdw_alice');
SET ROLE fdw_bob;
SELECT * FROM vstest.try($$SELECT count(*) FROM fdw_alice.alice_billing$$);
RESET ROLE;
-- IMPORT FOREIGN SCHEMA uses the importing role's credential, checked alike
SET ROLE fdw_bob;
SELECT * FROM vstest.try($$IMPORT FOREIGN SCHEMA vector_stores FROM SERVER vectorstore INTO fdw_alice$$);
RESET ROLE;
DROP SCHEMA fdw_alice CASCADE;
DROP USER MAPPING FOR fdw_alice SERVER vectorstore;
GRANT USAGE ON FOREIGN SERVER vectorstore TO PUBLIC;
SET ROLE fdw_bob;
SELECT count(*) AS rows FROM items_search WHERE query = 'policy' AND team = 'billing';
RESET ROLE;
REVOKE ALL ON items_search FROM fdw_alice, fdw_bob;
REVOKE USAGE ON SCHEMA vectorstore, vstest FROM fdw_alice, fdw_bob;
DROP ROLE fdw_alice;
DROP ROLE fdw_bob;
SELECT vs_credential_drop('fdw-team');

-- IMPORT FOREIGN SCHEMA: a table per store, typed by the attributes seen
CREATE SCHEMA imported;
SELECT id AS other FROM vs_store_create(name => 'fdw empty') \gset
IMPORT FOREIGN SCHEMA vector_stores LIMIT TO ("fdw items", "fdw empty")
    FROM SERVER vectorstore INTO imported;
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) AS type,
       array_to_string(a.attfdwoptions, ',') AS options
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
WHERE c.relnamespace = 'imported'::regnamespace AND a.attnum > 0
ORDER BY c.relname, a.attnum;
SELECT c.relname, ft.ftoptions = ARRAY['vector_store_id=' || CASE c.relname WHEN 'fdw items' THEN :'vs' ELSE :'other' END]
       AS options_name_the_store
FROM pg_foreign_table ft JOIN pg_class c ON c.oid = ft.ftrelid
WHERE c.relnamespace = 'imported'::regnamespace ORDER BY 1;
SELECT array_agg(substring(filename FROM 'item-(\d+)')::int ORDER BY 1) AS items
FROM imported."fdw items" WHERE query = 'policy' AND team = 'billing' AND year >= 2020;
IMPORT FOREIGN SCHEMA :"other" FROM SERVER vectorstore INTO public;
SELECT count(*) AS rows FROM public."fdw empty" WHERE query = 'anything';
IMPORT FOREIGN SCHEMA vector_stores FROM SERVER vectorstore INTO imported OPTIONS (sample '5');
-- names from the server are quoted in the statements IMPORT runs
SELECT id AS odd FROM vs_store_create(name => 'x"; DROP TABLE items; --') \gset
SELECT count(*) FILTER (WHERE u.status = 'completed') AS completed
FROM vs_upload_many(:'odd', ARRAY['odd.txt'], ARRAY['odd policy'],
                    ARRAY['{"a''b\"c; DROP TABLE items": "v", "query": 1}'::jsonb]) u;
IMPORT FOREIGN SCHEMA :"odd" FROM SERVER vectorstore INTO imported;
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) AS type,
       array_to_string(a.attfdwoptions, ',') AS options
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
WHERE c.relnamespace = 'imported'::regnamespace AND c.relname LIKE 'x%' AND a.attnum > 8
ORDER BY a.attnum;
SELECT count(*) AS items_still_there FROM items;
SELECT "query_attribute", "a'b""c; DROP TABLE items" FROM imported."x""; DROP TABLE items; --"
WHERE query = 'odd policy';
DROP SCHEMA imported CASCADE;
DROP FOREIGN TABLE public."fdw empty";

-- the search table of a sync's store, with the source table's column types
SELECT vs_sync_create('fdw_items', 'items', :'vs', 'id', 'team',
                      attribute_columns => ARRAY['team', 'year', 'price', 'rating', 'public', 'published', 'tag']);
SELECT vs_sync_search_table_create('fdw_items');
SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, co.collname AS collation,
       array_to_string(a.attfdwoptions, ',') AS options
FROM pg_attribute a LEFT JOIN pg_collation co ON co.oid = a.attcollation AND co.collname <> 'default'
WHERE a.attrelid = 'fdw_items_search'::regclass AND a.attnum > 0 ORDER BY a.attnum;
SELECT vstest.explain($$SELECT filename FROM fdw_items_search WHERE query = 'policy' AND tag > 'b'$$);
SELECT array_agg(substring(filename FROM 'item-(\d+)')::int ORDER BY 1) AS items
FROM fdw_items_search WHERE query = 'policy' AND team = 'support' AND max_num_results = 50;
SELECT * FROM vstest.try($$SELECT vs_sync_search_table_create('no_such_sync')$$);
DROP FOREIGN TABLE fdw_items_search;
SELECT vs_sync_drop('fdw_items');

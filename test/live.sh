#!/usr/bin/env bash
# The opt-in live suite: a short tour of every SQL function against the real
# service, with a key of your own, cleaning up everything it created. Users
# check their account with it; the team checks the local server's semantics
# against the real thing. Without a key it sends nothing and says so.
#
#   OPENAI_API_KEY=sk-... bash test/live.sh
#   AZURE_OPENAI_ENDPOINT=https://RESOURCE.openai.azure.com AZURE_OPENAI_API_KEY=... \
#     [OPENAI_API_VERSION=2025-04-01-preview] bash test/live.sh
#   both sets of variables: both tours, one after the other
#
#   VS_LIVE_BASE_URL=http://127.0.0.1:PORT/v1 OPENAI_API_KEY=...   another OpenAI-style server
#   VS_LIVE_AZURE_BASE_URL=http://127.0.0.1:PORT/openai ...         another Azure-style server
#   (both are what test/t/096_live_script.pl uses to run this script against the emulator)
#   PG_CONFIG=/path/to/pg_config    the PostgreSQL whose vectorstore is installed (make install)
#   VS_LIVE_LOGS=DIR                keep the tour's psql output and the server logs there
#
# It starts a throwaway cluster (the key goes in its configuration, mode 0600,
# removed with it), runs the tour as a superuser of that cluster, and prints
# one line per step: "ok: <step>" or "FAILED: <step>: <why>", then a summary.
# Everything it creates is named "vectorstore-live-<run>-..." (the worker's
# files "vsjob-<job>_vectorstore-live-<run>-...") and recorded; cleanup
# deletes what was recorded and sweeps the account for names holding that
# prefix, then checks that nothing is left. Exit status: 0 when every step passed (or
# nothing was run), 1 otherwise.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PG_CONFIG=${PG_CONFIG:-pg_config}

openai=0; azure=0
[ -n "${OPENAI_API_KEY:-}" ] && openai=1
[ -n "${AZURE_OPENAI_API_KEY:-}" ] && [ -n "${AZURE_OPENAI_ENDPOINT:-${VS_LIVE_AZURE_BASE_URL:-}}" ] && azure=1
if [ "$openai" = 0 ] && [ "$azure" = 0 ]; then
  echo "live: skipped: no OPENAI_API_KEY, and no AZURE_OPENAI_API_KEY with AZURE_OPENAI_ENDPOINT; nothing was sent"
  exit 0
fi

# PostgreSQL refuses to run as root: go on as the postgres user (the
# variables are passed in the environment, never on a command line)
if [ "$(id -u)" = 0 ] && [ "${VS_LIVE_INNER:-}" != 1 ]; then
  WORK=$(mktemp -d /tmp/vectorstore-live.XXXXXX)
  cp "$ROOT/test/live.sh" "$ROOT/test/lib.sh" "$WORK/"
  mkdir -p "$WORK/test"; mv "$WORK/live.sh" "$WORK/lib.sh" "$WORK/test/"
  chown -R postgres: "$WORK"
  trap 'rm -rf "$WORK"' EXIT
  runuser -u postgres -- env VS_LIVE_INNER=1 PATH="$PATH" PG_CONFIG="$PG_CONFIG" HOME="$WORK" \
    OPENAI_API_KEY="${OPENAI_API_KEY:-}" AZURE_OPENAI_API_KEY="${AZURE_OPENAI_API_KEY:-}" \
    AZURE_OPENAI_ENDPOINT="${AZURE_OPENAI_ENDPOINT:-}" OPENAI_API_VERSION="${OPENAI_API_VERSION:-}" \
    VS_LIVE_LOGS="${VS_LIVE_LOGS:-}" \
    VS_LIVE_BASE_URL="${VS_LIVE_BASE_URL:-}" VS_LIVE_AZURE_BASE_URL="${VS_LIVE_AZURE_BASE_URL:-}" \
    bash "$WORK/test/live.sh"
  exit $?
fi

VS_ROOT=$ROOT
PGBIN=$("$PG_CONFIG" --bindir)
export PGBIN
. "$ROOT/test/lib.sh"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vectorstore-live-run.XXXXXX")
keep_logs() { [ -n "${VS_LIVE_LOGS:-}" ] && mkdir -p "$VS_LIVE_LOGS" && cp -r "$TMP"/. "$VS_LIVE_LOGS"/ 2>/dev/null && rm -f "$VS_LIVE_LOGS"/*/secrets.conf; return 0; }
trap 'vs_cleanup; keep_logs; rm -rf "$TMP"' EXIT
RUN=$(date -u +%Y%m%d%H%M%S)-$$
PREFIX="vectorstore-live-$RUN-"
failed_total=0

# a value for postgresql.conf: quotes doubled
conf_quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/''/g")"; }

# tour TARGET BASE_URL KEY [AUTH QUERY]
tour() {
  local target=$1 base=$2 key=$3 auth=${4:-} query=${5:-}
  local dir=$TMP/$target; mkdir -p "$dir"
  echo "== live: $target at $base (objects named $PREFIX...)"
  # the key goes in a file only this user can read, included by the configuration
  umask 077
  {
    echo "vectorstore.base_url = $(conf_quote "$base")"
    echo "vectorstore.api_key = $(conf_quote "$key")"
    [ -n "$auth" ] && echo "vectorstore.auth = $(conf_quote "$auth")"
    [ -n "$query" ] && echo "vectorstore.query = $(conf_quote "$query")"
  } >"$dir/secrets.conf"
  umask 022
  vs_start_cluster "$dir/pg" "shared_preload_libraries = 'vectorstore'" "include = '$dir/secrets.conf'" \
    "vectorstore.launcher_naptime = '1s'" "vectorstore.worker_naptime = '200ms'" \
    "vectorstore.worker_poll_interval = '1s'" "log_statement = 'none'" || return 1
  if [ -n "$auth" ] && [ "$(psql -X -At -c "SELECT count(*) FROM pg_settings WHERE name = 'vectorstore.auth'")" = 0 ]; then
    echo "live: $target skipped: this build's credentials cannot send the api-key header yet (no vectorstore.auth)"
    vs_cleanup; return 0
  fi
  psql -X -q -c 'CREATE EXTENSION vectorstore' || { vs_cleanup; failed_total=$((failed_total + 1)); return 1; }
  psql -X -q -v prefix="$PREFIX" -v target="$target" -f - >"$dir/tour.log" 2>&1 <<'SQL'
\set ON_ERROR_STOP 0
SET client_min_messages = notice;
-- the tour's own tables and functions go in public, never in the extension's schema
SET search_path = public, vectorstore;
-- what the tour created (for cleanup) and how each step went
CREATE TABLE live_created (kind text, id text, store text);
CREATE TABLE live_result (n serial, step text, ok boolean, detail text);
CREATE FUNCTION live_check(step text, ok boolean, detail text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO live_result (step, ok, detail) VALUES (step, coalesce(ok, false), detail);
    IF coalesce(ok, false) THEN RAISE NOTICE 'ok: %', step;
    ELSE RAISE NOTICE 'FAILED: %', step || coalesce(': ' || detail, ''); END IF;
END $$;
-- run stmt (one text value back); a failure is recorded, not raised
CREATE FUNCTION live_try(step text, stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE v text; m text; c text;
BEGIN
    EXECUTE stmt INTO v;
    RETURN v;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, c = RETURNED_SQLSTATE;
    PERFORM live_check(step, false, c || ' ' || m);
    RETURN NULL;
END $$;
CREATE FUNCTION live_record(kind text, id text, store text DEFAULT NULL) RETURNS text
LANGUAGE sql AS $$ INSERT INTO live_created VALUES (kind, id, store) RETURNING id $$;

-- vector stores
SELECT coalesce(live_try('vs_store_create', format($q$SELECT live_record('store', id) FROM vs_store_create(name => %L,
    metadata => '{"purpose": "vectorstore live suite"}', expires_after => '{"anchor": "last_active_at", "days": 1}',
    request_options => '{"extra_headers": {"X-Client-Request-Id": "vectorstore-live"}, "timeout": 60000, "max_retries": 3}')$q$,
    :'prefix' || 'store')), '') AS store \gset
SELECT live_check('vs_store_create', :'store' LIKE 'vs_%', :'store');
SELECT live_check('vs_store_get', live_try('vs_store_get', format('SELECT name FROM vs_store_get(%L)', :'store')) = :'prefix' || 'store');
SELECT live_check('vs_store_update', live_try('vs_store_update', format('SELECT name FROM vs_store_update(%L, name => %L, metadata => ''{"purpose": "live 2"}'')', :'store', :'prefix' || 'store-2')) = :'prefix' || 'store-2');
SELECT live_check('vs_stores (max_items)', live_try('vs_stores', 'SELECT count(*) FROM vs_stores(max_items => 3)')::int BETWEEN 1 AND 3);

-- files
SELECT coalesce(live_try('vs_file_upload', format($q$SELECT live_record('file', id) FROM vs_file_upload(%L,
    'Refunds are paid within 14 days of the return. Gift cards never expire.')$q$, :'prefix' || 'refunds.txt')), '') AS f1 \gset
SELECT live_check('vs_file_upload (text)', :'f1' LIKE 'file%', :'f1');
SELECT coalesce(live_try('vs_file_upload bytea', format($q$SELECT live_record('file', id) FROM vs_file_upload(%L,
    convert_to('Shipping takes three to five days; express shipping takes one.', 'UTF8'),
    expires_after => '{"anchor": "created_at", "seconds": 86400}')$q$, :'prefix' || 'shipping.txt')), '') AS f2 \gset
SELECT live_check('vs_file_upload (bytea, expires_after)', :'f2' LIKE 'file%', :'f2');
SELECT live_check('vs_file_get', live_try('vs_file_get', format('SELECT filename FROM vs_file_get(%L)', :'f1')) = :'prefix' || 'refunds.txt');
SELECT live_check('vs_files (max_items)', live_try('vs_files', 'SELECT count(*) FROM vs_files(purpose => ''assistants'', max_items => 2)')::int BETWEEN 1 AND 2);
-- the real service refuses to download files of purpose assistants: either is fine
SELECT coalesce(live_try('vs_file_content', format($q$SELECT CASE WHEN convert_from(vs_file_content(%L), 'UTF8') LIKE 'Refunds%%' THEN 'same bytes' END$q$, :'f1')), '') AS content \gset
SELECT live_check('vs_file_content (or refused for purpose assistants)', :'content' = 'same bytes' OR EXISTS (
    SELECT 1 FROM live_result WHERE step = 'vs_file_content' AND detail ~ '^(22023|42501) '));
DELETE FROM live_result WHERE step = 'vs_file_content';

-- vector store files
SELECT live_check('vs_store_file_add (wait)', live_try('vs_store_file_add', format($q$SELECT status FROM vs_store_file_add(%L, %L,
    attributes => '{"topic": "refunds", "year": 2025}', wait => true, timeout => '10 min', poll_interval_ms => 1000)$q$,
    :'store', :'f1')) = 'completed');
SELECT live_check('vs_store_file_get', live_try('vs_store_file_get', format('SELECT status FROM vs_store_file_get(%L, %L)', :'store', :'f1')) = 'completed');
SELECT live_check('vs_store_file_update', live_try('vs_store_file_update', format($q$SELECT attributes->>'topic' FROM vs_store_file_update(%L, %L, '{"topic": "returns"}')$q$, :'store', :'f1')) = 'returns');
SELECT live_check('vs_store_files (max_items)', live_try('vs_store_files', format('SELECT count(*) FROM vs_store_files(%L, filter => ''completed'', max_items => 5)', :'store'))::int = 1);
SELECT live_check('vs_store_file_content', live_try('vs_store_file_content', format($q$SELECT string_agg(text, '') FROM vs_store_file_content(%L, %L)$q$, :'store', :'f1')) LIKE '%Refunds%');
SELECT live_check('vs_store_file_poll', live_try('vs_store_file_poll', format('SELECT status FROM vs_store_file_poll(%L, %L, timeout => ''2 min'')', :'store', :'f1')) = 'completed');
SELECT coalesce(live_try('vs_upload', format($q$SELECT live_record('file', id, %L) || ' ' || status FROM vs_upload(%L, %L, 'Returns are free for damaged items.',
    attributes => '{"topic": "returns"}', wait => true, timeout => '10 min')$q$, :'store', :'store', :'prefix' || 'returns.txt')), '') AS up \gset
SELECT live_check('vs_upload (wait)', :'up' LIKE '% completed', :'up');

-- batches
SELECT coalesce(live_try('vs_batch_create', format($q$SELECT id || ' ' || status FROM vs_batch_create(%L, file_ids => ARRAY[%L],
    attributes => '{"topic": "shipping"}', wait => true, timeout => '10 min')$q$, :'store', :'f2')), '') AS b \gset
SELECT live_check('vs_batch_create (wait)', :'b' LIKE '% completed', :'b');
SELECT split_part(:'b', ' ', 1) AS batch \gset
-- (a NULL from a failed step leaves a psql variable unset: every \gset above gives '' instead)
SELECT live_check('vs_batch_get', live_try('vs_batch_get', format('SELECT files_total FROM vs_batch_get(%L, %L)', :'store', :'batch'))::int = 1);
SELECT live_check('vs_batch_poll', live_try('vs_batch_poll', format('SELECT status FROM vs_batch_poll(%L, %L, timeout => ''2 min'')', :'store', :'batch')) = 'completed');
SELECT live_check('vs_batch_files (max_items)', live_try('vs_batch_files', format('SELECT count(*) FROM vs_batch_files(%L, %L, max_items => 1)', :'store', :'batch'))::int = 1);
SELECT live_check('vs_batch_cancel (a finished batch)', live_try('vs_batch_cancel', format('SELECT status FROM vs_batch_cancel(%L, %L)', :'store', :'batch')) IS NOT NULL);
SELECT live_check('vs_upload_many', live_try('vs_upload_many', format($q$SELECT count(*) FILTER (WHERE status = 'completed' AND live_record('file', file_id) IS NOT NULL)
    FROM vs_upload_many(%L, ARRAY[%L, %L], ARRAY['Store credit is worth more than a refund.', 'Express shipping is refunded when late.'],
    ARRAY['{"topic": "credit"}', '{"topic": "shipping"}']::jsonb[], timeout => '10 min')$q$,
    :'store', :'prefix' || 'credit.txt', :'prefix' || 'express.txt'))::int = 2);

-- search
SELECT live_check('vs_search', live_try('vs_search', format($q$SELECT count(*) FROM vs_search(%L, 'how long do refunds take', max_num_results => 3)
    WHERE raw ? 'file_id' AND cardinality(content_parts) >= 1$q$, :'store'))::int >= 1);
SELECT live_check('vs_search (filters, ranking, rewrite)', live_try('vs_search filters', format($q$SELECT count(*) FROM vs_search(%L, ARRAY['refunds', 'shipping'],
    max_num_results => 10, filters => '{"type": "in", "key": "topic", "value": ["returns", "shipping"]}',
    ranking_options => '{"ranker": "auto", "score_threshold": 0.0}', rewrite_query => true)$q$, :'store'))::int >= 1);
SELECT live_check('vs_search_json', live_try('vs_search_json', format($q$SELECT jsonb_typeof(vs_search_json(%L, 'gift cards')->'data')$q$, :'store')) = 'array');

-- the worker: a queued upload and a table sync
CREATE TABLE live_pages (slug text PRIMARY KEY, body text);
INSERT INTO live_pages VALUES ('p1', 'Page one: opening hours are nine to five.'), ('p2', 'Page two: we ship worldwide.');
SELECT live_check('vs_enqueue_upload', live_try('vs_enqueue_upload', format($q$SELECT vs_enqueue_upload(%L, %L, 'A queued file about opening hours.')$q$,
    :'store', :'prefix' || 'queued.txt')) IS NOT NULL);
SELECT live_check('vs_sync_create', live_try('vs_sync_create', format($q$SELECT 'created' FROM vs_sync_create('live', 'live_pages', %L, 'slug', 'body', filename_pattern => %L) s$q$,
    :'store', :'prefix' || '%s.txt')) = 'created');
SELECT live_check('vs_sync_run', live_try('vs_sync_run', 'SELECT new FROM vs_sync_run(''live'')')::int = 2);
DO $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
    WHILE clock_timestamp() - t0 < interval '10 min' LOOP
        EXIT WHEN NOT EXISTS (SELECT 1 FROM vectorstore.jobs WHERE status NOT IN ('completed', 'failed', 'cancelled'));
        PERFORM pg_sleep(1);
    END LOOP;
END $$;
SELECT live_check('the worker completes the queued jobs', (SELECT count(*) FILTER (WHERE status = 'completed') = count(*) AND count(*) = 3 FROM vectorstore.jobs),
    (SELECT string_agg(status || coalesce(' ' || last_error, ''), '; ') FROM vectorstore.jobs));
INSERT INTO live_created SELECT 'file', file_id FROM vectorstore.jobs WHERE file_id IS NOT NULL;
SELECT live_check('vs_sync_drop (delete_files)', live_try('vs_sync_drop', 'SELECT vs_sync_drop(''live'', delete_files => true)::text') = 'true');

-- detach and delete (idempotent forms too)
SELECT live_check('vs_store_file_remove', live_try('vs_store_file_remove', format('SELECT vs_store_file_remove(%L, %L)::text', :'store', :'f1')) = 'true');
SELECT live_check('vs_store_file_remove (missing_ok)', live_try('vs_store_file_remove missing_ok', format('SELECT vs_store_file_remove(%L, %L, missing_ok => true)::text', :'store', :'f1')) = 'false');
SELECT live_check('vs_file_delete', live_try('vs_file_delete', format('SELECT vs_file_delete(%L)::text', :'f1')) = 'true');
SELECT live_check('vs_file_delete (missing_ok)', live_try('vs_file_delete missing_ok', format('SELECT vs_file_delete(%L, missing_ok => true)::text', :'f1')) = 'false');
SELECT live_check('vs_store_delete', live_try('vs_store_delete', format('SELECT vs_store_delete(%L)::text', :'store')) = 'true');
SELECT live_check('vs_store_delete (missing_ok)', live_try('vs_store_delete missing_ok', format('SELECT vs_store_delete(%L, missing_ok => true)::text', :'store')) = 'false');
SQL
  grep -oE 'NOTICE:  (ok|FAILED): .*' "$dir/tour.log" | sed 's/^NOTICE:  //'
  # cleanup: what was recorded, then a sweep of the account for this run's prefix
  psql -X -q -v prefix="$PREFIX" -f - >"$dir/cleanup.log" 2>&1 <<'SQL'
\set ON_ERROR_STOP 0
SET search_path = public, vectorstore;
SET client_min_messages = warning;
SELECT count(*) FROM (SELECT vs_store_delete(id, missing_ok => true) FROM live_created WHERE kind = 'store') d;
SELECT count(*) FROM (SELECT vs_file_delete(id, missing_ok => true) FROM live_created WHERE kind = 'file' AND id IS NOT NULL) d;
-- the worker names its files vsjob-<job>_<filename>: the prefix may be inside
SELECT count(*) FROM (SELECT vs_store_delete(id, missing_ok => true) FROM vs_stores() WHERE strpos(name, :'prefix') > 0) d;
SELECT count(*) FROM (SELECT vs_file_delete(id, missing_ok => true) FROM vs_files() WHERE strpos(filename, :'prefix') > 0) d;
SQL
  local left
  left=$(psql -X -q -At -v prefix="$PREFIX" -f - 2>&1 <<'SQL'
SET search_path = vectorstore, public;
SELECT (SELECT count(*) FROM vs_stores() WHERE strpos(name, :'prefix') > 0) + (SELECT count(*) FROM vs_files() WHERE strpos(filename, :'prefix') > 0);
SQL
)
  local ok bad
  ok=$(psql -X -At -c 'SELECT count(*) FROM live_result WHERE ok' 2>/dev/null || echo 0)
  bad=$(psql -X -At -c 'SELECT count(*) FROM live_result WHERE NOT ok' 2>/dev/null || echo 1)
  if [ "$left" = 0 ]; then
    echo "cleanup: nothing named ...$PREFIX... is left"
  else
    echo "FAILED: cleanup: $left object(s) named ...$PREFIX... are left: $(tail -3 "$dir/cleanup.log")"
    bad=$((bad + 1))
  fi
  # a script error outside the steps (syntax, a missing function) counts too
  if grep -qE '^(psql:.*)?ERROR: ' "$dir/tour.log"; then
    echo "FAILED: the tour script itself: $(grep -m1 -E 'ERROR: ' "$dir/tour.log")"
    bad=$((bad + 1))
  fi
  echo "live $target: $ok ok, $bad failed"
  failed_total=$((failed_total + bad))
  vs_cleanup
}

if [ "$openai" = 1 ]; then
  tour openai "${VS_LIVE_BASE_URL:-https://api.openai.com/v1}" "$OPENAI_API_KEY"
fi
if [ "$azure" = 1 ]; then
  base=${VS_LIVE_AZURE_BASE_URL:-${AZURE_OPENAI_ENDPOINT%/}/openai}
  tour azure "$base" "$AZURE_OPENAI_API_KEY" api-key \
    "{\"api-version\": \"${OPENAI_API_VERSION:-2025-04-01-preview}\"}"
fi
[ "$failed_total" = 0 ]

#!/usr/bin/env bash
# Benchmarks at the service's latency (issue 13), each case side by side in
# one run (see bench/README.md, "At the service's latency"):
#   1. 64 questions, every search held 150 ms by the local server: LATERAL
#      vs_search, vs_search_many, the SDK's Promise.all, the SDK one by one;
#   2. ingestion of 2,000 rows of ~2 KB, every request held 100 ms and uploads
#      limited to 200/s by the server: vs_upload_many, queue + worker, the
#      SDK's uploadAndPoll;
#   3. backend CPU per vs_search call in one session against a canned page:
#      this build and 0.1.0 (built from the v0.1.0 tag);
#   4. COST and JIT: what the planner does with each COST on the network
#      functions, with JIT on as Debian ships PostgreSQL.
#
#   bash bench/latency.sh            3 runs per case (medians); ~12 min
#   bash bench/latency.sh --quick    1 run; ~4 min
#
# Installs what it needs, builds and installs the extension (and 0.1.0 as
# "vectorstore010"), writes bench/results-latency.md. Leaves nothing running.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MODE=full
case "${1:-}" in
  --quick) MODE=quick ;;
  "") ;;
  *) sed -n '2,18p' "$0"; exit 2 ;;
esac
export PG_CONFIG=${PG_CONFIG:-pg_config}

# ---- outside: install, build (this tree and v0.1.0), then run unprivileged ---
if [ "${VS_INNER:-}" != 1 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  bash "$ROOT/test/setup.sh"
  want=()
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || want+=(nginx-light)
  if [ ${#want[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
    $SUDO systemctl stop nginx 2>/dev/null || $SUDO service nginx stop 2>/dev/null || true
  fi
  [ -d "$ROOT/bench/node_modules" ] ||
    (cd "$ROOT/bench" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  make -C "$ROOT" -s -j2 >/dev/null
  $SUDO make -C "$ROOT" -s install >/dev/null
  # 0.1.0 from its tag, as extension "vectorstore010" (library vectorstore010.so),
  # so both can be measured in one cluster (each in its own database)
  OLD=$(mktemp -d /tmp/vectorstore-010.XXXXXX)
  git -C "$ROOT" archive v0.1.0 | tar -x -C "$OLD"
  sed -i -e 's/^EXTENSION = vectorstore$/EXTENSION = vectorstore010/' \
         -e 's/^MODULE_big = vectorstore$/MODULE_big = vectorstore010/' \
         -e '/^all: emulator$/d' "$OLD/Makefile"
  sed "s|\$libdir/vectorstore'|\$libdir/vectorstore010'|" "$OLD/vectorstore.control" >"$OLD/vectorstore010.control"
  rm "$OLD/vectorstore.control"
  sed -i 's/#define VS_EXTENSION_NAME "vectorstore"/#define VS_EXTENSION_NAME "vectorstore010"/' "$OLD/src/vectorstore.h"
  make -C "$OLD" -s -j2 >/dev/null
  $SUDO make -C "$OLD" -s install >/dev/null
  rm -rf "$OLD"
  CMD="bash bench/latency.sh${1:+ $1}"
  if [ "$(id -u)" = 0 ]; then
    WORK=$(mktemp -d /tmp/vectorstore-bench.XXXXXX)
    mkdir -p "$WORK/test"
    cp -a "$ROOT/bench" "$WORK/"
    cp -a "$ROOT/test/lib.sh" "$WORK/test/"
    cp -a "$ROOT/emulator/vectorstore-emulator" "$WORK/"
    chown -R postgres: "$WORK"
    trap 'rm -rf "$WORK"' EXIT
    runuser -u postgres -- env VS_INNER=1 VS_ROOT="$WORK" PATH="$PATH" HOME="$WORK" \
      PG_CONFIG="$PG_CONFIG" VS_EMULATOR_BIN="$WORK/vectorstore-emulator" BENCH_CMD="$CMD" \
      bash "$WORK/bench/latency.sh" "$@"
    # read as postgres (who owns $WORK): root never follows what postgres could put there
    timeout 60 runuser -u postgres -- cat "$WORK/bench/results-latency.md" > "$ROOT/bench/results-latency.md"
    exit 0
  fi
  VS_INNER=1 VS_ROOT=$ROOT BENCH_CMD="$CMD" exec bash "$0" "$@"
fi

# ---- inside: unprivileged ------------------------------------------------------
B=$VS_ROOT/bench
. "$VS_ROOT/test/lib.sh"
W=$(mktemp -d)
NGINX_PID=""
cleanup() {
  [ -z "$NGINX_PID" ] || { kill "$NGINX_PID" 2>/dev/null; wait "$NGINX_PID" 2>/dev/null; } || true
  vs_cleanup
  rm -rf "$W"
}
trap cleanup EXIT
PATH=$PGBIN:$PATH

if [ $MODE = full ]; then RUNS=3; CPU_RUNS=9; else RUNS=1; CPU_RUNS=3; fi
CPU_CALLS=8000
ROWS=2000
SEARCH_MS=150
INGEST_MS=100
UPLOAD_RATE=200

log() { echo "bench: $*" >&2; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
fmt() { awk -v x="$1" -v d="${2:-2}" 'BEGIN {printf "%.*f", d, x}'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
declare -A R
add() { R[$1]="${R[$1]:-} $2"; }
med() { median ${R[$1]}; }
# psql in database $DB (default postgres), one statement, last line of output
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "${DB:-postgres}" -c "SET search_path = vectorstore, public" -c "$1" | tail -n 1; }
# seconds a statement takes, measured by the server session (\timing)
timed() {
  psql -X -q -At -v ON_ERROR_STOP=1 -d "${DB:-postgres}" -c "SET search_path = vectorstore, public" \
    -c '\timing on' -c "$1" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n 1 | awk '{print $1 / 1000}'
}
emu() { curl -s -X "$1" "$EMU/_emulator/$2" ${3:+-d "$3"} >/dev/null; }

# ---- servers -------------------------------------------------------------------
vs_start_emulator "$W" --processing-delay-ms 50 --request-log 0
EMU=$VS_EMU_URL
NG_PORT=$(vs_free_port)
mkdir -p "$W/nginx/logs" "$W/nginx/tmp"
sed "s/__PORT__/$NG_PORT/" "$B/nginx.conf" >"$W/nginx/nginx.conf"
nginx -c "$W/nginx/nginx.conf" -p "$W/nginx/" -g "daemon off; pid $W/nginx/nginx.pid;" 2>"$W/nginx/stderr" &
NGINX_PID=$!
CANNED=http://127.0.0.1:$NG_PORT
for _ in $(seq 100); do curl -s -o /dev/null -XPOST "$CANNED/v1/vector_stores/x/search" && break; sleep 0.05; done

# cluster A: as deployed (the worker preloaded)
vs_start_cluster "$W/pg" "shared_preload_libraries = 'vectorstore'" \
  "vectorstore.base_url = '$EMU/v1'" "max_connections = 50" \
  "vectorstore.launcher_naptime = '1s'" "vectorstore.worker_naptime = '100ms'" \
  "vectorstore.worker_poll_interval = '100ms'"
PORT_A=$PGPORT
psql -X -q -v ON_ERROR_STOP=1 -f "$B/setup.sql" >/dev/null
HOST_A=$PGHOST
q "CREATE TABLE public.questions (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, q text NOT NULL)"
psql -X -q -v ON_ERROR_STOP=1 -c "\\copy public.questions (q) FROM '$B/questions.txt'"
log "emulator $EMU, canned nginx $CANNED, postgres on port $PGPORT; $(q 'SELECT count(*) FROM questions') questions"

STORE=$(q "SELECT (vs_store_create('bench-search')).id")
q "SELECT count(*) FROM vs_upload_many('$STORE',
     (SELECT array_agg('doc' || i || '.txt') FROM generate_series(1, 300) i),
     (SELECT array_agg(bench_doc(i)) FROM generate_series(1, 300) i))
   WHERE status = 'completed'" >/dev/null

# ---- case 1: 64 questions at 150 ms per search ------------------------------------
emu POST config "{\"latency\": {\"search\": $SEARCH_MS}}"
ALLQ="(SELECT array_agg(q ORDER BY id) FROM questions)"
for run in $(seq $RUNS); do
  log "64 questions at $SEARCH_MS ms, run $run/$RUNS"
  t=$(timed "SELECT count(*) FROM questions q CROSS JOIN LATERAL vs_search('$STORE', q.q, max_num_results => 5) r")
  add q.lateral "$t"; log "  LATERAL vs_search: $(fmt "$t") s"
  t=$(timed "SELECT count(*) FROM vs_search_many('$STORE', $ALLQ, max_num_results => 5)")
  add q.many "$t"; log "  vs_search_many: $(fmt "$t") s"
  t=$(timed "SELECT count(*) FROM vs_search_many('$STORE', $ALLQ, max_num_results => 5, max_concurrency => 64)")
  add q.many64 "$t"; log "  vs_search_many (max_concurrency 64): $(fmt "$t") s"
  t=$(node "$B/sdk-questions.mjs" "$EMU/v1" "$STORE" all "$B/questions.txt" | awk '{print $1}')
  add q.sdkall "$t"; log "  SDK Promise.all: $(fmt "$t") s"
  t=$(node "$B/sdk-questions.mjs" "$EMU/v1" "$STORE" seq "$B/questions.txt" | awk '{print $1}')
  add q.sdkseq "$t"; log "  SDK one by one: $(fmt "$t") s"
done
Q_ROWS_SQL=$(q "SELECT count(*) FROM vs_search_many('$STORE', $ALLQ, max_num_results => 5)")
Q_ROWS_LAT=$(q "SELECT count(*) FROM questions q CROSS JOIN LATERAL vs_search('$STORE', q.q, max_num_results => 5) r")
Q_ROWS_SDK=$(node "$B/sdk-questions.mjs" "$EMU/v1" "$STORE" all "$B/questions.txt" | awk '{print $2}')
emu POST config '{"latency": {}}'

# ---- cluster B: no preload (each database loads one library), JIT on -------------
vs_start_cluster "$W/pgb" "max_connections = 20" "jit = on"
PORT_B=$PGPORT
psql -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE cur" -c "CREATE DATABASE old"
DB=cur psql -X -q -v ON_ERROR_STOP=1 -d cur -c "CREATE EXTENSION vectorstore"
DB=old psql -X -q -v ON_ERROR_STOP=1 -d old -c "CREATE EXTENSION vectorstore010"
for db in cur old; do
  psql -X -q -v ON_ERROR_STOP=1 -d $db -c "
    CREATE FUNCTION public.cpu_ticks() RETURNS bigint LANGUAGE sql AS \$\$
      SELECT split_part(s, ' ', 12)::bigint + split_part(s, ' ', 13)::bigint
      FROM (SELECT substring(pg_read_file('/proc/self/stat') FROM '\\) (.*)\$') AS s) x \$\$"
done
JIT_AVAILABLE=$(DB=cur q "SELECT pg_jit_available()")
TCK=$(getconf CLK_TCK)

# ---- case 4: COST and JIT ----------------------------------------------------------
log "COST and JIT (jit available: $JIT_AVAILABLE)"
export PGOPTIONS="-c vectorstore.base_url=$EMU/v1"
DB=cur q "CREATE TABLE public.t300 AS SELECT i AS id FROM generate_series(1, 300) i;
          CREATE TABLE public.t10k AS SELECT i AS id FROM generate_series(1, 10000) i;
          CREATE TABLE public.t100k AS SELECT i AS id FROM generate_series(1, 100000) i;
          CREATE TABLE public.q64 AS SELECT i AS id, 'question ' || i AS q FROM generate_series(1, 64) i;
          ANALYZE; CREATE FUNCTION public.slow_check(i int) RETURNS boolean LANGUAGE plpgsql AS
          'BEGIN RETURN i % 150 = 0; END'"
searches() {  # search requests the emulator has answered so far
  curl -s "$EMU/_emulator/stats" | node -e 'let s = ""; process.stdin.on("data", (d) => s += d).on("end", () => {
    const r = JSON.parse(s).requests["POST /v1/vector_stores/{id}/search"] || {};
    console.log(Object.values(r).reduce((a, b) => a + b, 0)); })'
}
# explain_row COST LABEL SQL [plan] -> "total_cost|jit_functions|jit_ms|exec_ms|searches"
# (with "plan": EXPLAIN without ANALYZE — nothing is run; JIT as planned)
explain_row() {
  local s0 s1 out
  s0=$(searches)
  out=$(DB=cur q "SET search_path = vectorstore, public;
    SELECT (p->0->'Plan'->>'Total Cost') || '|' || coalesce(p->0->'JIT'->>'Functions', '0') || '|' ||
           coalesce(round((p->0->'JIT'->'Timing'->>'Total')::numeric, 1)::text,
                    CASE WHEN p->0 ? 'JIT' THEN 'planned' ELSE '0' END) || '|' ||
           coalesce(round((p->0->>'Execution Time')::numeric, 1)::text, 'not run')
    FROM (SELECT vstest_explain(\$q\$$3\$q\$, ${4:-'analyze'} = 'analyze') AS p) x")
  s1=$(searches)
  echo "$out|$((s1 - s0))"
}
DB=cur q "CREATE FUNCTION public.vstest_explain(sql text, do_analyze boolean) RETURNS jsonb LANGUAGE plpgsql AS \$\$
  DECLARE j jsonb; BEGIN
    EXECUTE 'EXPLAIN (ANALYZE ' || do_analyze || ', FORMAT JSON) ' || sql INTO j; RETURN j; END \$\$"
declare -A JQ
JQ[a]="SELECT count(*) FROM t300 WHERE id % 100 = 0 AND vs_search_json('$STORE', 'refund') IS NOT NULL"
JQ[b]="SELECT count(*) FROM t300 WHERE vs_search_json('$STORE', 'refund') IS NOT NULL AND slow_check(id)"
JQ[c]="SELECT count(*) FROM q64 CROSS JOIN LATERAL vs_search('$STORE', q64.q, max_num_results => 5) r"
JQ[d]="SELECT count(*) FROM t10k WHERE id % 1000 = 0 AND vs_search_json('$STORE', 'refund') IS NOT NULL"
JQ[e]="SELECT count(*) FROM t100k WHERE id % 10000 = 0 AND vs_search_json('$STORE', 'refund') IS NOT NULL"
COSTS=(1 100 1000 10000 100000 1000000)
declare -A JR
for c in "${COSTS[@]}"; do
  DB=cur q "ALTER FUNCTION vectorstore.vs_search_json(text, text, integer, jsonb, jsonb, boolean, jsonb) COST $c;
            ALTER FUNCTION vectorstore.vs_search(text, text, integer, jsonb, jsonb, boolean, jsonb) COST $c"
  for k in a b c d e; do
    # at COST 1, d and e would send 10,000 and 100,000 searches: planned only
    mode=analyze; [ "$c" = 1 ] && [[ $k == [de] ]] && mode=plan
    JR[$c.$k]=$(explain_row "$c" "$k" "${JQ[$k]}" "'$mode'")
    log "  COST $c, query $k: ${JR[$c.$k]} (total cost|JIT functions|JIT ms|execution ms|searches)"
  done
done
DB=cur q "ALTER FUNCTION vectorstore.vs_search_json(text, text, integer, jsonb, jsonb, boolean, jsonb) COST 1000;
          ALTER FUNCTION vectorstore.vs_search(text, text, integer, jsonb, jsonb, boolean, jsonb) COST 1000"

# ---- case 3: backend CPU per vs_search, this build and 0.1.0 ------------------------
export PGOPTIONS="-c vectorstore.base_url=$CANNED/v1"
# (the query depends on g, so the function is called for every row, not
# once and its rows materialized)
cpu_us() {  # cpu_us DB -> µs of backend CPU per vs_search call (one statement of CPU_CALLS)
  psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" <<EOF | tail -n 1
SELECT public.cpu_ticks() AS t0 \gset
SELECT count(*) FROM generate_series(1, $CPU_CALLS) g
  CROSS JOIN LATERAL vectorstore.vs_search('vs_canned', CASE WHEN g > 0 THEN 'refund policy' END,
                                           max_num_results => 5) r;
SELECT (public.cpu_ticks() - :t0) * 1000000.0 / $TCK / $CPU_CALLS;
EOF
}
for run in $(seq $CPU_RUNS); do
  log "backend CPU per vs_search, run $run/$CPU_RUNS"
  for db in old cur; do
    t=$(cpu_us $db); add cpu.$db "$t"; log "  $db: $(fmt "$t" 1) µs"
  done
done
unset PGOPTIONS
# ... and the same work counted in instructions, which the machine's load does
# not change: valgrind --tool=callgrind over a single-user backend (cluster B
# stopped) running N and N + 500 calls; the difference / 500 is one call
if command -v valgrind >/dev/null; then
  pg_ctl -D "$W/pgb/data" -m fast stop >/dev/null
  cg_ir() {  # cg_ir DB N -> instructions of the whole single-user session
    printf "SELECT count(*) FROM generate_series(1, %s) g CROSS JOIN LATERAL vectorstore.vs_search('vs_canned', CASE WHEN g > 0 THEN 'refund policy' END, max_num_results => 5) r\n" "$2" |
      valgrind --tool=callgrind --callgrind-out-file="$W/cg.out" postgres --single -D "$W/pgb/data" \
        -c jit=off -c "vectorstore.base_url=$CANNED/v1" "$1" >"$W/cg.log" 2>&1
    awk '/^(summary|totals):/ {print $2; exit}' "$W/cg.out"
  }
  for run in $(seq $RUNS); do
    for db in old cur; do
      a=$(cg_ir $db 100); b=$(cg_ir $db 600)
      add ir.$db "$(( (b - a) / 500 ))"; log "  $db: $(( (b - a) / 500 )) instructions per call (callgrind)"
    done
  done
fi
export PGPORT=$PORT_A PGHOST=$HOST_A

# ---- case 2: ingestion of 2,000 rows at 100 ms, uploads limited to 200/s -----------
service() { emu POST reset; emu POST config "{\"latency\": {\"default\": $INGEST_MS}, \"rate_limit\": {\"upload\": $UPLOAD_RATE}}"; }
count_429() {  # 429s the emulator has answered to uploads since its reset
  curl -s "$EMU/_emulator/stats" | node -e 'let s = ""; process.stdin.on("data", (d) => s += d).on("end", () => {
    const r = JSON.parse(s).requests["POST /v1/files"] || {}; console.log(r["429"] || 0); })'
}
now() { date +%s.%N; }
for run in $(seq $RUNS); do
  log "ingestion of $ROWS rows at $INGEST_MS ms per request, $UPLOAD_RATE uploads/s, run $run/$RUNS"
  service
  s=$(q "SELECT (vs_store_create('bench-many')).id"); t0=$(now)
  ok=$(q "SELECT count(*) FILTER (WHERE status = 'completed') FROM vs_upload_many('$s',
          (SELECT array_agg('row' || i || '.txt') FROM generate_series(1, $ROWS) i),
          (SELECT array_agg(bench_row(i)) FROM generate_series(1, $ROWS) i))")
  t=$(awk -v a="$t0" -v b="$(now)" 'BEGIN {print b - a}')
  add ing.many "$t"; add ing.many.ok "$ok"; add ing.many.429 "$(count_429)"
  log "  vs_upload_many: $(fmt "$t") s, $ok completed, $(count_429) 429s"

  service
  s=$(q "SELECT (vs_store_create('bench-worker')).id"); t0=$(now)
  q "SELECT count(vs_enqueue_upload('$s', 'row' || i || '.txt', bench_row(i))) FROM generate_series(1, $ROWS) i" >/dev/null
  while [ "$(q "SELECT count(*) FROM jobs WHERE vector_store_id = '$s' AND status NOT IN ('completed', 'failed', 'cancelled')")" != 0 ]; do
    sleep 0.1
  done
  t=$(awk -v a="$t0" -v b="$(now)" 'BEGIN {print b - a}')
  ok=$(q "SELECT count(*) FROM jobs WHERE vector_store_id = '$s' AND status = 'completed'")
  add ing.worker "$t"; add ing.worker.ok "$ok"; add ing.worker.429 "$(count_429)"
  log "  queue + worker: $(fmt "$t") s, $ok completed, $(count_429) 429s"

  service
  read -r t ok < <(node "$B/sdk-ingest.mjs" "$EMU/v1" "$ROWS")
  add ing.sdk "$t"; add ing.sdk.ok "$ok"; add ing.sdk.429 "$(count_429)"
  log "  SDK uploadAndPoll: $(fmt "$t") s, $ok completed, $(count_429) 429s"
done

# ---- report --------------------------------------------------------------------------
OUT=$W/results-latency.md
T=$W/targets.md; : >"$T"
target() { local s=missed; [ "$2" = 1 ] && s=met; echo "| $1 | $3 | **$s** |" >>"$T"; }
le() { awk -v a="$1" -v b="$2" 'BEGIN {print (a <= b) ? 1 : 0}'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN {print (a >= b) ? 1 : 0}'; }
{
  echo "# Benchmark results at the service's latency"
  echo
  echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- Machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo) RAM, $(. /etc/os-release; echo "$PRETTY_NAME"), load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- Command: \`${BENCH_CMD:-bash bench/latency.sh}\` ($MODE: $RUNS run(s) per case, medians)"
  echo "- Versions: $(postgres --version), node $(node --version), openai $(node -p "require('$B/node_modules/openai/package.json').version")"
  echo "- Server: the local emulator (\`--processing-delay-ms 50 --request-log 0\`), latency and rate limits set per case through \`/_emulator/config\`; CPU against a canned nginx page (bench/nginx.conf)"
  echo
  echo "## 64 questions, every search held $SEARCH_MS ms (wall time, s)"
  echo
  echo "| Way | Wall time (s) | Results | vs. SDK \`Promise.all\` | Speed-up over LATERAL |"
  echo "|---|---|---|---|---|"
  for k in lateral many many64 sdkall sdkseq; do
    case $k in
      lateral) name='`LATERAL vs_search` (one search at a time)'; rows=$Q_ROWS_LAT ;;
      many) name='`vs_search_many` (default max_concurrency 16)'; rows=$Q_ROWS_SQL ;;
      many64) name='`vs_search_many(…, max_concurrency => 64)`'; rows=$Q_ROWS_SQL ;;
      sdkall) name='SDK, `Promise.all` over the 64'; rows=$Q_ROWS_SDK ;;
      sdkseq) name='SDK, one after the other'; rows=$Q_ROWS_SDK ;;
    esac
    echo "| $name | $(fmt "$(med q.$k)") | $rows | $(div "$(med q.$k)" "$(med q.sdkall)")× | $(div "$(med q.lateral)" "$(med q.$k)")× |"
  done
  echo
  echo "## Ingestion of $ROWS rows of ~2 KB until every file is completed: every request held $INGEST_MS ms, uploads limited to $UPLOAD_RATE/s"
  echo
  echo "| Way | Wall time (s) | Completed | 429s from the server | Speed-up over \`uploadAndPoll\` |"
  echo "|---|---|---|---|---|"
  for k in many worker sdk; do
    case $k in
      many) name='`vs_upload_many(…)` (adaptive concurrency)' ;;
      worker) name='queue + worker (`vs_enqueue_upload` ×2000 in one transaction)' ;;
      sdk) name='SDK `fileBatches.uploadAndPoll` (default concurrency 5)' ;;
    esac
    echo "| $name | $(fmt "$(med ing.$k)") | $(med ing.$k.ok) | $(med ing.$k.429) | $(div "$(med ing.sdk)" "$(med ing.$k)")× |"
  done
  echo
  echo "## Backend CPU per \`vs_search\` in one session (canned page; $CPU_CALLS calls in one statement, $CPU_RUNS alternating runs; callgrind: 600 minus 100 calls)"
  echo
  echo "| Build | µs of backend CPU per call (/proc, under the machine's load) | instructions per call (callgrind, single-user backend) |"
  echo "|---|---|---|"
  echo "| 0.1.0 (tag v0.1.0) | $(fmt "$(med cpu.old)" 1) | ${R[ir.old]:+$(med ir.old)} |"
  echo "| this build | $(fmt "$(med cpu.cur)" 1) | ${R[ir.cur]:+$(med ir.cur)} |"
  echo
  echo "## COST and JIT (jit = on, jit_above_cost 100000; pg_jit_available: $JIT_AVAILABLE)"
  echo
  echo "Each cell: plan total cost / JIT functions compiled (JIT ms) / execution ms / searches sent."
  echo "a: \`t300 WHERE id % 100 = 0 AND vs_search_json(…) IS NOT NULL\`;"
  echo "b: \`t300 WHERE vs_search_json(…) IS NOT NULL AND plpgsql_check(id)\` (a PL/pgSQL condition, COST 100, true for 2 rows);"
  echo "c: \`64 rows CROSS JOIN LATERAL vs_search(…)\`; d: \`10,000 rows WHERE id % 1000 = 0 AND vs_search_json(…)\`;"
  echo "e: \`100,000 rows WHERE id % 10000 = 0 AND vs_search_json(…)\`. Emulator without latency."
  echo
  echo "| COST | a (300 rows) | b (PL/pgSQL) | c (64 × LATERAL) | d (10k rows) | e (100k rows) |"
  echo "|---|---|---|---|---|---|"
  for c in "${COSTS[@]}"; do
    line="| $c"
    for k in a b c d e; do
      IFS='|' read -r tc jf jm em sn <<<"${JR[$c.$k]}"
      if [ "$em" = "not run" ]; then
        line+=" | $(fmt "$tc" 0) / $jf ($jm) / not run: one search per row"
      else
        line+=" | $(fmt "$tc" 0) / $jf ($jm) / $em / $sn"
      fi
    done
    echo "$line |"
  done
} >"$OUT"

target "64 questions: vs_search_many within 1.3× of the SDK's Promise.all" \
  "$(le "$(div "$(med q.many)" "$(med q.sdkall)")" 1.3)" "$(div "$(med q.many)" "$(med q.sdkall)")×"
target "64 questions: vs_search_many ≥ 10× faster than LATERAL" \
  "$(ge "$(div "$(med q.lateral)" "$(med q.many)")" 10)" "$(div "$(med q.lateral)" "$(med q.many)")×"
target "Ingestion: vs_upload_many ≥ 3× faster than uploadAndPoll, no file failed" \
  "$( [ "$(ge "$(div "$(med ing.sdk)" "$(med ing.many)")" 3)" = 1 ] && [ "$(med ing.many.ok)" = "$ROWS" ] && echo 1 || echo 0)" \
  "$(div "$(med ing.sdk)" "$(med ing.many)")×, $(med ing.many.ok) of $ROWS completed"
target "Ingestion: queue + worker ≥ 3× faster than uploadAndPoll, no job failed" \
  "$( [ "$(ge "$(div "$(med ing.sdk)" "$(med ing.worker)")" 3)" = 1 ] && [ "$(med ing.worker.ok)" = "$ROWS" ] && echo 1 || echo 0)" \
  "$(div "$(med ing.sdk)" "$(med ing.worker)")×, $(med ing.worker.ok) of $ROWS completed"
if [ -n "${R[ir.cur]:-}" ]; then
  target "Backend CPU per vs_search no higher than 0.1.0's (instructions, callgrind)" \
    "$(le "$(med ir.cur)" "$(med ir.old)")" "$(med ir.cur) vs $(med ir.old) instructions per call ($(fmt "$(med cpu.cur)" 1) µs vs $(fmt "$(med cpu.old)" 1) µs of CPU time under load)"
else
  target "Backend CPU per vs_search no higher than 0.1.0's" \
    "$(le "$(med cpu.cur)" "$(med cpu.old)")" "$(fmt "$(med cpu.cur)" 1) µs vs $(fmt "$(med cpu.old)" 1) µs"
fi
IFS='|' read -r _ _ _ _ sn <<<"${JR[1000.a]}"
target "The 300-row query sends 3 searches (COST 1000)" "$( [ "$sn" = 3 ] && echo 1 || echo 0)" "$sn"
{
  echo
  echo "<details><summary>Every run (values in run order)</summary>"
  echo
  for k in $(printf '%s\n' "${!R[@]}" | sort); do echo "- \`$k\`:${R[$k]}"; done
  echo
  echo "</details>"
  echo
  echo "## Targets"
  echo
  echo "| Target | Measured | |"
  echo "|---|---|---|"
  cat "$T"
} >>"$OUT"
cp "$OUT" "$B/results-latency.md"
echo
cat "$OUT"

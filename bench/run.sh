#!/usr/bin/env bash
# Benchmarks of the extension against the official openai npm SDK and against
# the raw-HTTP limit (see bench/README.md).
#
#   bash bench/run.sh            full run: 3 runs per case (medians), 10 s each,
#                                growth at 1k/4k/16k rows, worker memory at 1k/20k jobs
#   bash bench/run.sh --quick    1 run each, 3 s, growth at 1k/2k, memory at 1k/4k
#
# Installs what it needs, builds and installs the extension, starts the local
# server (emulator), a canned nginx search server and a throwaway PostgreSQL,
# prints a table and writes it to bench/results.md. Leaves nothing running.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MODE=full
case "${1:-}" in
  --quick) MODE=quick ;;
  "") ;;
  *) sed -n '2,11p' "$0"; exit 2 ;;
esac

# ---- outside: install, build, then run the rest unprivileged ---------------
if [ "${VS_INNER:-}" != 1 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  bash "$ROOT/test/setup.sh"     # build deps, postgresql-15, node; npm ci in bench/
  want=()
  command -v wrk >/dev/null || want+=(wrk)
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || want+=(nginx-light)
  command -v pgbench >/dev/null || [ -x /usr/lib/postgresql/15/bin/pgbench ] || want+=(postgresql-client-15)
  if [ ${#want[@]} -gt 0 ]; then
    echo "bench: installing ${want[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
    # the nginx package starts a system nginx on :80; we run our own
    if [[ " ${want[*]} " == *" nginx-light "* ]]; then
      $SUDO systemctl stop nginx 2>/dev/null || $SUDO service nginx stop 2>/dev/null ||
        { [ -s /run/nginx.pid ] && $SUDO kill "$(cat /run/nginx.pid)"; } || true
    fi
  fi
  [ -d "$ROOT/bench/node_modules" ] ||
    (cd "$ROOT/bench" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  make -C "$ROOT" -s -j2 >/dev/null
  $SUDO make -C "$ROOT" -s install >/dev/null
  CMD="bash bench/run.sh${1:+ $1}"
  if [ "$(id -u)" = 0 ]; then
    # PostgreSQL refuses to run as root: run the rest as "postgres"
    WORK=$(mktemp -d /tmp/vectorstore-bench.XXXXXX)
    mkdir -p "$WORK/test"
    cp -a "$ROOT/bench" "$WORK/"
    cp -a "$ROOT/test/lib.sh" "$WORK/test/"
    cp -a "$ROOT/emulator/vectorstore-emulator" "$WORK/"
    chown -R postgres: "$WORK"
    trap 'rm -rf "$WORK"' EXIT
    runuser -u postgres -- env VS_INNER=1 VS_ROOT="$WORK" PATH="$PATH" HOME="$WORK" \
      VS_EMULATOR_BIN="$WORK/vectorstore-emulator" BENCH_CMD="$CMD" \
      bash "$WORK/bench/run.sh" "$@"
    cp "$WORK/bench/results.md" "$ROOT/bench/results.md"
    exit 0
  fi
  VS_INNER=1 VS_ROOT=$ROOT BENCH_CMD="$CMD" exec bash "$0" "$@"
fi

# ---- inside: unprivileged ----------------------------------------------------
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

if [ $MODE = full ]; then
  RUNS=3; SECS=10; GROWTH=(1000 4000 16000); MEM=(1000 20000)
else
  RUNS=1; SECS=3; GROWTH=(1000 2000); MEM=(1000 4000)
fi
INGEST_ROWS=2000
DELAY_MS=50

log() { echo "bench: $*" >&2; }
now() { date +%s.%N; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
fmt() { awk -v x="$1" -v d="${2:-0}" 'BEGIN {printf "%.*f", d, x}'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 -c "SET search_path = vectorstore, public" -c "$1" | tail -n 1; }

# ---- servers -----------------------------------------------------------------
vs_start_emulator "$W" --processing-delay-ms $DELAY_MS
EMU=$VS_EMU_URL
NG_PORT=$(vs_free_port)
mkdir -p "$W/nginx/logs" "$W/nginx/tmp"
sed "s/__PORT__/$NG_PORT/" "$B/nginx.conf" >"$W/nginx/nginx.conf"
nginx -c "$W/nginx/nginx.conf" -p "$W/nginx/" -g "daemon off; pid $W/nginx/nginx.pid;" 2>"$W/nginx/stderr" &
NGINX_PID=$!
CANNED=http://127.0.0.1:$NG_PORT
for _ in $(seq 100); do curl -s -o /dev/null -XPOST "$CANNED/v1/vector_stores/x/search" && break; sleep 0.05; done
vs_start_cluster "$W/pg" "shared_preload_libraries = 'vectorstore'" \
  "vectorstore.base_url = '$EMU/v1'" "max_connections = 50"
psql -X -q -v ON_ERROR_STOP=1 -f "$B/setup.sql" >/dev/null
log "emulator $EMU, canned nginx $CANNED, postgres on port $PGPORT"

# a store of a few hundred chunks: 300 documents of one chunk each
STORE=$(q "SELECT (vs_store_create('bench-search')).id")
q "SELECT count(*) FROM vs_upload_many('$STORE',
     (SELECT array_agg('doc' || i || '.txt') FROM generate_series(1, 300) i),
     (SELECT array_agg(bench_doc(i)) FROM generate_series(1, 300) i))
   WHERE status = 'completed'" >/dev/null
log "search store $STORE: $(q "SELECT count(*) FROM vs_search('$STORE', 'refund policy', max_num_results => 5)") results per search"

# ---- measuring helpers: each prints "rate p50_ms p99_ms" ------------------------
# pgbench FILE CLIENTS THREADS BASE_URL: rate = tps, latencies from --log
pgb() {
  local d=$W/pgblog; rm -rf "$d"; mkdir -p "$d"
  local out
  out=$(PGOPTIONS="-c vectorstore.base_url=$4/v1" pgbench -n -c "$2" -j "$3" -T $SECS -f "$B/$1" \
          -D store="$STORE" --log --log-prefix="$d/l" 2>&1) || { echo "$out" >&2; return 1; }
  local tps; tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | tail -1)
  echo "$tps $(cat "$d"/l* | awk '{print $3 / 1000}' | sort -g |
               awk '{v[NR]=$1} END {print v[int(NR*0.5)+1], v[int(NR*0.99)+1]}')"
}
# wrk CONNS THREADS BASE_URL: the same search request over raw HTTP
wrkrun() {
  local out; out=$(VS_ID=$STORE wrk -c "$1" -t "$2" -d ${SECS}s --latency -s "$B/search.lua" "$3")
  local ms='{v=$2; if (v ~ /us$/) v=v/1000; else if (v ~ /ms$/) v=v+0; else if (v ~ /s$/) v=v*1000; print v}'
  echo "$(echo "$out" | awk '/^Requests\/sec/ {print $2}') \
$(echo "$out" | awk '$1 == "50%"' | awk "$ms") $(echo "$out" | awk '$1 == "99%"' | awk "$ms")"
}
# sdk CONCURRENCY BASE_URL
sdk() { node "$B/sdk-search.mjs" "$2/v1" "$STORE" $SECS "$1"; }

declare -A R   # R[key] = space-separated values of each run
add() { R[$1]="${R[$1]:-} $2"; }
med() { median ${R[$1]}; }
measure() {  # measure KEY CMD...  -> R[KEY.rate], R[KEY.p50], R[KEY.p99]
  local key=$1; shift
  local r p50 p99; read -r r p50 p99 < <("$@")
  add "$key.rate" "$r"; add "$key.p50" "$p50"; add "$key.p99" "$p99"
  log "  $key: $(fmt "$r") /s  p50 $(fmt "$p50" 3) ms  p99 $(fmt "$p99" 3) ms"
}

# ---- cases 1 and 2: search -----------------------------------------------------
for srv in emulator canned; do
  url=$EMU; [ $srv = canned ] && url=$CANNED
  for run in $(seq $RUNS); do
    log "search against $srv, run $run/$RUNS"
    measure "$srv.select1"  pgb select1.sql 1 1 "$url"
    measure "$srv.ext1"     pgb search.sql 1 1 "$url"
    measure "$srv.sdk1"     sdk 1 "$url"
    measure "$srv.wrk1"     wrkrun 1 1 "$url"
    measure "$srv.ext8"     pgb search.sql 8 2 "$url"
    measure "$srv.sdk8"     sdk 8 "$url"
    measure "$srv.wrk8"     wrkrun 8 2 "$url"
  done
done

# ---- case 4 (part): TCP connections opened for 1,000 searches ---------------------
conns() { curl -s "$EMU/_emulator/stats" | sed 's/.*"connections_accepted":\([0-9]*\).*/\1/'; }
c0=$(conns)
q "SELECT sum(n) FROM generate_series(1, 1000) g,
     LATERAL (SELECT count(*) n FROM vs_search('$STORE', 'refund policy', max_num_results => 5)) s" >/dev/null
c1=$(conns)
CONN_EXT=$(( c1 - c0 - 1 ))   # the second stats request is one connection
node "$B/sdk-search.mjs" "$EMU/v1" "$STORE" 0 1 1000 >/dev/null
c2=$(conns)
CONN_SDK=$(( c2 - c1 - 1 ))
log "connections for 1000 searches: extension session $CONN_EXT, SDK client $CONN_SDK"

# ---- case 3: ingestion of 2,000 rows of ~2 KB -----------------------------------
wait_jobs() {  # wait_jobs STORE -> until no job of STORE is pending
  while [ "$(q "SELECT count(*) FROM jobs WHERE vector_store_id = '$1'
                 AND status NOT IN ('completed', 'failed', 'cancelled')")" != 0 ]; do sleep 0.05; done
}
reset_emulator() { curl -s -XPOST "$EMU/_emulator/reset" >/dev/null; }
worker_jobs() {  # worker_jobs N: enqueue N rows in one transaction, wait; prints seconds
  local s t0; s=$(q "SELECT (vs_store_create('bench-worker')).id"); t0=$(now)
  q "SELECT count(vs_enqueue_upload('$s', 'row' || i || '.txt', bench_row(i)))
     FROM generate_series(1, $1) i" >/dev/null
  wait_jobs "$s"
  local t1; t1=$(now)
  local ok; ok=$(q "SELECT count(*) FROM jobs WHERE vector_store_id = '$s' AND status = 'completed'")
  [ "$ok" = "$1" ] || log "  worker: only $ok of $1 jobs completed"
  ok=$(q "SELECT files_completed FROM vs_store_get('$s')")
  [ "$ok" = "$1" ] || log "  worker: the server has $ok of $1 files completed"
  awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}'
}
upload_many() {  # upload_many N: prints seconds
  local s t0 t1 ok; s=$(q "SELECT (vs_store_create('bench-many')).id"); t0=$(now)
  ok=$(q "SELECT count(*) FILTER (WHERE status = 'completed') FROM vs_upload_many('$s',
          (SELECT array_agg('row' || i || '.txt') FROM generate_series(1, $1) i),
          (SELECT array_agg(bench_row(i)) FROM generate_series(1, $1) i))")
  t1=$(now)
  [ "$ok" = "$1" ] || log "  vs_upload_many: only $ok of $1 files completed"
  awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}'
}
sdk_ingest() {
  node "$B/sdk-ingest.mjs" "$EMU/v1" "$1" | awk '{print $1}'
}
worker_rss() {  # prints "VmRSS RssAnon RssShmem" (kB) of the worker
  local pid; pid=$(q "SELECT pid FROM pg_stat_activity WHERE backend_type = 'vectorstore worker'")
  awk '/^(VmRSS|RssAnon|RssShmem)/ {v[$1]=$2} END {print v["VmRSS:"], v["RssAnon:"], v["RssShmem:"]}' "/proc/$pid/status"
}
jobs_done() { q "SELECT count(*) FROM jobs WHERE status = 'completed'"; }

reset_emulator
log "worker: first ${MEM[0]} jobs (also starts the worker)"
worker_jobs "${MEM[0]}" >/dev/null
read -r RSS1 ANON1 SHM1 < <(worker_rss); JOBS1=$(jobs_done)
log "  worker VmRSS $RSS1 kB (private $ANON1, shared $SHM1) after $JOBS1 jobs"

for run in $(seq $RUNS); do
  log "ingestion of $INGEST_ROWS rows, run $run/$RUNS"
  reset_emulator; t=$(worker_jobs $INGEST_ROWS); add ing.worker "$t"; log "  worker: $(fmt "$t" 2) s"
  reset_emulator; t=$(upload_many $INGEST_ROWS); add ing.many "$t"; log "  vs_upload_many: $(fmt "$t" 2) s"
  reset_emulator; t=$(sdk_ingest $INGEST_ROWS); add ing.sdk "$t"; log "  SDK uploadAndPoll: $(fmt "$t" 2) s"
done

# ---- case 4: growth, worker memory, connections -----------------------------------
for n in "${GROWTH[@]}"; do
  log "growth: vs_upload_many of $n rows"
  reset_emulator; t=$(upload_many "$n"); add "grow.$n" "$t"; log "  $(fmt "$t" 2) s"
done
left=$(( MEM[1] - $(jobs_done) ))
if [ $left -gt 0 ]; then
  log "worker: $left more jobs (to ${MEM[1]} in all)"
  reset_emulator; worker_jobs $left >/dev/null
fi
read -r RSS2 ANON2 SHM2 < <(worker_rss); JOBS2=$(jobs_done)
log "  worker VmRSS $RSS2 kB (private $ANON2, shared $SHM2) after $JOBS2 jobs"


# ---- report ---------------------------------------------------------------------
OUT=$W/results.md
T=$W/targets.md; : >"$T"
target() {  # target TEXT MET(0/1) MEASURED
  local s=missed; [ "$2" = 1 ] && s=met
  echo "| $1 | $3 | **$s** |" >>"$T"
}
ge() { awk -v a="$1" -v b="$2" 'BEGIN {print (a >= b) ? 1 : 0}'; }
cell() { echo "$(fmt "$(med "$1.rate")") ($(fmt "$(med "$1.p50")" 3) / $(fmt "$(med "$1.p99")" 3))"; }
{
  echo "# Benchmark results"
  echo
  echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- Machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo) RAM, $(. /etc/os-release; echo "$PRETTY_NAME")"
  echo "- Command: \`${BENCH_CMD:-bash bench/run.sh}\` ($MODE: $RUNS run(s) per case, medians; ${SECS} s per measurement)"
  echo "- Versions: $(postgres --version), node $(node --version), openai $(node -p "require('$B/node_modules/openai/package.json').version"), $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}'), $(nginx -v 2>&1 | sed 's/.*: //')"
  echo "- Servers: the local emulator (\`--processing-delay-ms $DELAY_MS\`) and a canned nginx page (bench/nginx.conf, 5 results, 2.2 KB)"
  echo
  echo "## Search (requests/s, in brackets p50 / p99 latency in ms)"
  echo
  echo "| Server | Callers | Extension (pgbench) | SDK (\`vectorStores.search\`) | Raw HTTP (wrk) | SELECT 1 (pgbench) | Limit | Ext ÷ SDK | Ext ÷ limit |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for srv in emulator canned; do
    lat_s1=$(awk -v r="$(med $srv.select1.rate)" 'BEGIN {print 1 / r}')
    lat_w1=$(awk -v r="$(med $srv.wrk1.rate)" 'BEGIN {print 1 / r}')
    limit=$(awk -v a="$lat_s1" -v b="$lat_w1" 'BEGIN {print 1 / (a + b)}')
    eval "LIMIT_$srv=$limit"
    echo "| $srv | 1 | $(cell $srv.ext1) | $(cell $srv.sdk1) | $(cell $srv.wrk1) | $(cell $srv.select1) | $(fmt "$limit") | $(div "$(med $srv.ext1.rate)" "$(med $srv.sdk1.rate)") | $(div "$(med $srv.ext1.rate)" "$limit") |"
    echo "| $srv | 8 | $(cell $srv.ext8) | $(cell $srv.sdk8) | $(cell $srv.wrk8) | | | $(div "$(med $srv.ext8.rate)" "$(med $srv.sdk8.rate)") | $(div "$(med $srv.ext8.rate)" "$(med $srv.wrk8.rate)") of wrk -c 8 |"
  done
  echo
  echo "Limit = 1 / (latency of \`SELECT 1\` + latency of the HTTP request), one sequential caller;"
  echo "latencies are 1 / rate of \`pgbench -n -c 1 -f select1.sql\` and \`wrk -c 1 -t 1\`."
  echo
  echo "## Ingestion of $INGEST_ROWS rows of ~2 KB until every file is completed (emulator, ${DELAY_MS} ms processing delay)"
  echo
  echo "| Way | Wall time (s) | Rows/s | Speed-up over the SDK |"
  echo "|---|---|---|---|"
  sdk_t=$(med ing.sdk)
  for k in worker many sdk; do
    case $k in
      worker) name='queue + worker (`vs_enqueue_upload` ×2000 in one transaction)' ;;
      many) name='`vs_upload_many(..., wait => true)`' ;;
      sdk) name='SDK `fileBatches.uploadAndPoll` (default concurrency)' ;;
    esac
    t=$(med ing.$k)
    echo "| $name | $(fmt "$t" 2) | $(fmt "$(awk -v t="$t" -v n=$INGEST_ROWS 'BEGIN {print n / t}')") | $(div "$sdk_t" "$t") |"
  done
  echo
  echo "## Growth"
  echo
  echo "| \`vs_upload_many\` rows | Wall time (s) | ms per row |"
  echo "|---|---|---|"
  for n in "${GROWTH[@]}"; do
    echo "| $n | $(fmt "$(med grow.$n)" 2) | $(awk -v t="$(med grow.$n)" -v n="$n" 'BEGIN {printf "%.3f", t * 1000 / n}') |"
  done
  echo
  echo "| Worker memory (kB) | VmRSS | RssAnon (private) | RssShmem (shared buffers touched) |"
  echo "|---|---|---|---|"
  echo "| after $JOBS1 jobs | $RSS1 | $ANON1 | $SHM1 |"
  echo "| after $JOBS2 jobs | $RSS2 | $ANON2 | $SHM2 |"
  echo "| difference | $(( RSS2 - RSS1 )) | $(( ANON2 - ANON1 )) | $(( SHM2 - SHM1 )) |"
  echo
  echo "| 1,000 searches | TCP connections opened (emulator \`connections_accepted\`) |"
  echo "|---|---|"
  echo "| one SQL session (\`vs_search\` ×1000 in one statement) | $CONN_EXT |"
  echo "| one SDK client (1000 sequential \`vectorStores.search\`) | $CONN_SDK |"
} >"$OUT"

e1=$(med canned.ext1.rate); s1=$(med canned.sdk1.rate); e8=$(med canned.ext8.rate); s8=$(med canned.sdk8.rate)
target "Search, one session ≥ 4× the SDK (canned)" "$(ge "$(div "$e1" "$s1")" 4)" "$(div "$e1" "$s1")×"
target "Search, one session ≥ 0.7× the limit (canned)" "$(ge "$(div "$e1" "$LIMIT_canned")" 0.7)" "$(div "$e1" "$LIMIT_canned")×"
target "Search, 8 sessions ≥ 3× the SDK with 8 concurrent calls (canned)" "$(ge "$(div "$e8" "$s8")" 3)" "$(div "$e8" "$s8")×"
target "Ingestion of $INGEST_ROWS rows ≥ 3× faster than uploadAndPoll: queue + worker" \
  "$(ge "$(div "$(med ing.sdk)" "$(med ing.worker)")" 3)" "$(div "$(med ing.sdk)" "$(med ing.worker)")×"
target "Ingestion of $INGEST_ROWS rows ≥ 3× faster than uploadAndPoll: vs_upload_many" \
  "$(ge "$(div "$(med ing.sdk)" "$(med ing.many)")" 3)" "$(div "$(med ing.sdk)" "$(med ing.many)")×"
first=${GROWTH[0]}; last=${GROWTH[-1]}
pr1=$(awk -v t="$(med grow.$first)" -v n="$first" 'BEGIN {print t / n}')
pr2=$(awk -v t="$(med grow.$last)" -v n="$last" 'BEGIN {print t / n}')
target "Ingestion linear (time per row at $last within 1.5× of at $first)" \
  "$(awk -v a="$pr2" -v b="$pr1" 'BEGIN {print (a <= 1.5 * b) ? 1 : 0}')" "$(div "$pr2" "$pr1")×"
target "Worker memory after $JOBS2 jobs within 2 MB of after $JOBS1 (private memory, RssAnon)" \
  "$(( ANON2 - ANON1 <= 2048 ? 1 : 0 ))" "$(( ANON2 - ANON1 )) kB (VmRSS $(( RSS2 - RSS1 )) kB, of which shared buffers $(( SHM2 - SHM1 )) kB)"
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

cp "$OUT" "$B/results.md"
echo
cat "$OUT"

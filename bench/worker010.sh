#!/usr/bin/env bash
# Queue + worker ingestion of this build against 0.1.0 (the v0.1.0 tag), side
# by side in one run (issue 10: "ingestion throughput in bench/ is not lower
# than 0.1.0's"; see bench/README.md, "The worker against 0.1.0"):
#   2,000 rows of ~2 KB enqueued in one transaction, time from COMMIT until
#   the last job's finished_at (the jobs view polled every 100 ms to wait), alternating
#   the builds, medians and the ratio new/old.
#
#   bash bench/worker010.sh            7 runs per build (medians); ~2 min
#   bash bench/worker010.sh --quick    3 runs per build; ~1.5 min
# (with the two builds; each run lasts as long as the slower build needs)
#
# Two clusters, each with its worker preloaded and its own local server: this
# build from PG_CONFIG's PostgreSQL, 0.1.0 built from its tag and installed,
# unchanged and under its own name, into a private copy of that PostgreSQL in
# a temporary directory. Installs what it needs, writes
# bench/results-worker010.md. Leaves nothing running.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MODE=full
case "${1:-}" in
  --quick) MODE=quick ;;
  "") ;;
  *) sed -n '2,17p' "$0"; exit 2 ;;
esac
export PG_CONFIG=${PG_CONFIG:-pg_config}

# ---- outside: install, build (this tree and v0.1.0), then run unprivileged ---
if [ "${VS_INNER:-}" != 1 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  bash "$ROOT/test/setup.sh"
  make -C "$ROOT" -s -j2 >/dev/null
  $SUDO make -C "$ROOT" -s install >/dev/null
  COMMIT="$(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- src sql Makefile 2>/dev/null || echo '+changes')"

  # A private copy of PG_CONFIG's PostgreSQL (same binaries; PostgreSQL finds
  # its files relative to its executables) to install 0.1.0 into as
  # "vectorstore", exactly as released. (The rename latency.sh uses,
  # "vectorstore010", cannot be preloaded: 0.1.0 registers its launcher with
  # bgw_library_name "vectorstore", so the launcher would run the other library.)
  OLDPG=$(mktemp -d /tmp/vectorstore-pg010.XXXXXX)
  OLD=$(mktemp -d /tmp/vectorstore-010.XXXXXX)
  WORK=""
  trap 'rm -rf "$OLDPG" "$OLD" ${WORK:+"$WORK"}' EXIT
  chmod 755 "$OLDPG"
  bindir=$("$PG_CONFIG" --bindir)
  top=$(cd "$bindir/../../../.." && pwd)   # …/usr of …/usr/lib/postgresql/15/bin
  for d in "$(cd "$bindir/.." && pwd)" "$("$PG_CONFIG" --sharedir)" "$("$PG_CONFIG" --includedir)"; do
    case $d in "$top"/*) ;; *) echo "worker010: $d is not under $top" >&2; exit 1 ;; esac
    mkdir -p "$OLDPG/$(dirname "${d#$top/}")"
    cp -a "$d" "$OLDPG/${d#$top/}"
  done
  OLD_PG_CONFIG=$OLDPG/${bindir#$top/}/pg_config
  rm -f "$("$OLD_PG_CONFIG" --sharedir)"/extension/vectorstore[.-]* "$("$OLD_PG_CONFIG" --pkglibdir)"/vectorstore.so
  git -C "$ROOT" archive v0.1.0 | tar -x -C "$OLD"
  sed -i -e '/^all: emulator$/d' "$OLD/Makefile"
  make -C "$OLD" -s -j2 PG_CONFIG="$OLD_PG_CONFIG" >/dev/null
  make -C "$OLD" -s install PG_CONFIG="$OLD_PG_CONFIG" >/dev/null
  rm -rf "$OLD"

  CMD="bash bench/worker010.sh${1:+ $1}"
  if [ "$(id -u)" = 0 ]; then
    WORK=$(mktemp -d /tmp/vectorstore-bench.XXXXXX)
    mkdir -p "$WORK/test"
    cp -a "$ROOT/bench" "$WORK/"
    cp -a "$ROOT/test/lib.sh" "$WORK/test/"
    cp -a "$ROOT/emulator/vectorstore-emulator" "$WORK/"
    chown -R postgres: "$WORK"
    runuser -u postgres -- env VS_INNER=1 VS_ROOT="$WORK" PATH="$PATH" HOME="$WORK" \
      PG_CONFIG="$PG_CONFIG" OLD_PG_CONFIG="$OLD_PG_CONFIG" VS_EMULATOR_BIN="$WORK/vectorstore-emulator" \
      BENCH_CMD="$CMD" VS_COMMIT="$COMMIT" bash "$WORK/bench/worker010.sh" "$@"
    # read as postgres (who owns $WORK): root never follows what postgres could put there
    timeout 60 runuser -u postgres -- cat "$WORK/bench/results-worker010.md" > "$ROOT/bench/results-worker010.md"
    exit 0
  fi
  VS_INNER=1 VS_ROOT=$ROOT OLD_PG_CONFIG=$OLD_PG_CONFIG BENCH_CMD="$CMD" VS_COMMIT="$COMMIT" bash "$0" "$@"
  exit 0
fi

# ---- inside: unprivileged ------------------------------------------------------
B=$VS_ROOT/bench
. "$VS_ROOT/test/lib.sh"
W=$(mktemp -d)
cleanup() { vs_cleanup; rm -rf "$W"; }
trap cleanup EXIT
NEWBIN=$("$PG_CONFIG" --bindir)
OLDBIN=$("$OLD_PG_CONFIG" --bindir)
PATH=$NEWBIN:$PATH

if [ $MODE = full ]; then RUNS=7; else RUNS=3; fi
ROWS=2000
TIMEOUT_S=600
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

log() { echo "bench: $*" >&2; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
fmt() { awk -v x="$1" -v d="${2:-2}" 'BEGIN {printf "%.*f", d, x}'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
declare -A R EMU HOST PORT
add() { R[$1]="${R[$1]:-} $2"; }
med() { median ${R[$1]}; }
# on SIDE (new|old): psql in that side's cluster
on() { local s=$1; shift; PGHOST=${HOST[$s]} PGPORT=${PORT[$s]} psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
q() { on "$1" -c "$2" | tail -n 1; }

# ---- servers: one local server and one cluster per build, started the same way -
for s in new old; do
  mkdir -p "$W/emu-$s"
  vs_start_emulator "$W/emu-$s" --processing-delay-ms 50 --request-log 0
  EMU[$s]=$VS_EMU_URL
  if [ $s = new ]; then PGBIN=$NEWBIN; else PGBIN=$OLDBIN; fi
  # every worker setting at its default (the same in both builds); the
  # launcher's naptime only decides how soon the worker of the new database starts
  vs_start_cluster "$W/pg-$s" "shared_preload_libraries = 'vectorstore'" \
    "vectorstore.base_url = '${EMU[$s]}/v1'" "max_connections = 20" \
    "vectorstore.launcher_naptime = '1s'"
  HOST[$s]=$PGHOST; PORT[$s]=$PGPORT
  on $s -f "$B/setup.sql" >/dev/null
done
PGBIN=$NEWBIN
VER_NEW=$(q new "SELECT extversion FROM pg_extension WHERE extname = 'vectorstore'")
VER_OLD=$(q old "SELECT extversion FROM pg_extension WHERE extname = 'vectorstore'")
GUCS="worker_concurrency worker_batch_size worker_poll_interval worker_naptime launcher_naptime worker_max_attempts"
declare -A SET
for s in new old; do
  SET[$s]=$(for g in $GUCS; do printf '%s=%s ' "$g" "$(q $s "SHOW vectorstore.$g")"; done)
done
log "this build: extension $VER_NEW, emulator ${EMU[new]}, port ${PORT[new]}; ${SET[new]}"
log "0.1.0:      extension $VER_OLD, emulator ${EMU[old]}, port ${PORT[old]}; ${SET[old]}"

# run SIDE N -> "seconds_after_commit enqueue_seconds completed failed total"
run() {
  local s=$1 n=$2 store
  curl -s -X POST "${EMU[$s]}/_emulator/reset" >/dev/null
  store=$(q $s "SELECT (vectorstore.vs_store_create('bench-worker')).id")
  on $s <<EOF | tail -n 1 | tr '|' ' '
SELECT extract(epoch FROM clock_timestamp()) AS tb \gset
BEGIN;
SELECT count(vectorstore.vs_enqueue_upload('$store', 'row' || i || '.txt', public.bench_row(i)))
FROM generate_series(1, $n) i;
COMMIT;
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
DO \$\$
DECLARE pending bigint; deadline timestamptz := clock_timestamp() + interval '$TIMEOUT_S s';
BEGIN
  LOOP
    SELECT count(*) INTO pending FROM vectorstore.jobs
    WHERE vector_store_id = '$store' AND status NOT IN ('completed', 'failed', 'cancelled');
    EXIT WHEN pending = 0 OR clock_timestamp() > deadline;
    COMMIT;  -- hold no snapshot while waiting
    PERFORM pg_sleep(0.1);
  END LOOP;
END \$\$;
SELECT extract(epoch FROM (SELECT max(j.finished_at) FROM vectorstore.job j
                           WHERE j.vector_store_id = '$store')) - :t0, :t0 - :tb,
       count(*) FILTER (WHERE status = 'completed'), count(*) FILTER (WHERE status = 'failed'), count(*)
FROM vectorstore.jobs WHERE vector_store_id = '$store';
EOF
}

# requests SIDE -> "total file_batches_created route=count,…" the server answered
# since its reset (the store's creation included)
declare -A REQ
requests() {
  curl -s "${EMU[$1]}/_emulator/stats" | node -e 'let s = ""; process.stdin.on("data", (d) => s += d).on("end", () => {
    const r = JSON.parse(s).requests, n = (k) => Object.values(r[k] || {}).reduce((a, b) => a + b, 0);
    const all = Object.keys(r).sort().map((k) => k.replace(/ /, "_") + "=" + n(k));
    console.log(Object.keys(r).reduce((a, k) => a + n(k), 0), n("POST /v1/vector_stores/{id}/file_batches"), all.join(",")); })'
}

# warm-up (not counted): the worker of each database starts, connections open
for s in new old; do
  read -r t _ ok _ _ < <(run $s 50)
  log "warm-up $s: 50 jobs in $(fmt "$t") s, $ok completed"
done

# which library each worker runs (its memory map), as evidence
declare -A LIB WPID
TCK=$(getconf CLK_TCK)
# cpu SIDE -> seconds of CPU (user + system) the worker has used so far
cpu() { awk -v t="$TCK" '{sub(/^.*\) /, ""); print ($12 + $13) / t}' "/proc/${WPID[$1]}/stat" 2>/dev/null || echo nan; }
for s in new old; do
  WPID[$s]=$(q $s "SELECT pid FROM pg_stat_activity WHERE backend_type = 'vectorstore worker' AND datname = current_database() LIMIT 1")
  pid=${WPID[$s]}
  LIB[$s]=$(grep -o '/[^ ]*/vectorstore\.so' "/proc/$pid/maps" 2>/dev/null | head -n 1 || true)
  LIB[$s]=${LIB[$s]:-unknown}; log "worker of $s (pid $pid) runs ${LIB[$s]}"
done

# alternating: odd runs 0.1.0 first, even runs this build first
for run in $(seq $RUNS); do
  order="old new"; [ $((run % 2)) = 0 ] && order="new old"
  for s in $order; do
    log "run $run/$RUNS, $s: $ROWS jobs"
    c0=$(cpu $s)
    read -r t enq ok failed total < <(run $s $ROWS)
    c=$(awk -v a="$c0" -v b="$(cpu $s)" 'BEGIN {print b - a}'); add cpu.$s "$c"
    read -r nreq nb routes < <(requests $s)
    add t.$s "$t"; add enq.$s "$enq"; add ok.$s "$ok"; add failed.$s "$failed"; add nb.$s "$nb"; add req.$s "$nreq"
    REQ[$s.$run]=$routes
    log "  $(fmt "$t") s after COMMIT (enqueue $(fmt "$enq") s), $ok completed, $failed failed of $total; $nreq requests, $nb file batches; worker CPU $(fmt "$c") s"
  done
  add ratio "$(div "$(echo "${R[t.new]}" | awk '{print $NF}')" "$(echo "${R[t.old]}" | awk '{print $NF}')")"
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report --------------------------------------------------------------------------
OUT=$W/results-worker010.md
MED_NEW=$(med t.new); MED_OLD=$(med t.old)
RATIO=$(div "$MED_NEW" "$MED_OLD")
{
  echo "# Queue + worker ingestion: this build against 0.1.0"
  echo
  echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- Machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo) RAM, $(. /etc/os-release; echo "$PRETTY_NAME"); load average before the run $LOAD_BEFORE, after $LOAD_AFTER (shared with other engineers' test runs)"
  echo "- Command: \`${BENCH_CMD:-bash bench/worker010.sh}\` ($MODE: $RUNS runs per build, alternating, medians)"
  echo "- Versions: $(postgres --version); this build: extension $VER_NEW (commit ${VS_COMMIT:-?}); old: extension $VER_OLD built from the \`v0.1.0\` tag, unchanged, in a private copy of the same PostgreSQL"
  echo "- Libraries the workers had mapped (/proc/PID/maps): this build \`${LIB[new]}\`, 0.1.0 \`${LIB[old]}\`"
  echo "- Servers: one local emulator per cluster (\`--processing-delay-ms 50 --request-log 0\`, no latency), reset before each run"
  echo "- Worker settings, this build: ${SET[new]}"
  echo "- Worker settings, 0.1.0: ${SET[old]}"
  echo
  echo "Case: \`SELECT count(vs_enqueue_upload(store, 'row'||i||'.txt', bench_row(i))) FROM generate_series(1, $ROWS) i\`"
  echo "(rows of ~2 KB) in one transaction, then the \`vectorstore.jobs\` view polled every 100 ms (a"
  echo "PL/pgSQL loop in the same session, committing between polls) until no job of the store is left"
  echo "unfinished. Time from COMMIT (\`clock_timestamp()\` after it) to the last job's \`finished_at\` in"
  echo "\`vectorstore.job\` (both builds set it to \`now()\` in the transaction that records the job"
  echo "completed), so the poll's 0.1 s steps do not round the result."
  echo "Runs alternate (odd runs 0.1.0 first, even runs this build first) so that the load of the"
  echo "machine falls on both builds alike. Finished jobs stay in the table, as in a deployed database:"
  echo "run k starts with 50 + $ROWS × (k − 1) finished jobs (the warm-up's and earlier runs'), on both sides."
  echo
  echo "| Build | Seconds after COMMIT (median) | Rows/s | Enqueue transaction (s, median) | Completed (every run) | Failed | Worker CPU, user + system (s, median) | Requests to the server (every run) | File batches created (every run) |"
  echo "|---|---|---|---|---|---|---|---|---|"
  echo "| 0.1.0 (tag v0.1.0) | $(fmt "$MED_OLD") | $(awk -v r=$ROWS -v t="$MED_OLD" 'BEGIN {printf "%.0f", r / t}') | $(fmt "$(med enq.old)") |${R[ok.old]} |${R[failed.old]} | $(fmt "$(med cpu.old)") |${R[req.old]} |${R[nb.old]} |"
  echo "| this build | $(fmt "$MED_NEW") | $(awk -v r=$ROWS -v t="$MED_NEW" 'BEGIN {printf "%.0f", r / t}') | $(fmt "$(med enq.new)") |${R[ok.new]} |${R[failed.new]} | $(fmt "$(med cpu.new)") |${R[req.new]} |${R[nb.new]} |"
  echo
  echo "Ratio new/old of the medians: **${RATIO}×** the time (throughput $(div "$MED_OLD" "$MED_NEW")× 0.1.0's);"
  echo "median of the per-run ratios (run k of this build ÷ run k of 0.1.0): $(median ${R[ratio]})×."
  echo
  met=missed
  [ "$(awk -v a="$MED_NEW" -v b="$MED_OLD" 'BEGIN {print (a <= b) ? 1 : 0}')" = 1 ] &&
    [ "$(med ok.new)" = $ROWS ] && [ "$(med ok.old)" = $ROWS ] && met=met
  echo "Target (issue 10): throughput not lower than 0.1.0's, every job completed: **$met**."
  echo
  echo "## Every run (seconds, in run order)"
  echo
  echo "| Run | First | 0.1.0 after COMMIT | this build after COMMIT | new/old | 0.1.0 enqueue | this build enqueue | 0.1.0 worker CPU | this build worker CPU |"
  echo "|---|---|---|---|---|---|---|---|---|"
  read -r -a to <<<"${R[t.old]}"; read -r -a tn <<<"${R[t.new]}"
  read -r -a eo <<<"${R[enq.old]}"; read -r -a en <<<"${R[enq.new]}"; read -r -a ra <<<"${R[ratio]}"
  read -r -a co <<<"${R[cpu.old]}"; read -r -a cn <<<"${R[cpu.new]}"
  for i in $(seq 0 $((RUNS - 1))); do
    first=0.1.0; [ $(((i + 1) % 2)) = 0 ] && first="this build"
    echo "| $((i + 1)) | $first | $(fmt "${to[$i]}" 3) | $(fmt "${tn[$i]}" 3) | ${ra[$i]} | $(fmt "${eo[$i]}" 3) | $(fmt "${en[$i]}" 3) | $(fmt "${co[$i]}") | $(fmt "${cn[$i]}") |"
  done
  echo
  echo "Requests the server answered in each run (route=count, the store's creation included):"
  echo
  for i in $(seq $RUNS); do
    echo "- run $i, 0.1.0: \`${REQ[old.$i]}\`"
    echo "- run $i, this build: \`${REQ[new.$i]}\`"
  done
} >"$OUT"
cp "$OUT" "$B/results-worker010.md"
echo
cat "$OUT"

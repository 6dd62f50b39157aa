#!/usr/bin/env bash
# The project's test command: installs what it needs, builds, and runs every
# suite — the emulator's own tests, the SDK conformance and contract runs,
# the pg_regress suites (sql/, expected/) and the TAP suites (test/t/).
#
#   bash test/run.sh            everything
#   bash test/run.sh regress    one or more of: docs emulator contract contract_sql regress
#                               regress_azure tap fuzz valgrind
#   TAP=test/t/050_queue.pl REGRESS="00_setup 10_stores" bash test/run.sh tap regress
#                               only some TAP files / pg_regress suites
#   PG_CONFIG=/path/to/pg_config  build and test against another PostgreSQL installation
#   VS_TAP_JOBS=1               TAP files one at a time (default: the worker's files in one lane, the rest in another, at once)
#
# As root it runs the suites as the unprivileged "postgres" user (PostgreSQL
# refuses to run as root) in a copy of the tree. Leaves nothing running.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SUITES=("$@"); [ ${#SUITES[@]} -gt 0 ] || SUITES=(docs emulator contract contract_sql regress regress_azure tap fuzz valgrind)
case "${SUITES[0]}" in -h|--help) sed -n '2,14p' "$0"; exit 0;; esac
export PG_CONFIG=${PG_CONFIG:-pg_config}

if [ "${VS_INNER:-}" != 1 ]; then
  bash "$ROOT/test/setup.sh"
  make -C "$ROOT" -s -j2 >/dev/null
  if [ "$(id -u)" = 0 ]; then make -C "$ROOT" -s install >/dev/null; else sudo make -C "$ROOT" -s install PG_CONFIG="$PG_CONFIG" >/dev/null; fi
  if [ "$(id -u)" = 0 ]; then
    WORK=$(mktemp -d /tmp/vectorstore-test.XXXXXX)
    cp -a "$ROOT/." "$WORK/tree"
    chown -R postgres: "$WORK"
    trap 'rm -rf "$WORK"' EXIT
    rc=0
    runuser -u postgres -- env VS_INNER=1 CI="${CI:-}" PG_CONFIG="$PG_CONFIG" \
      TAP="${TAP:-}" REGRESS="${REGRESS:-}" VS_SEEDS="${VS_SEEDS:-}" VS_TAP_JOBS="${VS_TAP_JOBS:-}" \
      PATH="$PATH" HOME="$WORK" bash "$WORK/tree/test/run.sh" "${SUITES[@]}" || rc=$?
    # keep the logs and pg_regress results for inspection (test/output/)
    rm -rf "$ROOT/test/output"; cp -a "$WORK/tree/test/output" "$ROOT/test/" 2>/dev/null || true
    exit $rc
  fi
  VS_INNER=1 exec bash "$0" "${SUITES[@]}"
fi

# ---- inside: unprivileged, in a tree we may write to ----------------------
VS_ROOT=$ROOT
PGBIN=$("$PG_CONFIG" --bindir)
export PGBIN
. "$ROOT/test/lib.sh"
trap vs_cleanup EXIT
cd "$ROOT"
OUT=$ROOT/test/output; rm -rf "$OUT"; mkdir -p "$OUT"
passed=0; failed=0; failures=()

record() {  # record NAME PASSED FAILED
  passed=$((passed + $2)); failed=$((failed + $3))
  [ "$3" = 0 ] || failures+=("$1")
}

run_docs() {
  echo "== docs: every public SQL function has a README entry"
  local fn ok=0 bad=0
  for fn in $(grep -ohE 'CREATE FUNCTION (vectorstore\.)?vs_[a-z_]+' sql/install/*.sql | awk '{print $3}' | sed 's/^vectorstore\.//' | sort -u); do
    if grep -q "\`$fn(" README.md; then ok=$((ok + 1)); else bad=$((bad + 1)); echo "  not in README: $fn"; fi
  done
  # a check that finds nothing to check is a failure, not a pass
  [ "$ok" -gt 0 ] || { bad=$((bad + 1)); echo "  no public function found in sql/install/"; }
  echo "  $ok documented, $bad missing"
  record docs "$ok" "$bad"
}

run_emulator() {
  echo "== emulator: own tests"
  local log=$OUT/emulator.log
  # the contract run is its own suite below
  if CONTRACT=0 bash emulator/test/run.sh >"$log" 2>&1; then :; fi
  tail -n 3 "$log"
  local line; line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1 || true)
  if [ -n "$line" ]; then
    record emulator "$(echo "$line" | awk '{print $1}')" "$(echo "$line" | awk '{print $3}')"
  else
    record emulator 0 1
  fi
}

run_contract() {
  echo "== contract: official SDK through the validating proxy"
  local log=$OUT/contract.log
  if bash emulator/test/contract.sh >"$log" 2>&1; then
    tail -n 3 "$log"; record contract 1 0
  else
    tail -n 30 "$log"; record contract 0 1
  fi
}

# The extension's own calls through the validating proxy built from the spec
run_contract_sql() {
  echo "== contract_sql: every SQL function through the validating proxy (prism --errors)"
  local dir=$OUT/contract-sql; mkdir -p "$dir"
  local spec=$ROOT/test/contract/spec/openai.vector-stores.yaml
  [ -f "$spec" ] || { echo "  spec not found: $spec"; record contract_sql 0 1; return; }
  vs_start_emulator "$dir" --processing-delay-ms 20
  local pport; pport=$(vs_free_port)
  emulator/test/node_modules/.bin/prism proxy "$spec" "$VS_EMU_URL/v1" --errors \
    -p "$pport" -h 127.0.0.1 >"$dir/prism.log" 2>&1 &
  VS_PIDS+=($!)
  for _ in $(seq 1 300); do grep -q "Prism is listening" "$dir/prism.log" && break; sleep 0.1; done
  vs_start_cluster "$dir/pg" "shared_preload_libraries = 'vectorstore'" \
    "vectorstore.base_url = 'http://127.0.0.1:$pport'" "vectorstore.api_key = 'sk-contract'"
  local rc=0
  psql -X -q -c 'CREATE EXTENSION vectorstore' >"$dir/psql.log" 2>&1 || rc=1
  psql -X -q -f test/contract/calls.sql >>"$dir/psql.log" 2>&1 || rc=1
  local ok; ok=$(grep -c 'NOTICE:  ok: ' "$dir/psql.log" || true)
  # any violation in Prism's log fails the run (none is allowed here)
  sed -n '/Prism is listening/,$p' "$dir/prism.log" | grep -aE '✖|⚠|[Vv]iolation' >"$dir/violations" || true
  echo "  $ok calls checked, $(wc -l <"$dir/violations") violation lines in Prism's log"
  if [ "$rc" != 0 ] || [ -s "$dir/violations" ]; then
    tail -15 "$dir/psql.log"; head -20 "$dir/violations"
    record contract_sql "$ok" 1
  else
    record contract_sql "$ok" 0
  fi
  vs_cleanup
}

run_regress() {
  local name=${1:-regress} azure=${2:-0}
  echo "== $name: pg_regress suites against the emulator$([ "$azure" = 1 ] && echo ' in Azure OpenAI mode')"
  local dir=$OUT/$name; mkdir -p "$dir"
  # make installcheck starts its own local server and points the suites at it
  vs_start_cluster "$dir/pg" "shared_preload_libraries = 'vectorstore'"
  local log=$dir/pg_regress.log
  rm -rf results regression.diffs regression.out
  VS_AZURE=$azure make -s installcheck PGHOST="$PGHOST" PGPORT="$PGPORT" ${REGRESS:+VS_REGRESS="$REGRESS"} >"$log" 2>&1 || true
  grep -E '^(test| +test| ok| not ok)|tests (passed|failed)' "$log" || true
  local ok bad
  ok=$(grep -cE '\.\.\. ok' "$log" || true)
  bad=$(grep -cE '\.\.\. FAILED|\.\.\. failed' "$log" || true)
  if [ "$ok" = 0 ] && [ "$bad" = 0 ]; then bad=1; tail -20 "$log"; fi
  [ -d results ] && cp -a results "$dir/"
  if [ -f regression.diffs ]; then cp regression.diffs "$dir/"; [ "$bad" = 0 ] || head -150 regression.diffs; fi
  record "$name" "$ok" "$bad"
  vs_cleanup
}

# The same suites, expected files and all, against the emulator's Azure
# OpenAI mode (--azure --api-key): base URL .../openai, the settings
# credential with auth api-key and an api-version query (test/installcheck.sh)
run_regress_azure() { run_regress regress_azure 1; }

run_tap() {
  echo "== tap: TAP suites (PostgreSQL::Test::Cluster)"
  local log=$OUT/tap.log
  if ls test/t/*.pl >/dev/null 2>&1; then
    # Two lanes at once (VS_TAP_JOBS=1: one after the other): the files
    # that run the worker (and time what it does for whom) one after
    # another in one lane, never two together, and the others in the other,
    # so a worker file shares the machine with one other file at most. A
    # worker file that checks what is done, not how soon, says so
    # ("# tap-lane: shared") and runs in the other lane.
    local f worker=() other=() lane
    for f in ${TAP:-test/t/*.pl}; do
      if grep -qE 'VsWorkerTest|worker_naptime|vs_enqueue|vectorstore worker' "$f" &&
         ! grep -q '^# tap-lane: shared' "$f"; then
        worker+=("$f"); else other+=("$f"); fi
    done
    rm -rf tmp_check && mkdir -p tmp_check
    lane() {  # lane NAME FILES...
      local name=$1; shift
      : >"$OUT/tap-$name.log"
      [ $# -gt 0 ] || return 0
      VS_EMULATOR_BIN=$ROOT/emulator/vectorstore-emulator \
      make -s prove-only PROVE_FLAGS=--timer PROVE_TESTS="$*" >"$OUT/tap-$name.log" 2>&1 || true
    }
    if [ "${VS_TAP_JOBS:-2}" = 1 ]; then
      lane worker "${worker[@]}"; lane other "${other[@]}"
    else
      lane worker "${worker[@]}" & lane other "${other[@]}" & wait
    fi
    cat "$OUT/tap-worker.log" "$OUT/tap-other.log" >"$log"
    local lanes=0; [ ${#worker[@]} = 0 ] || lanes=$((lanes + 1)); [ ${#other[@]} = 0 ] || lanes=$((lanes + 1))
    [ -d tmp_check/log ] && cp -a tmp_check/log "$OUT/tap-logs"
    # known open attacks (TODO tests: reported, not counted as failures)
    grep -h 'not ok .* # TODO' tmp_check/log/regress_log_* 2>/dev/null | sed 's/^\[[^]]*\] //; s/^/  known open: /' || true
    grep -E '^(\[[0-9:]+\] )?test/t/|^Result|^Files=|Failed [0-9]+/' "$log" || true
    # count subtests: Tests=N from prove's summary, minus the failed ones
    local total badsub badfiles
    total=$(sed -n 's/^Files=[0-9]*, Tests=\([0-9]*\),.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
    badsub=$( (grep -oE 'Failed [0-9]+/[0-9]+ subtests' "$log" || true) | awk '{s+=$2} END {print s+0}')
    badfiles=$(grep -cE 'No subtests run|Bad plan|Dubious' "$log" || true)
    local okf=$(( ${total:-0} - badsub )) badf=$(( badsub + badfiles ))
    [ "$(grep -c '^Result: PASS' "$log" || true)" = "$lanes" ] || [ "$badf" != 0 ] || badf=1
    [ "$badf" = 0 ] || tail -60 "$log"
    record tap "$okf" "$badf"
  fi
}

# ---- reliability/security suites (test/fuzz/, test/valgrind/) ------------
run_fuzz() {
  echo "== fuzz: libFuzzer over response parsing and filter/attribute validation"
  local log=$OUT/fuzz.log
  bash test/fuzz/run.sh "$OUT/fuzz" >"$log" 2>&1 || true
  grep -E '^fuzz ' "$log" || tail -20 "$log"
  local line; line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1 || true)
  if [ -n "$line" ]; then
    record fuzz "$(echo "$line" | awk '{print $1}')" "$(echo "$line" | awk '{print $3}')"
  else
    tail -20 "$log"; record fuzz 0 1
  fi
}

# valgrind: about a minute; part of the default run (the issue asks for it)
run_valgrind() {
  echo "== valgrind: regress subset with every backend under memcheck"
  local log=$OUT/valgrind.log
  VS_ROOT=$ROOT bash test/valgrind/run.sh "$OUT/valgrind" >"$log" 2>&1 || true
  grep -E '^valgrind:|^test |^ok |^not ok ' "$log" || true
  local line; line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1 || true)
  if [ -n "$line" ]; then
    record valgrind "$(echo "$line" | awk '{print $1}')" "$(echo "$line" | awk '{print $3}')"
    [ "$(echo "$line" | awk '{print $3}')" = 0 ] || tail -40 "$log"
  else
    tail -20 "$log"; record valgrind 0 1
  fi
}

for s in "${SUITES[@]}"; do
  case "$s" in
    docs|emulator|contract|contract_sql|regress|regress_azure|tap|fuzz|valgrind)
      t0=$SECONDS; "run_$s"; echo "   ($s: $((SECONDS - t0)) s)" ;;
    *) echo "unknown suite $s"; exit 2 ;;
  esac
done

echo
[ ${#failures[@]} = 0 ] || echo "failed suites: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]

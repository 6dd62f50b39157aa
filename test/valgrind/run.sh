#!/usr/bin/env bash
# The regression suites that exercise every resource (stores, files, store
# files, search: 00 10 20 30 40) against a postmaster running under valgrind
# memcheck (every backend is a forked child, so all of them run under it).
# Fails on any error or definite/indirect leak whose stack goes through
# vectorstore.so; PostgreSQL's own noise (and its "possibly lost" blocks,
# pointers into the middle of memory contexts) is not counted.
#
# Limits: Debian's PostgreSQL is built without USE_VALGRIND, so palloc'd
# memory is not instrumented per chunk: overruns inside a memory context
# block go unseen (the fuzz suite runs json.c/filters.c under ASan for
# that). What is seen: every malloc'd byte (libcurl, curl_slist, anything
# the extension mallocs), reads of uninitialised memory, invalid frees,
# and leaks at backend exit. Takes a few minutes.
#
#   VS_ROOT=... bash test/valgrind/run.sh OUTDIR     prints "N passed, N failed"
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VS_ROOT=${VS_ROOT:-$(cd "$HERE/../.." && pwd)}
OUT=${1:-$(mktemp -d)}; mkdir -p "$OUT"
. "$VS_ROOT/test/lib.sh"
SUITES=${VALGRIND_SUITES:-"00_setup 10_stores 20_files 30_store_files 40_search"}
VG_PID=

cleanup() {
  [ -n "$VG_PID" ] && { "$PGBIN/pg_ctl" -D "$OUT/data" -m fast -w -t 120 stop >/dev/null 2>&1 || kill "$VG_PID" 2>/dev/null; wait "$VG_PID" 2>/dev/null; }
  vs_cleanup
}
trap cleanup EXIT

if ! command -v valgrind >/dev/null; then
  echo "valgrind: not installed (test/setup.sh installs it)"; echo "0 passed, 1 failed"; exit 1
fi
vs_start_emulator "$OUT" --processing-delay-ms 20 || { echo "0 passed, 1 failed"; exit 1; }
rm -rf "$OUT/data" "$OUT"/vg.*.log
"$PGBIN/initdb" -D "$OUT/data" -A trust -U "$(id -un)" --no-sync >"$OUT/initdb.log" 2>&1 || { cat "$OUT/initdb.log"; exit 1; }
PGPORT=$(vs_free_port)
cat >>"$OUT/data/postgresql.conf" <<CONF
listen_addresses = ''
port = $PGPORT
unix_socket_directories = '$OUT'
fsync = off
max_worker_processes = 16
shared_preload_libraries = 'vectorstore'
vectorstore.base_url = '$VS_EMU_URL/v1'
vstest.emulator_url = '$VS_EMU_URL'
vectorstore.progress_notice_interval = 0
CONF
export PGHOST=$OUT PGPORT PGDATABASE=postgres

valgrind --quiet --trace-children=yes --trace-children-skip='*/sh,*/bash,*/curl,*/dash' \
  --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
  --error-limit=no --num-callers=40 --suppressions="$HERE/postgres.supp" \
  --log-file="$OUT/vg.%p.log" \
  "$PGBIN/postgres" -D "$OUT/data" >"$OUT/server.log" 2>&1 &
VG_PID=$!
for _ in $(seq 1 240); do "$PGBIN/pg_isready" -q && break; sleep 0.5; done
"$PGBIN/pg_isready" -q || { echo "postgres under valgrind did not start"; tail -20 "$OUT/server.log"; echo "0 passed, 1 failed"; exit 1; }

PGXS_DIR=$(dirname "$(pg_config --pgxs)")/..
"$PGXS_DIR/test/regress/pg_regress" --inputdir="$VS_ROOT" --outputdir="$OUT" \
  --load-extension=vectorstore --dbname=contrib_regression $SUITES >"$OUT/pg_regress.log" 2>&1
regress_rc=$?
grep -E '^(test| +test| ok| not ok)|tests (passed|failed)' "$OUT/pg_regress.log"

# stop: every backend exits and writes its leak report
"$PGBIN/pg_ctl" -D "$OUT/data" -m fast -w -t 180 stop >/dev/null 2>&1
wait "$VG_PID" 2>/dev/null; VG_PID=

# an error record is a block of lines between blank lines of one log;
# count those whose stack mentions vectorstore.so
bad=$(cat "$OUT"/vg.*.log 2>/dev/null | awk '
  /^==[0-9]+== $/ { if (blk ~ /vectorstore\.so/ && blk ~ /(Invalid|uninitialised|definitely lost|indirectly lost|Mismatched|overlap|Syscall param)/) { n++; print blk > "/dev/stderr" } blk=""; next }
  { blk = blk "\n" $0 }
  END { if (blk ~ /vectorstore\.so/ && blk ~ /(Invalid|uninitialised|definitely lost|indirectly lost|Mismatched|overlap|Syscall param)/) { n++; print blk > "/dev/stderr" } print n+0 }' 2>"$OUT/vectorstore-errors.txt")
logs=$(ls "$OUT"/vg.*.log 2>/dev/null | wc -l)
all=$(cat "$OUT"/vg.*.log 2>/dev/null | grep -cE '^==[0-9]+== (Invalid|Conditional|Use of uninit|Syscall param|Mismatched|[0-9,]+ .*bytes in .* blocks are (definitely|indirectly))' || true)
echo "valgrind: $logs process logs; $all error records in all; $bad through vectorstore.so"
[ "$bad" = 0 ] || head -100 "$OUT/vectorstore-errors.txt"
p=0; f=0
if [ "$bad" = 0 ]; then p=$((p + 1)); else f=$((f + 1)); fi
if [ "$regress_rc" = 0 ]; then p=$((p + 1)); else f=$((f + 1)); echo "regress under valgrind failed:"; head -60 "$OUT/regression.diffs" 2>/dev/null; fi
echo "$p passed, $f failed"
[ "$f" = 0 ]

#!/usr/bin/env bash
# Fuzz the extension's parsing of API responses and its validation of
# user-supplied JSON with libFuzzer + ASan/UBSan, outside the server (see
# pg_shim.c). Each target runs for FUZZ_SECONDS (default 20) starting from
# its corpus in test/fuzz/corpus/<target>/ (new inputs go to a scratch
# directory, so the repository's corpus only changes by hand). A crash,
# a sanitizer report or an unexpected SQLSTATE fails the run; the input is
# kept as OUT/crash-*.
#
#   bash test/fuzz/run.sh [OUT]        prints "N passed, N failed"
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../../src" && pwd)
OUT=${1:-$(mktemp -d)}; mkdir -p "$OUT"
SECONDS_EACH=${FUZZ_SECONDS:-20}
CC=${FUZZ_CC:-clang-14}
PG_CONFIG=${PG_CONFIG:-pg_config}
PGI=$($PG_CONFIG --includedir-server)
PGLIB=$($PG_CONFIG --libdir)
# Debian keeps libpgcommon.a/libpgport.a in the server's lib directory
[ -f "$PGLIB/libpgcommon.a" ] || PGLIB=$($PG_CONFIG --pkglibdir)
TARGETS=(response filters)

CF=(-g -O1 -w -fsanitize=address,undefined -fno-sanitize-recover=undefined
    -DVS_VERSION='"fuzz"' -I"$PGI" -I"$SRC" -I"$HERE")
build() {
  local b=$OUT/build; mkdir -p "$b"
  for f in json filters validate; do
    "$CC" -c "${CF[@]}" -fsanitize=fuzzer-no-link "$SRC/$f.c" -o "$b/$f.o" || return 1
  done
  for f in pg_shim pg_unreachable; do
    "$CC" -c "${CF[@]}" "$HERE/$f.c" -o "$b/$f.o" || return 1
  done
  for t in "${TARGETS[@]}"; do
    "$CC" "${CF[@]}" -fsanitize=fuzzer "$HERE/fuzz_$t.c" "$b"/{json,filters,validate,pg_shim,pg_unreachable}.o \
      "$PGLIB/libpgcommon.a" "$PGLIB/libpgport.a" -lcjson -lm -o "$b/fuzz_$t" || return 1
  done
}

if ! command -v "$CC" >/dev/null; then
  echo "fuzz: $CC not found (test/setup.sh installs clang-14)"; echo "0 passed, 1 failed"; exit 1
fi
if ! build >"$OUT/build.log" 2>&1; then
  cat "$OUT/build.log"; echo "0 passed, 1 failed"; exit 1
fi

passed=0; failed=0; pids=()
for t in "${TARGETS[@]}"; do
  mkdir -p "$OUT/work-$t"
  # the two targets run side by side (one core each)
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
    "$OUT/build/fuzz_$t" -max_total_time="$SECONDS_EACH" -max_len=65536 -timeout=10 \
      -rss_limit_mb=1024 -print_final_stats=1 -artifact_prefix="$OUT/crash-$t-" \
      "$OUT/work-$t" "$HERE/corpus/$t" >"$OUT/$t.log" 2>&1 &
  pids+=($!)
done
for i in "${!TARGETS[@]}"; do
  t=${TARGETS[$i]}
  if wait "${pids[$i]}"; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$OUT/$t.log")
    echo "fuzz $t: ok, ${runs:-?} inputs in ${SECONDS_EACH}s"; passed=$((passed + 1))
  else
    echo "fuzz $t: FAILED"; grep -E 'ERROR|unexpected error|pg_shim|runtime error|SUMMARY|Test unit written' "$OUT/$t.log" | head -20
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]

#!/usr/bin/env bash
# run.sh - builds the emulator, starts it on 127.0.0.1 (--port 0 --port-file),
# runs the behavioural tests, the SDK conformance script against it and the
# SDK against an Azure-mode instance (sdk-azure.mjs starts its own), then
# the Prism contract test (CONTRACT=0 skips it) and, with VALGRIND=1, the
# valgrind run.  Prints "N passed, N failed"; exits non-zero on any failure.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
EMU_DIR=$(dirname "$HERE")
BIN=$EMU_DIR/vectorstore-emulator
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vse-run.XXXXXX")
EMU_PID=
PASS=0; FAIL=0
cleanup() {
	[ -n "$EMU_PID" ] && kill "$EMU_PID" 2>/dev/null && wait "$EMU_PID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

make -s -C "$EMU_DIR" || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
if [ ! -d "$HERE/node_modules/openai" ] || [ ! -x "$HERE/node_modules/.bin/prism" ]; then
	(cd "$HERE" && npm ci --no-audit --no-fund >"$WORK/npm.log" 2>&1) ||
		{ cat "$WORK/npm.log"; echo "0 passed, 1 failed"; exit 1; }
fi

"$BIN" --port 0 --port-file "$WORK/port" --max-body-bytes 1048576 --quiet >"$WORK/emu.out" 2>"$WORK/emu.err" &
EMU_PID=$!
for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.05; done
[ -s "$WORK/port" ] || { echo "emulator did not start"; cat "$WORK/emu.err"; exit 1; }
PORT=$(cat "$WORK/port")
echo "emulator on 127.0.0.1:$PORT (pid $EMU_PID)"

# runs one step; a step prints "N passed, N failed" as its last line
step() {
	local name=$1; shift
	echo "== $name"
	"$@" >"$WORK/step.log" 2>&1
	local rc=$?
	grep -v "^\s*$" "$WORK/step.log" | grep -E "FAIL|SKIP|UNEXPECTED|probe|prism:" | head -50
	local line p f
	line=$(grep -E "^[0-9]+ passed, [0-9]+ failed" "$WORK/step.log" | tail -1)
	p=$(echo "$line" | awk '{print $1}'); f=$(echo "$line" | awk '{print $3}')
	p=${p:-0}; f=${f:-0}
	if [ $rc -ne 0 ] && [ "$f" = 0 ]; then f=1; tail -20 "$WORK/step.log"; fi
	echo "   $name: $p passed, $f failed"
	PASS=$((PASS + p)); FAIL=$((FAIL + f))
}

step "emulator behaviour" env EMULATOR_URL="http://127.0.0.1:$PORT" EMU_BIN="$BIN" node "$HERE/emulator-tests.mjs"
step "sdk conformance" env OPENAI_BASE_URL="http://127.0.0.1:$PORT/v1" EMULATOR_URL="http://127.0.0.1:$PORT" node "$HERE/sdk-conformance.mjs"
step "sdk azure mode" env EMU_BIN="$BIN" node "$HERE/sdk-azure.mjs"
if [ "${CONTRACT:-1}" != 0 ]; then
	step "contract (prism proxy)" "$HERE/contract.sh"
fi
if ! kill -0 "$EMU_PID" 2>/dev/null; then
	echo "emulator crashed"; FAIL=$((FAIL + 1))
fi
if [ "${VALGRIND:-0}" = 1 ]; then
	step "valgrind" "$HERE/valgrind.sh"
fi
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]

#!/usr/bin/env bash
# valgrind.sh - runs the emulator under valgrind (memcheck, full leak check)
# through the behavioural tests (all fault kinds, incl. stall and slow_body) and
# the SDK conformance script, then stops it with SIGTERM and requires a clean
# exit: no memcheck errors, no definite/indirect leaks (--error-exitcode=99).
# A second instance, started with --azure --api-key --latency --rate-limit
# --lenient, runs the Azure SDK script (authentication, api-version, the
# request log) and must exit as cleanly.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
EMU_DIR=$(dirname "$HERE")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vse-vg.XXXXXX")
VG_PID=
trap '[ -n "$VG_PID" ] && kill "$VG_PID" 2>/dev/null; rm -rf "$WORK"' EXIT
make -s -C "$EMU_DIR" || exit 1

valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
	--log-file="$WORK/vg.log" "$EMU_DIR/vectorstore-emulator" --port 0 --port-file "$WORK/port" \
	--max-body-bytes 1048576 --quiet >"$WORK/out" 2>&1 &
VG_PID=$!
for _ in $(seq 300); do [ -s "$WORK/port" ] && break; sleep 0.1; done
PORT=$(cat "$WORK/port")
P=0; F=0
for t in emulator-tests sdk-conformance; do
	EMULATOR_URL="http://127.0.0.1:$PORT" OPENAI_BASE_URL="http://127.0.0.1:$PORT/v1" \
		node "$HERE/$t.mjs" >"$WORK/$t.log" 2>&1
	line=$(grep -E "^[0-9]+ passed" "$WORK/$t.log" | tail -1)
	echo "under valgrind, $t: $line"
	grep FAIL "$WORK/$t.log" | head -20
	P=$((P + $(echo "$line" | awk '{print $1}'))); F=$((F + $(echo "$line" | awk '{print $3}')))
done
kill -TERM "$VG_PID"
wait "$VG_PID"
RC=$?
VG_PID=
grep -E "ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|still reachable|All heap blocks" "$WORK/vg.log" | sed 's/^==[0-9]*== /   /'
if [ $RC -ne 0 ]; then
	echo "valgrind: emulator exit status $RC"
	cat "$WORK/vg.log" | head -80
	F=$((F + 1))
else
	echo "valgrind: clean exit, no errors"
	P=$((P + 1))
fi

# second instance: Azure mode with a key, latency, a rate limit, leniency
rm -f "$WORK/port"
valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
	--log-file="$WORK/vg2.log" "$EMU_DIR/vectorstore-emulator" --port 0 --port-file "$WORK/port" \
	--azure --api-key sk-vg-azure --latency search=5,default=1 --rate-limit list=1000 --lenient \
	--request-log 50 --quiet >"$WORK/out2" 2>&1 &
VG_PID=$!
for _ in $(seq 300); do [ -s "$WORK/port" ] && break; sleep 0.1; done
PORT=$(cat "$WORK/port")
AZURE_EMULATOR_URL="http://127.0.0.1:$PORT" AZURE_API_KEY=sk-vg-azure node "$HERE/sdk-azure.mjs" >"$WORK/az.log" 2>&1
line=$(grep -E "^[0-9]+ passed" "$WORK/az.log" | tail -1)
echo "under valgrind, sdk-azure: $line"
grep FAIL "$WORK/az.log" | head -20
P=$((P + $(echo "$line" | awk '{print $1}'))); F=$((F + $(echo "$line" | awk '{print $3}')))
kill -TERM "$VG_PID"
wait "$VG_PID"
RC=$?
VG_PID=
grep -E "ERROR SUMMARY|definitely lost|indirectly lost|All heap blocks" "$WORK/vg2.log" | sed 's/^==[0-9]*== /   /'
if [ $RC -ne 0 ]; then
	echo "valgrind (azure instance): emulator exit status $RC"
	head -80 "$WORK/vg2.log"
	F=$((F + 1))
else
	echo "valgrind (azure instance): clean exit, no errors"
	P=$((P + 1))
fi
echo "$P passed, $F failed"
[ "$F" -eq 0 ]

#!/usr/bin/env bash
# bench/run.sh - starts the emulator, loads a small store (20 short text
# files, ~60 chunks), and measures with wrk: a small search and a GET of the
# store.  Usage: emulator/bench/run.sh [seconds]
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
EMU_DIR=$(dirname "$HERE")
D=${1:-5}
W=$(mktemp -d)
make -s -C "$EMU_DIR"
"$EMU_DIR/vectorstore-emulator" --port 0 --port-file "$W/port" --quiet --processing-delay-ms 0 --request-log 0 >/dev/null &
PID=$!
trap 'kill $PID; rm -rf "$W"' EXIT
for _ in $(seq 100); do [ -s "$W/port" ] && break; sleep 0.05; done
B=http://127.0.0.1:$(cat "$W/port")
VS=$(curl -s -H 'content-type: application/json' -d '{"name":"bench"}' "$B/v1/vector_stores" | sed 's/.*"id":"\([^"]*\)".*/\1/;s/",.*//')
for i in $(seq 20); do
	yes "Document $i explains the refund policy, shipping times, damaged items and returns. Line $i of the handbook." | head -40 >"$W/doc$i.txt"
	F=$(curl -s -F purpose=assistants -F "file=@$W/doc$i.txt" "$B/v1/files" | sed 's/{"id":"\([^"]*\)".*/\1/')
	curl -s -o /dev/null -H 'content-type: application/json' -d "{\"file_id\":\"$F\",\"chunking_strategy\":{\"type\":\"static\",\"static\":{\"max_chunk_size_tokens\":400,\"chunk_overlap_tokens\":100}}}" "$B/v1/vector_stores/$VS/files"
done
sleep 0.2
echo "store $VS: $(curl -s "$B/v1/vector_stores/$VS" | grep -o '"completed":[0-9]*' | head -1)"
echo "== search: wrk -t2 -c8 -d${D}s -s bench/search.lua"
VS_ID=$VS wrk -t2 -c8 -d"${D}s" -s "$HERE/search.lua" "$B"
echo "== get: wrk -t2 -c8 -d${D}s -s bench/get.lua"
VS_ID=$VS wrk -t2 -c8 -d"${D}s" -s "$HERE/get.lua" "$B"

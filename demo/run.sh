#!/usr/bin/env bash
# The demo: installs what it needs, starts the local server (or, with
# OPENAI_API_KEY set, uses the real API) and a throwaway PostgreSQL with the
# extension and its worker, then runs demo/demo.sql: a store, rows uploaded
# as files, searches joined back to the table, a table kept in sync by the
# worker. Leaves nothing running.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

if [ "${VS_INNER:-}" != 1 ]; then
  bash "$ROOT/test/setup.sh"
  make -C "$ROOT" -s -j2 >/dev/null
  if [ "$(id -u)" = 0 ]; then make -C "$ROOT" -s install >/dev/null; else sudo make -C "$ROOT" -s install >/dev/null; fi
  if [ "$(id -u)" = 0 ]; then
    # PostgreSQL refuses to run as root: run the rest as "postgres"
    WORK=$(mktemp -d /tmp/vectorstore-demo.XXXXXX)
    cp -a "$ROOT/emulator/vectorstore-emulator" "$ROOT/demo" "$ROOT/test" "$WORK/"
    chown -R postgres: "$WORK"
    trap 'rm -rf "$WORK"' EXIT
    runuser -u postgres -- env VS_INNER=1 VS_ROOT="$WORK" PATH="$PATH" HOME="$WORK" \
      OPENAI_API_KEY="${OPENAI_API_KEY:-}" VS_EMULATOR_BIN="$WORK/vectorstore-emulator" \
      bash "$WORK/demo/run.sh"
    exit $?
  fi
  export VS_ROOT=$ROOT
fi

. "$VS_ROOT/test/lib.sh"
trap vs_cleanup EXIT
WORKDIR=$(mktemp -d)
conf=("shared_preload_libraries = 'vectorstore'")
if [ -n "${OPENAI_API_KEY:-}" ]; then
  echo "demo: using the real OpenAI API (OPENAI_API_KEY is set)"
else
  vs_start_emulator "$WORKDIR" --processing-delay-ms 200
  echo "demo: local server on $VS_EMU_URL (set OPENAI_API_KEY to use the real API)"
  conf+=("vectorstore.base_url = '$VS_EMU_URL/v1'")
fi
vs_start_cluster "$WORKDIR/pg" "${conf[@]}"
cd "$VS_ROOT"
psql -X -q -f demo/demo.sql
echo
echo "demo: done; stopping the local server and the throwaway cluster"

#!/usr/bin/env bash
# `make installcheck`: the pg_regress suites (sql/*.sql, expected/*.out)
# against an existing server, as PGXS users expect (PGHOST, PGPORT, PGUSER
# choose it; the user must be a superuser, as for any extension's
# installcheck). Requests never go to the server's own vectorstore.base_url:
# this script starts the local server (emulator/) on a free loopback port,
# points every session of the suites at it through PGOPTIONS (with a dummy
# key, so no real key travels even to loopback), and stops it at the end.
# Each suite also checks for itself that it runs under this harness
# (sql/include/harness.sql) and sends nothing otherwise.
#
#   make installcheck                       every suite
#   make installcheck VS_REGRESS="00_setup 10_stores"
#   VS_AZURE=1 make installcheck            the same suites, the same expected files, against
#                                           the local server's Azure OpenAI mode (test/run.sh regress_azure)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-pg_config}
PGXS_DIR=$(dirname "$("$PG_CONFIG" --pgxs)")/..
SUITES=("$@")
[ ${#SUITES[@]} -gt 0 ] || { echo "installcheck: no suites given"; exit 2; }

[ -x "$ROOT/emulator/vectorstore-emulator" ] || make -s -C "$ROOT/emulator"
dir=$(mktemp -d)
emu_pid=
cleanup() { [ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
# VS_AZURE=1: the same suites against the local server's Azure OpenAI mode
# (base URL .../openai, the api-key header, a required api-version query),
# through the settings credential's auth and query
azure=()
# (the key is not checked there, so that the suites' own credentials, with keys
# of their own, work in both modes; test/t/020_credentials.pl checks Azure's keys)
[ "${VS_AZURE:-}" = 1 ] && azure=(--azure)
"$ROOT/emulator/vectorstore-emulator" --port 0 --port-file "$dir/port" --quiet \
  --processing-delay-ms 20 "${azure[@]}" >"$dir/emulator.log" 2>&1 &
emu_pid=$!
for _ in $(seq 1 100); do [ -s "$dir/port" ] && break; sleep 0.05; done
[ -s "$dir/port" ] || { echo "installcheck: the local server did not start"; cat "$dir/emulator.log"; exit 1; }
url="http://127.0.0.1:$(cat "$dir/port")"

# progress NOTICEs depend on timing: none in the suites' output (014_progress tests them)
common="-c vstest.emulator_url=$url -c vectorstore.api_key=sk-installcheck -c vectorstore.credential= -c vectorstore.progress_notice_interval=0"
if [ "${VS_AZURE:-}" = 1 ]; then
  # the settings credential as Azure OpenAI's: the api-key header, an api-version
  # query (PGOPTIONS splits on spaces: the JSON has none)
  export PGOPTIONS="${PGOPTIONS:-} -c vectorstore.base_url=$url/openai $common -c vectorstore.auth=api-key -c vectorstore.query={\"api-version\":\"2025-04-01-preview\"}"
else
  export PGOPTIONS="${PGOPTIONS:-} -c vectorstore.base_url=$url/v1 $common"
fi
"$PGXS_DIR/test/regress/pg_regress" --inputdir="$ROOT" --bindir="$("$PG_CONFIG" --bindir)" \
  --load-extension=vectorstore --dbname=contrib_regression "${SUITES[@]}"

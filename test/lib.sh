# Shell helpers shared by test/run.sh, demo/run.sh and bench/run.sh:
# a local emulator and a throwaway PostgreSQL cluster, both stopped by
# vs_cleanup (register it with `trap vs_cleanup EXIT`). Source, don't run.

PGBIN=${PGBIN:-$("${PG_CONFIG:-pg_config}" --bindir)}
VS_PIDS=()
VS_CLUSTERS=()

vs_free_port() {
  perl -MIO::Socket::INET -e \
    '$s=IO::Socket::INET->new(Listen=>1,LocalAddr=>"127.0.0.1",LocalPort=>0,ReuseAddr=>1) or die; print $s->sockport'
}

# vs_start_emulator DIR [flags...]  -> sets VS_EMU_PORT, VS_EMU_URL
vs_start_emulator() {
  local dir=$1; shift
  local bin=${VS_EMULATOR_BIN:-$VS_ROOT/emulator/vectorstore-emulator}
  rm -f "$dir/emulator.port"
  "$bin" --port 0 --port-file "$dir/emulator.port" --quiet "$@" >"$dir/emulator.log" 2>&1 &
  VS_PIDS+=($!)
  for _ in $(seq 1 100); do
    [ -s "$dir/emulator.port" ] && break
    sleep 0.05
  done
  [ -s "$dir/emulator.port" ] || { echo "emulator did not start:"; cat "$dir/emulator.log"; return 1; }
  VS_EMU_PORT=$(cat "$dir/emulator.port")
  VS_EMU_URL="http://127.0.0.1:$VS_EMU_PORT"
}

# vs_start_cluster DIR [extra postgresql.conf lines...] -> sets PGHOST, PGPORT
vs_start_cluster() {
  local dir=$1; shift
  mkdir -p "$dir"
  "$PGBIN/initdb" -D "$dir/data" -A trust -U "${VS_PGUSER:-$(id -un)}" --no-sync >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log"; return 1; }
  PGPORT=$(vs_free_port)
  {
    echo "listen_addresses = ''"
    echo "port = $PGPORT"
    echo "unix_socket_directories = '$dir'"
    echo "fsync = off"
    echo "max_worker_processes = 16"
    for line in "$@"; do echo "$line"; done
  } >>"$dir/data/postgresql.conf"
  "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null ||
    { cat "$dir/server.log"; return 1; }
  VS_CLUSTERS+=("$dir/data")
  export PGHOST=$dir PGPORT PGDATABASE=postgres
}

vs_cleanup() {
  local d p
  for d in "${VS_CLUSTERS[@]}"; do
    "$PGBIN/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1 || true
  done
  for p in "${VS_PIDS[@]}"; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  VS_CLUSTERS=(); VS_PIDS=()
}

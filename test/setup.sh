#!/usr/bin/env bash
# Installs everything the demo, the tests and the benchmarks need on a fresh
# Debian 12 machine (idempotent; a second run does nothing). Run as root (or
# with sudo available).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"

PKGS=(build-essential make gcc curl ca-certificates perl
      postgresql-15 postgresql-server-dev-15 postgresql-15-cron postgresql-contrib
      libcurl4-openssl-dev libcjson-dev libmicrohttpd-dev libipc-run-perl
      nodejs npm clang-14 libclang-rt-14-dev valgrind)
missing=()
for p in "${PKGS[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
# node/npm may come from elsewhere than Debian's packages: a working node is enough
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
want=(); for p in "${missing[@]}"; do [ -n "$p" ] && want+=("$p"); done
if [ ${#want[@]} -gt 0 ]; then
  echo "setup: installing ${want[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # don't let package scripts start a distribution cluster we would leave running
  $SUDO mkdir -p /etc/postgresql-common
  grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf ||
    echo 'create_main_cluster = false' | $SUDO tee -a /etc/postgresql-common/createcluster.conf >/dev/null
  $SUDO apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
fi

# npm packages of the SDK conformance and contract tests (lock file committed)
for dir in "$ROOT/emulator/test" "$ROOT/bench"; do
  if [ -f "$dir/package-lock.json" ] && [ ! -d "$dir/node_modules" ]; then
    echo "setup: npm ci in ${dir#$ROOT/}"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
done

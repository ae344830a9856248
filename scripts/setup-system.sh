#!/usr/bin/env bash
# System set-up for the tests: make sure PostgreSQL runs when it is installed.
# Without PostgreSQL the PostgreSQL test lane reports itself as not run
# (under CI=true a missing PostgreSQL fails the run instead).
set -euo pipefail

say() { printf 'setup: %s\n' "$*"; }

pg_ready() {
  command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432
}

if pg_ready; then
  say "PostgreSQL is running on 127.0.0.1:5432"
elif command -v pg_lsclusters >/dev/null 2>&1 && [[ -n "$(pg_lsclusters -h 2>/dev/null)" ]]; then
  version=$(pg_lsclusters -h | awk 'NR==1 {print $1}')
  cluster=$(pg_lsclusters -h | awk 'NR==1 {print $2}')
  say "starting PostgreSQL $version/$cluster"
  if [[ $(id -u) -eq 0 ]]; then
    pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start || true
  else
    sudo -n pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start 2>/dev/null \
      || say "could not start PostgreSQL; run: sudo pg_ctlcluster $version $cluster start"
  fi
  for _ in $(seq 1 30); do pg_ready && break; sleep 0.5; done
  pg_ready && say "PostgreSQL is running" || say "PostgreSQL did not come up"
else
  say "PostgreSQL is not installed: the PostgreSQL test lane will be reported as not run"
  say "(to run it: apt-get install postgresql, or set CHATTER_TEST_PG_URL)"
fi

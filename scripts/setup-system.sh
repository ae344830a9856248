#!/usr/bin/env bash
# System set-up for the tests: the X server and input tools the agent tests drive (and
# libfaketime, which moves the agent's wall clock in its clock-change test),
# headless LibreOffice Calc that reads back the Excel exports, shellcheck (actionlint uses it
# on the workflow's scripts), and a running PostgreSQL
# when it is installed. Installs missing Debian packages when run as root; otherwise says
# exactly what to install and fails.
# Without PostgreSQL the PostgreSQL test lane reports itself as not run (under CI=true a
# missing PostgreSQL fails the run instead).
set -euo pipefail

say() { printf 'setup: %s\n' "$*"; }

# 1. Debian packages: command -> package.
declare -A wanted=([Xvfb]=xvfb [xdotool]=xdotool [faketime]=faketime [systemd-analyze]=systemd
  [shellcheck]=shellcheck
  [soffice]=libreoffice-calc-nogui [chromium]=chromium)
missing=()
for command in "${!wanted[@]}"; do
  command -v "$command" >/dev/null 2>&1 || missing+=("${wanted[$command]}")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    say "missing system packages: ${missing[*]}"
    say "install them with: sudo apt-get install ${missing[*]}"
    exit 1
  fi
fi

# 2. PostgreSQL.
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
  if pg_ready; then say "PostgreSQL is running"; else say "PostgreSQL did not come up"; fi
else
  say "PostgreSQL is not installed: the PostgreSQL test lane will be reported as not run"
  say "(to run it: apt-get install postgresql, or point CHATTER_TEST_PG_URL at a server)"
fi

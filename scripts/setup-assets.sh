#!/usr/bin/env bash
# Browser libraries for the dashboard (Chart.js), installed from the npm registry with
# the versions pinned in collector/assets/package-lock.json.  The collector serves them
# itself: the pages never load anything from another site.
set -euo pipefail

say() { printf 'assets: %s\n' "$*"; }
here=$(cd "$(dirname "$0")/.." && pwd)
assets="$here/collector/assets"
# Our own stamp: the hash of the lock file the modules were installed from.  (npm's
# node_modules/.package-lock.json is no proof: file times after a checkout are arbitrary.)
stamp="$assets/node_modules/.chattertrack-lock.sha256"
want=$(sha256sum "$assets/package-lock.json" | cut -d' ' -f1)
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" \
      && -f "$assets/node_modules/chart.js/dist/chart.umd.min.js" ]]; then
  exit 0  # installed and current
fi
if ! command -v npm >/dev/null 2>&1; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "installing nodejs and npm"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  else
    say "npm is missing: install it with: sudo apt-get install nodejs npm"
    exit 1
  fi
fi
say "installing the dashboard's browser libraries (npm ci)"
npm ci --prefix "$assets" --no-audit --no-fund --loglevel=error
printf '%s\n' "$want" > "$stamp"

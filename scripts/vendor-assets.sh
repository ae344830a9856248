#!/usr/bin/env bash
# make assets: refreshes the dashboard's browser libraries in collector/assets/vendor/ from
# collector/assets/package-lock.json.  Only needed when a library changes: the npm tarballs
# are committed, so building, installing and running the collector never need npm.
#
# Upgrading Chart.js:
#   (cd collector/assets && npm install --package-lock-only chart.js@X.Y.Z) && make assets
# then run tests/collector/pages/test_assets.py and commit the lock and the new tarball.
set -euo pipefail

say() { printf 'assets: %s\n' "$*"; }
here=$(cd "$(dirname "$0")/.." && pwd)
assets="$here/collector/assets"
vendor="$assets/vendor"
if ! command -v npm >/dev/null 2>&1; then
  say "npm is missing (only needed to change a vendored library): sudo apt-get install npm"
  exit 1
fi
# "name version integrity" of every package the collector serves (the lock's direct
# dependencies; Chart.js's UMD build bundles its own dependency).
wanted=$(python3 - "$assets" <<'PY'
import json, pathlib, sys
assets = pathlib.Path(sys.argv[1])
lock = json.loads((assets / "package-lock.json").read_text())
for name in json.loads((assets / "package.json").read_text())["dependencies"]:
    entry = lock["packages"][f"node_modules/{name}"]
    print(name, entry["version"], entry["integrity"])
PY
)
mkdir -p "$vendor"
keep=()
while read -r name version integrity; do
  tarball="$name-$version.tgz"
  keep+=("$tarball")
  say "$name $version"
  scratch=$(mktemp -d)
  (cd "$scratch" && npm pack "$name@$version" --silent >/dev/null)
  got="sha512-$(openssl dgst -sha512 -binary "$scratch/$tarball" | base64 -w0)"
  if [[ "$got" != "$integrity" ]]; then
    say "$tarball does not match the lock's integrity ($got != $integrity)"
    rm -rf "$scratch"
    exit 1
  fi
  mv "$scratch/$tarball" "$vendor/$tarball"
  rm -rf "$scratch"
done <<< "$wanted"
# Tarballs of versions no longer locked go.
for old in "$vendor"/*.tgz; do
  [[ " ${keep[*]} " == *" $(basename "$old") "* ]] || { say "removing $(basename "$old")"; rm -f "$old"; }
done

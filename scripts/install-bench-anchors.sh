#!/usr/bin/env bash
# The bench's anchors (issue 17): ActivityWatch's aw-server, the product our heartbeat
# figures are compared with, in a venv of its own (.venv-anchors/): its pinned Flask and
# friends clash with ours.  `python -m bench` starts it from there when the venv exists.
# Nothing of aw-server is committed; this only installs the released package.
set -euo pipefail

PYTHON=${PYTHON:-python3}
VENV=${1:-.venv-anchors}
AW_SERVER_VERSION=0.12.0

say() { printf 'bench-anchors: %s\n' "$*"; }

test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
# The bench takes the stamp as "installed": a reinstall that fails must not leave it.
rm -f "$VENV/.installed-stamp"
say "installing aw-server $AW_SERVER_VERSION into $VENV"
# peewee < 4: aw-core allows peewee 4, whose DateTimeField hands back datetimes where
# aw-core parses strings (every bucket listing then fails with iso8601's ParseError).
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
  "aw-server==$AW_SERVER_VERSION" "peewee>=3,<4"
# The bench runs it as `python -m aw_server`: fail here, not in the middle of a bench run.
"$VENV/bin/python" -c "import aw_server" >/dev/null
touch "$VENV/.installed-stamp"
say "done: python -m bench now runs aw-server beside the collector"

#!/usr/bin/env bash
# make run: the collector on SQLite with demo data, in .demo/ of this checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8765}"
mkdir -p .demo
export CHATTER_DATABASE_URL="sqlite:///$PWD/.demo/chattertrack.db"
# Plain HTTP on localhost: session cookies cannot be Secure-only here.
export CHATTER_SECURE_COOKIES=0
# The agent bundles and install scripts `make agent-dist` builds, served to chatters'
# computers and listed on the admin Enrollment page.
export CHATTER_AGENT_DOWNLOADS="$PWD/dist"
if compgen -G "dist/chattertrack-agent-*" >/dev/null; then
  downloads="http://$HOST:$PORT/agent/downloads/SHA256SUMS (from dist/)"
else
  downloads="none yet: make agent-dist builds them into dist/"
fi
cli=.venv/bin/chatter-collector

"$cli" db upgrade
"$cli" demo
cat <<MSG

  ChatterTrack collector (demo data, SQLite at .demo/chattertrack.db)
  URL:          http://$HOST:$PORT/
  Health:       http://$HOST:$PORT/healthz
  API docs:     http://$HOST:$PORT/api/v1/openapi.json
  Dashboard:    http://$HOST:$PORT/login
                admin    admin@demo.test    / demo-admin-password
                manager  manager@demo.test  / demo-manager-password
                team lead lead@demo.test    / demo-lead-password (Nova Sky only)
                chatter  alex@demo.test     / demo-chatter-password
  API tokens:   manager  ctk_demo_manager
                integration  ctk_demo_integration
  Agent:        $downloads
  Try:          curl -H 'Authorization: Bearer ctk_demo_manager' http://$HOST:$PORT/api/v1/chatters

MSG
exec "$cli" serve --host "$HOST" --port "$PORT"

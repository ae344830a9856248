#!/usr/bin/env bash
# make run: the collector on SQLite with demo data, in .demo/ of this checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8765}"
mkdir -p .demo
export CHATTER_DATABASE_URL="sqlite:///$PWD/.demo/chattertrack.db"
cli=.venv/bin/chatter-collector

"$cli" db upgrade
"$cli" demo
cat <<MSG

  ChatterTrack collector (demo data, SQLite at .demo/chattertrack.db)
  URL:          http://$HOST:$PORT/
  Health:       http://$HOST:$PORT/healthz
  API docs:     http://$HOST:$PORT/api/v1/openapi.json
  Demo login:   manager API token  ctk_demo_manager
                integration token  ctk_demo_integration
  Try:          curl -H 'Authorization: Bearer ctk_demo_manager' http://$HOST:$PORT/api/v1/chatters

MSG
exec "$cli" serve --host "$HOST" --port "$PORT"

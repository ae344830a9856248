"""The ceiling of the heartbeat figures: a bare Flask app that reads the body and answers 200.

Served by the same gunicorn config as the collector (and by waitress) and driven with the
same signed heartbeat requests, it is what the server, Flask and the load clients cost on
this machine before any of our code runs: "y % of the limit" is ours over this.  It checks
nothing and stores nothing, on purpose; it imports nothing but Flask, so a worker is as
light as a Flask worker gets.
"""

from __future__ import annotations

from flask import Flask, request


def create_app() -> Flask:
    app = Flask("bench-ceiling")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/v1/heartbeats")
    def heartbeats() -> dict[str, int]:
        # Read the whole body, as the collector must before it can check the signature.
        return {"received": len(request.get_data())}

    return app

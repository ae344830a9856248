"""``serve`` and ``demo``."""

from __future__ import annotations

import click

from collector.cli.context import CliState, session_scope


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@click.pass_obj
def serve(state: CliState, host: str, port: int, threads: int) -> None:
    """Serve the collector with waitress (use gunicorn in production, see README)."""
    import waitress

    state.serving = True
    app = state.app
    click.echo(f"ChatterTrack collector on http://{host}:{port}/  (Ctrl+C stops)")
    # One rule for proxy headers, create_app's: ProxyFix trusts the last PROXY_HOPS
    # entries.  Waitress strips X-Forwarded-* by default, which left every client
    # looking like the proxy; with hops it passes them on to that rule.
    hops = int(app.config.get("PROXY_HOPS", 0))
    waitress.serve(
        app,
        host=host,
        port=port,
        threads=threads,
        ident="chattertrack",
        clear_untrusted_proxy_headers=not hops,
    )


@click.command("demo")
def demo() -> None:
    """Fill the database with a demo agency (only once; safe to run again)."""
    from collector.demo import agency as demo_data

    with session_scope() as session:
        created = demo_data.seed(session)
    click.echo("demo data created" if created else "demo data already present")
    click.echo(f"  manager API token:     {demo_data.MANAGER_TOKEN}")
    click.echo(f"  integration API token: {demo_data.INTEGRATION_TOKEN}")


COMMANDS = [serve, demo]

"""What the agent leaves out to stay small (issue 17: at most 30 MB resident while typing):
modules it never needs, and a CA bundle an http collector never needs.  Each is measured in
bench/agent_footprint.py; these tests keep them out."""

from __future__ import annotations

import importlib.util
import json
import ssl
import subprocess
import sys

import httpx

from agent.client import CollectorClient

# httpx's command line (httpx._main) imports these when they are installed: 4.7 MB.
CLI_ONLY = ("click", "rich", "pygments")


def _modules_after_import(*names: str) -> set[str]:
    code = "import sys, json\n" + "".join(f"import {n}\n" for n in names)
    code += "print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout))


def test_the_agent_imports_no_command_line_libraries() -> None:
    # They are installed here (the dev venv), so httpx would import them if let.
    assert all(importlib.util.find_spec(name) for name in CLI_ONLY)
    loaded = _modules_after_import("agent.cli", "agent.runner", "agent.sender", "agent.presence")
    assert "httpx" in loaded
    assert not loaded & set(CLI_ONLY)


def test_httpx_main_still_works_when_imported_first() -> None:
    loaded = _modules_after_import("httpx._main", "agent.cli")
    assert set(CLI_ONLY) <= loaded


def _context(client: CollectorClient) -> ssl.SSLContext:
    """The TLS context httpx's transport connects with."""
    context = client._http._transport._pool._ssl_context  # type: ignore[attr-defined]
    assert isinstance(context, ssl.SSLContext)
    return context


def _verifies(context: ssl.SSLContext) -> bool:
    return context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_an_http_collector_loads_no_ca_bundle_but_would_still_verify() -> None:
    client = CollectorClient("http://127.0.0.1:8000/prefix")
    try:
        context = _context(client)
        assert context.cert_store_stats()["x509_ca"] == 0
        assert _verifies(context)  # an https URL would fail, never connect unverified
    finally:
        client.close()


def test_an_https_collector_verifies_as_httpx_does_with_one_shared_bundle() -> None:
    first = CollectorClient("https://collector.example/")
    second = CollectorClient("https://collector.example/")
    try:
        context = _context(first)
        assert _verifies(context)
        default = httpx.create_ssl_context()
        assert context.cert_store_stats() == default.cert_store_stats()
        assert context.cert_store_stats()["x509_ca"] > 0
        assert _context(second) is context  # the bundle is loaded once per process
    finally:
        first.close()
        second.close()

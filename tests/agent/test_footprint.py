"""What the agent leaves out to stay small (issue 17: at most 30 MB resident while typing):
modules it never needs, and a CA bundle an http collector never needs.  Each is measured in
bench/agent_footprint.py; these tests keep them out."""

from __future__ import annotations

import importlib.util
import json
import os
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


# Run in a fresh process so that sys.modules shows what the listeners themselves import.
LISTEN = """
import json, subprocess, sys, time
from agent.counting import InputCounter
from agent.listeners import Listeners

counter = InputCounter(time.time)
listeners = Listeners(counter)
listeners.start()
subprocess.run(["xdotool", "key", "a", "Return", "click", "1", "click", "4",
                "mousemove_relative", "--", "9", "4"], check=True)
keys = mouse = 0
deadline = time.monotonic() + 10
while (keys < 2 or mouse < 3) and time.monotonic() < deadline:
    time.sleep(0.05)
    for k, m in counter.drain().values():
        keys, mouse = keys + k, mouse + m
threads = len(listeners.threads())
listeners.stop()
for thread in listeners.threads():
    thread.join(5)
print(json.dumps({"keys": keys, "mouse": mouse, "threads": threads,
                  "alive": listeners.alive(), "pynput": "pynput" in sys.modules}))
"""


def test_on_x11_one_record_thread_counts_input_without_pynput(display: str) -> None:
    env = {**os.environ, "DISPLAY": display}
    done = subprocess.run(
        [sys.executable, "-c", LISTEN], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    # Two key presses; two button presses (a click, a wheel step) and one move.
    assert seen == {"keys": 2, "mouse": 3, "threads": 1, "alive": False, "pynput": False}

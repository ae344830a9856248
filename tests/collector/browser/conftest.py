"""A live collector with the demo agency, and Debian's chromium driven by Playwright.

No browser is downloaded: Playwright launches the system chromium the set-up
installs.  Every request a page makes is recorded, so tests can prove that
nothing leaves the collector's origin.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, sync_playwright

from collector.demo.agency import MANAGER_TOKEN
from tests.agent.conftest import START_TIMEOUT, _healthy, free_port, wait_for

BIN = Path(sys.executable).parent
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
# `make screenshots` points this at docs/screenshots; test runs keep the tree clean.
SCREENSHOTS = Path(
    os.environ.get("CHATTER_SCREENSHOTS") or Path(tempfile.gettempdir()) / "chattertrack-shots"
)


@dataclass
class LiveCollector:
    url: str
    database: Path

    def cli(self, *args: str, stdin: str | None = None) -> str:
        return subprocess.run(
            [str(BIN / "chatter-collector"), "--database", f"sqlite:///{self.database}", *args],
            input=stdin,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()


ENV = {**os.environ, "CHATTER_SECURE_COOKIES": "0", "CHATTER_SECRET_KEY": "browser-tests"}


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database with the demo agency, made once; servers serve copies."""
    database = tmp_path_factory.mktemp("demo") / "collector.db"
    cli = [str(BIN / "chatter-collector"), "--database", f"sqlite:///{database}"]
    for args in (["db", "upgrade"], ["demo"]):
        subprocess.run([*cli, *args], check=True, capture_output=True, env=ENV)
    return database


@contextmanager
def serving(
    demo_database: Path, workdir: Path, env: dict[str, str] | None = None
) -> Iterator[LiveCollector]:
    """``make run`` in miniature: a copy of the demo database, served over HTTP (with
    ``env`` added to the server's environment)."""
    database = workdir / "collector.db"
    shutil.copyfile(demo_database, database)
    port = free_port()
    cli = [str(BIN / "chatter-collector"), "--database", f"sqlite:///{database}"]
    with open(workdir / "collector.log", "wb") as log:
        proc = subprocess.Popen(
            [*cli, "serve", "--port", str(port), "--threads", "4"],
            stdout=subprocess.DEVNULL,
            stderr=log,
            env={**ENV, **(env or {})},
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for(lambda: _healthy(url), START_TIMEOUT, "the collector")
            yield LiveCollector(url, database)
        finally:
            proc.terminate()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def live(demo_database: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCollector]:
    """One server for the modules that only read the demo agency or add logins of their own.

    A module that changes what other modules' pages show (settings, people, devices)
    overrides this with a server of its own (``serving``), as test_admin_pages does.
    """
    with serving(demo_database, tmp_path_factory.mktemp("live")) as server:
        yield server


def _chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        reason = "Debian's chromium is not installed: run scripts/setup-system.sh as root"
        if IN_CI:
            pytest.fail(reason + " (required under CI=true)")
        pytest.skip(reason + " or apt-get install chromium")
    return found


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = _chromium()
    with sync_playwright() as playwright:
        # The sandbox needs user namespaces, which root in a container does not get.
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        launched = playwright.chromium.launch(executable_path=executable, args=args)
        yield launched
        launched.close()


@dataclass
class Recorded:
    page: Page
    requests: list[str] = field(default_factory=list)
    # Script errors and console errors (a blocked resource, a content-policy refusal).
    errors: list[str] = field(default_factory=list)

    def off_origin(self, origin: str) -> list[str]:
        return [u for u in self.requests if not u.startswith(origin + "/") and u != origin]

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def tab(browser: Browser) -> Iterator[Recorded]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    recorded = Recorded(page)

    def note(request: Request) -> None:
        recorded.requests.append(request.url)

    def console(message: ConsoleMessage) -> None:
        # A 4xx page the test asks for on purpose logs its status: not a script problem.
        if message.type == "error" and "status of 4" not in message.text:
            recorded.errors.append(message.text)

    page.on("request", note)
    page.on("console", console)
    page.on("pageerror", lambda error: recorded.errors.append(str(error)))
    yield recorded
    context.close()
    assert recorded.errors == [], "the page logged errors"


MANAGER = ("manager@demo.test", "demo-manager-password")
CHATTER = ("alex@demo.test", "demo-chatter-password")
ADMIN = ("admin@demo.test", "demo-admin-password")


def log_in(tab: Recorded, live: LiveCollector, who: tuple[str, str]) -> None:
    """Log in through the form, as a person would; waits for the start page."""
    page = tab.page
    page.goto(live.url + "/login")
    page.get_by_label("Email").fill(who[0])
    page.get_by_label("Password").fill(who[1])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    assert "/login" not in page.url, f"{who[0]} could not log in"


def wait_ready(page: Page) -> None:
    """The page's script has drawn its charts and wired its tables."""
    page.wait_for_selector("body[data-ready]", state="attached", timeout=10_000)


def stats_api(live: LiveCollector, path: str, **params: str) -> dict[str, Any]:
    """``/api/v1/stats`` + path, asked with the demo manager token (what a page must show)."""
    reply = httpx.get(
        live.url + "/api/v1/stats" + path,
        params=params,
        headers={"Authorization": f"Bearer {MANAGER_TOKEN}"},
    )
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def dollars(value: str) -> str:
    """How a person reads a USD amount (written here independently of the app)."""
    amount = Decimal(value)
    return ("-" if amount < 0 else "") + f"${abs(amount):,.2f}"


def shown_range(page: Page) -> dict[str, str]:
    """The selection a page's form shows, as API parameters."""
    return {
        "start": page.get_by_label("From", exact=True).input_value(),
        "end": page.get_by_label("To", exact=True).input_value(),
        "tz": page.get_by_label("Time zone", exact=True).input_value(),
    }


def figure(page: Page, name: str) -> str:
    """A key figure's value as shown."""
    return page.locator(f'[data-figure="{name}"] .value').inner_text()

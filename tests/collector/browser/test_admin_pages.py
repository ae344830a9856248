"""The admin pages in real Chromium: a token made on the page enrolls a real agent, the
agent's batch is accepted, the device is revoked on the page, and its next batch refused.

The agent is the real one: ``chatter-agent enroll`` reads the token on standard input,
then the agent's own outbox and sender deliver a batch in this process.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from agent import paths
from agent.client import CollectorClient
from agent.config import load_config, load_key
from agent.outbox import Outbox
from agent.sender import RetryPolicy, Sender
from agent.state import SharedState
from agent.timeline import SliceTotals
from tests.collector.browser.conftest import BIN, LiveCollector, Recorded, serving


@pytest.fixture(scope="module")
def live(demo_database: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCollector]:
    """A server of this module's own: it changes the agency's time zone and idle threshold,
    adds a chatter and a device, which the shared server's pages must not show."""
    with serving(demo_database, tmp_path_factory.mktemp("live-admin")) as server:
        yield server


def log_in_as_admin(page: Page, url: str) -> None:
    page.goto(url + "/login")
    page.get_by_label("Email").fill("admin@demo.test")
    page.get_by_label("Password").fill("demo-admin-password")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r".*/(stats|admin).*"))


def top_bar(page: Page, label: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=label).click()
    expect(page.get_by_role("link", name=label)).to_have_attribute("aria-current", "page")


class RealAgent:
    """An enrolled agent home: its outbox and sender, driven one step at a time."""

    def __init__(self, home: Path) -> None:
        self.home = home
        config, key = load_config(), load_key()
        self.device_id = config.device_id
        self.client = CollectorClient(config.server)
        self.state = SharedState(config=config, key=key)
        self.outbox = Outbox(paths.outbox_file())
        self.sender = Sender(
            paths.outbox_file(),
            self.client,
            self.state,
            threading.Event(),
            threading.Event(),
            RetryPolicy(base=0.1, cap=1, refused_wait=7),
        )
        self._next = int(time.time()) // 60 * 60 - 10 * 60

    def seal_slice(self) -> None:
        self.outbox.add(SliceTotals(self._next, 60, 60, 40, 20, 0, 35, 12), "today")
        self._next += 60

    def close(self) -> None:
        self.outbox.close()
        self.client.close()


@pytest.fixture
def agent_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "agent"
    monkeypatch.setenv("CHATTER_AGENT_HOME", str(home))
    return home


@pytest.fixture
def enroll(agent_home: Path, live: LiveCollector) -> Iterator[Callable[[str], RealAgent]]:
    made: list[RealAgent] = []

    def run(token: str) -> RealAgent:
        done = subprocess.run(
            [str(BIN / "chatter-agent"), "enroll", "--server", live.url, "--token-file", "-"],
            input=token + "\n",
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        agent = RealAgent(agent_home)
        assert agent.device_id in done.stdout
        made.append(agent)
        return agent

    yield run
    for agent in made:
        agent.close()


def test_admin_enrolls_and_revokes_a_real_agent(
    live: LiveCollector, tab: Recorded, enroll: Callable[[str], RealAgent]
) -> None:
    page = tab.page
    log_in_as_admin(page, live.url)

    top_bar(page, "People")
    expect(page.get_by_role("heading", name="Creators and chatters", level=1)).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="Alex Moreau")).to_be_visible()
    tab.screenshot("admin-people")

    # A token made on the page, shown once, copied with the button.
    top_bar(page, "Enrollment")
    page.get_by_label("Chatter").select_option("alex")
    page.get_by_label("Valid for").select_option("24h")
    page.get_by_role("button", name="Create token").click()
    secret = page.locator(".secret")
    token = secret.inner_text().strip()
    assert token.startswith("cte_")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.url)
    page.get_by_role("button", name="Copy", exact=True).click()
    expect(page.locator("#copy-status")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == token
    tab.screenshot("admin-enrollment")
    page.get_by_role("link", name="Done").click()
    listing = page.content()
    assert token not in listing  # never shown again
    expect(page.get_by_role("row").filter(has_text="Alex Moreau").first).to_contain_text("unused")

    # The real agent enrolls with it and delivers a batch.
    agent = enroll(token)
    agent.seal_slice()
    agent.seal_slice()
    assert agent.sender.step(agent.outbox) == 0.0
    assert agent.outbox.counts().queued == 0 and agent.state.credentials_refused is None
    page.reload()
    used = page.get_by_role("row").filter(has_text=agent.device_id[:8])
    expect(used).to_contain_text("used")

    # Revoked on the devices page, confirmed from the keyboard.
    top_bar(page, "Devices")
    row = page.get_by_role("row").filter(has_text=agent.device_id[:8])
    expect(row).to_contain_text("Alex Moreau")
    expect(row).to_contain_text("healthy")  # the agent's queue report arrived
    row.get_by_role("link", name=re.compile(r"^Revoke")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Revoke")
    page.get_by_role("button", name="Revoke device").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(live.url + "/admin/devices")
    expect(page.get_by_role("status")).to_contain_text("revoked")
    row = page.get_by_role("row").filter(has_text=agent.device_id[:8])
    expect(row).to_contain_text("revoked")
    tab.screenshot("admin-devices")

    # Its next batch is refused, and the agent keeps it.
    agent.seal_slice()
    assert agent.sender.step(agent.outbox) == 7  # the policy's wait after a refusal
    assert (agent.state.credentials_refused or "").startswith("403 device_revoked")
    assert agent.outbox.counts().queued == 1

    top_bar(page, "API tokens")
    page.get_by_label("Name").fill("payments feed")
    page.get_by_label("Role").select_option("integration")
    page.get_by_role("button", name="Create token").click()
    assert page.locator(".secret").inner_text().startswith("ctk_")
    page.get_by_role("link", name="Done").click()
    expect(page.get_by_role("row").filter(has_text="payments feed")).to_contain_text("active")
    tab.screenshot("admin-tokens")

    top_bar(page, "Settings")
    page.get_by_label("Idle threshold (seconds)").fill("240")
    # The demo's last pay week is approved: the zone that cut its days stays.
    expect(page.get_by_label("Agency time zone")).not_to_be_editable()
    expect(page.locator("#agency_timezone-help")).to_contain_text("Can no longer change")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_contain_text("Saved")
    expect(page.get_by_label("Idle threshold (seconds)")).to_have_value("240")
    tab.screenshot("admin-settings")
    assert "idle_threshold_seconds = 240" in live.cli("settings", "list")

    assert tab.off_origin(live.url) == []


def test_forms_work_without_javascript_and_show_errors(
    live: LiveCollector, browser: Browser
) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    try:
        log_in_as_admin(page, live.url)
        page.goto(live.url + "/admin/people")
        page.locator("#chatter_key").fill("alex")
        page.locator("#chatter_name").fill("Another Alex")
        page.get_by_role("button", name="Add chatter").click()
        expect(page.get_by_role("alert")).to_contain_text("already exists")
        page.locator("#chatter_key").fill("gus")
        page.get_by_role("button", name="Add chatter").click()
        expect(page.get_by_role("status")).to_contain_text("Chatter Another Alex (gus) added.")
        page.goto(live.url + "/admin/enrollment")
        page.get_by_label("Chatter").select_option("gus")
        page.get_by_role("button", name="Create token").click()
        assert page.locator(".secret").inner_text().startswith("cte_")
        expect(page.get_by_role("button", name="Copy", exact=True)).to_be_hidden()  # needs a script
    finally:
        context.close()
    assert [u for u in requests if not u.startswith(live.url + "/")] == []

"""Time until a dashboard page is usable in headless Chromium, on the demo data.

A live collector like the browser tests' (``chatter-collector db upgrade``, ``demo``,
``serve`` with waitress) and Debian's chromium driven by Playwright (never a downloaded
browser).  The demo manager logs in through the form; then each page is loaded
``NAVIGATIONS`` times after one warm-up load.  "Usable" is the moment the page's script
marks ``<body data-ready>`` (charts drawn, tables wired), taken in the page itself from
navigation start, with the browser's own navigation timing beside it.  Each page is
loaded with the browser cache on (a returning manager: Chart.js and the page's script
cached) and with it off (every byte fetched again).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import server
from bench.prepare import cli
from bench.timing import Timing
from collector.demo.agency import CHATTERS, DEMO_USERS

NAVIGATIONS = 10
READY_TIMEOUT_MS = 15_000
METRICS = ("ready", "responseEnd", "domContentLoaded", "load")
# Installed before any script of every page: notes when <body data-ready> appears.
READY_PROBE = """
new MutationObserver(() => {
  if (window.__benchReadyAt === undefined && document.body?.hasAttribute("data-ready")) {
    window.__benchReadyAt = performance.now();
  }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ["data-ready"]});
"""
TIMINGS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  return {
    ready: window.__benchReadyAt ?? null,
    responseStart: nav.responseStart,
    responseEnd: nav.responseEnd,
    domContentLoaded: nav.domContentLoadedEventEnd,
    load: nav.loadEventEnd,
  };
}"""


class NotRun(RuntimeError):
    """The measurement cannot run here (no chromium, no Playwright)."""


@dataclass
class PageLoad:
    page: str
    cache: str  # "warm" or "off"
    samples: list[dict[str, float]] = field(default_factory=list)

    def metric(self, name: str) -> Timing:
        return Timing(name, [s[name] for s in self.samples])


@dataclass
class PageLoadResult:
    status: str = "ran"
    reason: str = ""
    browser: str = ""
    loads: list[PageLoad] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reason": self.reason,
            "browser": self.browser,
            "data": "demo (chatter-collector demo)",
            "navigations": NAVIGATIONS,
            "pages": [
                {
                    "page": load.page,
                    "cache": load.cache,
                    **{
                        f"{m}_ms": {
                            "median": round(load.metric(m).median, 1),
                            "p95": round(load.metric(m).p95, 1),
                        }
                        for m in METRICS
                    },
                    "samples": load.samples,
                }
                for load in self.loads
            ],
        }


def _chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        raise NotRun("Debian's chromium is not installed (scripts/setup-system.sh)")
    return found


@contextmanager
def live_demo(workdir: Path) -> Iterator[str]:
    """A migrated demo collector served over HTTP, as the browser tests start it."""
    url = f"sqlite:///{workdir / 'collector.db'}"
    cli(url, "db", "upgrade")
    cli(url, "demo")
    env = {"CHATTER_SECURE_COOKIES": "0", "CHATTER_SECRET_KEY": "bench-page-load"}
    with server.waitress(url, workdir, "--threads", "4", env=env) as live:
        yield live.base_url


def _measure(page: Any, url: str) -> dict[str, float]:
    page.goto(url, wait_until="load")
    page.wait_for_selector("body[data-ready]", state="attached", timeout=READY_TIMEOUT_MS)
    page.wait_for_function(
        "performance.getEntriesByType('navigation')[0]?.loadEventEnd > 0",
        timeout=READY_TIMEOUT_MS,
    )
    if page.url != url:
        raise RuntimeError(f"{url} ended on {page.url}")
    timings: dict[str, float | None] = page.evaluate(TIMINGS)
    if timings["ready"] is None:
        raise RuntimeError(f"{url}: data-ready was set before the probe could see it")
    return {k: round(float(v or 0.0), 2) for k, v in timings.items()}


def run(navigations: int = NAVIGATIONS) -> PageLoadResult:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # an optional tool, like chromium: the part says "not run"
        raise NotRun(f"Playwright is not installed ({exc})") from exc
    executable = _chromium()
    email, password = next((u[0], u[1]) for u in DEMO_USERS if u[2] == "manager")
    pages = [("stats page", "/stats"), ("chatter page", f"/chatters/{CHATTERS[0][0]}")]
    result = PageLoadResult()
    with (
        tempfile.TemporaryDirectory(prefix="ct-bench-pages-") as tmp,
        live_demo(Path(tmp)) as base,
        sync_playwright() as playwright,
    ):
        # The sandbox needs user namespaces, which root in a container does not get.
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        browser = playwright.chromium.launch(executable_path=executable, args=args)
        try:
            result.browser = f"chromium {browser.version} (headless, {executable})"
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.add_init_script(READY_PROBE)
            page = context.new_page()
            page.goto(base + "/login")
            page.get_by_label("Email").fill(email)
            page.get_by_label("Password").fill(password)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_load_state()
            if "/login" in page.url:
                said = " ".join(page.locator("main").inner_text().split())[:300]
                raise RuntimeError(f"{email} could not log in: {said}")
            devtools = context.new_cdp_session(page)
            devtools.send("Network.enable")
            for cache in ("warm", "off"):
                devtools.send("Network.setCacheDisabled", {"cacheDisabled": cache == "off"})
                for name, path in pages:
                    load = PageLoad(name, cache)
                    _measure(page, base + path)  # warm-up
                    load.samples = [_measure(page, base + path) for _ in range(navigations)]
                    result.loads.append(load)
                    ready = load.metric("ready")
                    print(
                        f"[page load] {name}, cache {cache}: usable after median "
                        f"{ready.median:.0f} ms, p95 {ready.p95:.0f} ms",
                        flush=True,
                    )
        finally:
            browser.close()
    return result


def render(result: PageLoadResult) -> str:
    lines = [
        "time until the page is usable in headless Chromium, demo data "
        f"(from navigation start; median / p95 of {NAVIGATIONS} loads after a warm-up)",
    ]
    if result.status != "ran":
        lines.append(f"({result.status}: {result.reason})")
        return "\n".join(lines)
    header = ("page", "cache", "usable (data-ready)", "responseEnd", "DOMContentLoaded", "load")
    rows = [
        (
            load.page,
            load.cache,
            *(f"{load.metric(m).median:.0f} / {load.metric(m).p95:.0f} ms" for m in METRICS),
        )
        for load in result.loads
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        pairs = enumerate(zip(row, widths, strict=True))
        cells = [c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in pairs]
        lines.append("  ".join(cells))
    lines.append(
        f"{result.browser}; cache warm: Chart.js and the page's script from the browser "
        "cache; cache off: DevTools Network.setCacheDisabled"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(run()))

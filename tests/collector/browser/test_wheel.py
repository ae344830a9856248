"""The release as IT gets it: ``python -m build``, the wheel installed outside the checkout.

The wheel is built from the sdist (what ``python -m build`` does), installed with its
dependencies into a new virtual environment in a temporary directory with its own HOME,
and run from there: ``db upgrade``, ``demo``, ``add-user``, ``serve``.  A manager logs in
with headless Chromium and the stats page must draw its charts with the chart library
the wheel carries.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Response

from tests.agent.conftest import START_TIMEOUT, _healthy, free_port, wait_for
from tests.conftest import building_from_the_checkout

ROOT = Path(__file__).resolve().parents[3]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    with building_from_the_checkout():
        built = subprocess.run(
            [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
            capture_output=True,
            text=True,
            cwd=out,
        )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    return out


def _wheel(dist: Path) -> Path:
    return dist / f"chattertrack-{VERSION}-py3-none-any.whl"


def test_sdist_holds_every_tracked_file(dist: Path) -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    prefix = f"chattertrack-{VERSION}/"
    with tarfile.open(dist / f"chattertrack-{VERSION}.tar.gz") as sdist:
        members = {name.removeprefix(prefix) for name in sdist.getnames()}
    missing = sorted(set(tracked) - members)
    assert missing == [], f"tracked files missing from the sdist: {missing[:20]}"
    strays = sorted(m for m in members if "node_modules" in m or "__pycache__" in m)
    assert strays == []


def test_wheel_carries_what_the_collector_reads_at_run_time(dist: Path) -> None:
    with zipfile.ZipFile(_wheel(dist)) as wheel:
        names = set(wheel.namelist())
    for needed in (
        "collector/templates/base.html",
        "collector/templates/admin/settings.html",
        "collector/static/dashboard.js",
        "collector/static/app.css",
        "collector/assets/package-lock.json",
        "collector/db/migrations/script.py.mako",
    ):
        assert needed in names, needed
    assert any(n.startswith("collector/assets/vendor/chart.js-") for n in names)
    assert not [n for n in names if "node_modules" in n or n.startswith("tests/")]


@dataclass
class Installed:
    home: Path
    bin: Path
    env: dict[str, str]
    database: str

    def cli(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [str(self.bin / "chatter-collector"), "--database", self.database, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.home,
        )
        assert done.returncode == 0, f"{args}: {done.stdout}{done.stderr}"
        return done.stdout


@pytest.fixture(scope="module")
def installed(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    home = tmp_path_factory.mktemp("it-home")
    venv = home / "venv"
    # Only what a fresh shell would have (the machine's pip settings included), and a
    # HOME of its own: nothing from this checkout or its .venv can leak in.
    env = {
        key: value
        for key, value in os.environ.items()
        if key in {"LANG", "LC_ALL", "TZ"} or key.startswith("PIP_")
    }
    env.update(HOME=str(home), PATH=f"{venv / 'bin'}:/usr/bin:/bin")
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(venv)], check=True, cwd=home, env=env)
    pip = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", f"{_wheel(dist)}[collector]"],
        capture_output=True,
        text=True,
        cwd=home,
        env=env,
    )
    assert pip.returncode == 0, pip.stderr[-3000:]
    env.update(CHATTER_SECURE_COOKIES="0", CHATTER_SECRET_KEY="wheel-test")
    return Installed(home, venv / "bin", env, f"sqlite:///{home / 'collector.db'}")


def test_installed_collector_is_the_wheel(installed: Installed) -> None:
    where = subprocess.run(
        [str(installed.bin / "python"), "-c", "import collector; print(collector.__file__)"],
        capture_output=True,
        text=True,
        env=installed.env,
        cwd=installed.home,
        check=True,
    ).stdout.strip()
    assert where.startswith(str(installed.home / "venv")), where


@pytest.fixture(scope="module")
def served(installed: Installed) -> Iterator[str]:
    assert "revision" in installed.cli("db", "upgrade")
    installed.cli("demo")
    installed.cli("add-user", "it@example.test", "--role", "manager", stdin="wheel-manager-pw\n")
    port = free_port()
    with open(installed.home / "collector.log", "wb") as log:
        proc = subprocess.Popen(
            [
                str(installed.bin / "chatter-collector"),
                "--database",
                installed.database,
                "serve",
                "--port",
                str(port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=installed.env,
            cwd=installed.home,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for(lambda: _healthy(url), START_TIMEOUT, "the installed collector")
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def test_stats_page_draws_its_charts(served: str, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    failed: list[str] = []
    errors: list[str] = []

    def answered(response: Response) -> None:
        if response.status >= 400:
            failed.append(f"{response.status} {response.url}")

    page.on("response", answered)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(served + "/login")
    page.get_by_label("Email").fill("it@example.test")
    page.get_by_label("Password").fill("wheel-manager-pw")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(served + "/stats**")
    page.wait_for_selector("body[data-ready]", state="attached", timeout=10_000)
    drawn = page.evaluate(
        """() => {
        const canvases = [...document.querySelectorAll("canvas")];
        return {
            chart: typeof window.Chart,
            canvases: canvases.length,
            charts: canvases.filter(c => window.Chart && Chart.getChart(c)).length,
            painted: canvases.filter(c => {
                const pixels = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
                for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) return true;
                return false;
            }).length,
        };
    }"""
    )
    context.close()
    assert failed == [] and errors == []
    assert drawn["chart"] == "function"
    assert drawn["canvases"] >= 2
    assert drawn["charts"] == drawn["canvases"] == drawn["painted"], drawn

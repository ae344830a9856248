"""Dashboard pages on the generated 90-day agency: server time of the stats and chatter pages.

Measured in-process like bench/stats_views.py (the Flask test client, no network): from
the request to the last byte of the HTML, for a manager logged in through the login form
with a session cookie.  The pages' "last 7 days" default is counted from today, and today
is after the data set; for the default rows the page's clock is set to the evening of the
data set's last day, so ``GET /stats`` shows the same last week the API bench reads.

Profile one page with ``python -m bench.pages --lane sqlite --profile "stats page, 90 days"``.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import pstats
import re
import sys
import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

import collector.pages
import collector.pages.chatters
from bench import stats_data
from bench.lanes import LANES
from bench.stats_views import REPEATS, TARGET_MS, dataset_of, last_days
from bench.timing import PartLane, Timing, lane_lines, timed
from collector import create_app
from collector.auth import accounts
from collector.db.models import User
from collector.http.database import db
from shared.protocol import utc_now

# A dashboard login that exists only in the bench's cached databases.
BENCH_EMAIL = "bench-pages@bench.test"
BENCH_PASSWORD = "bench-pages-password"
EMPTY_PAGE = '<div class="empty card" role="status">'  # the "no activity or sales" notice


@dataclass
class PagesLane(PartLane):
    pages: list[Timing] = field(default_factory=list)
    html_bytes: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return super().as_dict() | {
            "dataset": self.dataset,
            "target_ms": TARGET_MS,
            "pages": [
                {
                    "name": p.name,
                    "median_ms": round(p.median, 1),
                    "p95_ms": round(p.p95, 1),
                    "meets_target": p.meets(TARGET_MS),
                    "html_bytes": self.html_bytes.get(p.name),
                    "samples_ms": [round(s, 2) for s in p.samples_ms],
                }
                for p in self.pages
            ],
        }


@dataclass(frozen=True)
class PageRequest:
    name: str
    path: str
    params: dict[str, str]
    shows: tuple[str, str]  # the first and last day the page must show


def page_requests(q: dict[str, Any]) -> list[PageRequest]:
    """The pages timed, on the data set's sample queries (busy chatter, busy creator)."""
    week, month = last_days(q, 7), last_days(q, 30)
    whole = {"preset": "custom", "start": q["start"], "end": q["end"], "tz": q["tz"]}
    chatter = f"/chatters/{q['chatter']}"
    return [
        PageRequest("stats page, default (last 7 days)", "/stats", {}, _days(week)),
        PageRequest("stats page, 30 days", "/stats", {"preset": "custom", **month}, _days(month)),
        PageRequest("stats page, 90 days", "/stats", whole, _days(whole)),
        PageRequest(
            "stats page, 90 days, one creator",
            "/stats",
            {**whole, "creator": q["creator"]},
            _days(whole),
        ),
        PageRequest(
            "stats page, 90 days, by response time",
            "/stats",
            {**whole, "by": "response_time"},
            _days(whole),
        ),
        PageRequest("chatter page, default (last 7 days)", chatter, {}, _days(week)),
        PageRequest("chatter page, 90 days", chatter, whole, _days(whole)),
    ]


def _days(params: dict[str, str]) -> tuple[str, str]:
    return params["start"], params["end"]


@contextmanager
def pinned_clock(q: dict[str, Any]) -> Iterator[None]:
    """The pages' "now": 20:00 local on the data set's last day (the default preset's today)."""
    local = dt.datetime.combine(
        dt.date.fromisoformat(q["end"]), dt.time(20), tzinfo=zoneinfo.ZoneInfo(q["tz"])
    )
    # The report range is chosen in collector.pages, the chatter page's clock in its module.
    with ExitStack() as stack:
        for module in (collector.pages, collector.pages.chatters):
            stack.enter_context(
                mock.patch.object(module, "utc_now", lambda: local.astimezone(dt.UTC))
            )
        yield


def ensure_bench_user(app: Flask) -> None:
    """The bench's manager login in the cached database; created once, then reused."""
    with app.app_context():
        session = db.session
        if session.scalar(select(User.id).where(User.email == BENCH_EMAIL)) is None:
            accounts.create_user(session, BENCH_EMAIL, BENCH_PASSWORD, "manager", None, utc_now())
            print(f"created the dashboard login {BENCH_EMAIL} (bench only)", flush=True)
        session.commit()


def log_in(client: FlaskClient, email: str = BENCH_EMAIL, password: str = BENCH_PASSWORD) -> None:
    """Through the login form, as a browser does: its CSRF token, then the session cookie."""
    form = client.get("/login").get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert found, form[:300]
    reply = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": found.group(1)}
    )
    assert reply.status_code == 302, reply.get_data(as_text=True)[:300]


def _getter(client: FlaskClient, page: PageRequest) -> Callable[[], bytes]:
    def call() -> bytes:
        reply = client.get(page.path, query_string=page.params)
        assert reply.status_code == 200, (reply.status_code, reply.get_data(as_text=True)[:300])
        return reply.get_data()

    return call


def check_page(html: str, page: PageRequest) -> None:
    """The page shows the range asked for, with numbers in it (not the empty notice)."""
    first, last = page.shows
    for name, day in (("start", first), ("end", last)):
        assert f'name="{name}" type="date" value="{day}"' in html, f"{page.name}: not {day}"
    assert EMPTY_PAGE not in html, f"{page.name}: the page says it has no data"


@contextmanager
def bench_app(url: str) -> Iterator[Flask]:
    # The test client speaks plain HTTP: a Secure cookie would not come back.
    app = create_app({"DATABASE_URL": url, "SESSION_COOKIE_SECURE": False})
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()


def run(lane: str, scale: float) -> PagesLane:
    result = PagesLane(lane, scale)
    url = stats_data.ensure_dataset(lane, scale)
    q = stats_data.sample_queries(lane, scale)
    result.dataset = dataset_of(q)
    with bench_app(url) as app, pinned_clock(q):
        ensure_bench_user(app)
        client = app.test_client()
        log_in(client)
        for page in page_requests(q):
            call = _getter(client, page)
            html = call()
            check_page(html.decode(), page)
            result.html_bytes[page.name] = len(html)
            timing = Timing(page.name, timed(call, REPEATS))
            result.pages.append(timing)
            print(f"[pages {lane}] {page.name}: median {timing.median:.1f} ms", flush=True)
    return result


def render(lanes: list[PagesLane]) -> str:
    lines = [
        "dashboard pages (server time, in-process, HTML rendered, logged-in manager; "
        f"target <= {TARGET_MS:.0f} ms at p95)",
        f"{'lane':<11} {'page':<40} {'median ms':>10} {'p95 ms':>8} {'HTML kB':>8}  verdict",
    ]
    lines += lane_lines(lanes, _rows)
    lines.append(
        f"{REPEATS} timed requests per page after a warm-up; default rows: the page's clock "
        "is set to 20:00 on the data set's last day"
    )
    return "\n".join(lines)


def _rows(lane: PagesLane) -> list[str]:
    lines = []
    for p in lane.pages:
        size = lane.html_bytes.get(p.name, 0) / 1000
        lines.append(
            f"{lane.lane:<11} {p.name:<40} {p.median:>10.1f} {p.p95:>8.1f} {size:>8.0f}  "
            f"{p.verdict(TARGET_MS)}"
        )
    return lines


def profile(lane: str, scale: float, name: str, top: int = 35) -> str:
    """cProfile of one page request (after a warm-up): where its server time goes."""
    url = stats_data.ensure_dataset(lane, scale)
    q = stats_data.sample_queries(lane, scale)
    pages = {p.name: p for p in page_requests(q)}
    if name not in pages:
        raise SystemExit(f"no page {name!r}; one of: {', '.join(pages)}")
    with bench_app(url) as app, pinned_clock(q):
        ensure_bench_user(app)
        client = app.test_client()
        log_in(client)
        call = _getter(client, pages[name])
        call()
        profiler = cProfile.Profile()
        profiler.runcall(call)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pages", description=__doc__)
    parser.add_argument("--lane", choices=LANES, default="sqlite")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--profile", metavar="PAGE", help="profile one page instead of timing")
    args = parser.parse_args(argv)
    if args.profile:
        print(profile(args.lane, args.scale, args.profile))
    else:
        print(render([run(args.lane, args.scale)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

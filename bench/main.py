"""``python -m bench``: run every lane, print the table, write bench/results/latest.json."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TypeVar

from bench import anchors, lanes, procstat, report, scenarios, server
from bench.lanes import LANES
from bench.payloads import Device
from bench.prepare import enroll_devices, prepare_database

Lane = TypeVar("Lane")  # one part's result for one lane


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def run_lane(lane: report.LaneResult) -> None:
    """Prepare a fresh database, serve it, run every scenario; always cleans up."""
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ct-bench-")))
        if lane.lane == "sqlite":
            url = lanes.sqlite_url(workdir)
        else:
            url = stack.enter_context(lanes.postgres_database(lanes.pg_admin_url()))
        print(f"[{lane.lane}] preparing the database with the CLI", flush=True)
        credentials = prepare_database(url, scenarios.DEVICES)
        try:
            with server.gunicorn(url, workdir) as srv:
                print(f"[{lane.lane}] gunicorn up on {srv.base_url}", flush=True)
                devices = enroll_devices(srv.base_url, credentials.enroll_tokens)
                target = scenarios.Target(srv, url)
                for result in scenarios.run_all(target, devices, credentials.integration_token):
                    lane.scenarios.append(result)
                    _say(lane.lane, result)
                lane.worker_peak_rss_mib = procstat.peak_rss_mib(procstat.children(srv.proc.pid))
        finally:
            problems = server.log_problems(workdir / "gunicorn.log")
            lane.server_log_problems = dict(problems.most_common(10))
        # The anchors run once the collector is stopped, so nothing else holds the cores.
        run_anchors(lane, url, workdir, devices)


def run_anchors(lane: report.LaneResult, url: str, workdir: Path, devices: list[Device]) -> None:
    """The ceiling on the lane's server setup, then aw-server when its venv is installed;
    a failure is noted in the table and the bench goes on."""
    try:
        lane.anchors.ceiling = anchors.measure_ceiling(url, workdir, devices)
    except Exception as exc:  # the collector's own figures still count
        traceback.print_exc()
        lane.anchors.ceiling_status = _failed(exc)
    for result in lane.anchors.ceiling:
        _say(lane.lane, result)
    if not anchors.aw_server_installed():
        lane.anchors.aw_server_status = anchors.INSTALL_HINT
        print(f"[{lane.lane}] aw-server {anchors.INSTALL_HINT}", flush=True)
        return
    try:
        lane.anchors.aw_server = anchors.measure_aw_server(workdir)
    except Exception as exc:
        traceback.print_exc()
        lane.anchors.aw_server_status = _failed(exc)
    for result in lane.anchors.aw_server:
        _say(lane.lane, result)


def _failed(exc: Exception) -> str:
    """One line for a table cell (the traceback is printed above the table)."""
    first = (str(exc).splitlines() or [""])[0]
    return f"failed: {type(exc).__name__}: {first}"[:120]


def _say(lane: str, result: scenarios.ScenarioResult) -> None:
    print(
        f"[{lane}] {result.name}: {result.ok}/{result.requests} ok, "
        f"{result.throughput:,.0f} {result.unit}, p99 {result.p99_ms:.1f} ms, "
        f"load {' '.join(f'{v:.2f}' for v in result.load_avg)}",
        flush=True,
    )


def _meta(started: dt.datetime, duration_s: float) -> dict[str, Any]:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
            cwd=Path(__file__).parent,
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "started_at": started.isoformat().replace("+00:00", "Z"),
        "duration_s": round(duration_s, 1),
        "commit": commit or None,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "server": (
            f"gunicorn, {server.WORKERS} workers, deploy/gunicorn.conf.py "
            "(sync on SQLite, gthread on PostgreSQL)"
        ),
    }


def _section(started: dt.datetime, t0: float, results: dict[str, Any]) -> dict[str, Any]:
    """One part's section of latest.json: when and where it ran, then its ``results``."""
    meta = _meta(started, time.monotonic() - t0)
    return {k: meta[k] for k in ("started_at", "duration_s", "commit", "machine")} | results


def _terminate(signum: int, _frame: object) -> None:
    # Unwind through every finally: stop gunicorn, drop the database, remove temp files.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--lane", action="append", choices=LANES, help="run only this lane (repeatable)"
    )
    parser.add_argument(
        "--part",
        choices=(
            "all",
            "collector",
            "presence",
            "stats",
            "pages",
            "conversations",
            "attendance",
            "payroll",
            "agent",
        ),
        default="all",
        help=(
            "the collector lanes, presence ingestion, the chatter-stats views, the dashboard "
            "pages, the conversation analytics, the attendance view, the agent footprint, or "
            "all (default)"
        ),
    )
    parser.add_argument(
        "--stats-scale",
        type=float,
        default=1.0,
        help="size of the generated agency for the stats views (1.0: 10M events, 8M slices)",
    )
    parser.add_argument(
        "--conversations-scale",
        type=float,
        default=1.0,
        help="size of the generated shop for the conversation analytics (1.0: 1M requests)",
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    if args.part == "agent":
        return _agent_part()
    if args.part == "presence":
        return _presence_part(args.lane or list(LANES))
    if args.part == "stats":
        return _stats_part(args.lane or list(LANES), args.stats_scale)
    if args.part == "pages":
        return _pages_part(args.lane or list(LANES), args.stats_scale)
    if args.part == "conversations":
        return _conversations_part(args.lane or list(LANES), args.conversations_scale)
    if args.part == "attendance":
        return _attendance_part(args.lane or list(LANES))
    if args.part == "payroll":
        return _payroll_part(args.lane or list(LANES))
    started = dt.datetime.now(dt.UTC)
    t0 = time.monotonic()
    results: list[report.LaneResult] = []
    status = 0
    for name in args.lane or LANES:
        lane = report.LaneResult(name)
        results.append(lane)
        if name == "postgresql":
            reason = lanes.pg_unreachable(lanes.pg_admin_url())
            if reason:
                lane.status, lane.reason = "not run", reason
                print(f"PostgreSQL lane not run: {reason}", flush=True)
                if _in_ci():
                    print("CI=true: the PostgreSQL lane is required", flush=True)
                status = 2 if _in_ci() else status
                continue
        try:
            run_lane(lane)
        except Exception as exc:  # report the lane as failed and go on with the next one
            traceback.print_exc()
            lane.status, lane.reason = "failed", f"{type(exc).__name__}: {exc}"
            status = 2
    duration = time.monotonic() - t0
    if any(not (s.all_ok and s.exactly_once) for lane in results for s in lane.scenarios):
        status = status or 1
    print()
    print(report.render(results, duration))
    path = report.write_json(results, _meta(started, duration))
    print(f"results written to {path}")
    sys.stdout.flush()
    if args.part == "all":
        status = _presence_part(args.lane or list(LANES)) or status
        status = _stats_part(args.lane or list(LANES), args.stats_scale) or status
        status = _pages_part(args.lane or list(LANES), args.stats_scale) or status
        status = _conversations_part(args.lane or list(LANES), args.conversations_scale) or status
        status = _attendance_part(args.lane or list(LANES)) or status
        status = _payroll_part(args.lane or list(LANES)) or status
        status = _agent_part() or status
    return status


def _each_lane(
    names: list[str],
    run: Callable[[str], list[Lane]],
    unfinished: Callable[[str, str, str], Lane],
) -> tuple[list[Lane], int]:
    """Run a part on each lane; an unreachable PostgreSQL is "not run" (an error under
    CI), a crash is "failed" and the next lane still runs.  Returns results and status."""
    results: list[Lane] = []
    status = 0
    for name in names:
        if name == "postgresql" and (reason := lanes.pg_unreachable(lanes.pg_admin_url())):
            results.append(unfinished(name, "not run", reason))
            status = 2 if _in_ci() else status
            continue
        try:
            results += run(name)
        except Exception as exc:  # report the lane as failed and go on with the next one
            traceback.print_exc()
            results.append(unfinished(name, "failed", f"{type(exc).__name__}: {exc}"))
            status = 2
    return results, status


def _presence_part(names: list[str]) -> int:
    """Presence ingestion: 500 agents at one message per 30 s, and flat out."""
    from bench import presence

    started = dt.datetime.now(dt.UTC)
    t0 = time.monotonic()
    results, status = _each_lane(
        names,
        lambda name: [presence.run(name)],
        lambda name, state, why: presence.PresenceLane(name, state, why),
    )
    if any(lane.status == "ok" and not lane.all_ok for lane in results):
        status = status or 1
    print()
    print(presence.render(results))
    section = _section(started, t0, {"lanes": [lane.as_dict() for lane in results]})
    print(f"results written to {report.merge_json('presence', section)}")
    sys.stdout.flush()
    return status


def _stats_part(names: list[str], scale: float) -> int:
    """The chatter-stats views on the generated agency (built once, then cached)."""
    from bench import stats_views

    results, status = _each_lane(
        names,
        lambda name: [stats_views.run(name, scale)],
        lambda name, state, why: stats_views.StatsLane(name, scale, state, why),
    )
    print()
    print(stats_views.render(results))
    sys.stdout.flush()
    return status


def _pages_part(names: list[str], scale: float) -> int:
    """The dashboard pages: server time on the generated agency, page load in Chromium."""
    from bench import page_load, pages

    started = dt.datetime.now(dt.UTC)
    t0 = time.monotonic()
    results, status = _each_lane(
        names,
        lambda name: [pages.run(name, scale)],
        lambda name, state, why: pages.PagesLane(name, scale, state, why),
    )
    try:
        load = page_load.run()
    except page_load.NotRun as exc:
        print(f"page load not measured: {exc}", flush=True)
        load = page_load.PageLoadResult("not run", str(exc))
        status = 2 if _in_ci() else status
    except Exception as exc:  # the server times above still count
        traceback.print_exc()
        load = page_load.PageLoadResult("failed", f"{type(exc).__name__}: {exc}")
        status = 2
    print()
    print(pages.render(results))
    print()
    print(page_load.render(load))
    section = _section(
        started,
        t0,
        {"server_time": [lane.as_dict() for lane in results], "page_load": load.as_dict()},
    )
    print(f"results written to {report.merge_json('pages', section)}")
    sys.stdout.flush()
    return status


def _conversations_part(names: list[str], scale: float) -> int:
    """Conversation analytics: summary and leaderboard server time on the generated shop."""
    from bench import conversations

    started = dt.datetime.now(dt.UTC)
    t0 = time.monotonic()
    results, status = _each_lane(
        names,
        lambda name: conversations.run([name], scale),
        lambda name, state, why: conversations.LaneResult(name, scale, state, why),
    )
    if conversations.missed(results):
        status = status or 1
    print()
    print(conversations.report(results))
    section = _section(
        started,
        t0,
        {"target_ms": conversations.TARGET_MS, "lanes": [lane.as_dict() for lane in results]},
    )
    print(f"results written to {report.merge_json('conversations', section)}")
    sys.stdout.flush()
    return status


def _attendance_part(names: list[str]) -> int:
    """The attendance view for 200 chatters x 90 days (its own databases, dropped after)."""
    from bench import attendance

    started = dt.datetime.now(dt.UTC)
    t0 = time.monotonic()
    results, status = _each_lane(
        names,
        lambda name: attendance.run([name], 1.0),
        lambda name, state, why: attendance.LaneResult(name, 1.0, state, why),
    )
    if attendance.missed(results):
        status = status or 1
    print()
    print(attendance.report(results))
    section = _section(
        started,
        t0,
        {"target_ms": attendance.TARGET_MS, "lanes": [lane.as_dict() for lane in results]},
    )
    print(f"results written to {report.merge_json('attendance', section)}")
    sys.stdout.flush()
    return status


def _payroll_part(names: list[str]) -> int:
    """One month's payroll for 200 chatters x 90 days (its own databases, dropped after)."""
    from bench import payroll

    started = dt.datetime.now(dt.UTC)
    t0 = time.monotonic()
    results, status = _each_lane(
        names,
        lambda name: payroll.run([name], 1.0),
        lambda name, state, why: payroll.LaneResult(name, 1.0, state, why),
    )
    if payroll.missed(results):
        status = status or 1
    print()
    print(payroll.report_text(results))
    section = _section(
        started,
        t0,
        {"target_ms": payroll.TARGET_MS, "lanes": [lane.as_dict() for lane in results]},
    )
    print(f"results written to {report.merge_json('payroll', section)}")
    sys.stdout.flush()
    return status


def _agent_part() -> int:
    from bench import agent_footprint

    try:
        footprint = agent_footprint.run()
    except Exception:
        traceback.print_exc()
        return 2
    print()
    print(agent_footprint.render(footprint))
    sys.stdout.flush()
    return 0 if footprint.all_counted() else 1

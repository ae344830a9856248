"""The results table, the notes under it, and the JSON file for the owner."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench import collector_targets
from bench.anchors import AnchorRuns
from bench.comparison import comparison_rows, render_comparison
from bench.scenarios import ScenarioResult

RESULTS_DIR = Path(__file__).with_name("results")


@dataclass
class LaneResult:
    lane: str
    status: str = "ran"  # ran | not run | failed
    reason: str = ""
    scenarios: list[ScenarioResult] = field(default_factory=list)
    worker_peak_rss_mib: list[float] = field(default_factory=list)
    server_log_problems: dict[str, int] = field(default_factory=dict)
    anchors: AnchorRuns = field(default_factory=AnchorRuns)

    def as_dict(self) -> dict[str, Any]:
        return {
            "lane": self.lane,
            "status": self.status,
            "reason": self.reason,
            "scenarios": [
                s.as_dict() | {"target": collector_targets.verdict(self.lane, s) or None}
                for s in self.scenarios
            ],
            "worker_peak_rss_mib": [round(v, 1) for v in self.worker_peak_rss_mib],
            "server_log_problems": self.server_log_problems,
            "anchors": self.anchors.as_dict(),
            "heartbeat_vs_anchors": comparison_rows(self.scenarios, self.anchors),
        }


HEADER = (
    "lane",
    "scenario",
    "clients",
    "requests",
    "ok",
    "throughput",
    "p50 ms",
    "p99 ms",
    "db",
    "target",
)
ALIGN = "<<>>>>>>><"


def _row(lane: str, s: ScenarioResult) -> tuple[str, ...]:
    db = "ok" if s.stored == s.accepted == s.expected else f"{s.stored}/{s.expected}"
    return (
        lane,
        s.name,
        str(s.clients),
        f"{s.requests:,}",
        f"{s.ok:,}",
        f"{s.throughput:,.0f} {s.unit}",
        f"{s.p50_ms:.1f}",
        f"{s.p99_ms:.1f}",
        db,
        _target_cell(lane, s),
    )


def _target_cell(lane: str, s: ScenarioResult) -> str:
    target = collector_targets.for_lane(lane).get(s.name)
    if target is None:
        return ""
    return f"{collector_targets.verdict(lane, s)} ({target.text()})"


def render(results: list[LaneResult], duration_s: float) -> str:
    rows = [_row(lane.lane, s) for lane in results for s in lane.scenarios]
    rows += [(lane.lane, f"({lane.status}: {lane.reason})") for lane in results if lane.reason]
    widths = [len(h) for h in HEADER]
    for row in rows:
        if len(row) == len(HEADER):
            widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]

    def fmt(row: tuple[str, ...]) -> str:
        if len(row) != len(HEADER):
            return " | ".join(row)
        cells = [
            c.ljust(w) if a == "<" else c.rjust(w)
            for c, w, a in zip(row, widths, ALIGN, strict=True)
        ]
        return " | ".join(cells)

    lines = [fmt(HEADER), "-+-".join("-" * w for w in widths)]
    lines += [fmt(row) for row in rows]
    lines += [
        "",
        render_comparison([(lane.lane, lane.scenarios, lane.anchors) for lane in results]),
    ]
    lines.append("")
    for lane in results:
        lines += _lane_notes(lane)
    lines.append(
        "ok = replies 200 with every item accepted and no duplicate; db = rows stored vs sent; "
        f"p50/p99 include the TCP connect. Whole run: {duration_s:.0f} s."
    )
    return "\n".join(lines)


def _lane_notes(lane: LaneResult) -> list[str]:
    notes = []
    for s in lane.scenarios:
        where = f"  {lane.lane} {s.name}:"
        if s.requests < s.planned:
            notes.append(
                f"{where} sent {s.requests} of {s.planned} before the {s.deadline_s:.0f} s limit"
            )
        for message, count in s.failures.items():
            notes.append(f"{where} {count} x {message}")
        if not s.all_ok:
            notes.append(f"{where} NOT ALL OK: {s.ok} of {s.requests} replies ok")
        if not s.exactly_once:
            notes.append(
                f"{where} EXACTLY-ONCE VIOLATED: replies acknowledged {s.accepted} items, "
                f"the database holds {s.stored}"
            )
        cpu = ", ".join(f"{k} {v:.1f}" for k, v in s.cpu_s.items())
        per_request = s.cpu_s.get("app", 0.0) * 1000 / max(s.requests, 1)
        notes.append(
            f"{where} CPU s in {s.elapsed_s:.1f} s wall: {cpu} (app {per_request:.1f} ms/request); "
            f"load average {' '.join(f'{v:.2f}' for v in s.load_avg)}"
        )
    if lane.worker_peak_rss_mib:
        peaks = ", ".join(f"{v:.0f}" for v in lane.worker_peak_rss_mib)
        notes.append(f"  {lane.lane}: gunicorn worker peak RSS {peaks} MiB")
    for message, count in lane.server_log_problems.items():
        notes.append(f"  {lane.lane} server log: {count} x {message}")
    return notes


def _latest() -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    ignore = RESULTS_DIR / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*.json\n")
    return RESULTS_DIR / "latest.json"


def merge_json(section: str, value: dict[str, Any]) -> Path:
    """One part's results under ``section`` of latest.json, keeping what the rest wrote."""
    path = _latest()
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        document = {}
    if not isinstance(document, dict):
        document = {}
    document[section] = value
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def write_json(results: list[LaneResult], meta: dict[str, Any]) -> Path:
    path = _latest()
    document = meta | {
        "targets": {
            lane.lane: {
                name: asdict(t) for name, t in collector_targets.for_lane(lane.lane).items()
            }
            for lane in results
        },
        "lanes": [lane.as_dict() for lane in results],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path

"""Each heartbeat figure beside its anchors: "x times aw-server, y % of the limit".

The limit is the bare-Flask ceiling on the same gunicorn setup as the collector (the lane's
worker class); the ceiling on waitress is shown beside it.  Every figure carries the 1-minute
load average when it ended: the machine is shared.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench.anchors import INSTALL_HINT, AnchorRuns, aw_name, ceiling_name
from bench.scenarios import HEARTBEAT_CLIENTS, ScenarioResult, heartbeat_name

COLUMNS = (
    "lane",
    "heartbeats",
    "ChatterTrack",
    "aw-server",
    "x anchor",
    "ceiling gunicorn",
    "% of limit",
    "ceiling waitress",
)


def _find(results: Sequence[ScenarioResult], name: str) -> ScenarioResult | None:
    return next((s for s in results if s.name == name), None)


def _figure(s: ScenarioResult | None, missing: str) -> dict[str, Any]:
    if s is None:
        return {"status": missing or "not measured"}
    return {
        "req_per_s": s.throughput,
        "p99_ms": s.p99_ms,
        "load_avg": s.load_avg,
        "all_ok": s.all_ok,
        "exactly_once": s.exactly_once,
    }


def _ratio(top: ScenarioResult | None, bottom: ScenarioResult | None) -> float | None:
    if top is None or bottom is None or not bottom.throughput:
        return None
    return top.throughput / bottom.throughput


def comparison_rows(ours: Sequence[ScenarioResult], anchors: AnchorRuns) -> list[dict[str, Any]]:
    """One row per heartbeat figure (1 and 4 clients), as latest.json holds them."""
    rows = []
    for n in HEARTBEAT_CLIENTS:
        mine = _find(ours, heartbeat_name(n))
        aw = _find(anchors.aw_server, aw_name(n))
        limit = _find(anchors.ceiling, ceiling_name("gunicorn", n))
        times = _ratio(mine, aw)
        share = _ratio(mine, limit)
        rows.append(
            {
                "clients": n,
                "chattertrack": _figure(mine, ""),
                "aw_server": _figure(aw, anchors.aw_server_status),
                "ceiling_gunicorn": _figure(limit, anchors.ceiling_status),
                "ceiling_waitress": _figure(
                    _find(anchors.ceiling, ceiling_name("waitress", n)), anchors.ceiling_status
                ),
                "times_anchor": round(times, 2) if times is not None else None,
                "percent_of_limit": round(share * 100, 1) if share is not None else None,
            }
        )
    return rows


def _cell(s: ScenarioResult | None, missing: str) -> str:
    if s is None:
        return missing or "not measured"
    load = f"{s.load_avg[0]:.2f}" if s.load_avg else "?"
    text = f"{s.throughput:,.0f}/s p99 {s.p99_ms:.1f} ms, load {load}"
    return text if s.all_ok and s.exactly_once else f"{text} NOT OK"


def _rows(lane: str, ours: Sequence[ScenarioResult], anchors: AnchorRuns) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for n in HEARTBEAT_CLIENTS:
        mine = _find(ours, heartbeat_name(n))
        aw = _find(anchors.aw_server, aw_name(n))
        limit = _find(anchors.ceiling, ceiling_name("gunicorn", n))
        waitress = _find(anchors.ceiling, ceiling_name("waitress", n))
        times, share = _ratio(mine, aw), _ratio(mine, limit)
        rows.append(
            (
                lane,
                f"{n} client{'s' if n > 1 else ''}",
                _cell(mine, ""),
                _cell(aw, anchors.aw_server_status),
                f"{times:.2f}x" if times is not None else "-",
                _cell(limit, anchors.ceiling_status),
                f"{share * 100:.0f} %" if share is not None else "-",
                _cell(waitress, anchors.ceiling_status),
            )
        )
    return rows


def render_comparison(lanes: Sequence[tuple[str, Sequence[ScenarioResult], AnchorRuns]]) -> str:
    rows = [row for lane, ours, anchors in lanes for row in _rows(lane, ours, anchors)]
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(COLUMNS)]
    lines = [
        "signed 1-slice heartbeats: ChatterTrack (gunicorn) beside ActivityWatch aw-server "
        "and the bare-Flask ceiling on the same server",
        " | ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True)),
        "-+-".join("-" * w for w in widths),
    ]
    lines += [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.append(
        "x anchor = ChatterTrack's rate / aw-server's; % of limit = ChatterTrack's rate / the "
        "ceiling's on gunicorn; load = 1-minute load average when the figure ended"
    )
    if any(anchors.aw_server_status == INSTALL_HINT for _, _, anchors in lanes):
        lines.append(f"aw-server {INSTALL_HINT} (installs it into .venv-anchors/)")
    return "\n".join(lines)

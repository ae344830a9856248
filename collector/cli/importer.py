"""``import FILE``: backfill events from CSV or NDJSON."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import msgspec

from collector.cli.context import now, session_scope
from collector.ingest import events

CHUNK = 5000
CREATOR_COLUMNS = (
    "id",
    "type",
    "occurred_at",
    "creator",
    "chatter",
    "fan",
    "kind",
    "ppv_id",
    "ppv_price",
    "amount",
    "refers_to",
)
# The conversation-commerce events' fields (METRICS.md, "Conversation analytics").
CONVERSATION_COLUMNS = (
    "visitor",
    "url",
    "source",
    "trigger_id",
    "request_id",
    "initiator",
    "channel",
    "agent",
    "side",
    "order_id",
    "subtotal",
    "discount",
    "shipping",
    "tax",
    "currency",
    "status",
    "rating",
    "feedback",
)
CSV_COLUMNS = CREATOR_COLUMNS + CONVERSATION_COLUMNS
_WHOLE_NUMBER = re.compile(r"^-?[0-9]+$")


def csv_row_to_event(row: dict[str, str | None]) -> dict[str, Any]:
    """One CSV row as the JSON event the API takes; empty cells are absent."""
    event: dict[str, Any] = {k: v for k, v in row.items() if k and v not in (None, "")}
    if event.get("type") == "message_sent" and ("ppv_id" in event or "ppv_price" in event):
        event["ppv"] = {"id": event.pop("ppv_id", None), "price": event.pop("ppv_price", None)}
        event["ppv"] = {k: v for k, v in event["ppv"].items() if v is not None}
    # A rating is a JSON number; anything else stays text and is refused with the reason.
    if isinstance(rating := event.get("rating"), str) and _WHOLE_NUMBER.match(rating.strip()):
        event["rating"] = int(rating)
    return event


def _records(path: Path, fmt: str) -> Iterator[tuple[int, bytes]]:
    """(line number, raw JSON event) for every record of the file."""
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        if fmt == "csv":
            reader = csv.DictReader(handle)
            unknown = set(reader.fieldnames or ()) - set(CSV_COLUMNS)
            if "id" not in (reader.fieldnames or ()) or "type" not in (reader.fieldnames or ()):
                raise click.ClickException(
                    f"{path}: the CSV header must name at least id and type; columns: "
                    + ",".join(CSV_COLUMNS)
                )
            if unknown:
                raise click.ClickException(
                    f"{path}: unknown CSV column(s) {', '.join(sorted(unknown))}; "
                    f"known: {','.join(CSV_COLUMNS)}"
                )
            for row in reader:
                yield reader.line_num, msgspec.json.encode(csv_row_to_event(row))
        else:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield number, line.encode()


def _detect(path: Path) -> str:
    with path.open("r", encoding="utf-8-sig") as handle:
        first = handle.readline().lstrip()
    return "ndjson" if first.startswith("{") else "csv"


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "csv", "ndjson"]),
    default="auto",
    show_default=True,
)
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write rejected records with their reasons to this NDJSON file.",
)
def import_events(file: Path, fmt: str, rejects: Path | None) -> None:
    """Backfill events from FILE (CSV with the columns below, or NDJSON).

    Good records are stored (idempotently: importing the same file twice
    stores nothing new); rejected ones are listed with their line and
    reason, and the command then exits with status 1.

    CSV columns (any subset with id and type): id,type,occurred_at,creator,chatter,fan,kind,
    ppv_id,ppv_price,amount,refers_to for creator events and visitor,url,source,trigger_id,
    request_id,initiator,channel,agent,side,order_id,subtotal,discount,shipping,tax,currency,
    status,rating,feedback for conversation-commerce events.
    """
    if fmt == "auto":
        fmt = _detect(file)
    total_lines = _count_lines(file)
    stored = duplicates = 0
    conflicts: list[str] = []
    rejected: list[dict[str, Any]] = []
    source = events.source_label("import", file.name)

    def flush(chunk: list[tuple[int, bytes]]) -> None:
        nonlocal stored, duplicates
        lines = [n for n, _ in chunk]
        with session_scope() as session:
            prepared = events.prepare(session, [raw for _, raw in chunk], source=source, now=now())
            result = events.store(session, prepared.rows)
        stored += result.accepted
        duplicates += result.duplicates
        conflicts.extend(result.conflicts)
        for r in prepared.rejected:
            rejected.append({"line": lines[r.index], "id": r.id, "reason": r.message})

    with click.progressbar(
        length=total_lines, label=f"importing {file.name}", file=sys.stderr
    ) as bar:
        chunk: list[tuple[int, bytes]] = []
        done = 0
        try:
            for number, raw in _records(file, fmt):
                chunk.append((number, raw))
                if len(chunk) >= CHUNK:
                    flush(chunk)
                    bar.update(number - done)
                    done, chunk = number, []
        except (UnicodeDecodeError, csv.Error) as exc:
            raise click.ClickException(
                f"{file}: cannot read past line {done + len(chunk)}: {exc}; "
                "records before it were stored"
            ) from None
        if chunk:
            flush(chunk)
        bar.update(total_lines - done)

    click.echo(
        f"stored {stored}, duplicates {duplicates}, rejected {len(rejected)}"
        + (f", conflicting duplicates {len(conflicts)}" if conflicts else "")
    )
    for item in rejected[:20]:
        click.echo(f"  line {item['line']}: {item['id'] or '(no id)'}: {item['reason']}", err=True)
    if len(rejected) > 20:
        click.echo(f"  ... and {len(rejected) - 20} more", err=True)
    if rejects is not None and rejected:
        buffer = io.StringIO()
        for item in rejected:
            buffer.write(json.dumps(item) + "\n")
        rejects.write_text(buffer.getvalue(), encoding="utf-8")
        click.echo(f"rejected records written to {rejects}", err=True)
    if rejected:
        sys.exit(1)


COMMANDS = [import_events]

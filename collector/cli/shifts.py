"""Schedules: ``shifts`` (list, add, edit, remove, cancel, swap, restore, import, week)
and ``coverage`` (list, add, edit, remove).  The rules are collector.shifts'; a refusal
prints its message and exits 1."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path
from typing import Any

import click
from sqlalchemy.orm import Session

from collector.agency import credit
from collector.cli.context import actor, now, session_scope
from collector.db import settings
from collector.db.text import count_of
from collector.errors import DomainError
from collector.shifts import coverage as rules
from collector.shifts import listing, manage, roster
from collector.shifts.fields import day_of, digits, hhmm, zone_of


class _Number(click.ParamType[int, Any]):
    """A whole number low..high in ASCII digits (click's INT takes "１２" and "٣" too)."""

    name = "integer"

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and digits(value.strip()) and len(value.strip()) < 19:
            number = int(value.strip())
        else:
            self.fail(f"{value!r} is not a whole number (digits 0-9)", param, ctx)
        if not self.low <= number <= self.high:
            self.fail(f"{number} is not in the range {self.low} to {self.high}", param, ctx)
        return number


ID = _Number(1, manage.MAX_ID)


def _zone(session: Session) -> str:
    return str(settings.get_value(session, "agency_timezone"))


def _fail(exc: DomainError) -> click.ClickException:
    """The refusal; a roster's as a summary and one line per problem."""
    problems = roster.problems_of(exc)
    if not problems:
        return click.ClickException(exc.message)
    lines = [roster.summary(exc)]
    lines.extend(f"  line {p['line']}: {p['message']}" for p in problems)
    return click.ClickException("\n".join(lines))


def _row(shift: dict[str, Any]) -> str:
    when = shift["weekdays"] or "once"
    until = f"..{shift['last_day']}" if shift["last_day"] else ("" if when == "once" else "..")
    cells = [
        str(shift["id"]),
        shift["chatter"],
        shift["creator"],
        when,
        f"{shift['start']}-{shift['end']}",
        shift["zone"],
        f"{shift['first_day']}{until}",
    ]
    for e in shift.get("exceptions", []):
        cells.append(f"{e['day']}:{e['kind']}" + (f"->{e['chatter']}" if e["chatter"] else ""))
    if shift["note"]:
        cells.append(repr(shift["note"]))
    return "\t".join(cells)


@click.group("shifts")
def shifts() -> None:
    """Chatters' shifts: weekly or one-off, their cancelled and swapped days."""


@shifts.command("list")
@click.option("--creator", help="Only this creator's shifts.")
@click.option("--chatter", help="Only this chatter's shifts.")
def list_shifts(creator: str | None, chatter: str | None) -> None:
    """List shifts: id, chatter, creator, days, hours, zone, dates, exceptions."""
    with session_scope(write=False) as session:
        creator_id = manage.creator_named(session, creator).id if creator else None
        chatter_id = manage.chatter_named(session, chatter).id if chatter else None
        _, found = listing.shifts(session, creator_id=creator_id, chatter_id=chatter_id)
        for shift in listing.described(session, found):
            click.echo(_row(shift))


def _shift_data(**options: Any) -> dict[str, Any]:
    names = {"days": "weekdays", "start_day": "first_day", "until": "last_day"}
    return {names.get(k, k): v for k, v in options.items() if v is not None}


_WHEN = [
    click.option("--start", help="Local start, HH:MM."),
    click.option("--end", help="Local end, HH:MM (at or before the start: the next day)."),
    click.option("--days", help="Weekly on these days: mon-fri, sat,sun, daily."),
    click.option("--on", "on_day", help="Once, on this day (YYYY-MM-DD)."),
    click.option("--from", "start_day", help="Weekly from this day (default today)."),
    click.option("--until", help="Weekly until this day (inclusive); '' for no end."),
    click.option("--zone", help="IANA zone (default the agency's)."),
    click.option("--note", help="A note, one line."),
]


def _when(command: Any) -> Any:
    for option in reversed(_WHEN):
        command = option(command)
    return command


@shifts.command("add")
@click.argument("chatter")
@click.argument("creator")
@_when
def add(chatter: str, creator: str, on_day: str | None, **options: Any) -> None:
    """Add a shift for CHATTER working for CREATOR (--days weekly, or --on a day)."""
    if (on_day is None) == (options["days"] is None):
        raise click.UsageError("give --days (weekly) or --on DAY (once)")
    if options["start"] is None or options["end"] is None:
        raise click.UsageError("give --start and --end (HH:MM)")
    with session_scope() as session:
        zone = _zone(session)
        data = _shift_data(chatter=chatter, creator=creator, **options)
        if on_day is not None:
            if options["start_day"] or options["until"]:
                raise click.UsageError("--from and --until are for weekly shifts")
            data.update(weekdays="", first_day=on_day)
        else:
            data.setdefault("first_day", dt.datetime.now(zoneinfo.ZoneInfo(zone)).date())
        try:
            fields = manage.shift_fields(session, data, default_zone=zone)
            shift = credit.add_shift(session, fields, actor(), now())
        except DomainError as exc:
            raise _fail(exc) from None
        click.echo(f"shift {shift.id} added: {_row(listing.described(session, [shift])[0])}")


@shifts.command("edit")
@click.argument("shift_id", type=ID)
@click.option("--chatter", help="Another chatter.")
@click.option("--creator", help="Another creator.")
@_when
def edit(shift_id: int, on_day: str | None, **options: Any) -> None:
    """Change some of a shift's values (the others stay)."""
    with session_scope() as session:
        shift = manage.find_shift(session, shift_id)
        data = _shift_data(**options)
        if on_day is not None:
            data.update(weekdays="", first_day=on_day, last_day=None)
        if not data:
            raise click.UsageError("nothing to change: give at least one option")
        try:
            fields = manage.shift_fields(session, data, default_zone=_zone(session), base=shift)
            changes = credit.edit_shift(session, shift, fields, actor(), now())
        except DomainError as exc:
            raise _fail(exc) from None
        click.echo(f"shift {shift_id}: " + (", ".join(sorted(changes)) or "nothing") + " changed")


@shifts.command("remove")
@click.argument("shift_id", type=ID)
def remove(shift_id: int) -> None:
    """Delete a shift and its exceptions (to keep its history, edit --until instead)."""
    with session_scope() as session:
        credit.remove_shift(session, manage.find_shift(session, shift_id), actor(), now())
    click.echo(f"shift {shift_id} deleted")


@shifts.command("cancel")
@click.argument("shift_id", type=ID)
@click.argument("day")
@click.option("--note", help="Why, one line.")
def cancel(shift_id: int, day: str, note: str | None) -> None:
    """Cancel the occurrence of a shift that starts on local DAY."""
    with session_scope() as session:
        shift = manage.find_shift(session, shift_id)
        data = {"day": day, "kind": "cancelled", "note": note}
        credit.add_exception(session, shift, data, actor(), now())
    click.echo(f"shift {shift_id} cancelled on {day}")


@shifts.command("swap")
@click.argument("shift_id", type=ID)
@click.argument("day")
@click.option("--to", "chatter", help="The chatter who works that day instead.")
@click.option("--with-shift", type=ID, help="Swap with this shift.")
@click.option("--with-day", help="The other shift's day (default DAY).")
@click.option("--note", help="Why, one line.")
def swap(
    shift_id: int,
    day: str,
    chatter: str | None,
    with_shift: int | None,
    with_day: str | None,
    note: str | None,
) -> None:
    """Hand the occurrence starting on DAY to another chatter (--to), or swap it with
    another chatter's shift (--with-shift: each works the other's day)."""
    if (chatter is None) == (with_shift is None):
        raise click.UsageError("give --to CHATTER or --with-shift ID")
    with session_scope() as session:
        shift = manage.find_shift(session, shift_id)
        data = {
            "day": day,
            "kind": "swapped",
            "chatter": chatter,
            "with_shift": with_shift,
            "with_day": with_day,
            "note": note,
        }
        rows = credit.add_exception(session, shift, data, actor(), now())
        names, _ = listing.keys(session)
        for row in rows:
            worker = names.get(row.replacement_chatter_id or 0)
            click.echo(f"shift {row.shift_id} on {row.day}: worked by {worker}")


@shifts.command("restore")
@click.argument("shift_id", type=ID)
@click.argument("day")
def restore(shift_id: int, day: str) -> None:
    """Undo a cancelled or swapped day."""
    with session_scope() as session:
        shift = manage.find_shift(session, shift_id)
        credit.remove_exception(session, shift, day_of(day, "DAY"), actor(), now())
    click.echo(f"shift {shift_id} on {day}: as planned again")


@shifts.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--from", "start_day", help="First day of weekly rows (default today).")
@click.option("--dry-run", is_flag=True, help="Check every row, write nothing.")
def import_roster(file: Path, start_day: str | None, dry_run: bool) -> None:
    """Import a roster CSV (README, "Schedules"): every row or, on any problem, none."""
    data = file.read_bytes()
    with session_scope() as session:
        zone = _zone(session)
        first = (
            day_of(start_day, "--from")
            if start_day
            else dt.datetime.now(zoneinfo.ZoneInfo(zone)).date()
        )
        try:
            done = credit.import_roster(
                session, data, default_zone=zone, start_day=first, actor=actor(), now=now()
            )
        except DomainError as exc:
            raise _fail(exc) from None
        for skipped in done.skipped:
            click.echo(f"line {skipped['line']}: skipped, {skipped['reason']}")
        if dry_run:
            session.rollback()
            click.echo(
                f"{count_of(len(done.added), 'shift')} would be added (dry run: nothing written)"
            )
            return
        click.echo(f"{count_of(len(done.added), 'shift')} added")


@shifts.command("week")
@click.option("--from", "start_day", help="First day (default today).")
@click.option("--days", type=_Number(1, listing.MAX_RANGE_DAYS), default=7)
@click.option("--tz", help="Show times in this IANA zone (default the agency's).")
@click.option("--creator", help="Only this creator.")
def week(start_day: str | None, days: int, tz: str | None, creator: str | None) -> None:
    """Who works when: the occurrences of the coming days, in a zone."""
    with session_scope(write=False) as session:
        zone = zoneinfo.ZoneInfo(zone_of(tz, "--tz") if tz else _zone(session))
        first = day_of(start_day, "--from") if start_day else dt.datetime.now(zone).date()
        start = dt.datetime.combine(first, dt.time(), zone).astimezone(dt.UTC)
        end = dt.datetime.combine(first + dt.timedelta(days=days), dt.time(), zone)
        creator_id = manage.creator_named(session, creator).id if creator else None
        found = listing.planned(session, start, end.astimezone(dt.UTC), creator_id=creator_id)
        names = listing.keys(session)
        for item in found:
            row = listing.occurrence_row(item, names, zone)
            begins = item.occurrence.starts_at.astimezone(zone)
            ends = item.occurrence.ends_at.astimezone(zone)
            span = f"{begins:%Y-%m-%d %a} {hhmm(begins.hour * 60 + begins.minute)}-"
            span += hhmm(ends.hour * 60 + ends.minute)
            if ends.date() != begins.date():
                span += " (+1)"
            state = "" if row["state"] == "scheduled" else f"\t{row['state']}"
            click.echo(
                f"{span}\t{row['chatter']}\t{row['creator']}\tshift {row['shift_id']}{state}"
            )


@click.group("coverage")
def coverage() -> None:
    """How many chatters each creator needs online, by weekday and local time."""


def _rule_row(rule: dict[str, Any]) -> str:
    return "\t".join(
        [
            str(rule["id"]),
            rule["creator"],
            rule["weekdays"],
            f"{rule['start']}-{rule['end']}",
            rule["zone"],
            f"{rule['required']} online",
        ]
    )


@coverage.command("list")
@click.option("--creator", help="Only this creator's rules.")
def list_rules(creator: str | None) -> None:
    """List coverage rules."""
    with session_scope(write=False) as session:
        creator_id = manage.creator_named(session, creator).id if creator else None
        for rule in rules.rules(session, creator_id=creator_id):
            click.echo(_rule_row(rules.describe(session, rule)))


_RULE = [
    click.option("--days", "weekdays", help="mon-fri, sat,sun, daily."),
    click.option("--start", help="Local start, HH:MM."),
    click.option("--end", help="Local end, HH:MM (equal to the start: all day)."),
    click.option("--zone", help="IANA zone (default the agency's)."),
    click.option("--required", help="Chatters needed online (0-1000)."),
]


def _rule_options(command: Any) -> Any:
    for option in reversed(_RULE):
        command = option(command)
    return command


@coverage.command("add")
@click.argument("creator")
@_rule_options
def add_rule(creator: str, **options: Any) -> None:
    """Add a coverage rule for CREATOR."""
    with session_scope() as session:
        data = {"creator": creator, **{k: v for k, v in options.items() if v is not None}}
        values = rules.rule_values(session, data, default_zone=_zone(session))
        rule = rules.add_rule(session, values, actor(), now())
        click.echo(f"coverage rule {rule.id} added: {_rule_row(rules.describe(session, rule))}")


@coverage.command("edit")
@click.argument("rule_id", type=ID)
@_rule_options
def edit_rule(rule_id: int, **options: Any) -> None:
    """Change some of a coverage rule's values."""
    with session_scope() as session:
        rule = rules.find_rule(session, rule_id)
        data = {k: v for k, v in options.items() if v is not None}
        values = rules.rule_values(session, data, default_zone=_zone(session), base=rule)
        changes = rules.edit_rule(session, rule, values, actor(), now())
        click.echo(
            f"coverage rule {rule_id}: " + (", ".join(sorted(changes)) or "nothing") + " changed"
        )


@coverage.command("remove")
@click.argument("rule_id", type=ID)
def remove_rule(rule_id: int) -> None:
    """Delete a coverage rule."""
    with session_scope() as session:
        rules.remove_rule(session, rules.find_rule(session, rule_id), actor(), now())
    click.echo(f"coverage rule {rule_id} deleted")


COMMANDS = [shifts, coverage]

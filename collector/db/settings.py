"""Agency settings as stored: definitions, validation, and the effective value per chatter.

The read side every package uses; changing a setting is ``collector.agency.settings``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from collector.db import retention, text
from collector.db.direct import Fixed
from collector.db.models import Chatter, Setting
from collector.errors import DomainError
from shared.money import CURRENCY_EXPONENTS
from shared.protocol import ALLOWED_SLICE_SECONDS, AgentSettings

GLOBAL = "global"
# The pay period kinds (collector/payroll/periods.py KINDS says the same; db sits below it).
PAY_PERIODS = ("weekly", "biweekly", "semimonthly", "monthly")


def _int_between(low: int, high: int) -> Callable[[str], object]:
    def parse(raw: str) -> object:
        # ASCII digits only (text.whole_number): int() read "٣" (Arabic-Indic) as 3.
        value = text.whole_number(raw.strip(), 0, 10**18 - 1)
        if value is None:
            raise DomainError(f"{raw[:20]!r} is not a whole number (digits 0-9)")
        if not low <= value <= high:
            raise DomainError(f"{value} is outside {low}..{high}")
        return value

    return parse


def _slice_seconds(raw: str) -> object:
    value = _int_between(1, 60)(raw)
    if value not in ALLOWED_SLICE_SECONDS:
        allowed = ", ".join(map(str, ALLOWED_SLICE_SECONDS))
        raise DomainError(f"{value} does not divide 60; choose one of {allowed}")
    return value


def _boolean(raw: str) -> object:
    word = raw.strip().lower()
    if word in ("true", "on", "yes", "1"):
        return True
    if word in ("false", "off", "no", "0"):
        return False
    raise DomainError(f"{raw!r} is not on or off (true/false, yes/no, 1/0)")


def _currency(raw: str) -> object:
    code = raw.upper()
    if code not in CURRENCY_EXPONENTS:
        raise DomainError(
            f"unknown currency {raw!r}; known: {', '.join(sorted(CURRENCY_EXPONENTS))}"
        )
    return code


def _one_of(*choices: str) -> Callable[[str], object]:
    def parse(raw: str) -> object:
        word = raw.strip().lower()
        if word not in choices:
            raise DomainError(f"{raw[:40]!r} is not one of: {', '.join(choices)}")
        return word

    return parse


def _day(raw: str) -> object:
    day = text.iso_day(raw.strip())
    if day is None or not dt.date(1900, 1, 1) <= day <= dt.date(9000, 12, 31):
        raise DomainError(f"{raw[:20]!r} is not a date from 1900-01-01 to 9000-12-31 (YYYY-MM-DD)")
    return day


def _timezone(raw: str) -> object:
    wrong = text.zone_problem(raw)
    if wrong is not None:
        raise DomainError(wrong)
    return raw


@dataclass(frozen=True)
class Definition:
    name: str
    default: object
    parse: Callable[[str], object]
    per_chatter: bool
    help: str


DEFINITIONS: dict[str, Definition] = {
    d.name: d
    for d in (
        Definition(
            "slice_seconds",
            60,
            _slice_seconds,
            True,
            "length of an agent's time slice in seconds; divides 60",
        ),
        Definition(
            "idle_threshold_seconds",
            180,
            _int_between(1, 86_400),
            True,
            "input gap after which time counts as idle (backdated to the last input)",
        ),
        Definition(
            "outbox_max_days",
            30,
            _int_between(1, 30),
            True,
            "days of unsent slices an agent keeps before dropping the oldest (at most the "
            "slice retention)",
        ),
        Definition("currency", "USD", _currency, False, "ISO 4217 code of the agency's money"),
        Definition(
            "agency_timezone",
            "UTC",
            _timezone,
            False,
            "IANA time zone used when a request names none",
        ),
        Definition(
            "exclude_regular_input",
            False,
            _boolean,
            False,
            "leave regular, machine-like input (such as a mouse jiggler: input at a steady, "
            "unhuman beat) out of active time on every page, in the API and in exports; it is "
            "shown on its own either way",
        ),
        Definition(
            "attribution_window_days",
            7,
            _int_between(1, 90),
            False,
            "days before an order in which a two-way chat conversation earns it (conversation "
            "analytics)",
        ),
        # Whom a sale is credited to (METRICS.md "Money"); a change re-credits every sale of
        # that kind (collector/agency/settings.py).
        Definition(
            "ppv_credit",
            "sender",
            _one_of("sender", "shift"),
            False,
            "whom a PPV purchase is credited to: 'sender' (the chatter who sent that PPV to "
            "the fan, else its first sender) or 'shift' (the one chatter on shift for that "
            "creator at the moment of the purchase; when nobody or several are, the sender "
            "rule applies); a manual reassignment wins either way",
        ),
        Definition(
            "tip_credit",
            "converter",
            _one_of("converter", "shift"),
            False,
            "whom a tip is credited to: 'converter' (the chatter named on the tip, else the "
            "last to send the fan a direct message within 24 h) or 'shift' (the one chatter "
            "on shift for that creator at the moment of the tip; when nobody or several are, "
            "the converter rule applies); a manual reassignment wins either way",
        ),
        Definition(
            "late_grace_minutes",
            5,
            _int_between(0, 240),
            False,
            "minutes after a shift's start (and before its end) within which the first "
            "(and last) activity still counts as on time: a first activity later makes the "
            "shift late, a last one earlier makes it left early",
        ),
        # Payroll (collector/payroll/, METRICS.md "Payroll").  The calendar cannot change
        # once a period is approved (collector/agency/settings.py).
        Definition(
            "pay_period",
            "monthly",
            _one_of(*PAY_PERIODS),
            False,
            "how often chatters are paid, in local days of the agency zone: weekly, biweekly "
            "(every two weeks from pay_period_anchor), semimonthly (1st-15th, 16th-last) or "
            "monthly",
        ),
        Definition(
            "pay_period_anchor",
            dt.date(2024, 1, 1),
            _day,
            False,
            "a first day of a weekly or biweekly pay period (YYYY-MM-DD); the default, "
            "a Monday, makes weeks run Monday to Sunday",
        ),
        Definition(
            "platform_fee_basis_points",
            2000,
            _int_between(0, 10_000),
            False,
            "the platform's fee on sales in basis points (2000 = 20 %), taken off before a "
            "commission that is paid after the fee",
        ),
        # Retention (collector/retention/purge.py, METRICS.md "What is kept").
        Definition(
            "retention_slice_days",
            14,
            _int_between(1, 366),
            False,
            "days raw activity slices are kept; the quarter-hour and daily sums stay",
        ),
        Definition(
            "retention_event_days",
            400,
            _int_between(30, 3650),
            False,
            "days raw chatter events (messages, sales, refunds) are kept; the sums stay",
        ),
    )
}


def definition(name: str) -> Definition:
    try:
        return DEFINITIONS[name]
    except KeyError:
        raise DomainError(
            f"unknown setting {name!r}; known: {', '.join(sorted(DEFINITIONS))}"
        ) from None


def scope_for(chatter: Chatter | None) -> str:
    return GLOBAL if chatter is None else f"chatter:{chatter.id}"


# Two scopes bound one by one (the agency's twice without a chatter): a fixed statement.
_SCOPED_VALUES = Fixed(
    select(Setting.name, Setting.scope, Setting.value).where(
        Setting.scope.in_([bindparam("agency"), bindparam("own")])
    )
)


def effective(db: Session | Connection, chatter_id: int | None = None) -> dict[str, object]:
    """Every setting's value: the chatter's own, else the agency's, else the default."""
    own = GLOBAL if chatter_id is None else f"chatter:{chatter_id}"
    rows = _SCOPED_VALUES.rows(db, {"agency": GLOBAL, "own": own})
    values = {name: d.default for name, d in DEFINITIONS.items()}
    # Global first, then the chatter's own so it wins.
    for name, _scope, raw in sorted(rows, key=lambda r: r[1] != GLOBAL):
        if name in DEFINITIONS:
            values[name] = DEFINITIONS[name].parse(raw)
    return values


@dataclass(frozen=True)
class CreditRules:
    """The settings ppv_credit and tip_credit: which kinds of sale go to the chatter on shift."""

    ppv_by_shift: bool = False
    tip_by_shift: bool = False

    @property
    def by_shift(self) -> bool:
        return self.ppv_by_shift or self.tip_by_shift

    def shift_types(self) -> tuple[str, ...]:
        """The event types credited by shift."""
        return tuple(
            t for t, on in (("ppv_purchase", self.ppv_by_shift), ("tip", self.tip_by_shift)) if on
        )


CREDIT_SETTINGS = ("ppv_credit", "tip_credit")


def credit_rules_of(values: dict[str, object]) -> CreditRules:
    return CreditRules(
        ppv_by_shift=values.get("ppv_credit") == "shift",
        tip_by_shift=values.get("tip_credit") == "shift",
    )


def credit_rules(db: Session | Connection) -> CreditRules:
    return credit_rules_of(effective(db))


_INGEST_STATE = select(Setting.name, Setting.scope, Setting.value).where(
    (Setting.scope == retention.SCOPE)
    | ((Setting.scope == GLOBAL) & Setting.name.in_(CREDIT_SETTINGS))
)


def ingest_state(connection: Connection) -> tuple[retention.Watermarks, CreditRules]:
    """The purge watermarks and the credit rules in one read (the ingest hot path)."""
    found = connection.execute(_INGEST_STATE).all()
    marks = retention.watermarks_of({n: v for n, scope, v in found if scope == retention.SCOPE})
    values = {n: DEFINITIONS[n].parse(v) for n, scope, v in found if scope == GLOBAL}
    return marks, credit_rules_of(values)


def get_value(session: Session, name: str, chatter_id: int | None = None) -> object:
    definition(name)
    return effective(session, chatter_id)[name]


def agent_settings(db: Session | Connection, chatter_id: int) -> AgentSettings:
    values = effective(db, chatter_id)
    return AgentSettings(
        slice_seconds=int(str(values["slice_seconds"])),
        idle_threshold_seconds=int(str(values["idle_threshold_seconds"])),
        # Slices older than the retention would be refused (purged_period): the agent keeps
        # no more than the collector would take.
        outbox_max_days=min(
            int(str(values["outbox_max_days"])), int(str(values["retention_slice_days"]))
        ),
    )


def currency_exponent(session: Session) -> tuple[str, int]:
    code = str(get_value(session, "currency"))
    return code, CURRENCY_EXPONENTS[code]

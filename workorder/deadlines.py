"""Deadlines: pure functions over a time-limit table and a holiday calendar.

A :class:`Limit` is an amount in one of three units:

* ``minutes``       -- wall-clock minutes from the start;
* ``calendar_days`` -- whole days: the end (23:59:59, Beijing time) of the Nth day after the start day;
* ``working_days``  -- the end of the Nth *working* day after the start day, where a working day is
  Monday-Friday unless it is a public holiday, plus the weekend days the State Council
  makes working days (调休).  The start day itself is not counted ("自受理次日起").

The calendar is the platform's one calendar (:class:`hotline.calendar.Calendar`,
``holidays/<year>.yaml``); all datetimes are timezone-aware and day
arithmetic happens in the calendar's zone (HOTLINE_TIMEZONE).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hotline.calendar import Calendar

UNITS = ("minutes", "calendar_days", "working_days")


@dataclass(frozen=True)
class Limit:
    amount: int
    unit: str

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"unit must be one of {UNITS}, not {self.unit!r}")
        if self.amount <= 0:
            raise ValueError("amount must be positive")

    def __str__(self) -> str:
        return f"{self.amount} {self.unit}"


@dataclass(frozen=True)
class LimitRow:
    type: str  # request type or "*"
    urgency: str  # urgency or "*"
    sign_in: Limit
    handling: Limit


@dataclass(frozen=True)
class LimitTable:
    rows: tuple[LimitRow, ...]
    warn_ratio: float = 0.8  # warn when this share of the time is used up
    county: tuple[LimitRow, ...] = ()  # 县→县直部门 (time_limits.yaml ``county:``); empty: as ``rows``

    def lookup(self, type_: str, urgency: str, level: str = "city") -> LimitRow:
        """Most specific row wins: (type, urgency), (type, *), (*, urgency), (*, *).
        ``level="county"``: the rows of a county's dispatch on to its departments."""
        rows = self.county if level == "county" and self.county else self.rows
        for t, u in ((type_, urgency), (type_, "*"), ("*", urgency), ("*", "*")):
            for row in rows:
                if row.type == t and row.urgency == u:
                    return row
        raise LookupError(f"no time limit for type={type_!r} urgency={urgency!r} and no '*' default")


def add_limit(start: datetime, limit: Limit, cal: Calendar) -> datetime:
    """The deadline ``limit`` after ``start``."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if limit.unit == "minutes":
        return start + timedelta(minutes=limit.amount)
    day = start.astimezone(cal.tz).date()
    if limit.unit == "calendar_days":
        return cal.end_of_day(day + timedelta(days=limit.amount))
    return cal.end_of_day(cal.add_working_days(day, limit.amount))


@dataclass(frozen=True)
class Deadlines:
    sign_in: datetime
    handling: datetime
    sign_warn: datetime
    handling_warn: datetime


def warn_at(start: datetime, deadline: datetime, ratio: float) -> datetime:
    return start + (deadline - start) * ratio


def compute(
    start: datetime,
    type_: str,
    urgency: str,
    table: LimitTable,
    cal: Calendar,
    level: str = "city",
    within: datetime | None = None,
) -> Deadlines:
    """Deadlines for an order dispatched at ``start`` (computed at dispatch and at reopening).
    ``level="county"``, ``within`` the county's own deadline: a county's dispatch on to its
    department (县→县直部门) ends no later than the county has to answer the city."""
    row = table.lookup(type_, urgency, level)
    sign = add_limit(start, row.sign_in, cal)
    handle = add_limit(start, row.handling, cal)
    handle = max(handle, sign)
    if within is not None and within > start:
        sign, handle = min(sign, within), min(handle, within)
    return Deadlines(sign, handle, warn_at(start, sign, table.warn_ratio), warn_at(start, handle, table.warn_ratio))


def extend(deadline: datetime, extra: Limit, cal: Calendar) -> datetime:
    """The handling deadline after an approved extension: ``extra`` counted from the old deadline."""
    return add_limit(deadline, extra, cal)


@dataclass(frozen=True)
class Alarm:
    stage: str  # sign_warning | sign_overdue | handling_warning | handling_overdue
    deadline: datetime

    @property
    def key(self) -> str:
        """The alarm's identity for deduplication: the stage and the deadline (in UTC)."""
        return f"{self.stage}@{self.deadline.astimezone(UTC).isoformat()}"


def alarms(
    now: datetime,
    status: str,
    start: datetime | None,
    sign_deadline: datetime | None,
    handling_deadline: datetime | None,
    warn_ratio: float,
) -> list[Alarm]:
    """Which warnings / overdue supervisions are due for an order now (pure; the job dedups by key)."""
    out: list[Alarm] = []
    if start is None:
        return out
    if status == "dispatched" and sign_deadline is not None:
        if now > sign_deadline:
            out.append(Alarm("sign_overdue", sign_deadline))
        elif now >= warn_at(start, sign_deadline, warn_ratio):
            out.append(Alarm("sign_warning", sign_deadline))
    if status in ("dispatched", "handling", "return_review") and handling_deadline is not None:
        if now > handling_deadline:
            out.append(Alarm("handling_overdue", handling_deadline))
        elif now >= warn_at(start, handling_deadline, warn_ratio):
            out.append(Alarm("handling_warning", handling_deadline))
    return out


def county_alarms(
    now: datetime,
    sub_status: str | None,
    start: datetime | None,
    sign_deadline: datetime | None,
    handling_deadline: datetime | None,
    warn_ratio: float,
) -> list[Alarm]:
    """The same warnings and supervisions one level down (县→县直部门): stages ``county_*``."""
    status = {"dispatched": "dispatched", "handling": "handling", "return_review": "return_review"}.get(
        sub_status or ""
    )
    if status is None:
        return []
    found = alarms(now, status, start, sign_deadline, handling_deadline, warn_ratio)
    return [Alarm(f"county_{a.stage}", a.deadline) for a in found]


def parse_limit(text: str | dict[str, int]) -> Limit:
    """``"5 working_days"`` / ``{"working_days": 5}`` -> Limit."""
    if isinstance(text, dict):
        if len(text) != 1:
            raise ValueError("a limit is one 'unit: amount' pair")
        ((unit, amount),) = text.items()
        return Limit(int(amount), str(unit))
    parts = str(text).split()
    if len(parts) != 2:
        raise ValueError(f"a limit is '<amount> <unit>', e.g. '5 working_days', not {text!r}")
    return Limit(int(parts[0]), parts[1])


__all__ = [
    "UNITS",
    "Limit",
    "LimitRow",
    "LimitTable",
    "Deadlines",
    "Alarm",
    "add_limit",
    "compute",
    "extend",
    "warn_at",
    "alarms",
    "county_alarms",
    "parse_limit",
]

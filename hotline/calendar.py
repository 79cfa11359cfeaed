"""The one calendar of the platform: time zone, holidays, 调休 workdays, opening hours.

Everything that asks "is this a working day?" or "is this line open now?"
asks this module: the transfer map's line hours (routing), the IVR ``hours``
nodes and the work-order deadlines.  The data is one YAML file per year in
``holidays/`` (``holidays/2026.yaml`` ...), each saying where it comes from;
the time zone is the one setting ``HOTLINE_TIMEZONE`` (:mod:`hotline.settings`).

A year with no file is plain weekdays and weekends: time passing never makes
the platform refuse to start.  :meth:`Calendar.coverage_warning` says when the
data is about to run out, so an operator adds the next year in time.

Everything here is pure except :func:`load_calendar`, which reads the files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hotline.yamlsrc import ConfigError, Problem, Source, load

DEFAULT_TIMEZONE = "Asia/Shanghai"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WARN_DAYS = 60  # warn this many days before the holiday data runs out

_HOURS_RE = re.compile(r"^\s*([a-z,\-]+)\s+(\d{1,2}:\d{2})-(\d{1,2}:\d{2})\s*$")


def zone(name: str) -> ZoneInfo:
    """The time zone called ``name``; ValueError with a clear message when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (use an IANA name like {DEFAULT_TIMEZONE})") from None


# --- weekly opening hours ----------------------------------------------------------


@dataclass(frozen=True)
class HourRule:
    days: frozenset[int]  # 0 = Monday
    start: int  # minutes after midnight
    end: int  # exclusive


@dataclass(frozen=True)
class WeeklyHours:
    """Opening hours as rules like ``mon-fri 08:30-12:00``; no rule = always open (7x24)."""

    rules: tuple[HourRule, ...] = ()

    @property
    def always(self) -> bool:
        return not self.rules

    def open_at(self, weekday: int, minute: int) -> bool:
        return self.always or any(weekday in r.days and r.start <= minute < r.end for r in self.rules)


ALWAYS = WeeklyHours()


def parse_days(spec: str) -> frozenset[int]:
    """``mon-fri`` / ``sat,sun`` / ``fri-mon`` -> weekday numbers (0 = Monday)."""
    out: set[int] = set()
    for part in spec.split(","):
        if "-" in part:
            a, b = part.split("-", 1)
            if a not in DAYS or b not in DAYS:
                raise ValueError(f"unknown day in {spec!r}: use {', '.join(DAYS)}")
            i, j = DAYS.index(a), DAYS.index(b)
            out.update(range(i, j + 1) if i <= j else [*range(i, 7), *range(0, j + 1)])
        else:
            if part not in DAYS:
                raise ValueError(f"unknown day {part!r}: use {', '.join(DAYS)}")
            out.add(DAYS.index(part))
    return frozenset(out)


def parse_hm(s: str) -> int:
    """``"08:30"`` -> 510 minutes; ``"24:00"`` is the end of the day."""
    h, m = s.split(":")
    h_, m_ = int(h), int(m)
    if not (0 <= h_ <= 24 and 0 <= m_ < 60) or (h_ == 24 and m_ != 0):
        raise ValueError(f"bad time {s!r}")
    return h_ * 60 + m_


def parse_hours(rules: list[str] | tuple[str, ...] | str) -> WeeklyHours:
    """``"7x24"`` or ``["mon-fri 08:30-12:00", "sat 09:00-12:00"]`` -> :class:`WeeklyHours`."""
    if isinstance(rules, str):
        s = rules.strip().lower().replace("×", "x").replace(" ", "")
        if s in ("7x24", "24x7", "always"):
            return ALWAYS
        rules = [rules]
    out = []
    for rule in rules:
        m = _HOURS_RE.match(str(rule).lower())
        if not m:
            raise ValueError(f"bad opening hours {rule!r}: write '7x24' or a list like 'mon-fri 08:30-17:30'")
        days = parse_days(m.group(1))
        start, end = parse_hm(m.group(2)), parse_hm(m.group(3))
        if end <= start:
            raise ValueError(f"bad opening hours {rule!r}: the end must be after the start")
        out.append(HourRule(days, start, end))
    return WeeklyHours(tuple(out))


# --- the calendar ------------------------------------------------------------------


@dataclass(frozen=True)
class Calendar:
    """Holidays and 调休 workdays in one time zone.  Pure: build it once, ask it often."""

    timezone: str = DEFAULT_TIMEZONE
    holidays: frozenset[date] = frozenset()  # whole days off
    workdays: frozenset[date] = frozenset()  # weekend days worked (调休)
    years: frozenset[int] = frozenset()  # years the data covers
    names: dict[date, str] = field(default_factory=dict, compare=False, hash=False)  # holiday -> 春节 ...
    sources: dict[int, str] = field(default_factory=dict, compare=False, hash=False)  # year -> where from

    @property
    def tz(self) -> ZoneInfo:
        return zone(self.timezone)

    def local(self, when: datetime) -> datetime:
        """``when`` as naive local time of the calendar (a naive ``when`` is taken as local)."""
        if when.tzinfo is None:
            return when
        return when.astimezone(self.tz).replace(tzinfo=None)

    def now(self) -> datetime:
        """The wall clock of the hotline (aware, in the calendar's zone), not of the host."""
        return datetime.now(self.tz)

    def today(self) -> date:
        return self.now().date()

    def is_holiday(self, d: date) -> bool:
        return d in self.holidays

    def weekday(self, d: date) -> int:
        """The day of the week ``d`` counts as: a 调休 workday counts as a Monday."""
        return 0 if d in self.workdays else d.weekday()

    def is_working_day(self, d: date) -> bool:
        if d in self.workdays:
            return True
        if d in self.holidays:
            return False
        return d.weekday() < 5

    def is_open(self, hours: WeeklyHours, when: datetime | None) -> bool:
        """Open at ``when``?  Always-open hours and ``None`` (no time rules) are open;
        holidays are closed all day; a 调休 workday follows the Monday rules."""
        if hours.always or when is None:
            return True
        local = self.local(when)
        d = local.date()
        if d in self.holidays:
            return False
        return hours.open_at(self.weekday(d), local.hour * 60 + local.minute)

    def add_working_days(self, day: date, n: int) -> date:
        """The ``n``-th working day after ``day`` (``day`` itself not counted: 自受理次日起)."""
        if n < 0:
            raise ValueError("n must not be negative")
        guard = 0
        while n:
            day += timedelta(days=1)
            guard += 1
            if guard > 3660:
                raise ValueError("calendar has no working days within 10 years")
            if self.is_working_day(day):
                n -= 1
        return day

    def end_of_day(self, d: date) -> datetime:
        """23:59:59 of ``d`` in the calendar's zone (aware)."""
        return datetime.combine(d, time(23, 59, 59), tzinfo=self.tz)

    @property
    def covered_until(self) -> date | None:
        """The last day the holiday data covers, or None when there is none."""
        return date(max(self.years), 12, 31) if self.years else None

    @property
    def provisional_years(self) -> tuple[int, ...]:
        """Years whose file says ``source: provisional ...`` (no State Council notice yet)."""
        return tuple(sorted(y for y, src in self.sources.items() if src.lower().startswith("provisional")))

    def provisional_warning(self, today: date) -> str | None:
        """A warning while a provisional year is this year or ahead: its 调休 days are missing."""
        years = [y for y in self.provisional_years if y >= today.year]
        if not years:
            return None
        return (
            f"the holiday data of {', '.join(map(str, years))} is provisional (festival days only, no 调休 "
            f"workdays): replace holidays/{years[0]}.yaml with the State Council's notice"
        )

    def coverage_warning(self, today: date) -> str | None:
        """A warning when the holiday data ends within :data:`WARN_DAYS` days (or has ended)."""
        end = self.covered_until
        if end is None:
            return (
                "no holiday data: every year is plain weekdays and weekends; "
                "add holidays/<year>.yaml from the State Council's notice"
            )
        if today > end:
            return (
                f"the holiday data ended on {end.isoformat()}: {today.year} is plain weekdays and "
                f"weekends; add holidays/{today.year}.yaml from the State Council's notice"
            )
        if (end - today).days <= WARN_DAYS:
            return (
                f"the holiday data ends on {end.isoformat()} ({(end - today).days} days): "
                f"add holidays/{end.year + 1}.yaml from the State Council's notice"
            )
        return None


# --- loading -------------------------------------------------------------------------

_YEAR_KEYS = {"year", "source", "holidays", "workdays"}


def _as_date(v: Any) -> date | None:
    if isinstance(v, date) and not isinstance(v, datetime):
        return v
    if isinstance(v, str):
        try:
            return date.fromisoformat(v.strip())
        except ValueError:
            return None
    return None


def parse_year(data: Any, src: Source) -> tuple[int | None, str, dict[date, str], set[date], list[Problem]]:
    """One year file's data -> (year, source, holidays with names, workdays, problems).  Pure."""
    P = src.problem
    problems: list[Problem] = []
    if not isinstance(data, dict):
        return None, "", {}, set(), [P((), "a holiday file is a mapping with year, source, holidays, workdays")]
    for key in data:
        if key not in _YEAR_KEYS:
            problems.append(P((key,), f"unknown field {key!r}; known: {', '.join(sorted(_YEAR_KEYS))}"))
    year = data.get("year")
    if not isinstance(year, int) or not 2000 <= year <= 2200:
        problems.append(P(("year",), f"year must be a year like 2026, not {year!r}"))
        year = None
    source = data.get("source")
    if not isinstance(source, str) or not source.strip():
        problems.append(P(("source",), "say where the dates come from (the State Council notice's number)"))
        source = ""
    holidays: dict[date, str] = {}
    raw = data.get("holidays") or []
    if not isinstance(raw, list):
        problems.append(P(("holidays",), "holidays must be a list of {name, from, to}"))
        raw = []
    for i, h in enumerate(raw):
        if not isinstance(h, dict) or set(h) - {"name", "from", "to"} or not {"name", "from"} <= set(h):
            problems.append(P(("holidays", i), "a holiday is {name: 春节, from: YYYY-MM-DD, to: YYYY-MM-DD}"))
            continue
        a, b = _as_date(h["from"]), _as_date(h.get("to", h["from"]))
        if a is None or b is None:
            problems.append(P(("holidays", i), "from and to must be dates (YYYY-MM-DD)"))
            continue
        if b < a:
            problems.append(P(("holidays", i, "to"), "'to' is before 'from'"))
            continue
        if year is not None and (a.year != year or b.year != year):
            problems.append(P(("holidays", i, "from"), f"not in year {year}"))
        d = a
        while d <= b:
            holidays[d] = str(h["name"])
            d += timedelta(days=1)
    workdays: set[date] = set()
    raw_w = data.get("workdays") or []
    if not isinstance(raw_w, list):
        problems.append(P(("workdays",), "workdays must be a list of dates"))
        raw_w = []
    for i, v in enumerate(raw_w):
        d2 = _as_date(v)
        if d2 is None:
            problems.append(P(("workdays", i), f"{v!r} is not a date (YYYY-MM-DD)"))
            continue
        if d2.weekday() < 5:
            problems.append(
                P(("workdays", i), f"{d2} is a weekday already; list only weekend days that become working days")
            )
        if year is not None and d2.year != year:
            problems.append(P(("workdays", i), f"not in year {year}"))
        if d2 in holidays:
            problems.append(P(("workdays", i), f"{d2} is both a holiday and a workday"))
        workdays.add(d2)
    return year, source.strip(), holidays, workdays, problems


def build_calendar(
    years: list[tuple[int, str, dict[date, str], set[date]]], timezone: str = DEFAULT_TIMEZONE
) -> Calendar:
    """A calendar from parsed years (pure)."""
    zone(timezone)
    names: dict[date, str] = {}
    workdays: set[date] = set()
    sources: dict[int, str] = {}
    for year, source, hols, wds in years:
        names.update(hols)
        workdays |= wds
        sources[year] = source
    return Calendar(
        timezone=timezone,
        holidays=frozenset(names),
        workdays=frozenset(workdays),
        years=frozenset(sources),
        names=names,
        sources=sources,
    )


def load_calendar(directory: Path | str, timezone: str = DEFAULT_TIMEZONE) -> Calendar:
    """Every ``<year>.yaml`` in ``directory``, validated as a whole.

    Raises :class:`~hotline.yamlsrc.ConfigError` listing every problem as
    ``file:line:col: message``; nothing is half-applied.  A missing directory
    is an empty calendar (plain weekdays), never an error."""
    try:
        zone(timezone)
    except ValueError as exc:
        raise ConfigError([Problem("HOTLINE_TIMEZONE", 1, 1, str(exc))]) from None
    directory = Path(directory)
    problems: list[Problem] = []
    years: list[tuple[int, str, dict[date, str], set[date]]] = []
    seen: dict[int, str] = {}
    paths = sorted(directory.glob("*.yaml")) if directory.is_dir() else []
    for path in paths:
        try:
            data, src = load(path)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        year, source, hols, wds, probs = parse_year(data, src)
        problems.extend(probs)
        if year is None:
            continue
        if path.stem != str(year):
            problems.append(src.problem(("year",), f"year {year} in a file named {path.name}: name it {year}.yaml"))
        if year in seen:
            problems.append(src.problem(("year",), f"year {year} is also in {seen[year]}"))
            continue
        seen[year] = path.name
        years.append((year, source, hols, wds))
    if problems:
        raise ConfigError(problems)
    return build_calendar(years, timezone)


__all__ = [
    "ALWAYS",
    "DAYS",
    "DEFAULT_TIMEZONE",
    "WARN_DAYS",
    "Calendar",
    "HourRule",
    "WeeklyHours",
    "build_calendar",
    "load_calendar",
    "parse_days",
    "parse_hm",
    "parse_hours",
    "parse_year",
    "zone",
]

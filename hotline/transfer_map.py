"""The admin's transfer map: how every legacy hotline number reaches 12345.

``transfer_map.yaml`` holds the 12345 number itself, the skill queues, the
departments (责任单位, each a handling unit with its skill queue), the trunks
(the province platform, sub-centers, department seats), the catch-all row
(整体并入 row 10) and one entry per legacy number.

The pieces: :mod:`hotline.policy` (modes, levels, numbers never integrated),
:mod:`hotline.map_schema` (the models), :mod:`hotline.map_check` (validation,
pure: every problem as ``file:line:column: message``).  This module loads: a
map with any problem is rejected whole (:func:`load_map` raises
:class:`~hotline.yamlsrc.ConfigError`), so the running system keeps its last
good map (:func:`load_or_keep`).  A loaded map carries the platform's one
calendar (:mod:`hotline.calendar`) for its lines' opening hours.

Modes (the Handan plan, 邯政办字〔2021〕24号, and the Shanxi aliases from
晋政办发电〔2020〕47号 where they mean the same thing):

- ``merge`` 整体并入 (Shanxi 直接合并): 12345 answers, the department is the skill;
- ``dual`` 双号并行: the number stays; seats cancelled (Shanxi 来电转移) means
  12345 agents of the department's skill answer; seats retained (Shanxi
  并行接听) means the department's seats ring first and overflow to 12345;
- ``subcenter`` 设分中心: the sub-center answers 7x24, unanswered calls come
  back to 12345 with priority and flagged.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from hotline.calendar import Calendar
from hotline.map_check import MOVED_KEYS, check, check_all
from hotline.map_schema import CatchAll, Department, Hotline, Line, Overflow, TransferMap, Transition, Trunk
from hotline.policy import LEVEL_ALIASES, MODE_ALIASES, MODE_NAMES, NEVER_INTEGRATED, normalize_mode
from hotline.settings import Settings, load_calendar
from hotline.yamlsrc import ConfigError, Problem, Source, load, loads

__all__ = [
    "LEVEL_ALIASES",
    "MODE_ALIASES",
    "MODE_NAMES",
    "MOVED_KEYS",
    "NEVER_INTEGRATED",
    "CatchAll",
    "Department",
    "Hotline",
    "Line",
    "Overflow",
    "Transition",
    "TransferMap",
    "Trunk",
    "check",
    "check_all",
    "check_file",
    "check_file_all",
    "date_warnings",
    "load_map",
    "load_map_for",
    "load_or_keep",
    "loads_map",
    "normalize_mode",
]


def _calendar(calendar: Calendar | None) -> Calendar:
    """The calendar to attach: the one given, else the platform's (holidays dir and
    time zone of the settings from the environment)."""
    return calendar if calendar is not None else load_calendar(Settings.from_env())


def _accept(data: Any, src: Source, today: date | None, calendar: Calendar | None) -> TransferMap:
    cal = _calendar(calendar)
    tmap, problems = check(data, src, today or cal.today())
    if problems or tmap is None:
        raise ConfigError(problems)
    return tmap.with_calendar(cal)


def load_map(path: Path | str, today: date | None = None, *, calendar: Calendar | None = None) -> TransferMap:
    """Load and validate; raise :class:`ConfigError` with every problem."""
    data, src = load(path)
    return _accept(data, src, today, calendar)


def loads_map(
    text: str, file: str = "<string>", today: date | None = None, *, calendar: Calendar | None = None
) -> TransferMap:
    data, src = loads(text, file)
    return _accept(data, src, today, calendar)


def load_map_for(settings: Settings, today: date | None = None) -> TransferMap:
    """The map of ``settings`` with the platform's calendar (what every service loads)."""
    return load_map(settings.transfer_map, today, calendar=load_calendar(settings))


def check_file(path: Path | str, today: date) -> list[Problem]:
    return check_file_all(path, today)[0]


def check_file_all(path: Path | str, today: date) -> tuple[list[Problem], list[Problem]]:
    """(problems, warnings) of the map file; never raises on a broken file."""
    try:
        data, src = load(path)
    except ConfigError as exc:
        return exc.problems, []
    _, problems, warnings = check_all(data, src, today)
    return problems, warnings


def date_warnings(path: Path | str, calendar: Calendar, today: date) -> list[str]:
    """What time passing has made stale, one line each, for ``hotline map check``
    and ``hotline up``: transition announcements that ended (``file:line:col:
    warning: ...``), holiday data that runs out within 60 days (or has) and a
    provisional year still ahead.
    Never a reason to refuse: the map stays valid, a year without holiday data
    is plain weekdays and weekends."""
    out = [str(w) for w in check_file_all(path, today)[1]]
    for warning in (calendar.coverage_warning(today), calendar.provisional_warning(today)):
        if warning:
            out.append(f"warning: {warning}")
    return out


def load_or_keep(
    path: Path | str, current: TransferMap | None, today: date | None = None, *, calendar: Calendar | None = None
) -> tuple[TransferMap | None, list[Problem]]:
    """For reloads: the new map if it is valid, else ``current`` (the last good one)."""
    try:
        return load_map(path, today, calendar=calendar), []
    except ConfigError as exc:
        return current, exc.problems

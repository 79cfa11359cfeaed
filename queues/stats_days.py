"""The call figures per line and local day, from the hourly buckets (queues/stats_calls.py).  Pure.

The consumer keeps the buckets ``KEEP_HOURS`` (49): a day's figures can be read from them only
while every hour of that day is still kept.  :func:`line_days` gives those days (yesterday, today
and, early in the day, the day before) for the jobs service to store (workorder/line_days.py),
so a month's 接通率 per line survives the buckets.  Today's figures grow until the day ends;
a stored day is overwritten with the newer, larger figures each pass.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from queues.stats_consts import KEEP_HOURS


def _first_hour(day: date, tz: ZoneInfo) -> int:
    return int(datetime.combine(day, time(), tz).timestamp() // 3600)


def line_days(
    figures_dump: dict, tz: ZoneInfo, now: float, keep_hours: int = KEEP_HOURS
) -> dict[tuple[str, str], tuple[int, int]]:
    """``{(YYYY-MM-DD, line): (offered, answered)}`` of the local days whose every hour is still in
    the buckets of ``figures_dump`` (``CallFigures.dump()``) at ``now`` (seconds)."""
    buckets: dict[str, dict[str, dict[str, float]]] = figures_dump.get("buckets") or {}
    hour_now = int(now // 3600)
    oldest = hour_now - keep_hours + 1  # the oldest hour surely not pruned yet
    today = datetime.fromtimestamp(now, tz).date()
    out: dict[tuple[str, str], tuple[int, int]] = {}
    day = datetime.fromtimestamp(oldest * 3600, tz).date()
    while day <= today:
        start, end = _first_hour(day, tz), _first_hour(day + timedelta(days=1), tz)
        if start >= oldest:
            for key, per in buckets.items():
                if not key.startswith("line:"):
                    continue
                offered = answered = 0.0
                for h in range(start, min(end, hour_now + 1)):
                    b = per.get(str(h)) or per.get(h)  # type: ignore[call-overload]
                    if b:
                        offered += b.get("offered", 0.0)
                        answered += b.get("answered", 0.0)
                if offered or answered:
                    out[(day.isoformat(), key[5:])] = (int(offered), int(answered))
        day += timedelta(days=1)
    return out

"""Each line's calls per local day in the store (``line_call_days``), for the assessment's 接通率 of a
month: the jobs read the call figures' state from Redis (``hotline stats`` keeps it) each pass and
write the days whose every hour is still in it (queues/stats_days.py); the report sums the month."""

from __future__ import annotations

import json
from datetime import date
from zoneinfo import ZoneInfo

import redis
from sqlalchemy import delete, func, insert, select

from queues.service import keys
from queues.stats_days import line_days
from workorder.db import Database
from workorder.models import LineCallDay, utcnow


def store_days(db: Database, days: dict[tuple[str, str], tuple[int, int]]) -> int:
    """Write (replace) the given days' rows; returns how many."""
    if not days:
        return 0
    now = utcnow()
    with db.write() as s:
        s.execute(delete(LineCallDay).where(LineCallDay.day.in_({d for d, _ in days})))  # a day's lines, all at once
        s.execute(
            insert(LineCallDay),
            [
                {"day": d, "line": ln, "offered": o, "answered": a, "updated_at": now}
                for (d, ln), (o, a) in days.items()
            ],
        )
    return len(days)


def days_pass(settings, db: Database, tz: ZoneInfo, now: float) -> dict:
    """The jobs' step: the call figures' complete days from Redis into the store."""
    try:
        client = redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
        try:
            raw = client.get(keys(settings.instance)["state"])
        finally:
            client.close()
    except redis.RedisError as exc:  # no Redis: no call figures to keep this pass
        return {"error": f"Redis unavailable: {exc}"}
    state = json.loads(raw) if raw else {}
    return {"days": store_days(db, line_days(state.get("figures") or {}, tz, now))}


def month_calls(db: Database, first: date, after: date) -> dict[str, tuple[int, int]]:
    """line -> (offered, answered) summed over the days ``first`` <= day < ``after``."""
    f = LineCallDay
    q = (
        select(f.line, func.sum(f.offered), func.sum(f.answered))
        .where(f.day >= first.isoformat(), f.day < after.isoformat())
        .group_by(f.line)
    )
    with db.read() as s:
        return {ln: (int(o or 0), int(a or 0)) for ln, o, a in s.execute(q)}

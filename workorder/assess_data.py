"""The monthly assessment's data (workorder/assess.py decides): the month's counts per unit from the
statistics (workorder/stats.py, one home per figure), the ratings of 行政调解类 / 执法办案类 matters
(categories.yaml ``assessment:``) from the same roll-up, and the 接通率 of the units' own lines from
the month's days of ``line_call_days`` (workorder/line_days.py: the jobs keep them from the call
figures, queues/stats_calls.py, whose hourly buckets last 49 hours).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from hotline.map_schema import TransferMap
from workorder import stats
from workorder.assess import INDICATORS, SPECIAL, UnitCounts, month_of, next_month, rank
from workorder.db import Database
from workorder.models import Order, StatsFact

CALL_WINDOW = "本月按日汇总（jobs 服务运行期间记录的话务）"


def month_bounds(month: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[first day 00:00, next month's first day 00:00) of ``YYYY-MM`` in the hotline's time zone."""
    first = month_of(month)
    return datetime.combine(first, time(), tz), datetime.combine(next_month(first), time(), tz)


def seat_lines(tmap: TransferMap, today: date | None = None) -> dict[str, list[str]]:
    """unit -> its lines that keep seats (设分中心; 双号并行 with seats kept, still answering)."""
    out: dict[str, list[str]] = {}
    for ln in tmap.lines:
        mode = ln.canonical_mode
        if mode == "subcenter" or (mode == "dual" and ln.seats != "cancelled" and ln.seats_answer(today)):
            out.setdefault(ln.department, []).append(ln.number)
    return out


def special_ratings(db: Database, since: datetime, until: datetime, codes: list[str]) -> dict[str, tuple[int, int]]:
    """unit -> (ratings, satisfied ratings) of the period's evaluations of orders in ``codes``."""
    if not codes:
        return {}
    f = StatsFact
    q = (
        select(f.unit, func.count(), func.sum(f.f1))
        .join(Order, Order.id == f.order_id)
        .where(f.kind == "eval", f.at >= since, f.at < until, Order.category_code.in_(codes))
        .group_by(f.unit)
    )
    with db.read() as s:
        return {u: (n, int(sat or 0)) for u, n, sat in s.execute(q) if u}


def unit_counts(
    figures: dict,
    special: Mapping[str, tuple[int, int]],
    lines: Mapping[str, list[str]],
    line_calls: Mapping[str, tuple[int, int]],
    units: list[str],
) -> list[UnitCounts]:
    """The plain rows: ``figures`` from :func:`workorder.stats.compute`, ``line_calls`` line ->
    (offered, answered); every unit of ``units`` and of the figures gets a row."""
    out = []
    for unit in sorted(set(units) | set(figures["departments"])):
        c = (figures["departments"].get(unit) or {}).get("counts") or {}
        mine = lines.get(unit, [])
        rated_x, sat_x = special.get(unit, (0, 0))
        out.append(
            UnitCounts(
                unit=unit,
                main_dispatches=c.get("main_dispatches", 0),
                signed_on_time=c.get("signed_on_time", 0),
                due=c.get("due", 0),
                on_time=c.get("on_time", 0),
                returns=c.get("returns", 0),
                reopened=c.get("reopened", 0),
                resolution_known=c.get("resolution_known", 0),
                resolved=c.get("resolved", 0),
                rated=c.get("rated", 0),
                satisfied=c.get("satisfied", 0),
                rated_special=rated_x,
                satisfied_special=sat_x,
                calls_offered=sum(line_calls.get(n, (0, 0))[0] for n in mine),
                calls_answered=sum(line_calls.get(n, (0, 0))[1] for n in mine),
                keeps_seats=bool(mine),
            )
        )
    return out


def report(
    db: Database,
    month: str,
    tz: ZoneInfo,
    classes: Mapping[str, str],
    names: Mapping[str, str],
    lines: Mapping[str, list[str]],
    line_calls: Mapping[str, tuple[int, int]],
    now: datetime | None = None,
) -> dict:
    """The month's assessment: the period, the indicators with their formulas, the ranked rows."""
    since, until = month_bounds(month, tz)
    now = now or datetime.now(UTC)
    figures = stats.compute(db, since, until, now=now)
    special = special_ratings(db, since, until, sorted(classes))
    rows = rank(unit_counts(figures, special, lines, line_calls, [u for u in names if u != "hotline"]), dict(names))
    return {
        "month": month,
        "since": since.isoformat(),
        "until": until.isoformat(),
        "generated_at": now.astimezone(tz).isoformat(timespec="seconds"),
        "call_window": CALL_WINDOW,
        "indicators": [
            {"key": i.key, "label": i.label, "formula": i.formula, "higher_is_better": i.higher_is_better}
            for i in (*INDICATORS, SPECIAL)
        ],
        "rows": rows,
    }

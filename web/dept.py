"""The department portal's reads: a unit's own orders with their deadline warnings.

An order belongs to a unit when it was dispatched to it (as lead or assisting
unit, or by its county: 县直部门), the same rule the work-order store applies to the
department role."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, select

from hotline.auth import Principal
from hotline.settings import local_zone
from workorder import deadlines as dl
from workorder import states
from workorder.models import Order, Record
from workorder.service import Store
from workorder.service_chain import VISIBLE_KINDS

ALARM_TEXT = {
    "sign_warning": "即将超过签收时限",
    "sign_overdue": "已超过签收时限",
    "handling_warning": "即将超过办理时限",
    "handling_overdue": "已超过办理时限",
    "county_sign_warning": "即将超过县级交办的签收时限",
    "county_sign_overdue": "已超过县级交办的签收时限",
    "county_handling_warning": "即将超过县级交办的办理时限",
    "county_handling_overdue": "已超过县级交办的办理时限",
}
WORKING = ("dispatched", "handling", "return_review", "replied")
ROLE_TEXT = {0: "协办", 1: "主办", 2: "县直部门承办", 3: "主办"}


def _iso(d: datetime | None) -> str:
    return d.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M") if d else ""


def alarms_of(store: Store, o, now: datetime, unit: str | None = None) -> list[dict]:
    """The order's warnings for ``unit``: the county's department sees those of its level."""
    ratio = store.cfg.limits.warn_ratio
    if unit is not None and unit == o.sub_unit:
        found = dl.county_alarms(
            now, o.sub_status, o.sub_dispatched_at, o.sub_sign_deadline, o.sub_handling_deadline, ratio
        )
    else:
        found = dl.alarms(now, o.status, o.dispatched_at, o.sign_deadline, o.handling_deadline, ratio)
    return [
        {
            "stage": a.stage,
            "text": ALARM_TEXT.get(a.stage, a.stage),
            "deadline": _iso(a.deadline),
            "overdue": a.stage.endswith("overdue"),
        }
        for a in found
    ]


def unit_orders(store: Store, p: Principal, open_only: bool = True, limit: int = 200) -> list[dict]:
    """The unit's orders, newest first, with deadlines and warnings.

    Walked from the unit's dispatch records (index ``records (unit, kind, order_id)``) newest
    order first, in chunks: bounded work for a busy unit and for a quiet one alike (a scan of
    every order checking each for a dispatch to the unit costs seconds at a million orders)."""
    stmt = select(
        Order.id,
        Order.number,
        Order.title,
        Order.type,
        Order.urgency,
        Order.status,
        Order.main_unit,
        Order.dispatched_at,
        Order.sign_deadline,
        Order.handling_deadline,
        Order.extension_pending,
        Order.sub_unit,
        Order.sub_status,
        Order.sub_dispatched_at,
        Order.sub_sign_deadline,
        Order.sub_handling_deadline,
    ).join(Record, and_(Record.order_id == Order.id, Record.kind.in_(VISIBLE_KINDS), Record.unit == p.department))
    if open_only:
        stmt = stmt.where(Order.status.in_(WORKING))
    now = store.now()
    rows: list = []
    seen: set[int] = set()
    upper: int | None = None
    with store.db.read() as s:
        while len(rows) < limit:  # an order dispatched to the unit twice (a return, a new round) comes twice
            part = stmt if upper is None else stmt.where(Record.order_id < upper)
            chunk = list(s.execute(part.order_by(Record.order_id.desc()).limit(limit)))
            rows.extend(r for r in chunk if r.id not in seen and not seen.add(r.id))
            if len(chunk) < limit:
                break
            upper = chunk[-1].id
    rows = rows[:limit]
    return [
        {
            "id": r.id,
            "number": r.number,
            "title": r.title or "",
            "type": states.REQUEST_TYPES.get(r.type or "", ""),
            "urgency": states.URGENCIES.get(r.urgency or "", ""),
            "status": r.status,
            "status_text": states.STATUSES.get(r.status, r.status),
            "lead": r.main_unit == p.department,
            "role_text": ROLE_TEXT[(r.main_unit == p.department) + 2 * (r.sub_unit == p.department)],
            # the county's department works to the county level's deadlines
            "sign_deadline": _iso(r.sub_sign_deadline if r.sub_unit == p.department else r.sign_deadline),
            "handling_deadline": _iso(r.sub_handling_deadline if r.sub_unit == p.department else r.handling_deadline),
            "extension_pending": r.extension_pending,
            "alarms": alarms_of(store, r, now, p.department),
        }
        for r in rows
    ]

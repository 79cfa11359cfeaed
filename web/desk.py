"""The agent desktop's reads and its one write: the screen pop of a call, the
agent's own recent orders, and "save this order" (fields, then the chosen step).

The draft of a call is the order whose ``linkedid`` is the call's (created by the
hand-off when the agent answered, workorder/handoff_service.py); an agent on a
desk phone finds it as its newest draft."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hotline.auth import Principal
from workorder import privacy
from workorder.models import Department, Order
from workorder.service import Conflict, Store
from workorder.states import allowed_actions
from workorder.views import SUMMARY, order_dict, sees_caller_sql, state_of, summary_dict

CURRENT_WINDOW = timedelta(hours=4)
STEPS = ("save", "accept", "dispatch", "direct_answer", "reject")
FIELDS = (
    "caller_name",
    "caller_phone",
    "type",
    "category_code",
    "title",
    "content",
    "address",
    "district",
    "urgency",
    "confidential",
    "no_callback",
    "anonymous",
    "kb_refs",
)


def _pop(store: Store, o: Order, p: Principal) -> dict:
    out = order_dict(o, p)
    out["allowed_actions"] = allowed_actions(state_of(o), p.role, p.department)
    earlier: list[dict] = []
    with store.db.read() as s:
        if o.caller_phone and privacy.sees(p, o):  # else the earlier orders would tell the masked number
            rows = s.execute(
                select(*SUMMARY)
                # the caller's earlier orders whose caller the agent sees (workorder.privacy)
                .where(Order.caller_phone == o.caller_phone, Order.id != o.id, sees_caller_sql(p))
                .order_by(Order.id.desc())
                .limit(10)
            )
            earlier = [summary_dict(r, p) for r in rows]
        dept = s.get(Department, o.origin_department) if o.origin_department else None
    return {"order": out, "earlier": earlier, "department_name": dept.name if dept else None}


def call_pop(store: Store, linkedid: str, p: Principal) -> dict:
    """The draft of call ``linkedid`` with the caller's earlier orders; pending until the hand-off made it."""
    with store.db.read() as s:
        o = s.scalars(select(Order).where(Order.linkedid == linkedid)).first()
    if o is None:
        return {"pending": True, "order": None}
    return {"pending": False, **_pop(store, o, p)}


def current_draft(store: Store, p: Principal) -> dict:
    """The agent's newest draft of the last hours (the call on a desk phone)."""
    since = store.now() - CURRENT_WINDOW
    with store.db.read() as s:
        o = s.scalars(
            select(Order)
            .where(Order.agent == p.subject, Order.status == "draft", Order.created_at >= since)
            .order_by(Order.id.desc())
        ).first()
    if o is None:
        return {"order": None}
    return _pop(store, o, p)


def recent(store: Store, p: Principal, limit: int = 20) -> list[dict]:
    """The newest ``limit`` orders the agent took or created: the newest ``limit`` of each (one
    walk of ``ix_orders_agent`` / ``ix_orders_created_by`` newest first, each stops at ``limit``),
    merged; the same rows as ``agent = ? OR created_by = ?`` without sorting every match."""
    with store.db.read() as s:
        rows = {
            r.id: r
            for col in (Order.agent, Order.created_by)
            for r in s.execute(select(*SUMMARY).where(col == p.subject).order_by(Order.id.desc()).limit(limit))
        }
    return [summary_dict(rows[i], p) for i in sorted(rows, reverse=True)[:limit]]


def submit(store: Store, order_id: int, body: dict, p: Principal) -> dict:
    """Write the form's fields (when the order is still editable), then take ``body['step']``."""
    step = body.get("step", "save")
    if step not in STEPS:
        raise Conflict("bad_field", f"step must be one of {', '.join(STEPS)}")
    fields = {k: v for k, v in (body.get("fields") or {}).items() if k in FIELDS}
    current = store.get(order_id, p)
    version = body.get("version")
    if current["status"] in ("draft", "accepted") and fields:
        current = store.update(order_id, fields, p, version)
        version = current["version"]
    if step == "save":
        return current
    if step == "dispatch":
        if current["status"] == "draft":
            current = store.transition(order_id, "accept", {}, p, version)
            if current["status"] != "accepted":  # 无理重复诉求 (workorder/repeat.py): merged or closed on 受理
                return current
            version = current["version"]
        payload = {"main_unit": body.get("main_unit"), "co_units": list(body.get("co_units") or [])}
    elif step == "direct_answer":
        payload = {"answer": body.get("answer"), "kb_refs": list(body.get("kb_refs") or [])}
    elif step == "reject":
        payload = {k: body[k] for k in ("disposition", "transfer_to", "parent_id") if body.get(k) not in (None, "")}
    else:
        payload = {}
    return store.transition(order_id, step, payload, p, version, body.get("comment") or None)

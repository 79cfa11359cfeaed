"""How orders are shown: dictionaries for the API, masked per role (pure, no I/O)."""

from __future__ import annotations

from collections import namedtuple
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from sqlalchemy import and_, false, or_, true

from hotline.auth import Principal
from hotline.settings import local_zone
from workorder import privacy, states
from workorder.models import Order

SYSTEM = Principal(subject="system:jobs", role="system")
# set by the API's audit middleware: {"state": <request state dict>, "method": ..., "path": ...}
AUDIT_CTX: ContextVar[dict | None] = ContextVar("workorder_audit", default=None)


def sees_caller_sql(p: Principal):
    """SQL condition: the orders whose caller ``p`` sees in clear (:func:`workorder.privacy.sees`)."""
    if p.role in privacy.ALL_CALLERS:
        return true()
    if p.role not in privacy.ORDINARY_CALLERS:
        return false()
    ordinary = and_(Order.confidential.is_not(True), Order.anonymous.is_not(True))
    if p.role == privacy.OWN_ORDERS:
        return or_(ordinary, Order.agent == p.subject, Order.created_by == p.subject)
    return ordinary


def _iso(d: datetime | None) -> str | None:
    return d.astimezone(local_zone()).isoformat() if d else None


def order_dict(o: Order, p: Principal | None = None) -> dict[str, Any]:
    """The whole order; the caller masked per :mod:`workorder.privacy` (``p=None``: unmasked,
    for the outbox and other internal readers)."""
    phone, name = privacy.caller_of(o.caller_phone, o.caller_name, p is None or privacy.sees(p, o))
    return {
        "id": o.id,
        "number": o.number,
        "channel": o.channel,
        "received_at": _iso(o.received_at),
        "caller_name": name,
        "caller_phone": phone,
        "anonymous": o.anonymous,
        "confidential": o.confidential,
        "type": o.type,
        "type_text": states.REQUEST_TYPES.get(o.type or ""),
        "category_code": o.category_code,
        "title": o.title,
        "content": o.content,
        "address": o.address,
        "district": o.district,
        "lat": o.lat,
        "lon": o.lon,
        "urgency": o.urgency,
        "origin": o.origin,
        "mode": o.mode,
        "origin_department": o.origin_department,
        "uniqueid": o.uniqueid,
        "linkedid": o.linkedid,
        "recording": o.recording,
        "transcript": o.transcript,
        "agent": o.agent,
        "queue": o.queue,
        "kb_refs": o.kb_refs or [],
        "parent_id": o.parent_id,
        "status": o.status,
        "status_text": states.STATUSES.get(o.status),
        "round": o.round,
        "main_unit": o.main_unit,
        "co_units": o.co_units or [],
        "return_count": o.return_count,
        "designated": o.designated,
        "first_unit": o.first_unit,
        "parts_due": o.parts_due or [],
        "sub_unit": o.sub_unit,
        "sub_status": o.sub_status,
        "sub_status_text": states.SUB_STATUSES.get(o.sub_status or ""),
        "sub_dispatched_at": _iso(o.sub_dispatched_at),
        "sub_sign_deadline": _iso(o.sub_sign_deadline),
        "sub_handling_deadline": _iso(o.sub_handling_deadline),
        "sub_signed_at": _iso(o.sub_signed_at),
        "extension_pending": o.extension_pending,
        "callback_attempts": o.callback_attempts,
        "no_callback": o.no_callback,
        "disposition": o.disposition,
        "transfer_to": o.transfer_to,
        "satisfaction": o.satisfaction,
        "resolved": o.resolved,
        "call_satisfaction": o.call_satisfaction,
        "dispatched_at": _iso(o.dispatched_at),
        "sign_deadline": _iso(o.sign_deadline),
        "handling_deadline": _iso(o.handling_deadline),
        "signed_at": _iso(o.signed_at),
        "replied_at": _iso(o.replied_at),
        "closed_at": _iso(o.closed_at),
        "created_at": _iso(o.created_at),
        "updated_at": _iso(o.updated_at),
        "version": o.version,
    }


SUMMARY = (
    Order.id,
    Order.number,
    Order.channel,
    Order.received_at,
    Order.caller_name,
    Order.caller_phone,
    Order.confidential,
    Order.anonymous,
    Order.agent,
    Order.created_by,
    Order.type,
    Order.category_code,
    Order.title,
    Order.address,
    Order.urgency,
    Order.origin,
    Order.status,
    Order.round,
    Order.main_unit,
    Order.handling_deadline,
    Order.created_at,
    Order.version,
)


# a SUMMARY row as a plain named tuple: a SQLAlchemy Row's attribute access was half of a
# list's Python time (0.6 of 1.1 ms for 50 rows)
SummaryRow = namedtuple("SummaryRow", [c.key for c in SUMMARY])  # type: ignore[misc]


def summary_dict(r, p: Principal) -> dict[str, Any]:
    """A list row (of ``select(*SUMMARY)``): the summary columns only (no content), masked like
    :func:`order_dict`."""
    r = SummaryRow._make(r)
    phone, name = privacy.caller_of(r.caller_phone, r.caller_name, privacy.sees(p, r))
    return {
        "id": r.id,
        "number": r.number,
        "channel": r.channel,
        "received_at": _iso(r.received_at),
        "caller_name": name,
        "caller_phone": phone,
        "confidential": r.confidential,
        "type": r.type,
        "type_text": states.REQUEST_TYPES.get(r.type or ""),
        "category_code": r.category_code,
        "title": r.title,
        "address": r.address,
        "urgency": r.urgency,
        "origin": r.origin,
        "status": r.status,
        "status_text": states.STATUSES.get(r.status),
        "round": r.round,
        "main_unit": r.main_unit,
        "handling_deadline": _iso(r.handling_deadline),
        "created_at": _iso(r.created_at),
        "version": r.version,
    }


def masked(snapshot: dict, o: Order, p: Principal) -> dict:
    """The principal's view of a full snapshot made by :func:`order_dict` (same masking rules)."""
    if privacy.sees(p, o):
        return snapshot
    out = dict(snapshot)
    out["caller_phone"], out["caller_name"] = privacy.caller_of(out["caller_phone"], out["caller_name"], False)
    return out


def state_of(o: Order) -> states.OrderState:
    return states.OrderState(
        status=o.status,
        round=o.round,
        main_unit=o.main_unit,
        co_units=tuple(o.co_units or ()),
        return_count=o.return_count,
        designated=o.designated,
        extension_pending=o.extension_pending,
        callback_attempts=o.callback_attempts,
        callback_failed=o.callback_failed,
        dispatched_ever=o.dispatched_ever,
        status_before_return=o.status_before_return,
        satisfaction=o.satisfaction,
        disposition=o.disposition,
        parent_id=o.parent_id,
        no_callback=o.no_callback,
        first_unit=o.first_unit,
        parts_due=tuple(o.parts_due or ()),
        sub_unit=o.sub_unit,
        sub_status=o.sub_status,
        sub_signed=o.sub_signed_at is not None,
    )


def _put_state(o: Order, st: states.OrderState) -> None:
    o.status, o.round, o.main_unit, o.co_units = st.status, st.round, st.main_unit, list(st.co_units)
    o.return_count, o.designated, o.extension_pending = st.return_count, st.designated, st.extension_pending
    o.callback_attempts, o.callback_failed, o.dispatched_ever = (
        st.callback_attempts,
        st.callback_failed,
        st.dispatched_ever,
    )
    o.status_before_return, o.satisfaction, o.disposition, o.parent_id = (
        st.status_before_return,
        st.satisfaction,
        st.disposition,
        st.parent_id,
    )
    o.first_unit, o.parts_due, o.sub_unit, o.sub_status = st.first_unit, list(st.parts_due), st.sub_unit, st.sub_status
    if not st.sub_signed:
        o.sub_signed_at = None
    if st.sub_unit is None:
        o.sub_dispatched_at = o.sub_sign_deadline = o.sub_handling_deadline = None


NOT_NULL = frozenset({"channel", "anonymous", "confidential", "no_callback", "urgency", "kb_refs"})
EDITABLE = (
    "channel",
    "caller_name",
    "caller_phone",
    "anonymous",
    "confidential",
    "no_callback",
    "type",
    "category_code",
    "title",
    "content",
    "address",
    "district",
    "lat",
    "lon",
    "urgency",
    "kb_refs",
    "transcript",
    "recording",
)

"""The work-order services: the only code that writes orders.

Every change happens in one write transaction that also appends the history
row and an outbox event, so an order is never half-written and the upstream
push sees every change exactly in commit order.  The state machine
(workorder/states.py) decides; this module adapts its events onto records,
deadlines and the outbox.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import secrets
import threading
import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import exists, func, insert, literal_column, or_, select, text
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from hotline.auth import Principal
from hotline.log import mask_number
from hotline.settings import local_zone
from workorder import deadlines as dl
from workorder import states
from workorder.config import WorkorderConfig, load_all
from workorder.db import Database
from workorder.models import ApiToken, AuditLog, Category, Department, Order, Outbox, Record, Survey, Transition, utcnow

SYSTEM = Principal(subject="system:jobs", role="system")
# set by the API's audit middleware: {"state": <request state dict>, "method": ..., "path": ...}
AUDIT_CTX: ContextVar[dict | None] = ContextVar("workorder_audit", default=None)
_AUDIT_INIT = threading.Lock()
# who sees caller numbers in clear; department sees them unless the caller asked for confidentiality
PHONE_ROLES = frozenset({"agent", "dispatcher", "admin", "calls"})


class NotFound(Exception):
    pass


class Conflict(Exception):
    def __init__(self, reason: str, message: str):
        self.reason, self.message = reason, message
        super().__init__(f"{reason}: {message}")


class Invalid(Exception):
    """Input that passed the schema but not the store's rules (422)."""

    def __init__(self, field_name: str, message: str):
        self.field, self.message = field_name, message
        super().__init__(f"{field_name}: {message}")


class Forbidden(Exception):
    pass


def sees_phone(p: Principal, o: Order) -> bool:
    if p.role in PHONE_ROLES:
        return True
    return p.role == "department" and not o.confidential


def _iso(d: datetime | None) -> str | None:
    return d.astimezone(local_zone()).isoformat() if d else None


def order_dict(o: Order, p: Principal | None = None) -> dict[str, Any]:
    phone = o.caller_phone
    if p is not None and phone and not sees_phone(p, o):
        phone = mask_number(phone)
    name = o.caller_name
    if p is not None and o.confidential and p.role not in PHONE_ROLES:
        name = None if not name else name[0] + "*" * (len(name) - 1)
    return {
        "id": o.id, "number": o.number, "channel": o.channel, "received_at": _iso(o.received_at),
        "caller_name": name, "caller_phone": phone, "anonymous": o.anonymous, "confidential": o.confidential,
        "type": o.type, "type_text": states.REQUEST_TYPES.get(o.type or ""), "category_code": o.category_code,
        "title": o.title, "content": o.content, "address": o.address, "district": o.district,
        "lat": o.lat, "lon": o.lon, "urgency": o.urgency,
        "origin": o.origin, "mode": o.mode, "origin_department": o.origin_department,
        "uniqueid": o.uniqueid, "linkedid": o.linkedid, "recording": o.recording, "transcript": o.transcript,
        "agent": o.agent, "queue": o.queue, "kb_refs": o.kb_refs or [], "parent_id": o.parent_id,
        "status": o.status, "status_text": states.STATUSES.get(o.status), "round": o.round,
        "main_unit": o.main_unit, "co_units": o.co_units or [], "return_count": o.return_count,
        "designated": o.designated, "extension_pending": o.extension_pending,
        "callback_attempts": o.callback_attempts, "disposition": o.disposition, "transfer_to": o.transfer_to,
        "satisfaction": o.satisfaction, "resolved": o.resolved, "call_satisfaction": o.call_satisfaction,
        "dispatched_at": _iso(o.dispatched_at), "sign_deadline": _iso(o.sign_deadline),
        "handling_deadline": _iso(o.handling_deadline), "signed_at": _iso(o.signed_at),
        "replied_at": _iso(o.replied_at), "closed_at": _iso(o.closed_at),
        "created_at": _iso(o.created_at), "updated_at": _iso(o.updated_at), "version": o.version,
    }


SUMMARY = (Order.id, Order.number, Order.channel, Order.received_at, Order.caller_name, Order.caller_phone,
           Order.confidential, Order.type, Order.category_code, Order.title, Order.address, Order.urgency,
           Order.origin, Order.status, Order.round, Order.main_unit, Order.handling_deadline, Order.created_at,
           Order.version)


def summary_dict(r, p: Principal) -> dict[str, Any]:
    """A list row: the summary columns only (no content), masked like :func:`order_dict`."""
    phone, name = r.caller_phone, r.caller_name
    hidden = r.confidential and p.role not in PHONE_ROLES
    if phone and not (p.role in PHONE_ROLES or (p.role == "department" and not r.confidential)):
        phone = mask_number(phone)
    if hidden and name:
        name = name[0] + "*" * (len(name) - 1)
    return {"id": r.id, "number": r.number, "channel": r.channel, "received_at": _iso(r.received_at),
            "caller_name": name, "caller_phone": phone, "confidential": r.confidential, "type": r.type,
            "type_text": states.REQUEST_TYPES.get(r.type or ""), "category_code": r.category_code,
            "title": r.title, "address": r.address, "urgency": r.urgency, "origin": r.origin, "status": r.status,
            "status_text": states.STATUSES.get(r.status), "round": r.round, "main_unit": r.main_unit,
            "handling_deadline": _iso(r.handling_deadline), "created_at": _iso(r.created_at), "version": r.version}


def masked(snapshot: dict, o: Order, p: Principal) -> dict:
    """The principal's view of a full snapshot made by :func:`order_dict` (same masking rules)."""
    if sees_phone(p, o) and not (o.confidential and p.role not in PHONE_ROLES):
        return snapshot
    out = dict(snapshot)
    if out["caller_phone"] and not sees_phone(p, o):
        out["caller_phone"] = mask_number(out["caller_phone"])
    if o.confidential and p.role not in PHONE_ROLES and out["caller_name"]:
        out["caller_name"] = out["caller_name"][0] + "*" * (len(out["caller_name"]) - 1)
    return out


def state_of(o: Order) -> states.OrderState:
    return states.OrderState(
        status=o.status, round=o.round, main_unit=o.main_unit, co_units=tuple(o.co_units or ()),
        return_count=o.return_count, designated=o.designated, extension_pending=o.extension_pending,
        callback_attempts=o.callback_attempts, callback_failed=o.callback_failed,
        dispatched_ever=o.dispatched_ever, status_before_return=o.status_before_return,
        satisfaction=o.satisfaction, disposition=o.disposition, parent_id=o.parent_id)


def _put_state(o: Order, st: states.OrderState) -> None:
    o.status, o.round, o.main_unit, o.co_units = st.status, st.round, st.main_unit, list(st.co_units)
    o.return_count, o.designated, o.extension_pending = st.return_count, st.designated, st.extension_pending
    o.callback_attempts, o.callback_failed, o.dispatched_ever = st.callback_attempts, st.callback_failed, st.dispatched_ever
    o.status_before_return, o.satisfaction, o.disposition, o.parent_id = (
        st.status_before_return, st.satisfaction, st.disposition, st.parent_id)


NOT_NULL = frozenset({"channel", "anonymous", "confidential", "urgency", "kb_refs"})
EDITABLE = ("channel", "caller_name", "caller_phone", "anonymous", "confidential", "type", "category_code", "title",
            "content", "address", "district", "lat", "lon", "urgency", "kb_refs", "transcript", "recording")


@dataclass
class Store:
    db: Database
    cfg: WorkorderConfig = field(default_factory=load_all)
    rules: states.Rules = states.RULES
    now: Callable[[], datetime] = utcnow
    _audit_q: Any = field(default=None, init=False, repr=False)
    fts_chunk: int = 200  # FTS rows fetched per step when a text search also has filters

    # -- helpers ----------------------------------------------------------------
    _NEXT = text("INSERT INTO number_seq (day, last) VALUES (:day, 1) "
                 "ON CONFLICT (day) DO UPDATE SET last = number_seq.last + 1 RETURNING last")

    def _next_number(self, s: Session, now: datetime) -> str:
        """YYYYMMDD (Beijing date) + a 5-digit per-day sequence, e.g. 2026112300017."""
        day = now.astimezone(self.cfg.calendar.tz).strftime("%Y%m%d")
        last = s.execute(self._NEXT, {"day": day}).scalar_one()
        return f"{day}{last:05d}"

    def _outbox(self, s: Session, o: Order | None, kind: str, extra: dict | None = None) -> dict | None:
        """Append the change to the outbox; returns the full (unmasked) order snapshot."""
        if self.db.engine.dialect.name == "postgresql":
            # serialise outbox appends so ids follow commit order (the push keeps that order)
            s.execute(text("SELECT pg_advisory_xact_lock(7312345)"))
        payload = {"kind": kind, "at": self.now().isoformat()}
        if o is not None:
            s.flush()
            payload["order"] = order_dict(o)
        if extra:
            payload.update(extra)
        s.execute(insert(Outbox.__table__).values(event_id=str(uuid.uuid4()), order_id=o.id if o is not None else None,
                                        kind=kind, payload=payload, created_at=self.now(), attempts=0))
        return payload.get("order")

    def _check_refs(self, s: Session, data: dict) -> None:
        code = data.get("category_code")
        if code is not None and s.get(Category, code) is None:
            raise Invalid("category_code", f"unknown category {code!r}")

    def _visible(self, p: Principal):
        """SQL condition: orders this principal may see."""
        if p.role != "department":
            return None
        if not p.department:
            return Order.id < 0
        return exists().where(Record.order_id == Order.id, Record.kind == "dispatch", Record.unit == p.department)

    def _load(self, s: Session, order_id: int, p: Principal) -> Order:
        q = select(Order).where(Order.id == order_id)
        cond = self._visible(p)
        if cond is not None:
            q = q.where(cond)
        o = s.scalars(q).first()
        if o is None:
            raise NotFound(f"order {order_id} not found")
        return o

    # -- orders -----------------------------------------------------------------
    def create(self, data: dict, p: Principal, status: str = "draft") -> dict:
        now = self.now()
        try:
            def tx(s: Session):
                self._check_refs(s, data)
                o = Order(number=self._next_number(s, now), received_at=data.get("received_at") or now,
                          created_at=now, updated_at=now, created_by=p.subject, status="draft",
                          **{k: v for k, v in data.items() if k != "received_at"})
                rows = [dict(action="create", from_status="", to_status="draft", payload={})]
                if status != "draft":
                    # 受理 at once: decided before the INSERT, so the row is written once (version 1)
                    if not o.type or not (o.content or o.title):
                        raise Conflict("incomplete", "fill in type and content before 受理")
                    try:
                        res = states.apply(states.OrderState(), "accept", p.role, {}, p.department, self.rules)
                    except states.TransitionError as exc:
                        raise Conflict(exc.reason, exc.message) from None
                    _put_state(o, res.state)
                    rows.append(dict(action="accept", from_status="draft", to_status=o.status, payload={}))
                s.add(o)
                s.flush()
                s.execute(insert(Transition.__table__), [dict(order_id=o.id, round=1, actor=p.subject, role=p.role, at=now,
                                                    comment=None, **r) for r in rows])
                snap = self._outbox(s, o, "order.created")
                self._audit_tx(s, o.id, 201)
                return masked(snap, o, p)
            return self.db.run(tx)
        except StaleDataError:
            raise Conflict("version_conflict", "the order changed meanwhile; reload and retry") from None

    def get(self, order_id: int, p: Principal) -> dict:
        with self.db.read() as s:
            o = self._load(s, order_id, p)
            out = order_dict(o, p)
            out["allowed_actions"] = states.allowed_actions(state_of(o), p.role, p.department)
            return out

    def get_by_number(self, number: str, p: Principal) -> dict:
        with self.db.read() as s:
            oid = s.scalar(select(Order.id).where(Order.number == number))
        if oid is None:
            raise NotFound(f"order {number} not found")
        return self.get(oid, p)

    def history(self, order_id: int, p: Principal) -> dict:
        with self.db.read() as s:
            o = self._load(s, order_id, p)
            hist = [{"id": t.id, "round": t.round, "action": t.action, "from": t.from_status, "to": t.to_status,
                     "actor": t.actor, "role": t.role, "at": _iso(t.at), "comment": t.comment}
                    for t in s.scalars(select(Transition).where(Transition.order_id == o.id).order_by(Transition.id))]
            recs = [{"id": r.id, "round": r.round, "kind": r.kind, "unit": r.unit, "at": _iso(r.at),
                     "actor": r.actor, "data": r.data}
                    for r in s.scalars(select(Record).where(Record.order_id == o.id).order_by(Record.id))]
            return {"history": hist, "records": recs}

    def list(self, p: Principal, *, status: str | None = None, type_: str | None = None,
             unit: str | None = None, phone: str | None = None, q: str | None = None,
             since: datetime | None = None, until: datetime | None = None, overdue: bool | None = None,
             limit: int = 50, before_id: int | None = None) -> dict:
        stmt = select(*SUMMARY)
        cond = self._visible(p)
        if cond is not None:
            stmt = stmt.where(cond)
        if status:
            stmt = stmt.where(Order.status == status)
        if type_:
            stmt = stmt.where(Order.type == type_)
        if unit:
            stmt = stmt.where(Order.main_unit == unit)
        if phone:
            stmt = stmt.where(Order.caller_phone == phone)
        if since:
            stmt = stmt.where(Order.created_at >= since)
        if until:
            stmt = stmt.where(Order.created_at < until)
        if overdue:
            stmt = stmt.where(Order.status.in_(("dispatched", "handling", "return_review")),
                              Order.handling_deadline < self.now())
        if before_id:
            stmt = stmt.where(Order.id < before_id)
        if q and self.db.is_sqlite and len(q) >= 3:
            # walk the FTS index newest first in chunks and filter each chunk: bounded work for
            # common words with selective filters, instead of materialising every match
            phrase = '"' + q.replace('"', '""') + '"'
            chunk = max(limit * 4, self.fts_chunk)
            items: list[dict] = []
            upper = before_id
            with self.db.read() as s:
                while len(items) < limit:
                    fts = ("SELECT rowid FROM orders_fts WHERE orders_fts MATCH :m"
                           + (" AND rowid < :u" if upper else "") + " ORDER BY rowid DESC LIMIT :n")
                    ids = [r[0] for r in s.execute(text(fts), {"m": phrase, "u": upper, "n": chunk})]
                    if not ids:
                        break
                    part = stmt.where(Order.id.in_(ids)).order_by(Order.id.desc()).limit(limit - len(items))
                    items.extend(summary_dict(r, p) for r in s.execute(part))
                    if len(ids) < chunk:
                        break
                    upper = ids[-1]
            return {"items": items, "next_before_id": items[-1]["id"] if len(items) == limit else None}
        if q:
            stmt = stmt.where(Order.id.in_(self._text_ids(q)))
        stmt = stmt.order_by(Order.id.desc()).limit(limit)
        with self.db.read() as s:
            items = [summary_dict(r, p) for r in s.execute(stmt)]
        return {"items": items, "next_before_id": items[-1]["id"] if len(items) == limit else None}

    def _text_ids(self, q: str):
        """Ids of orders whose title, content or address contain ``q`` (Chinese-safe)."""
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        if self.db.is_sqlite:
            if len(q) >= 3:  # the trigram index needs at least 3 characters
                phrase = '"' + q.replace('"', '""') + '"'
                return (select(literal_column("rowid")).select_from(text("orders_fts"))
                        .where(text("orders_fts MATCH :m").bindparams(m=phrase)))
            return select(Order.id).where(or_(Order.title.like(like, escape="\\"),
                                              Order.content.like(like, escape="\\"),
                                              Order.address.like(like, escape="\\")))
        expr = (func.coalesce(Order.title, "") + " " + func.coalesce(Order.content, "") + " "
                + func.coalesce(Order.address, ""))
        return select(Order.id).where(expr.ilike(like, escape="\\"))

    def update(self, order_id: int, data: dict, p: Principal, version: int | None = None) -> dict:
        try:
            def tx(s: Session):
                o = self._load(s, order_id, p)
                if version is not None and version != o.version:
                    raise Conflict("version_conflict", f"order is at version {o.version}, not {version}")
                if o.status not in ("draft", "accepted"):
                    raise Conflict("invalid_state", f"only draft or accepted orders can be edited, not {o.status}")
                self._check_refs(s, data)
                for k, v in data.items():
                    if v is None and k in NOT_NULL:
                        raise Invalid(k, "may not be null")
                    setattr(o, k, v)
                o.updated_at = self.now()
                self._outbox(s, o, "order.updated", {"fields": sorted(data)})
                self._audit_tx(s, o.id, 200)
                return order_dict(o, p)
            return self.db.run(tx)
        except StaleDataError:
            raise Conflict("version_conflict", "the order changed meanwhile; reload and retry") from None

    def delete(self, order_id: int, p: Principal) -> None:
        with self.db.write() as s:
            o = self._load(s, order_id, p)
            if o.status != "draft":
                raise Conflict("invalid_state", "only drafts can be deleted; later orders are kept for the record")
            self._outbox(s, None, "order.deleted", {"order_id": o.id, "number": o.number})
            s.delete(o)

    # -- transitions -----------------------------------------------------------
    def transition(self, order_id: int, action: str, payload: dict, p: Principal, version: int | None = None,
                   comment: str | None = None) -> dict:
        now = self.now()
        try:
            def tx(s: Session):
                o = self._load(s, order_id, p)
                if version is not None and version != o.version:
                    raise Conflict("version_conflict", f"order is at version {o.version}, not {version}")
                self._apply(s, o, action, payload, p, comment, now)
                snap = self._outbox(s, o, "order.transition", {"action": action})
                self._audit_tx(s, o.id, 200)
                return masked(snap, o, p)
            return self.db.run(tx)
        except StaleDataError:
            raise Conflict("version_conflict", "the order changed meanwhile; reload and retry") from None

    def _apply(self, s: Session, o: Order, action: str, payload: dict, p: Principal, comment: str | None,
               now: datetime) -> states.Result:
        payload = dict(payload or {})
        if action in ("accept", "direct_answer", "dispatch") and (not o.type or not (o.content or o.title)):
            raise Conflict("incomplete", "fill in type and content before " + states.TRANSITIONS[action].label)
        if action in ("dispatch", "review_return"):
            for u in [payload.get("main_unit")] + list(payload.get("co_units") or []):
                if u is not None and s.get(Department, u) is None:
                    raise Conflict("unknown_unit", f"unknown department {u!r}")
        if action in ("merge",) or (action == "reject" and payload.get("parent_id") is not None):
            try:
                parent_id = int(payload.get("parent_id"))
            except (TypeError, ValueError):
                raise Conflict("bad_field", "parent_id must be an order id") from None
            parent = s.get(Order, parent_id)
            if parent is None or parent.id == o.id:
                raise Conflict("bad_parent", f"parent order {parent_id} does not exist or is this order")
            if parent.status == "merged":
                raise Conflict("bad_parent", f"order {parent.id} is itself merged into {parent.parent_id}")
            payload["parent_id"] = parent_id
        if action == "request_extension":
            try:
                payload["extra"] = str(dl.parse_limit(payload.get("extra") or ""))
            except (ValueError, TypeError) as exc:
                raise Conflict("bad_field", f"extra: {exc}") from None
        try:
            res = states.apply(state_of(o), action, p.role, payload, actor_department=p.department, rules=self.rules)
        except states.TransitionError as exc:
            raise Conflict(exc.reason, exc.message) from None
        before = o.status
        _put_state(o, res.state)
        for ev in res.events:
            self._on_event(s, o, ev, p, now)
        if o.status in ("closed", "rejected", "merged") and before != o.status:
            o.closed_at = now
        o.updated_at = now
        s.execute(insert(Transition.__table__).values(order_id=o.id, round=o.round, action=action, from_status=before,
                                            to_status=o.status, actor=p.subject, role=p.role, at=now,
                                            comment=comment,
                                            payload={k: v for k, v in payload.items() if k != "answer"}))
        return res

    def _rec(self, s, o, record_kind, p, now, unit=None, dedup=None, **data):
        s.add(Record(order_id=o.id, round=o.round, kind=record_kind, unit=unit, at=now, actor=p.subject, data=data,
                     dedup_key=dedup))

    def _on_event(self, s: Session, o: Order, ev: dict, p: Principal, now: datetime) -> None:
        t = ev["type"]
        if t == "dispatch":
            d = dl.compute(now, o.type or "consult", o.urgency or "normal", self.cfg.limits, self.cfg.calendar)
            o.dispatched_at, o.sign_deadline, o.handling_deadline, o.signed_at = now, d.sign_in, d.handling, None
            o.replied_at = None
            self._rec(s, o, "dispatch", p, now, unit=ev["main_unit"], role="main", sign_deadline=_iso(d.sign_in),
                      handling_deadline=_iso(d.handling), designated=ev.get("designated", False))
            for u in ev["co_units"]:
                self._rec(s, o, "dispatch", p, now, unit=u, role="co", handling_deadline=_iso(d.handling))
        elif t == "signed":
            o.signed_at = now
            self._rec(s, o, "sign", p, now, unit=ev["unit"])
        elif t == "extension_requested":
            self._rec(s, o, "extension", p, now, unit=ev["unit"], reason=ev["reason"], extra=ev["extra"],
                      decision=None)
        elif t == "extension_decided":
            req = s.scalars(select(Record).where(Record.order_id == o.id, Record.kind == "extension")
                            .order_by(Record.id.desc())).first()
            new_deadline = None
            if ev["decision"] == "approve" and req is not None and o.handling_deadline is not None:
                o.handling_deadline = dl.extend(o.handling_deadline, dl.parse_limit(req.data["extra"]),
                                                self.cfg.calendar)
                new_deadline = _iso(o.handling_deadline)
            if req is not None:
                req.data = {**req.data, "decision": ev["decision"], "decided_by": p.subject, "decided_at": _iso(now),
                            "new_deadline": new_deadline}
        elif t == "inform_caller":
            self._rec(s, o, "inform_caller", p, now, about=ev["about"], phone_on_file=bool(o.caller_phone))
        elif t == "reply":
            o.replied_at = now
            self._rec(s, o, "reply", p, now, unit=ev["unit"], content=ev["content"], kb_refs=ev.get("kb_refs", []))
            if ev.get("kb_refs"):
                o.kb_refs = list(ev["kb_refs"])
        elif t == "callback":
            if ev.get("resolved") is not None:
                o.resolved = bool(ev["resolved"])
            self._rec(s, o, "callback", p, now, reached=ev["reached"], attempt=ev["attempt"],
                      resolved=ev.get("resolved"), note=ev.get("note"))
        elif t == "evaluated":
            if ev.get("resolved") is not None:
                o.resolved = bool(ev["resolved"])
            self._rec(s, o, "evaluation", p, now, unit=o.main_unit, satisfaction=ev["satisfaction"],
                      unit_at_fault=ev["unit_at_fault"])
        elif t == "transfer":
            o.transfer_to = ev["to"]
        elif t in ("return_requested", "return_approved", "return_refused", "reply_reviewed", "reopened",
                   "appeal", "appeal_reviewed", "callback_failed"):
            self._rec(s, o, t, p, now, unit=ev.get("unit"), **{k: v for k, v in ev.items() if k not in ("type", "unit")})
        elif t == "supervision":
            self._rec(s, o, "supervision", p, now, unit=o.main_unit, dedup=ev.get("dedup"),
                      kind=ev["kind"], stage=ev["stage"], note=ev["note"])

    # -- calls and IVR -------------------------------------------------------------
    def _open_orders_of(self, s: Session, caller: str, exclude: int | None) -> list[Order]:
        if not caller:
            return []
        q = (select(Order).where(Order.caller_phone == caller, Order.status.in_(states.OPEN_STATUSES - {"draft"}))
             .order_by(Order.id.desc()).limit(20))
        return [o for o in s.scalars(q) if o.id != exclude]

    def call_answered(self, body: dict, p: Principal) -> tuple[dict, bool]:
        """Draft order for an answered call; idempotent by linkedid. Returns (result, created)."""
        now = self.now()
        linkedid = body["linkedid"]
        def tx(s: Session):
            o = s.scalars(select(Order).where(Order.linkedid == linkedid)).first()
            created = o is None
            if created:
                dept = body.get("department") or None
                if dept and s.get(Department, dept) is None:
                    # the call carries the map's 责任单位 name; find its code
                    dept = s.scalars(select(Department.code).where(Department.name == dept)).first()
                o = Order(number=self._next_number(s, now), channel="phone", received_at=now, created_at=now,
                          updated_at=now, created_by=p.subject, status="draft", caller_phone=body.get("caller") or None,
                          origin=body.get("origin") or "12345", mode=body.get("mode") or "direct",
                          origin_department=dept, uniqueid=body.get("uniqueid"), linkedid=linkedid,
                          agent=body.get("agent") or None, queue=body.get("queue") or None)
                s.add(o)
                s.flush()
                s.add(Transition(order_id=o.id, round=1, action="create", from_status="", to_status="draft",
                                 actor=p.subject, role=p.role, at=now, comment="call answered"))
                self._outbox(s, o, "order.created")
            self._audit_tx(s, o.id, 201 if created else 200)
            opens = [order_dict(x, p) for x in self._open_orders_of(s, o.caller_phone or "", o.id)]
            return {"order": order_dict(o, p), "open_orders": opens}, created
        return self.db.run(tx)

    def ivr_status(self, number: str, caller: str, last4: str | None) -> dict:
        with self.db.read() as s:
            o = s.scalars(select(Order).where(Order.number == number)).first()
            if o is None:
                raise NotFound(f"order {number} not found")
            phone = o.caller_phone or ""
            if not phone or caller != phone:
                if not last4 or not phone or last4 != phone[-4:]:
                    raise Forbidden("needs_last4")
            deadline = o.handling_deadline if o.status in ("dispatched", "handling", "return_review") else None
            return {"number": o.number, "status": o.status, "status_text": states.STATUSES.get(o.status, o.status),
                    "deadline": _iso(deadline)}

    def ivr_survey(self, linkedid: str, caller: str, score: int, p: Principal) -> dict:
        now = self.now()
        def tx(s: Session):
            o = s.scalars(select(Order).where(Order.linkedid == linkedid)).first()
            if o is None:
                raise NotFound(f"no order for call {linkedid}")
            sv = s.scalars(select(Survey).where(Survey.linkedid == linkedid)).first()
            if sv is None:
                s.add(Survey(order_id=o.id, linkedid=linkedid, score=score, at=now))
            else:
                sv.score, sv.at = score, now
            o.call_satisfaction = score
            o.updated_at = now
            self._outbox(s, o, "order.survey", {"score": score})
            self._audit_tx(s, o.id, 201)
            return {"order_id": o.id, "number": o.number, "score": score,
                    "score_text": states.SATISFACTION[score]}
        return self.db.run(tx)

    def ivr_draft(self, body: dict, p: Principal) -> dict:
        now = self.now()
        def tx(s: Session):
            o = s.scalars(select(Order).where(Order.linkedid == body["linkedid"])).first()
            if o is None:
                o = Order(number=self._next_number(s, now), channel="phone", received_at=now, created_at=now,
                          updated_at=now, created_by=p.subject, status="draft",
                          caller_phone=body.get("caller") or None, origin=body.get("origin") or "12345",
                          linkedid=body["linkedid"])
                s.add(o)
            o.transcript = body.get("transcript") or o.transcript
            o.recording = body.get("recording") or o.recording
            o.content = o.content or body.get("transcript") or None
            o.title = o.title or "留言"
            s.flush()
            s.add(Transition(order_id=o.id, round=1, action="create", from_status="", to_status="draft",
                             actor=p.subject, role=p.role, at=now, comment="voice message"))
            self._outbox(s, o, "order.created")
            self._audit_tx(s, o.id, 201)
            return {"id": o.id, "number": o.number}
        return self.db.run(tx)

    # -- tokens and audit --------------------------------------------------------
    def issue_token(self, subject: str, role: str, department: str | None) -> str:
        token = secrets.token_urlsafe(24)
        with self.db.write() as s:
            if department and s.get(Department, department) is None:
                raise Invalid("department", f"unknown department {department!r}")
            s.add(ApiToken(token_sha256=hashlib.sha256(token.encode()).hexdigest(), subject=subject, role=role,
                           department=department, created_at=self.now()))
        return token

    def resolve_token(self, token: str) -> Principal | None:
        digest = hashlib.sha256(token.encode()).hexdigest()
        with self.db.read() as s:
            t = s.scalars(select(ApiToken).where(ApiToken.token_sha256 == digest, ApiToken.active.is_(True))).first()
            if t is None:
                return None
            return Principal(subject=t.subject, role=t.role, department=t.department)

    def audit(self, p: Principal, method: str, path: str, status_code: int, order_id: int | None) -> None:
        """Audit a request after it was served.  Reads are queued and written in batches
        (one transaction per batch); changes are written at once (most changes are already
        audited inside their own transaction, see :meth:`_audit_tx`)."""
        row = dict(at=self.now(), subject=p.subject, role=p.role, method=method, path=path[:300],
                   what="read" if method in ("GET", "HEAD") else "change", status_code=status_code,
                   order_id=order_id)
        if row["what"] == "read":
            self._audit_queue().put(row)
            return
        with self.db.write() as s:
            s.add(AuditLog(**row))

    def _audit_tx(self, s: Session, order_id: int | None, status_code: int) -> None:
        """Audit the current request inside the change's own transaction (no second commit)."""
        ctx = AUDIT_CTX.get()
        if ctx is None:
            return
        p = ctx["state"].get("principal")
        if p is None:
            return
        s.execute(insert(AuditLog.__table__).values(at=self.now(), subject=p.subject, role=p.role, method=ctx["method"],
                                          path=ctx["path"][:300], what="change", status_code=status_code,
                                          order_id=order_id))
        ctx["state"]["audited"] = True

    def _audit_queue(self):
        if self._audit_q is None:
            with _AUDIT_INIT:
                if self._audit_q is None:
                    q: queue.Queue = queue.Queue()
                    threading.Thread(target=self._audit_loop, args=(q,), name="audit-writer", daemon=True).start()
                    self._audit_q = q
        return self._audit_q

    def _audit_loop(self, q) -> None:
        while True:
            rows = [q.get()]
            time.sleep(0.05)
            while True:
                try:
                    rows.append(q.get_nowait())
                except queue.Empty:
                    break
            self._write_audit_rows(rows)
            for _ in rows:
                q.task_done()

    def _write_audit_rows(self, rows) -> None:
        try:
            with self.db.write() as s:
                s.add_all([AuditLog(**r) for r in rows])
        except Exception:  # keep the writer alive; the rows are logged instead
            logging.getLogger("workorder.audit").exception("audit batch of %d rows lost", len(rows))

    def flush_audit(self) -> None:
        """Wait until queued read-audit rows are in the database."""
        if self._audit_q is not None:
            self._audit_q.join()

    # -- background job -------------------------------------------------------------
    def raise_alarms(self) -> dict[str, int]:
        """Warnings before a deadline, supervision records after it; idempotent (dedup key per
        order, round, stage and deadline).  Returns counts per stage."""
        now = self.now()
        counts: dict[str, int] = {}
        with self.db.read() as s:
            rows = s.execute(select(Order.id, Order.status, Order.dispatched_at, Order.sign_deadline,
                                    Order.handling_deadline, Order.round)
                             .where(Order.status.in_(("dispatched", "handling", "return_review")))).all()
        for oid, status, start, sign, handle, rnd in rows:
            for alarm in dl.alarms(now, status, start, sign, handle, self.cfg.limits.warn_ratio):
                key = f"{oid}:{rnd}:{alarm.key}"
                with self.db.write() as s:
                    if s.scalar(select(Record.id).where(Record.dedup_key == key)) is not None:
                        continue
                    o = s.get(Order, oid)
                    if o is None or o.status != status:
                        continue
                    kind = "urge" if alarm.stage.endswith("warning") else "supervise"
                    ev = {"type": "supervision", "kind": kind, "stage": alarm.stage,
                          "note": f"deadline {_iso(alarm.deadline)}", "dedup": key}
                    self._on_event(s, o, ev, SYSTEM, now)
                    self._outbox(s, o, "order.supervision", {"stage": alarm.stage})
                counts[alarm.stage] = counts.get(alarm.stage, 0) + 1
        return counts

    def archive_closed(self, older_than_days: int = 30) -> int:
        cutoff = self.now() - timedelta(days=older_than_days)
        with self.db.read() as s:
            ids = list(s.scalars(select(Order.id).where(Order.status == "closed", Order.closed_at < cutoff)))
        n = 0
        for oid in ids:
            try:
                self.transition(oid, "archive", {}, SYSTEM)
                n += 1
            except Conflict:
                pass
        return n


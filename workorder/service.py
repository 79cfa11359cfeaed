"""The work-order services: the only code that writes orders.

Every change happens in one write transaction that also appends the history
row and an outbox event, so an order is never half-written and the upstream
push sees every change exactly in commit order.  The state machine
(workorder/states.py) decides; this module adapts its events onto records,
deadlines and the outbox.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import exists, insert, select, text
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from hotline.auth import Principal
from workorder import deadlines as dl
from workorder import privacy, states
from workorder.config import WorkorderConfig, load_all
from workorder.db import Database
from workorder.errors import Conflict, Forbidden, Invalid, NotFound
from workorder.models import Category, Order, Outbox, Record, Transition, utcnow
from workorder.repeat import RepeatRule
from workorder.service_admin import AdminMixin
from workorder.service_calls import CallsMixin
from workorder.service_chain import VISIBLE_KINDS, ChainMixin
from workorder.service_create import CreateMixin
from workorder.service_reads import ReadsMixin
from workorder.service_repeat import RepeatMixin
from workorder.views import (
    AUDIT_CTX,
    NOT_NULL,
    SYSTEM,
    _iso,
    _put_state,
    masked,
    order_dict,
    state_of,
    summary_dict,
)

_INSERT_OUTBOX = insert(Outbox.__table__)

__all__ = ["AUDIT_CTX", "SYSTEM", "Conflict", "Forbidden", "Invalid", "NotFound", "Store", "order_dict", "summary_dict"]


@dataclass
class Store(CreateMixin, ReadsMixin, CallsMixin, AdminMixin, ChainMixin, RepeatMixin):
    db: Database
    cfg: WorkorderConfig = field(default_factory=load_all)
    rules: states.Rules = states.RULES
    now: Callable[[], datetime] = utcnow
    fts_chunk: int = 200  # FTS rows fetched per step when a text search also has filters
    repeat: RepeatRule = field(default_factory=RepeatRule)  # 无理重复诉求 (workorder/repeat.py), on 受理

    # -- helpers ----------------------------------------------------------------
    _NEXT = text(
        "INSERT INTO number_seq (day, last) VALUES (:day, 1) "
        "ON CONFLICT (day) DO UPDATE SET last = number_seq.last + 1 RETURNING last"
    )

    def _next_number(self, s: Session, now: datetime) -> str:
        """YYYYMMDD (Beijing date) + a 5-digit per-day sequence, e.g. 2026112300017."""
        day = now.astimezone(self.cfg.calendar.tz).strftime("%Y%m%d")
        last = s.execute(self._NEXT, {"day": day}).scalar_one()
        return f"{day}{last:05d}"

    def _outbox(self, s: Session, o: Any, kind: str, extra: dict | None = None) -> dict | None:
        """Append the change to the outbox; returns the full (unmasked) order snapshot (``o``: the
        ORM object, or a create's inserted row)."""
        if self.db.engine.dialect.name == "postgresql":
            # serialise outbox appends so ids follow commit order (the push keeps that order)
            s.execute(text("SELECT pg_advisory_xact_lock(7312345)"))
        payload = {"kind": kind, "at": self.now().isoformat()}
        if o is not None:
            s.flush()
            payload["order"] = order_dict(o)
        if extra:
            payload.update(extra)
        s.execute(
            _INSERT_OUTBOX,  # one statement with parameters: no statement built and cache-keyed per change
            dict(
                event_id=str(uuid.uuid4()),
                order_id=o.id if o is not None else None,
                kind=kind,
                payload=payload,
                created_at=self.now(),
                attempts=0,
            ),
        )
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
        return exists().where(Record.order_id == Order.id, Record.kind.in_(VISIBLE_KINDS), Record.unit == p.department)

    def _load(self, s: Session, order_id: int, p: Principal) -> Order:
        q = select(Order).where(Order.id == order_id)
        cond = self._visible(p)
        if cond is not None:
            q = q.where(cond)
        o = s.scalars(q).first()
        if o is None:
            raise NotFound(f"order {order_id} not found")
        return o

    # -- orders (create: workorder/service_create.py) ----------------------------
    def update(self, order_id: int, data: dict, p: Principal, version: int | None = None) -> dict:
        try:

            def tx(s: Session):
                o = self._load(s, order_id, p)
                if version is not None and version != o.version:
                    raise Conflict("version_conflict", f"order is at version {o.version}, not {version}")
                if o.status not in ("draft", "accepted"):
                    raise Conflict("invalid_state", f"only draft or accepted orders can be edited, not {o.status}")
                self._check_refs(s, data)
                refusal = privacy.edit_refusal(p, o, data)
                if refusal:
                    raise Forbidden(refusal)
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
    def transition(
        self,
        order_id: int,
        action: str,
        payload: dict,
        p: Principal,
        version: int | None = None,
        comment: str | None = None,
    ) -> dict:
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

    def _apply(
        self, s: Session, o: Order, action: str, payload: dict, p: Principal, comment: str | None, now: datetime
    ) -> states.Result:
        payload = dict(payload or {})
        if action in ("accept", "direct_answer", "dispatch") and (not o.type or not (o.content or o.title)):
            raise Conflict("incomplete", "fill in type and content before " + states.TRANSITIONS[action].label)
        self._check_units(s, o, action, payload)  # unknown units, 市→县→县直部门 (service_chain.py)
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
        s.execute(
            insert(Transition.__table__).values(
                order_id=o.id,
                round=o.round,
                action=action,
                from_status=before,
                to_status=o.status,
                actor=p.subject,
                role=p.role,
                at=now,
                comment=comment,
                payload={k: v for k, v in payload.items() if k != "answer"},
            )
        )
        if action == "accept":
            self._after_accept(s, o, p, now)
        return res

    def _rec(self, s, o, record_kind, p, now, unit=None, dedup=None, **data):
        s.add(
            Record(
                order_id=o.id,
                round=o.round,
                kind=record_kind,
                unit=unit,
                at=now,
                actor=p.subject,
                data=data,
                dedup_key=dedup,
            )
        )

    def _on_event(self, s: Session, o: Order, ev: dict, p: Principal, now: datetime) -> None:
        t = ev["type"]
        if self._on_chain_event(s, o, ev, p, now):
            return
        if t == "dispatch":
            d = dl.compute(now, o.type or "consult", o.urgency or "normal", self.cfg.limits, self.cfg.calendar)
            o.dispatched_at, o.sign_deadline, o.handling_deadline, o.signed_at = now, d.sign_in, d.handling, None
            o.replied_at = None
            self._rec(
                s,
                o,
                "dispatch",
                p,
                now,
                unit=ev["main_unit"],
                role="main",
                sign_deadline=_iso(d.sign_in),
                handling_deadline=_iso(d.handling),
                designated=ev.get("designated", False),
            )
            for u in ev["co_units"]:
                self._rec(s, o, "dispatch", p, now, unit=u, role="co", handling_deadline=_iso(d.handling))
        elif t == "signed":
            o.signed_at = now
            self._rec(s, o, "sign", p, now, unit=ev["unit"])
        elif t == "extension_requested":
            self._rec(s, o, "extension", p, now, unit=ev["unit"], reason=ev["reason"], extra=ev["extra"], decision=None)
        elif t == "extension_decided":
            req = s.scalars(
                select(Record).where(Record.order_id == o.id, Record.kind == "extension").order_by(Record.id.desc())
            ).first()
            new_deadline = None
            if ev["decision"] == "approve" and req is not None and o.handling_deadline is not None:
                o.handling_deadline = dl.extend(
                    o.handling_deadline, dl.parse_limit(req.data["extra"]), self.cfg.calendar
                )
                new_deadline = _iso(o.handling_deadline)
            if req is not None:
                req.data = {
                    **req.data,
                    "decision": ev["decision"],
                    "decided_by": p.subject,
                    "decided_at": _iso(now),
                    "new_deadline": new_deadline,
                }
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
            self._rec(
                s,
                o,
                "callback",
                p,
                now,
                reached=ev["reached"],
                attempt=ev["attempt"],
                resolved=ev.get("resolved"),
                note=ev.get("note"),
            )
        elif t == "evaluated":
            if ev.get("resolved") is not None:
                o.resolved = bool(ev["resolved"])
            self._rec(
                s,
                o,
                "evaluation",
                p,
                now,
                unit=o.main_unit,
                satisfaction=ev["satisfaction"],
                unit_at_fault=ev["unit_at_fault"],
            )
        elif t == "transfer":
            o.transfer_to = ev["to"]
        elif t == "repeat_undone":
            self._on_repeat_event(s, o, ev, p, now)
        elif t in (
            "return_requested",
            "return_approved",
            "return_refused",
            "reply_reviewed",
            "reopened",
            "appeal",
            "appeal_reviewed",
            "callback_failed",
            "callback_waived",
        ):
            self._rec(
                s, o, t, p, now, unit=ev.get("unit"), **{k: v for k, v in ev.items() if k not in ("type", "unit")}
            )
        elif t == "supervision":
            self._rec(
                s,
                o,
                "supervision",
                p,
                now,
                unit=o.main_unit,
                dedup=ev.get("dedup"),
                kind=ev["kind"],
                stage=ev["stage"],
                note=ev["note"],
            )

"""The store's call and IVR side: the draft order of an answered call, the IVR's
progress query, survey and recorded messages (a mixin of :class:`workorder.service.Store`)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.auth import Principal
from hotline.log import event
from workorder import privacy, states
from workorder.errors import Forbidden, NotFound
from workorder.models import Department, Order, Survey, Transition
from workorder.service_create import CREATED, INSERT_ORDER, INSERT_TRANSITION, SELECT_ORDERS, order_row
from workorder.views import _iso, order_dict

log = logging.getLogger("workorder.calls")


class CallsMixin:
    def _phone_draft(self, s: Session, body: dict, p: Principal, now: datetime, **extra: Any) -> Order:
        """A new draft order of a call (answered, or a voice message), added to ``s``."""
        o = Order(
            number=self._next_number(s, now),
            channel="phone",
            received_at=now,
            created_at=now,
            updated_at=now,
            created_by=p.subject,
            status="draft",
            caller_phone=body.get("caller") or None,
            origin=body.get("origin") or self.cfg.hotline_number,
            linkedid=body["linkedid"],
            **extra,
        )
        s.add(o)
        return o

    def _created(self, s: Session, o: Order, p: Principal, now: datetime, comment: str) -> None:
        """The history row and the outbox event of a draft just made from a call."""
        s.add(
            Transition(
                order_id=o.id,
                round=1,
                action="create",
                from_status="",
                to_status="draft",
                actor=p.subject,
                role=p.role,
                at=now,
                comment=comment,
            )
        )
        self._outbox(s, o, "order.created")

    # -- calls and IVR -------------------------------------------------------------
    def _open_orders_of(self, s: Session, caller: str, exclude: int | None) -> list[Order]:
        if not caller:
            return []
        q = (
            select(Order)
            .where(Order.caller_phone == caller, Order.status.in_(states.OPEN_STATUSES - {"draft"}))
            .order_by(Order.id.desc())
            .limit(20)
        )
        return [o for o in s.scalars(q) if o.id != exclude]

    def _answered(self, s: Session, body: dict, p: Principal, now: datetime, known: dict[str, Any]) -> tuple[Any, bool]:
        """The draft order of one answered call in ``s`` -> (its row, made now); ``known``: the
        orders of the calls looked up already, by linkedid (a call posted again gets the order
        it has).  The order is one Core ``INSERT … RETURNING``
        and its history row one INSERT (:mod:`workorder.service_create`: no ORM flush)."""
        linkedid = body["linkedid"]
        o = known.get(linkedid)
        if o is not None:
            return o, False
        # the call carries the code of the map's department (HOTLINE_DEPT): the unit itself
        dept = body.get("department") or None
        if dept and s.get(Department, dept) is None:
            # the order is made all the same (losing the call's order is worse); the
            # unknown unit is logged so the admin reseeds the store from the map
            event(log, "answered call names an unknown department", logging.WARNING, department=dept, linkedid=linkedid)
            dept = None
        fixed = dict(
            number=self._next_number(s, now),
            channel="phone",
            received_at=now,
            created_at=now,
            updated_at=now,
            created_by=p.subject,
            status="draft",
            caller_phone=body.get("caller") or None,
            origin=body.get("origin") or self.cfg.hotline_number,
            linkedid=linkedid,
            mode=body.get("mode") or "direct",
            origin_department=dept,
            uniqueid=body.get("uniqueid") or None,
            agent=body.get("agent") or None,
            queue=body.get("queue") or None,
        )
        o = s.execute(INSERT_ORDER, order_row({}, fixed)).one()
        s.execute(
            INSERT_TRANSITION,
            [dict(order_id=o.id, round=1, actor=p.subject, role=p.role, at=now, comment="call answered", **CREATED)],
        )
        self._outbox(s, o, "order.created")
        return o, True

    def _known_calls(self, s: Session, linkedids: list[str]) -> dict[str, Any]:
        """The orders the store has of these calls, by linkedid (one query)."""
        if not linkedids:
            return {}
        rows = s.execute(SELECT_ORDERS.where(Order.__table__.c.linkedid.in_(linkedids))).all()
        return {r.linkedid: r for r in rows}

    def call_answered(self, body: dict, p: Principal) -> tuple[dict, bool]:
        """Draft order for an answered call; idempotent by linkedid. Returns (result, created):
        the order and the caller's other open orders (the agent's desktop shows them)."""
        now = self.now()

        def tx(s: Session):
            o, created = self._answered(s, body, p, now, self._known_calls(s, [body["linkedid"]]))
            self._audit_tx(s, o.id, 201 if created else 200)
            # the caller's other open orders, when this principal sees the caller: only those whose
            # caller it sees too (workorder.privacy)
            others = self._open_orders_of(s, o.caller_phone or "", o.id) if privacy.sees(p, o) else []
            opens = [order_dict(x, p) for x in others if privacy.sees(p, x)]
            return {"order": order_dict(o, p), "open_orders": opens}, created

        return self.db.run(tx)

    def calls_answered(self, bodies: list[dict], p: Principal) -> list[dict]:
        """The draft orders of several answered calls in one transaction (the hand-off's batch):
        one result per body, in order, ``{"linkedid", "status": 201 | 200 | 500, "order": {"id",
        "number"}}``; 200: the call had its order.  Each call is made in its own SAVEPOINT, so a
        call that fails (``status`` 500, logged) costs the others nothing.  Each order gets its
        audit row."""
        now = self.now()

        def tx(s: Session):
            known = self._known_calls(s, sorted({b["linkedid"] for b in bodies}))
            out = []
            for body in bodies:
                try:
                    with s.begin_nested():
                        o, created = self._answered(s, body, p, now, known)
                        self._audit_tx(s, o.id, 201 if created else 200)
                    known[body["linkedid"]] = o
                except Exception as exc:  # noqa: BLE001 - this call's result, the others go on
                    event(
                        log, "answered call not stored", logging.ERROR, linkedid=body["linkedid"], error=str(exc)[:300]
                    )
                    out.append({"linkedid": body["linkedid"], "status": 500, "error": type(exc).__name__})
                    continue
                out.append(
                    {
                        "linkedid": body["linkedid"],
                        "status": 201 if created else 200,
                        "order": {"id": o.id, "number": o.number},
                    }
                )
            return out

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
            return {
                "number": o.number,
                "status": o.status,
                "status_text": states.STATUSES.get(o.status, o.status),
                "deadline": _iso(deadline),
            }

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
            return {"order_id": o.id, "number": o.number, "score": score, "score_text": states.SATISFACTION[score]}

        return self.db.run(tx)

    def ivr_draft(self, body: dict, p: Principal) -> dict:
        now = self.now()

        def tx(s: Session):
            o = s.scalars(select(Order).where(Order.linkedid == body["linkedid"])).first()
            if o is None:
                o = self._phone_draft(s, body, p, now)
            o.transcript = body.get("transcript") or o.transcript
            o.recording = body.get("recording") or o.recording
            o.content = o.content or body.get("transcript") or None
            o.title = o.title or "留言"
            s.flush()
            self._created(s, o, p, now, "voice message")
            self._audit_tx(s, o.id, 201)
            return {"id": o.id, "number": o.number}

        return self.db.run(tx)

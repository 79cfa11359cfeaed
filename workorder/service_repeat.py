"""The repeated-complaint rule (workorder/repeat.py) in the store: applied when an order is accepted,
in the same transaction (a mixin of :class:`workorder.service.Store`).

A repeat gets a ``repeat`` record (the first order, the order that matched, the similarity, the
rule's window and threshold, the disposition and, for a close, the earlier answer) and, per the
disposition, a ``merge`` or a ``reject`` (``unreasonable_repeat``) transition by the accepting
person with the comment ``无理重复诉求规则``: the order's history is the audit trail.  The first
order gets a ``repeat_of`` record naming the repeat.  The transition ``undo_repeat`` (dispatcher,
supervisor, admin; a reason) takes a merge or a close back: accepted again, unlinked, no closing
time, a ``repeat_undone`` record (:meth:`_on_repeat_event`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.auth import Principal
from workorder.errors import Conflict
from workorder.models import Order, Record
from workorder.repeat import RepeatRule, caller_key, find_repeat

RULE_COMMENT = "无理重复诉求规则"
MAX_CANDIDATES = 200  # the newest earlier orders of one caller looked at


def _phones(key: str) -> list[str]:
    """The stored spellings of one caller number (the store keeps what the channel gave)."""
    return [key, f"+86{key}", f"86{key}", f"0086{key}"]


class RepeatMixin:
    repeat: RepeatRule

    def _earlier_of(self, s: Session, o: Any) -> list[dict]:
        """The caller's orders of the same category before ``o``, and every parent they lead to."""
        key = caller_key(o.caller_phone)
        rows = list(
            s.scalars(
                select(Order)
                .where(Order.caller_phone.in_(_phones(key)), Order.category_code == o.category_code, Order.id != o.id)
                .order_by(Order.id.desc())
                .limit(MAX_CANDIDATES)
            )
        )
        have = {r.id for r in rows}
        todo = {r.parent_id for r in rows if r.parent_id and r.parent_id not in have}
        while todo:
            more = list(s.scalars(select(Order).where(Order.id.in_(todo))))
            rows += more
            have |= {r.id for r in more}
            todo = {r.parent_id for r in more if r.parent_id and r.parent_id not in have}
        answers = {}
        for oid, data in s.execute(
            select(Record.order_id, Record.data)
            .where(Record.order_id.in_(have), Record.kind == "reply")
            .order_by(Record.id)
        ):
            answers[oid] = (data or {}).get("content")
        return [
            {
                "id": r.id,
                "caller_phone": r.caller_phone,
                "anonymous": r.anonymous,
                "category_code": r.category_code,
                "title": r.title,
                "content": r.content,
                "received_at": r.received_at,
                "status": r.status,
                "parent_id": r.parent_id,
                "answer": answers.get(r.id),
            }
            for r in rows
        ]

    def _after_accept(self, s: Session, o: Any, p: Principal, now: datetime) -> Order | None:
        """The rule on an order just accepted (the ORM object, or the row a create inserted); its
        disposition as a transition of ``p``.  Returns the ORM object when the rule changed the order."""
        if not self.repeat.active or o.anonymous or not o.category_code or not caller_key(o.caller_phone):
            return None
        mine = {
            "id": o.id,
            "caller_phone": o.caller_phone,
            "anonymous": o.anonymous,
            "category_code": o.category_code,
            "title": o.title,
            "content": o.content,
            "received_at": o.received_at,
        }
        m = find_repeat(mine, self._earlier_of(s, o), self.repeat)
        if m is None:
            return None
        parent = s.get(Order, m.parent_id)
        data = {
            "parent_id": m.parent_id,
            "parent_number": parent.number if parent else None,
            "matched_id": m.matched_id,
            "similarity": m.similarity,
            "window_days": self.repeat.window_days,
            "threshold": self.repeat.similarity,
            "disposition": m.disposition,
            "answer": m.answer,
        }
        rec = Record(order_id=o.id, round=o.round, kind="repeat", at=now, actor=p.subject, data=data)
        s.add(rec)
        back = None
        if parent is not None:
            back = Record(
                order_id=parent.id,
                round=parent.round,
                kind="repeat_of",
                at=now,
                actor=p.subject,
                data={"order_id": o.id, "number": o.number, "disposition": m.disposition},
            )
            s.add(back)
        if m.disposition == "link":
            return None
        if not isinstance(o, Order):  # a create's row: the object the transition changes
            o = s.get(Order, o.id)
        action, payload = (
            ("merge", {"parent_id": m.parent_id})
            if m.disposition == "merge"
            else ("reject", {"disposition": "unreasonable_repeat", "parent_id": m.parent_id})
        )
        s.flush()
        try:
            self._apply(s, o, action, payload, p, RULE_COMMENT, now)  # type: ignore[attr-defined]
        except Conflict as exc:  # refused (checked before any change): the order stays accepted, linked only
            rec.data = {**data, "disposition": "link", "refused": exc.reason}
            if back is not None:
                back.data = {**back.data, "disposition": "link"}
        return o

    def _on_repeat_event(self, s: Session, o: Order, ev: dict, p: Principal, now: datetime) -> None:
        """``repeat_undone`` (workorder/states.py ``undo_repeat``): the order is open again."""
        o.closed_at = None
        self._rec(s, o, "repeat_undone", p, now, parent_id=ev["parent_id"], reason=ev["reason"])  # type: ignore[attr-defined]

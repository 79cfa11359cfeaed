"""The store's create: one new order, its history rows, the repeat rule on 受理, the outbox event
and the request's audit row in one transaction (a mixin of :class:`workorder.service.Store`).

The order is one Core ``INSERT … RETURNING`` of the whole row instead of an ORM object and a
unit-of-work flush (2.4 of ~5 ms of CPU per API create went to the ORM's flush, the snapshot and
the statements built per call, profiled on the 1M store): the row comes back as the database holds
it (defaults, version 1), and the snapshot, the masking and the repeat rule read that row.  An ORM
object is loaded only when the repeat rule changes the new order (a merge or a close)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from hotline.auth import Principal
from workorder import states
from workorder.errors import Conflict
from workorder.models import Order, Transition
from workorder.views import _put_state, masked

_ORDERS = Order.__table__
INSERT_ORDER = insert(_ORDERS).returning(*_ORDERS.c)
INSERT_TRANSITION = insert(Transition.__table__)
SELECT_ORDERS = select(_ORDERS)  # whole rows, the shape INSERT_ORDER returns
_COLUMNS = frozenset(_ORDERS.c.keys())
CREATED = dict(action="create", from_status="", to_status="draft", payload={})  # a new order's first history row
# like the ORM's INSERT: a None is left out (the column's default applies), except where the type
# stores None as a value (JSON: ``null``)
_NONE_AS_VALUE = frozenset(c.key for c in _ORDERS.c if c.type.should_evaluate_none)


def order_row(data: dict[str, Any], fixed: dict[str, Any]) -> dict[str, Any]:
    """The INSERT's values: ``data`` (column names only: TypeError otherwise, as ``Order(**data)``
    raised) with ``fixed`` over it, the Nones the ORM would leave out left out."""
    unknown = set(data) - _COLUMNS
    if unknown:
        raise TypeError(f"{sorted(unknown)[0]!r} is an invalid keyword argument for Order")
    row = {**data, **fixed}
    return {k: v for k, v in row.items() if v is not None or k in _NONE_AS_VALUE}


class CreateMixin:
    def create(self, data: dict, p: Principal, status: str = "draft") -> dict:
        now = self.now()  # type: ignore[attr-defined]

        def tx(s: Session):
            self._check_refs(s, data)  # type: ignore[attr-defined]
            fixed: dict[str, Any] = dict(
                number=self._next_number(s, now),  # type: ignore[attr-defined]
                received_at=data.get("received_at") or now,
                created_at=now,
                updated_at=now,
                created_by=p.subject,
                status="draft",
                origin=data.get("origin") or self.cfg.hotline_number,  # type: ignore[attr-defined]
            )
            rows = [CREATED]
            if status != "draft":
                # 受理 at once: decided before the INSERT, so the row is written once (version 1)
                if not data.get("type") or not (data.get("content") or data.get("title")):
                    raise Conflict("incomplete", "fill in type and content before 受理")
                try:
                    res = states.apply(states.OrderState(), "accept", p.role, {}, p.department, self.rules)  # type: ignore[attr-defined]
                except states.TransitionError as exc:
                    raise Conflict(exc.reason, exc.message) from None
                put = SimpleNamespace()
                _put_state(put, res.state)  # type: ignore[arg-type]
                fixed.update(vars(put))
                rows.append(dict(action="accept", from_status="draft", to_status=fixed["status"], payload={}))
            o: Any = s.execute(INSERT_ORDER, order_row(data, fixed)).one()
            s.execute(
                INSERT_TRANSITION,
                [dict(order_id=o.id, round=1, actor=p.subject, role=p.role, at=now, comment=None, **r) for r in rows],
            )
            if status != "draft":
                o = self._after_accept(s, o, p, now) or o  # type: ignore[attr-defined]
            snap = self._outbox(s, o, "order.created")  # type: ignore[attr-defined]
            self._audit_tx(s, o.id, 201)  # type: ignore[attr-defined]
            return masked(snap, o, p)

        try:
            return self.db.run(tx)  # type: ignore[attr-defined]
        except StaleDataError:
            raise Conflict("version_conflict", "the order changed meanwhile; reload and retry") from None

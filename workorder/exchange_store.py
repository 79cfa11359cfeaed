"""The two-level exchange's store side (rules: workorder/exchange.py; docs/province.md).

:meth:`Exchange.receive` stores one event pushed by the other level, in one
transaction: the event row (unique by source and event id) and, when the event
is about an order and newer than its mirror, the mirror's new snapshot.  A
repeat is answered ``duplicate`` and changes nothing, also when two deliveries of
the same event race (the unique key decides).  :meth:`Exchange.link_call` ties a
call of this level to an order of the other level (the hand-off of a call that
came over the trunk with X-Hotline-Order): the mirror row is made when the call
is first (the order's events then fill it in), so the link never waits for a push.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline.log import event as log_event
from workorder.db import Database
from workorder.errors import NotFound
from workorder.exchange import applied_state, decide, mirror_view, order_number
from workorder.models import utcnow
from workorder.models_exchange import ExchangeEvent, ExchangeOrder

log = logging.getLogger("workorder.exchange")


def _row(m: ExchangeOrder | None) -> dict[str, Any] | None:
    if m is None:
        return None
    return {
        "snapshot": m.snapshot,
        "status": m.status,
        "last_seq": m.last_seq,
        "events": m.events,
        "linkedid": m.linkedid,
    }


def _mirror(s: Session, source: str, number: str) -> ExchangeOrder | None:
    return s.scalars(
        select(ExchangeOrder).where(ExchangeOrder.source == source, ExchangeOrder.number == number)
    ).first()


@dataclass
class Exchange:
    db: Database
    now: Callable[[], datetime] = utcnow

    def receive(self, ev: dict[str, Any]) -> dict[str, Any]:
        """Store one pushed event (validated against docs/exchange.schema.json by the API)."""
        source, event_id, seq = ev["source"], ev["event_id"], int(ev["seq"])
        number = order_number(ev)

        def tx(s: Session) -> dict[str, Any]:
            seen = s.scalar(
                select(func.count(ExchangeEvent.id)).where(
                    ExchangeEvent.source == source, ExchangeEvent.event_id == event_id
                )
            )
            mirror = _mirror(s, source, number) if number else None
            outcome = decide(bool(seen), mirror.last_seq if mirror is not None else None, seq)
            if outcome == "duplicate":
                return {"status": outcome, "event_id": event_id, "order": number}
            now = self.now()
            s.add(
                ExchangeEvent(
                    source=source,
                    event_id=event_id,
                    seq=seq,
                    kind=ev["kind"],
                    order_number=number,
                    outcome=outcome,
                    payload=ev,
                    received_at=now,
                )
            )
            if outcome == "applied" and number:
                if mirror is None:
                    mirror = ExchangeOrder(source=source, number=number, last_seq=0, events=0)
                    s.add(mirror)
                mirror.snapshot, mirror.status = applied_state(ev, mirror.snapshot)
                mirror.last_seq = seq
                mirror.events = (mirror.events or 0) + 1
                mirror.updated_at = now
            s.flush()
            return {"status": outcome, "event_id": event_id, "order": number}

        try:
            out = self.db.run(tx)
        except IntegrityError:  # the same event delivered twice at once: the other one stored it
            out = {"status": "duplicate", "event_id": event_id, "order": number}
        log_event(log, "exchange event", source=source, event_id=event_id, seq=seq, order=number, outcome=out["status"])
        return out

    def link_call(self, source: str, number: str, linkedid: str) -> tuple[dict[str, Any], bool]:
        """Link the call ``linkedid`` of this level to order ``number`` of ``source``; (view, new link)."""

        def tx(s: Session) -> tuple[dict[str, Any], bool]:
            m = _mirror(s, source, number)
            if m is None:
                m = ExchangeOrder(source=source, number=number, last_seq=0, events=0, updated_at=self.now())
                s.add(m)
            new = m.linkedid != linkedid
            m.linkedid = linkedid
            s.flush()
            return mirror_view(source, number, _row(m)), new

        try:
            return self.db.run(tx)
        except IntegrityError:  # the first event of the order was stored meanwhile: link to it
            return self.db.run(tx)

    def order(self, source: str, number: str) -> dict[str, Any]:
        with self.db.read() as s:
            m = _mirror(s, source, number)
            if m is None:
                raise NotFound(f"no order {number} from {source}")
            view = mirror_view(source, number, _row(m))
            view["history"] = [
                {"seq": e.seq, "kind": e.kind, "event_id": e.event_id, "outcome": e.outcome}
                for e in s.scalars(
                    select(ExchangeEvent)
                    .where(ExchangeEvent.source == source, ExchangeEvent.order_number == number)
                    .order_by(ExchangeEvent.seq)
                )
            ]
            return view

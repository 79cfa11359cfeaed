"""The two-level exchange's records (docs/province.md): what the other level sent.

``ExchangeEvent`` is every event a city pushed, once (unique by source and event
id: the receiver itself drops a repeat).  ``ExchangeOrder`` is the mirror of one
order of the other level, keyed by (source, number): its last snapshot, the
highest event ``seq`` applied (an older event never overwrites a newer one) and
the call of this level linked to it (a transferred call carries the number).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workorder.models import Base, utcnow


class ExchangeEvent(Base):
    __tablename__ = "exchange_events"
    __table_args__ = (UniqueConstraint("source", "event_id", name="uq_exchange_events_source_event"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(40))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    order_number: Mapped[str | None] = mapped_column(String(32), index=True)
    outcome: Mapped[str] = mapped_column(String(16))  # applied | stale (older than the mirror)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExchangeOrder(Base):
    __tablename__ = "exchange_orders"
    __table_args__ = (UniqueConstraint("source", "number", name="uq_exchange_orders_source_number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    number: Mapped[str] = mapped_column(String(32))
    last_seq: Mapped[int] = mapped_column(Integer, default=0)  # 0: only a call named it so far
    events: Mapped[int] = mapped_column(Integer, default=0)  # events applied
    status: Mapped[str | None] = mapped_column(String(24))
    snapshot: Mapped[dict[str, Any] | None] = mapped_column()
    linkedid: Mapped[str | None] = mapped_column(String(64))  # the call of this level linked to it
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

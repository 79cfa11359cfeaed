"""The two-level exchange's rules (docs/province.md, docs/exchange.schema.json): pure.

A city pushes every work-order event to the province (workorder/outbox.py), in
commit order, each with its ``event_id`` and ``seq`` (the outbox id: it grows
with every event of the city).  The province is the one that makes the exchange
exactly-once: it may see an event twice (the city crashed between the province's
2xx and its own mark, or the answer was lost when the link went down) and an
event of an order after a later one (never from :func:`push_pending`, which stops
at the first failure, but a second sender or a replay can do it).

:func:`decide` is the whole rule: an event already received (same source and
event id) is a ``duplicate`` and changes nothing; an event of an order whose
mirror already holds a higher or equal ``seq`` is ``stale``: kept in the event
log, never applied over the newer state; anything else is ``applied``.  Both
answers are acknowledgements (2xx): the sender marks the event pushed.
"""

from __future__ import annotations

from typing import Any, Literal

Outcome = Literal["applied", "stale", "duplicate"]


def decide(seen: bool, mirror_seq: int | None, seq: int) -> Outcome:
    """What to do with an event: ``seen`` by (source, event id) already; the order's mirror
    at ``mirror_seq`` (None: no mirror yet, or an event without an order)."""
    if seen:
        return "duplicate"
    if mirror_seq is not None and seq <= mirror_seq:
        return "stale"
    return "applied"


def order_number(event: dict[str, Any]) -> str | None:
    """The number of the order an event is about (None: an event of no order)."""
    order = event.get("order")
    if isinstance(order, dict) and order.get("number"):
        return str(order["number"])
    number = event.get("number")  # order.deleted: the draft is gone, its number stays
    return str(number) if number else None


def applied_state(event: dict[str, Any], snapshot: dict[str, Any] | None) -> tuple[dict[str, Any] | None, str | None]:
    """(snapshot, status) of a mirror after ``event`` is applied: the event's order, caller
    fields left out (the other level's privacy rule applies there); a deleted draft keeps its
    last snapshot with status ``deleted``."""
    if event.get("kind") == "order.deleted":
        return snapshot, "deleted"
    order = event.get("order") or {}
    snap = {k: v for k, v in order.items() if k not in ("caller_phone", "caller_name")}
    return snap, order.get("status")


def mirror_view(source: str, number: str, row: dict[str, Any] | None) -> dict[str, Any]:
    """What an agent of this level sees of an order of the other level."""
    snap = (row or {}).get("snapshot") or {}
    return {
        "number": number,
        "source": source,
        "mirrored": True,
        "status": (row or {}).get("status") or snap.get("status"),
        "title": snap.get("title"),
        "content": snap.get("content"),
        "origin": snap.get("origin"),
        "last_seq": (row or {}).get("last_seq", 0),
        "events": (row or {}).get("events", 0),
        "linkedid": (row or {}).get("linkedid"),
    }

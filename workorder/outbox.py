"""Upstream push (信息共享: the city pushes every order change to the province in real time).

Outbox rows are written in the same transaction as the change they describe,
so nothing is pushed that was not committed and nothing committed is lost.
:func:`push_pending` sends them in id order (= commit order), one POST each,
with the event id both in the body and in an ``Idempotency-Key`` header: the
upstream may see an event twice after a crash between its 2xx and our mark,
and must drop the repeat by event id.  The first failure stops the batch, so
a later event never overtakes an earlier one; the next run retries it.

With ``source`` (``hotline jobs``: the platform's exchange name) each body is an
event of the two-level exchange, docs/exchange.schema.json; the province
platform's receiver (workorder/exchange_store.py) drops repeats itself.
"""

from __future__ import annotations

import logging

import httpx
from sqlalchemy import func, select

from hotline.log import event
from workorder.db import Database
from workorder.models import Outbox, utcnow

log = logging.getLogger("workorder.outbox")


def push_pending(
    db: Database,
    url: str,
    client: httpx.Client | None = None,
    batch: int = 200,
    token: str | None = None,
    source: str | None = None,
) -> dict:
    own = client is None
    client = client or httpx.Client(timeout=10)
    pushed = 0
    error = None
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with db.read() as s:
            rows = list(
                s.execute(
                    select(Outbox.id, Outbox.event_id, Outbox.kind, Outbox.payload)
                    .where(Outbox.pushed_at.is_(None))
                    .order_by(Outbox.id)
                    .limit(batch)
                )
            )
        for oid, event_id, kind, payload in rows:
            body = {"event_id": event_id, "seq": oid, "kind": kind, **payload}
            if source:  # the two-level exchange's sender (docs/exchange.schema.json)
                body["source"] = source
            try:
                r = client.post(url, json=body, headers={**headers, "Idempotency-Key": event_id})
                ok = 200 <= r.status_code < 300
                error = None if ok else f"HTTP {r.status_code}"
            except httpx.HTTPError as exc:
                ok, error = False, f"{type(exc).__name__}: {exc}"
            with db.write() as s:
                row = s.get(Outbox, oid)
                row.attempts += 1
                if ok:
                    row.pushed_at, row.last_error = utcnow(), None
                else:
                    row.last_error = error
            if not ok:
                event(log, "upstream push failed", logging.WARNING, event_id=event_id, error=error)
                break
            pushed += 1
    finally:
        if own:
            client.close()
    with db.read() as s:
        left = s.scalar(select(func.count(Outbox.id)).where(Outbox.pushed_at.is_(None)))
    return {"pushed": pushed, "pending": left, "error": error}

"""Outbound 回访: the store side (candidates, the per-order lock, the result) and the dialer.

One pass (the jobs service runs it, :func:`workorder.jobs_cli.one_pass`):

1. the candidates from the store -- orders in ``callback`` with their attempts, the round's
   latest callback record, the no-call-back flag and the lock -- and the pure decision
   :func:`workorder.revisit.due` (calling window, tries, interval);
2. each due order is *claimed* with one conditional UPDATE (``revisit_lock_until`` in the
   past or empty -> now + hold): a second jobs node, or a pass that overlaps, finds it taken,
   so an order is never dialed twice at once; nothing is kept in the process;
3. AMI ``Originate`` of a Local channel whose ``;2`` half dials the citizen through the trunk
   (``HOTLINE_CALLBACK_DIAL``) and whose ``;1`` half, once answered, plays the survey and
   reads one key (asterisk_conf/templates/extensions_revisit.conf.j2); either sends one
   ``UserEvent HotlineRevisit`` with the result: the key, or the Dial's DIALSTATUS
   (NOANSWER, BUSY, CONGESTION, CHANUNAVAIL) when the citizen was not reached;
4. the result is written in one transaction: ``callback`` (reached or not; after the last
   unreached try the store marks the 回访 failed) and, when a key was pressed, ``evaluate``
   with the survey's score (``不满意`` counts the unit at fault, so the store's reopen rule
   applies), and the lock is released.

The pass waits for its calls (at most ring + survey time).  If the process dies meanwhile,
the lock runs out (``hold``) and the order is called again at a later pass; an unanswered
result is never invented.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from hotline.auth import Principal
from hotline.log import event, mask_number
from workorder import revisit as R
from workorder.models import Order, Record
from workorder.vocab import DISSATISFIED, SYSTEM

log = logging.getLogger("workorder.revisit")

# who writes the dialer's results (allowed for callback/evaluate in workorder/states.py)
REVISIT = Principal(subject="system:revisit", role=SYSTEM)
CONTEXT = "hotline-revisit"  # the survey (the Local channel's ;1 half, once the citizen answered)
DIAL_CONTEXT = "hotline-revisit-out"  # dials the citizen (the ;2 half), reports a failed call's DIALSTATUS
USER_EVENT = "HotlineRevisit"
DIGIT_TIMEOUT = 8  # seconds the survey waits for the key, per try (the dialplan asks twice)
SURVEY_SECONDS = 60  # the longest an answered call takes: two prompts, two waits, the thanks


class Revisits:
    """The store side of the 回访: reads, the lock, the result (one transaction each)."""

    def __init__(self, store, cfg: R.RevisitSettings):
        self.store = store
        self.cfg = cfg
        self.tz = store.cfg.calendar.tz
        # a call holds its order at most this long (then a later pass may call again)
        self.hold = timedelta(seconds=cfg.ring_seconds + SURVEY_SECONDS + 60)

    def candidates(self) -> list[R.Candidate]:
        last = (
            select(func.max(Record.at))
            .where(Record.order_id == Order.id, Record.round == Order.round, Record.kind == "callback")
            .correlate(Order)
            .scalar_subquery()
        )
        q = select(
            Order.id,
            Order.status,
            Order.callback_attempts,
            last.label("last"),
            Order.no_callback,
            Order.caller_phone,
            Order.revisit_lock_until,
        ).where(Order.status == "callback")
        with self.store.db.read() as s:
            rows = s.execute(q).all()
        return [R.Candidate(r[0], r[1], r[2] or 0, r[3], bool(r[4]), r[5], r[6]) for r in rows]

    def due(self, now: datetime) -> list[R.Candidate]:
        cands = {c.order_id: c for c in self.candidates()}
        return [cands[i] for i in R.due(cands.values(), now, self.tz, self.cfg)]

    def claim(self, order_id: int, now: datetime, attempts: int | None = None) -> bool:
        """Take the order for one call; False when another pass or node holds it (or it moved on).

        ``attempts``: the unreached attempts the order had when it was judged due; another node
        that called it meanwhile (a busy line ends the call at once, and releases the lock) has
        counted one more, and the order is not due again until the interval has passed."""
        conditions = [
            Order.id == order_id,
            Order.status == "callback",
            Order.no_callback.is_(False),
            or_(Order.revisit_lock_until.is_(None), Order.revisit_lock_until <= now),
        ]
        if attempts is not None:
            conditions.append(func.coalesce(Order.callback_attempts, 0) == attempts)
        stmt = (
            update(Order)
            .where(*conditions)
            .values(revisit_lock_until=now + self.hold)
            .execution_options(synchronize_session=False)
        )
        with self.store.db.write() as s:
            return (s.execute(stmt).rowcount or 0) == 1

    def release(self, order_id: int) -> None:
        stmt = (
            update(Order)
            .where(Order.id == order_id)
            .values(revisit_lock_until=None)
            .execution_options(synchronize_session=False)
        )
        with self.store.db.write() as s:
            s.execute(stmt)

    def record(self, order_id: int, oc: R.Outcome) -> dict[str, Any] | None:
        """Write one call's outcome (callback, then evaluate when answered) and release the lock.

        None when the order left ``callback`` meanwhile (an agent's manual 回访 came first)."""
        store = self.store
        now = store.now()

        def tx(s: Session):
            # released without touching the version: an agent's open form stays valid
            s.execute(
                update(Order)
                .where(Order.id == order_id)
                .values(revisit_lock_until=None)
                .execution_options(synchronize_session=False)
            )
            o = s.get(Order, order_id)
            if o is None or o.status != "callback":
                return None
            note = f"回访外呼: {oc.cause}"
            store._apply(s, o, "callback", {"reached": oc.reached, "note": note}, REVISIT, None, now)
            store._outbox(s, o, "order.transition", {"action": "callback"})
            if oc.reached and oc.satisfaction is not None:
                payload = {"satisfaction": oc.satisfaction, "unit_at_fault": oc.satisfaction in DISSATISFIED}
                store._apply(s, o, "evaluate", payload, REVISIT, "回访满意度调查", now)
                store._outbox(s, o, "order.transition", {"action": "evaluate"})
            return {"order": o.id, "status": o.status, "attempts": o.callback_attempts, "satisfaction": o.satisfaction}

        return store.db.run(tx)


@dataclass
class Call:
    order_id: int
    token: str
    action_id: str
    phone: str
    answered: bool = False


class Dialer:
    """One pass: the due orders, claimed, originated, their results written."""

    def __init__(
        self,
        revisits: Revisits,
        dial: str,
        connect: Callable[[], Any],
        caller_id: str = "",
        clock: Callable[[], float] = time.monotonic,
    ):
        """``dial``: HOTLINE_CALLBACK_DIAL (``{number}`` is the citizen's); ``connect``: a
        logged-in AMI connection receiving UserEvents (``hotline.ami.connect(..., events="user")``)."""
        if "{number}" not in dial:
            raise ValueError(f"HOTLINE_CALLBACK_DIAL={dial!r}: needs {{number}} where the citizen's number goes")
        self.revisits = revisits
        self.dial = dial
        self.connect = connect
        self.caller_id = caller_id
        self.clock = clock

    def channel(self, number: str) -> str:
        """The channel that reaches ``number`` through the trunk (HOTLINE_CALLBACK_DIAL)."""
        return self.dial.format(number=number)

    def run_pass(self) -> dict[str, Any]:
        rv = self.revisits
        now = rv.store.now()
        due = rv.due(now)
        out: dict[str, Any] = {"due": len(due), "called": 0, "results": []}
        if not due:
            return out
        claimed = [c for c in due if rv.claim(c.order_id, now, c.attempts)]
        if not claimed:
            return out
        try:
            conn = self.connect()
        except OSError as exc:
            for c in claimed:
                rv.release(c.order_id)
            out["error"] = f"AMI unavailable: {exc}"
            return out
        try:
            calls = self._originate(conn, claimed)
            out["called"] = len(calls)
            out["results"] = self._collect(conn, calls)
        finally:
            conn.close()
        return out

    def _originate(self, conn, claimed: list[R.Candidate]) -> dict[str, Call]:
        rv = self.revisits
        calls: dict[str, Call] = {}
        for c in claimed:
            token = uuid.uuid4().hex[:16]
            phone = (c.phone or "").lstrip("+")
            action = {
                "Action": "Originate",
                "Channel": f"Local/s@{DIAL_CONTEXT}/n",
                "Context": CONTEXT,
                "Exten": "s",
                "Priority": "1",
                # the Local half waits for the Dial (ring_seconds) to end first
                "Timeout": str((rv.cfg.ring_seconds + 15) * 1000),
                "Async": "true",
                "Variable": [
                    f"REVISIT_DIAL={self.channel(phone)}",
                    f"REVISIT_RING={rv.cfg.ring_seconds}",
                    f"REVISIT_ORDER={c.order_id}",
                    f"REVISIT_TOKEN={token}",
                    f"REVISIT_PROMPT={R.SURVEY_PROMPT}",
                    f"REVISIT_THANKS={R.THANKS_PROMPT}",
                    f"REVISIT_DIGIT_TIMEOUT={DIGIT_TIMEOUT}",
                ],
            }
            if self.caller_id:
                action["CallerID"] = f'"{self.caller_id}" <{self.caller_id}>'
            action_id = conn.send(action)
            calls[token] = Call(c.order_id, token, action_id, phone)
            event(log, "revisit call", order=c.order_id, number=mask_number(phone), attempt=c.attempts + 1)
        return calls

    def _collect(self, conn, calls: dict[str, Call]) -> list[dict]:
        rv = self.revisits
        results: list[dict] = []
        by_action = {c.action_id: c for c in calls.values()}
        deadline = self.clock() + rv.cfg.ring_seconds + SURVEY_SECONDS + 15
        pending = dict(calls)
        while pending and self.clock() < deadline:
            conn.sock.settimeout(max(0.1, min(1.0, deadline - self.clock())))
            try:
                msg = conn.read_message()
            except TimeoutError:
                continue
            except ConnectionError as exc:
                event(log, "revisit: AMI closed during the calls", logging.ERROR, error=str(exc))
                break
            if "Response" in msg and msg.get("ActionID") in by_action and "Event" not in msg:
                call = by_action[msg["ActionID"]]
                if msg["Response"] != "Success" and call.token in pending:
                    # refused before dialing (a bad dial string, no such endpoint): not an attempt
                    del pending[call.token]
                    rv.release(call.order_id)
                    event(
                        log, "revisit originate refused", logging.ERROR, order=call.order_id, error=msg.get("Message")
                    )
                    results.append({"order": call.order_id, "refused": msg.get("Message")})
                continue
            if msg.get("Event") != "UserEvent" or msg.get("UserEvent") != USER_EVENT:
                continue
            call = pending.pop(str(msg.get("Token", "")).strip(), None)
            if call is None:
                continue
            oc = R.outcome(msg.get("Reason"), msg.get("Digit"))
            try:
                written = rv.record(call.order_id, oc)
            except Exception as exc:  # e.g. the order changed under us: log it, keep the other calls' results
                log.exception("revisit result not written (order %s)", call.order_id)
                results.append({"order": call.order_id, "cause": oc.cause, "error": f"{type(exc).__name__}: {exc}"})
                continue
            event(
                log,
                "revisit result",
                order=call.order_id,
                cause=oc.cause,
                reached=oc.reached,
                satisfaction=oc.satisfaction,
                status=(written or {}).get("status"),
            )
            results.append({"order": call.order_id, "cause": oc.cause, **(written or {})})
        for call in pending.values():
            # no word from Asterisk: the lock runs out and a later pass calls again (nothing counted)
            event(log, "revisit result not heard", logging.WARNING, order=call.order_id)
            results.append({"order": call.order_id, "cause": "lost"})
        return results

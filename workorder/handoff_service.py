"""``hotline handoff``: every answered call becomes a draft work order.

An AMI consumer: on each ``AgentConnect`` it posts the call to the work-order
API (``POST /api/v1/calls/answered/batch``, idempotent by linkedid), then stamps the
order's number on both legs of the call as ``HOTLINE_ORDER`` (AMI ``Setvar``),
so the CDR, a transfer and the survey carry it.  What the draft says of the call (origin,
mode, department, level, the other level's order) comes with the ``HotlineAnswered``
UserEvent the agent's channel raises as it answers ([agent-connected], just before the
AgentConnect): AMI events carry no channel variables (no manager ``channelvars``: their
cost was in every snapshot of every channel).  An AgentConnect waits for its facts at most
:data:`FACTS_WAIT` s, then goes without them (logged).

It also answers an agent's emergency linkage (the ``HotlineLinkage`` UserEvent of
the *0110 feature, queues/linkage.py) with the AMI Redirect that moves the
caller and the agent into the three-way conference: the dialplan cannot.

It stays off the call's path: Asterisk does not wait for it.  The AMI reader
only puts events on a bounded queue; :data:`WORKERS` workers take them, and the calls
they post meanwhile go together (:class:`workorder.client.AnsweredCalls`: up to
:data:`BATCH_MAX` calls in one request and one transaction, :data:`BATCHES_IN_FLIGHT`
requests at once; a call waits at most :data:`BATCH_LINGER` for others), so the answers
of a busy minute cost the API a few requests a second, not one each.  Each hand-off's line says
where its time went: ``ami_lag_ms`` (Asterisk's event stamp to its arrival here),
``queued_ms`` (waiting for a worker), ``facts_ms`` (waiting for the call's facts: 0 when its
``HotlineAnswered`` came first, as it does), ``api_ms`` (waiting for its batch's answer,
the batch before it included, and its retries), ``batch`` (the calls of the request that
carried it).
When the queue is full the oldest hand-offs are still in it and the newest is
logged and dropped, never blocking the AMI reader (agents can still create
the order from the desktop: the API finds it by linkedid).

It logs in as its own AMI user (``hotline-handoff``), which Asterisk sends only
the events of :data:`workorder.handoff.AMI_USER`.  After every login and every
``FullyBooted`` (an Asterisk restart) it re-reads the calls in progress
(``CoreShowChannels``, :func:`workorder.handoff.resync_events`, each caller's facts read by
one ``Getvar``): a call answered while it was not connected gets its order all the same, once
(the API is idempotent by linkedid; a call already stamped with ``HOTLINE_ORDER`` is skipped).  After a
lost AMI connection it also reads Asterisk's queue_log: a call answered in the gap that has
ended by the re-login is no longer in ``CoreShowChannels``; its ``CONNECT`` line gets it its
order (:func:`workorder.handoff.queue_log_answers`, with the route's facts its ENTERQUEUE line carries).
The same after a stop (:mod:`workorder.handoff_catchup`): every ``MARK_EVERY`` s it keeps the
stamp of the last AgentConnect it took in Asterisk's AstDB (:data:`hotline.names.HANDOFF_MARK`),
and at its start it reads queue_log from there on (at most ``CATCH_UP_MAX`` s back), so the calls answered while
it was stopped or restarting get their drafts too.

An API that does not answer, answers 5xx (a 503 when the database is locked or
down) or times out is retried with a back-off for :data:`RETRY_FOR` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from pathlib import Path

from hotline import ami
from hotline.http_pool import HttpStatusError
from hotline.log import Outage
from hotline.log import event as log_event
from hotline.secrets import load_secrets
from queues.agents import login
from queues.linkage import linkage_redirect
from queues.stats_cli import default_queue_log
from workorder.api.schemas import ANSWERED_BATCH_MAX
from workorder.client import AnsweredCalls, ApiFailure, OrdersClient
from workorder.handoff import (
    NotAnAgentConnect,
    answered_body,
    answered_facts,
    call_facts,
    facts_getvar,
    resync_events,
)
from workorder.handoff_catchup import CatchUpMixin
from workorder.handoff_facts import AnswerFacts

log = logging.getLogger("workorder.handoff")

WORKERS = 64  # hand-offs at once (each waits for its facts, then for its batch's answer)
BATCHES_IN_FLIGHT = 2  # requests to the API at once (and its keep-alive connections)
BATCH_MAX = min(WORKERS, ANSWERED_BATCH_MAX)  # calls in one POST /calls/answered/batch
# seconds a call waits for others to go in its request (a full batch goes at once): at 30
# answers a second a request then carries ~3 calls, not ~1; drafts come that much later
BATCH_LINGER = 0.1
QUEUE_SIZE = 1000
RETRY_FOR = 120.0  # seconds a hand-off is retried (an API restart, a locked or restarting database)
SEEN_MAX = 10000  # linkedids remembered so that the resyncs of one reconnect hand a call off once
BACKOFF_FIRST, BACKOFF_CAP = 0.25, 4.0  # seconds: doubling from the first to the cap
FACTS_WAIT = 2.0  # seconds an AgentConnect waits for its HotlineAnswered facts
# seconds the AMI reader rests between two reads (hotline.ami.LeanManager.read_every): the
# answers of that time come in one read, not a wake-up each (and go in one batch: the linger
# of BATCH_LINGER then adds little)
READ_EVERY = 0.1


class Handoff(CatchUpMixin):
    def __init__(self, client: OrdersClient, manager=None, retry_for: float = RETRY_FOR, queue_log: Path | None = None):
        self.client, self.manager = client, manager
        self.queue_log = queue_log
        self.last_ts = 0.0  # Timestamp of the last AgentConnect received
        self.gap_from: float | None = None  # set when the AMI connection drops, until the next login
        self.retry_for = retry_for
        self.queue: asyncio.Queue = asyncio.Queue(QUEUE_SIZE)
        self.done = 0
        self.dropped = 0
        self.retried = 0
        self.logins = 0
        self.api = Outage(log, "work-order API")
        self.seen: dict[str, None] = {}  # linkedids queued lately, oldest first (a resync skips them)
        self.answers = AnswerFacts(FACTS_WAIT)  # each answer's HotlineAnswered facts
        self.posts = AnsweredCalls(client, BATCH_MAX, BATCHES_IN_FLIGHT, BATCH_LINGER)  # the calls posted together

    def _note(self, *ids: str) -> None:
        for linkedid in ids:
            if linkedid:
                self.seen.pop(linkedid, None)
                self.seen[linkedid] = None
        while len(self.seen) > SEEN_MAX:
            del self.seen[next(iter(self.seen))]

    def on_event(self, manager, message) -> None:
        """AMI callback: constant time, never awaits."""
        ev = message  # a plain dict (hotline.ami.LeanManager, or a resync's)
        self._note(ev.get("Linkedid", ""), ev.get("Uniqueid", ""))
        try:
            self.last_ts = max(self.last_ts, float(ev.get("Timestamp", 0)))
        except (TypeError, ValueError):
            pass
        try:
            self.queue.put_nowait((time.time(), ev))
        except asyncio.QueueFull:
            self.dropped += 1
            log_event(
                log,
                "hand-off queue full; order left to the agent desktop",
                logging.WARNING,
                linkedid=ev.get("Linkedid", ""),
            )

    async def facts_of(self, ev: dict) -> dict[str, str]:
        """The facts of a live AgentConnect's call (its agent channel's HotlineAnswered)."""
        facts = await self.answers.take(str(ev.get("DestChannel", "")))
        if facts is None:
            log_event(
                log,
                "answered call without its facts; draft made without origin",
                logging.WARNING,
                linkedid=ev.get("Linkedid", ""),
                agent_channel=ev.get("DestChannel", ""),
            )
        return facts or {}

    async def handle(self, ev: dict, received: float | None = None) -> dict | None:
        picked = time.time()  # a worker took it
        if ev.get("Event") == "AgentConnect" and not ev.get("Resync"):
            ev = {**await self.facts_of(ev), **ev}
        try:
            body = answered_body(ev)
        except NotAnAgentConnect:
            return None
        loop = asyncio.get_running_loop()
        started = time.time()
        deadline = loop.time() + self.retry_for
        backoff = BACKOFF_FIRST
        while True:
            try:
                out, created = await self.posts.post(body)
                self.api.up()
                break
            except ApiFailure as exc:
                detail = exc.text[:500] if isinstance(exc, HttpStatusError) else ""
                client_error = isinstance(exc, HttpStatusError) and exc.status < 500
                if loop.time() + backoff > deadline or client_error:  # a 4xx will not heal by retrying
                    log_event(
                        log,
                        "hand-off failed",
                        logging.ERROR,
                        linkedid=body["linkedid"],
                        caller=body["caller"],
                        error=(str(exc) or type(exc).__name__).splitlines()[0],  # ReadTimeout has no text
                        detail=detail,
                    )
                    return None
                self.api.down(f"{str(exc) or type(exc).__name__} {detail}".strip())
                self.retried += 1
                await asyncio.sleep(backoff)
                backoff = min(BACKOFF_CAP, backoff * 2)
        number = (out.get("order") or {}).get("number", "")
        if number and self.manager is not None:
            for channel in (ev.get("Channel"), ev.get("DestChannel")):
                if channel:  # unanswered: a channel hung up meanwhile needs no number
                    self.manager.fire(
                        {"Action": "Setvar", "Channel": channel, "Variable": "HOTLINE_ORDER", "Value": number}
                    )
        self.done += 1
        received = received or picked
        try:
            ami_lag = max(0.0, received - float(ev.get("Timestamp", received)))
        except (TypeError, ValueError):
            ami_lag = 0.0
        log_event(
            log,
            "call handed to a work order",
            ami_lag_ms=round(ami_lag * 1000, 1),
            queued_ms=round((picked - received) * 1000, 1),
            facts_ms=round((started - picked) * 1000, 1),  # waiting for its HotlineAnswered
            api_ms=round((time.time() - started) * 1000, 1),
            batch=out.get("batch", 1),
            order=number,
            # false: the call had its order already (a catch-up re-read a call handed off before
            # the stop, or a retry whose first try the store had made in the end)
            new_order=created,
            linkedid=body["linkedid"],
            caller=body["caller"],
            origin=body["origin"],
            agent=body["agent"],
            queue=body["queue"],
        )
        return out

    def on_user_event(self, manager, message) -> None:
        """AMI callback: an answer's facts (``HotlineAnswered``) go to its AgentConnect; an
        agent's emergency linkage (``HotlineLinkage``, raised by the feature's dialplan) is
        answered at once with the Redirect of both channels."""
        answered = answered_facts(message)
        if answered is not None:
            self.answers.put(*answered)
            return
        action = linkage_redirect(message)
        if action is None:
            return
        manager.send_action(action)
        log_event(
            log,
            "emergency linkage: caller and agent moved to the conference",
            number=message.get("Number", ""),
            conference=message.get("Conference", ""),
            agent=message.get("Agent", ""),
            caller=message.get("Caller", ""),  # masked by the dialplan
        )

    async def resync(self, manager, why: str) -> int:
        """Queue a hand-off for every answered call Asterisk shows without its order."""
        try:
            listing = await manager.send_action({"Action": "CoreShowChannels"})
        except Exception as exc:  # the next login or boot tries again
            log_event(log, "call resync failed", logging.ERROR, why=why, error=str(exc)[:300])
            return 0
        messages = listing if isinstance(listing, list) else [listing]
        candidates = [
            ev for ev in resync_events([dict(m.items()) for m in messages]) if ev["Linkedid"] not in self.seen
        ]
        found = []
        for ev in candidates:
            facts = await self.read_facts(manager, ev["Channel"])
            if facts is None or facts.get("HOTLINE_ORDER") or ev["Linkedid"] in self.seen:
                continue  # gone, handed off already, or queued while this resync read
            self.on_event(manager, {**facts, **ev})
            found.append(ev)
        log_event(log, "calls in progress re-read from Asterisk", why=why, handoffs=len(found), logins=self.logins)
        return len(found)

    async def read_facts(self, manager, channel: str) -> dict[str, str] | None:
        """A channel's facts in one ``Getvar`` (None when it is gone)."""
        try:
            reply = await manager.send_action(facts_getvar(channel))
        except Exception as exc:
            log_event(log, "call facts unreadable", logging.WARNING, channel=channel, error=str(exc)[:300])
            return None
        msg = reply[0] if isinstance(reply, list) and reply else reply
        if not msg or msg.get("Response") != "Success":
            return None
        return call_facts(str(msg.get("Value") or ""))

    async def _after_login(self, manager) -> None:
        await self.resync(manager, "login")
        self.catch_up(manager)

    def logged_in(self, manager) -> None:
        """panoramisk's on_login, after the first login and every re-login."""
        self.logins += 1
        log_event(log, "AMI logged in", user=manager.config.get("username", ""), logins=self.logins)
        asyncio.ensure_future(self._after_login(manager))

    async def worker(self) -> None:
        while True:
            received, ev = await self.queue.get()
            try:
                await self.handle(ev, received)
            except Exception:
                log.exception("hand-off worker")
            finally:
                self.queue.task_done()


async def serve(settings, stop: asyncio.Event) -> None:
    secrets = load_secrets(settings.secrets_file)
    client = OrdersClient.from_settings(settings, role="calls", timeout=5, size=BATCHES_IN_FLIGHT)
    try:
        mgr = ami.manager(settings, secrets, consumer="handoff", events="on", read_every=READ_EVERY)
        h = Handoff(client, mgr, queue_log=default_queue_log(settings))
        mgr.register_event("AgentConnect", h.on_event)
        mgr.register_event("UserEvent", h.on_user_event)
        mgr.register_event("FullyBooted", lambda m, _msg: asyncio.ensure_future(h.resync(m, "boot")))
        await login(mgr)
        ami.watch(mgr, log, h.logged_in, on_lost=h.lost)
        h.logins = 1
        await h.resync(mgr, "start")
        await h.start(mgr)
        workers = [asyncio.create_task(h.worker()) for _ in range(WORKERS)]
        workers.append(asyncio.create_task(h.keep_mark(mgr)))
        log_event(log, "hand-off consumer running", api=client.base_url)
        try:
            await stop.wait()
        finally:
            for w in workers:
                w.cancel()
            mgr.close()
    finally:
        await client.close()


def add_arguments(p) -> None:
    pass


def run(args, settings) -> int:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(settings, stop)

    asyncio.run(main())
    return 0

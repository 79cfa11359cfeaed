"""The statistics consumer: AMI events -> :class:`queues.stats.Aggregator` -> Redis.

Thin: every decision is in :mod:`queues.stats`.  On start it

1. loads the aggregator's last state from Redis (the day's counters survive a restart),
2. replays queue_log from RESTORE_MARGIN s before that state's last event (what happened
   while it was down; what the state counted in that margin it counts once),
3. connects to AMI, replays what queue_log got since step 2, and re-reads ``QueueStatus``
   (who is logged in, paused, waiting now) - again after every reconnect,

then applies every live event and, at most every ``flush_interval`` seconds,
writes to Redis:

* ``<instance>:queues:state`` the aggregator's state (JSON; every STATE_EVERY s), but for
  its calls (6 h of them): ``<instance>:queues:calls``, a hash written with the calls
  changed or forgotten since the last save only,
* ``<instance>:queues:view`` the computed view served by the API (JSON),
* ``<instance>:queues:agents`` the agents (state, paused, reason, queues; one JSON list),
* a message on ``<instance>:queues:updates`` for the wallboard stream.

At every flush it also judges the platform's call figures over the rolling
window (:meth:`queues.stats_calls.CallFigures.check_alerts`): an alert raised
or cleared is a JSON log line (``call figures under target`` / ``... back on
target``), an entry of the view the wallboard's stream shows, and, with
``HOTLINE_STATS_ALERT_WEBHOOK``, a POST of the alert as JSON (2 s timeout,
failures logged; it never holds up the consumer).  The sub-center records the
API accepted (``<instance>:queues:records``, a list) are drained into the
figures at every flush.

Idle, it does nothing: the flush loop waits for an event (at most one flush every
``flush_interval``), for the alert window's next change (a 10 s slot of calls
leaving it: an alert may clear; none while the window is empty) or for the next
poll of the sub-center records (every :data:`RECORDS_EVERY` s, one LPOP).
"""

from __future__ import annotations

import asyncio
import logging
import math
import signal
import time
from pathlib import Path

import httpx
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from hotline import ami
from hotline.log import OUTAGE_LOG_INTERVAL, Outage
from hotline.log import event as log_event
from hotline.secrets import load_secrets
from queues.agents import login
from queues.queue_log import replay_queue_log
from queues.stats import EVENTS, Aggregator
from queues.stats_ami import READS
from queues.stats_calls import CallFigures
from queues.stats_consts import GAP_MARGIN
from queues.stats_metrics import CallMetrics
from queues.stats_settings import figures_factory, metric_labels, queue_wrapups
from queues.stats_store import MemoryStore as MemoryStore  # re-exported: the consumer's stores
from queues.stats_store import RedisStore
from queues.stats_store import keys as keys

log = logging.getLogger("hotline.queues")
STATE_EVERY = 5.0  # seconds between two saves of the aggregator's whole state
RECORDS_EVERY = 5.0  # seconds between two polls of the sub-center records when no event comes
# seconds the AMI reader rests between two reads (hotline.ami.LeanManager.read_every): the
# events of that time come in one read, not a wake-up each (a wake-up of this loop costs more
# than the events of 0.1 s: bench/bench_consumers.py); the view is written every 0.5 s, so an
# event is on the wallboard at most 0.75 s after Asterisk sent it (plus the stream's 1 s poll)
READ_EVERY = 0.25


class Consumer:
    def __init__(
        self,
        store,
        wrapup: dict[str, float] | None = None,
        flush_interval: float = 0.5,
        clock=time.time,
        figures=None,
        webhook: str = "",
    ):
        """``figures``: a factory of :class:`CallFigures` (the map's trunks, the alert window);
        ``webhook``: where alerts are POSTed ("" = nowhere)."""
        self.store = store
        self.wrapup = wrapup or {}
        self.flush_interval = flush_interval
        self.clock = clock
        self.new_figures = figures or CallFigures
        self.webhook = webhook
        self.agg = Aggregator(wrapup=self.wrapup, figures=self.new_figures())
        self.dirty = False
        self.wake = asyncio.Event()  # set by the first event after a flush (the flush loop waits on it)
        self.due = float("-inf")  # clock time of the next flush with no event: records' poll, window change
        self._state_saved = float("-inf")  # when the state was last written (clock time)
        self.received = 0
        self._flusher: asyncio.Task | None = None
        self._posts: set[asyncio.Task] = set()
        self.manager = None
        self.redis = Outage(log, "redis", OUTAGE_LOG_INTERVAL, clock=time.monotonic)
        self.logins = 0
        self.queue_log: Path | None = None
        self.gap_from: float | None = None  # the last event applied before the AMI connection dropped
        self.replay_floor = 0.0  # the newest event restore() applied: everything before it is counted

    async def restore(self, queue_log: Path | None = None) -> int:
        self.queue_log = queue_log
        self.agg = Aggregator.load(await self.store.load(), wrapup=self.wrapup, figures=self.new_figures())
        replayed = 0
        if queue_log is not None and queue_log.exists():
            with queue_log.open(encoding="utf-8", errors="replace") as fh:
                replayed = replay_queue_log(self.agg, fh, after=self.agg.replay_after)
        # a gap catch-up never goes back before this (what came earlier is counted, and its keys
        # may be gone from ``counted``): a second before the last event's whole second, since
        # queue_log has whole seconds; everything from there on is in ``counted``
        self.replay_floor = math.floor(self.agg.last_ts) - 1.0
        self.touch()
        return replayed

    def touch(self) -> None:
        """Something changed: the flush loop writes it at its next tick."""
        self.dirty = True
        self.wake.set()

    # AMI callback (hotline.ami.LeanManager): (manager, event dict)
    def on_event(self, manager, message) -> None:
        self.received += 1
        if message.get("Event") in EVENTS:
            self.agg.apply(message, self.clock())
            if not self.dirty:
                self.touch()

    def lost(self) -> None:
        """The AMI connection dropped: the events from now on until the next login are missed."""
        if self.gap_from is None:
            self.gap_from = self.agg.last_ts

    def catch_up(self, now: float) -> int:
        """At a re-login: the gap's counters from queue_log, from GAP_MARGIN s before the last event
        applied (its AMI event can come later than the line) up to now; the aggregator counts each
        join / answer / abandon / completion once (live or replayed).  Returns the lines counted."""
        after, self.gap_from = self.gap_from, None
        if after is None or self.queue_log is None or not self.queue_log.exists():
            return 0
        events = self.agg.events
        with self.queue_log.open(encoding="utf-8", errors="replace") as fh:
            replay_queue_log(self.agg, fh, after=max(after - GAP_MARGIN, self.replay_floor))
        n = self.agg.events - events
        if n:
            self.touch()
        return n

    def apply_status(self, messages) -> None:
        """Replay a QueueStatus answer: the live part (members, waiting) is rebuilt from it."""
        self.agg.begin_resync()
        now = self.clock()
        for m in messages if isinstance(messages, list) else [messages]:
            ev = dict(m.items()) if hasattr(m, "items") else dict(m)
            if ev.get("Event") in EVENTS:
                ev.setdefault("Timestamp", now)
                self.agg.apply(ev, now)
        self.touch()

    async def resync(self, manager) -> None:
        messages = await manager.send_action({"Action": "QueueStatus"})
        self.apply_status(messages)

    async def flush(self, full: bool = False) -> None:
        """The view and the agents (every ``flush_interval``); every STATE_EVERY s or when ``full``
        the state too (its cost grows with the calls remembered; queue_log covers a restart)."""
        for rec in await self.store.take_records():
            self.agg.figures.record(rec)
            self.dirty = True
        now = self.clock()
        changes = self.agg.figures.check_alerts(now)
        for alert in changes:
            self.alert(alert)
        window_change = self.agg.figures.recent.next_change(now)
        self.due = min(now + RECORDS_EVERY, window_change if window_change is not None else float("inf"))
        if not self.dirty and not changes and not full:
            return  # (``full``, at the stop: the state is written even so, with its last event)
        self.dirty = False
        state, calls = None, None
        if full or not now - STATE_EVERY < self._state_saved <= now:
            self.agg.prune(now)
            apart = getattr(self.store, "calls_apart", False)
            state, self._state_saved = self.agg.dump(with_calls=not apart), now
            calls = self.agg.calls_delta() if apart else None
        try:
            await self.store.save(state, self.agg.view(now), self.agg.agents_view(now), calls)
        except BaseException:
            if calls is not None:
                self.agg.untake(*calls)
            self._state_saved = float("-inf")  # the next flush writes the state again
            raise

    def alert(self, alert: dict) -> None:
        """One raised or cleared alert: a log line, and the webhook in the background."""
        raised = alert["state"] == "raised"
        msg = "call figures under target" if raised else "call figures back on target"
        log_event(log, msg, logging.WARNING if raised else logging.INFO, **alert)
        if self.webhook:
            task = asyncio.ensure_future(self._post(alert))
            self._posts.add(task)
            task.add_done_callback(self._posts.discard)

    async def _post(self, alert: dict) -> None:
        try:
            async with httpx.AsyncClient(timeout=2.0) as client:
                r = await client.post(self.webhook, json={"alert": alert})
            if r.status_code >= 300:
                log_event(log, "alert webhook refused", logging.ERROR, status=r.status_code, scope=alert["scope"])
        except (httpx.HTTPError, OSError) as exc:
            log_event(log, "alert webhook failed", logging.ERROR, error=str(exc)[:300], scope=alert["scope"])

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            wait = self.due - self.clock()
            if not self.dirty and wait > 0:  # nothing happened: sleep until something does
                self.wake.clear()
                try:
                    await asyncio.wait_for(self.wake.wait(), wait)
                except TimeoutError:
                    pass
            try:
                await self.flush()
                self.redis.up()
            except (RedisError, OSError) as exc:  # keep counting in memory; the next flush writes it all
                self.redis.down(exc)
                self.dirty = True
            except Exception:  # keep consuming; the next flush retries
                log.exception("saving queue statistics failed")
                self.dirty = True

    def start_flusher(self) -> None:
        if self._flusher is None:
            self._flusher = asyncio.ensure_future(self._flush_loop())

    async def stop(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            self._flusher = None
        try:
            await self.flush(full=True)
        except (RedisError, OSError) as exc:  # the queue_log replay catches up at the next start
            self.redis.down(exc)
        if self._posts:
            await asyncio.wait(set(self._posts), timeout=3)

    async def attach(self, manager) -> None:
        """Register on an AMI manager (:func:`hotline.ami.manager`, not yet connected) and connect it."""
        self.manager = manager
        manager.register_event("*", self.on_event)

        async def resync_logged(mgr, why: str):
            try:
                await self.resync(mgr)
                log_event(log, "queue state re-read from Asterisk", why=why, logins=self.logins)
            except Exception:
                log.exception("QueueStatus resync failed")

        def logged_in(mgr):
            self.logins += 1
            replayed = self.catch_up(self.clock())
            log_event(
                log,
                "AMI logged in",
                user=mgr.config.get("username", ""),
                logins=self.logins,
                replayed_queue_log=replayed,
            )
            asyncio.ensure_future(resync_logged(mgr, "login"))

        await login(manager)
        self.logins = 1
        # the time between restore()'s read of queue_log and this login is a gap like any other
        if self.gap_from is None:
            self.gap_from = self.replay_floor
        self.catch_up(self.clock())
        await self.resync(manager)
        # panoramisk calls on_login (plainly, not awaited) after every re-login; an Asterisk that
        # restarts takes logins before its queues are loaded: FullyBooted says they are
        ami.watch(manager, log, logged_in, on_lost=self.lost)
        manager.register_event("FullyBooted", lambda mgr, _msg: asyncio.ensure_future(resync_logged(mgr, "boot")))


async def serve(settings, queue_log: Path | None = None, stop: asyncio.Event | None = None) -> None:
    if stop is None:  # run until SIGTERM / SIGINT, then save the last state
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    client = aioredis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    consumer = Consumer(
        RedisStore(client, settings.instance),
        wrapup=queue_wrapups(settings),
        figures=figures_factory(settings),
        webhook=settings.stats_alert_webhook,
    )
    while True:  # the day's counters are in Redis: starting from nothing would overwrite them
        try:
            replayed = await consumer.restore(queue_log)
            consumer.redis.up()
            break
        except (RedisError, OSError) as exc:
            consumer.redis.down(exc)
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
                await client.aclose()
                return
            except TimeoutError:
                pass
    log_event(log, "queue statistics restored", replayed_queue_log=replayed, events=consumer.agg.events)
    mgr = ami.manager(
        settings, load_secrets(settings.secrets_file), consumer="stats", read_every=READ_EVERY, reads=READS
    )
    mgr.register_event("*", CallMetrics(*metric_labels(settings)).on_event)  # /metrics (queues/stats_metrics.py)
    await consumer.attach(mgr)
    consumer.start_flusher()
    log_event(log, "queue statistics consumer running", ami=f"{settings.bind}:{settings.ami_port}")
    try:
        await stop.wait()
    finally:
        await consumer.stop()
        mgr.close()
        await client.aclose()

"""The statistics consumer: AMI events -> :class:`queues.stats.Aggregator` -> Redis.

Thin: every decision is in :mod:`queues.stats`.  On start it

1. loads the aggregator's last state from Redis (the day's counters survive a restart),
2. replays queue_log lines newer than that state (what happened while it was down),
3. connects to AMI and re-reads ``QueueStatus`` (who is logged in, paused,
   waiting now) - again after every reconnect,

then applies every live event and, at most every ``flush_interval`` seconds,
writes to Redis:

* ``<instance>:queues:state`` the aggregator's state (JSON),
* ``<instance>:queues:view`` the computed view served by the API (JSON),
* ``<instance>:agent:<name>`` one hash per agent (state, paused, reason, queues),
* a message on ``<instance>:queues:updates`` for the wallboard stream.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import time
from pathlib import Path

import redis.asyncio as aioredis

from hotline import ami
from hotline.log import event as log_event
from hotline.secrets import load_secrets
from hotline.transfer_map import load_map_for
from hotline.yamlsrc import ConfigError
from queues.agents import login
from queues.config import queue_specs
from queues.queue_log import replay_queue_log
from queues.stats import EVENTS, Aggregator

log = logging.getLogger("hotline.queues")


def keys(instance: str) -> dict[str, str]:
    return {
        "state": f"{instance}:queues:state",
        "view": f"{instance}:queues:view",
        "agents": f"{instance}:queues:agents",
        "updates": f"{instance}:queues:updates",
        "agent": f"{instance}:agent:",
    }


class RedisStore:
    """Where the consumer keeps its state (redis.asyncio client)."""

    def __init__(self, client, instance: str):
        self.r = client
        self.k = keys(instance)

    async def load(self) -> dict | None:
        raw = await self.r.get(self.k["state"])
        return json.loads(raw) if raw else None

    async def save(self, state: dict, view: dict, agents: list[dict]) -> None:
        pipe = self.r.pipeline(transaction=True)
        pipe.set(self.k["state"], json.dumps(state, ensure_ascii=False, separators=(",", ":")))
        pipe.set(self.k["view"], json.dumps(view, ensure_ascii=False, separators=(",", ":")))
        pipe.set(self.k["agents"], json.dumps(agents, ensure_ascii=False, separators=(",", ":")))
        for a in agents:
            pipe.hset(
                self.k["agent"] + a["name"],
                mapping={
                    "state": a["state"] or "",
                    "paused": int(a["paused"]),
                    "reason": a["reason"] or "",
                    "interface": a["interface"],
                    "queues": json.dumps(a["queues"], ensure_ascii=False),
                    "since": a["since"],
                },
            )
        pipe.publish(self.k["updates"], str(view["at"]))
        await pipe.execute()


class MemoryStore:
    """For tests and the benchmark: keeps the last save in memory."""

    def __init__(self, state: dict | None = None):
        self.state = state
        self.view = None
        self.agents = None
        self.saves = 0

    async def load(self):
        return self.state

    async def save(self, state, view, agents):
        self.state, self.view, self.agents = state, view, agents
        self.saves += 1


class Consumer:
    def __init__(self, store, wrapup: dict[str, float] | None = None, flush_interval: float = 0.5, clock=time.time):
        self.store = store
        self.wrapup = wrapup or {}
        self.flush_interval = flush_interval
        self.clock = clock
        self.agg = Aggregator(wrapup=self.wrapup)
        self.dirty = False
        self.received = 0
        self._flusher: asyncio.Task | None = None
        self.manager = None

    async def restore(self, queue_log: Path | None = None) -> int:
        self.agg = Aggregator.load(await self.store.load(), wrapup=self.wrapup)
        replayed = 0
        if queue_log is not None and queue_log.exists():
            with queue_log.open(encoding="utf-8", errors="replace") as fh:
                replayed = replay_queue_log(self.agg, fh, after=self.agg.last_ts)
        self.dirty = True
        return replayed

    # panoramisk callback: (manager, message)
    def on_event(self, manager, message) -> None:
        self.received += 1
        store = getattr(message, "_store", None)  # panoramisk's CaseInsensitiveDict: lower -> (key, value)
        if store is not None:
            name = store.get("event", (None, None))[1]
            if name in EVENTS:
                self.agg.apply(dict(store.values()), self.clock())
                self.dirty = True
            return
        name = message.get("Event")
        if name in EVENTS:
            self.agg.apply(dict(message.items()), self.clock())
            self.dirty = True

    def apply_status(self, messages) -> None:
        """Replay a QueueStatus answer: the live part (members, waiting) is rebuilt from it."""
        self.agg.begin_resync()
        now = self.clock()
        for m in messages if isinstance(messages, list) else [messages]:
            ev = dict(m.items()) if hasattr(m, "items") else dict(m)
            if ev.get("Event") in EVENTS:
                ev.setdefault("Timestamp", now)
                self.agg.apply(ev, now)
        self.dirty = True

    async def resync(self, manager) -> None:
        messages = await manager.send_action({"Action": "QueueStatus"})
        self.apply_status(messages)

    async def flush(self) -> None:
        if not self.dirty:
            return
        self.dirty = False
        now = self.clock()
        self.agg.prune(now)
        await self.store.save(self.agg.dump(), self.agg.view(now), self.agg.agents_view(now))

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            try:
                await self.flush()
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
        await self.flush()

    async def attach(self, manager) -> None:
        """Register on a panoramisk Manager (not yet connected) and connect it."""
        self.manager = manager
        manager.register_event("*", self.on_event)

        async def resync_logged(mgr):
            try:
                await self.resync(mgr)
            except Exception:
                log.exception("QueueStatus resync failed")

        await login(manager)
        await self.resync(manager)
        # panoramisk calls on_login (plainly, not awaited) after every re-login
        manager.on_login = lambda mgr: asyncio.ensure_future(resync_logged(mgr))


async def serve(settings, queue_log: Path | None = None, stop: asyncio.Event | None = None) -> None:
    if stop is None:  # run until SIGTERM / SIGINT, then save the last state
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    client = aioredis.from_url(settings.redis_url)
    consumer = Consumer(RedisStore(client, settings.instance), wrapup=queue_wrapups(settings))
    replayed = await consumer.restore(queue_log)
    log_event(log, "queue statistics restored", replayed_queue_log=replayed, events=consumer.agg.events)
    mgr = ami.manager(settings, load_secrets(settings.secrets_file))
    await consumer.attach(mgr)
    consumer.start_flusher()
    log_event(log, "queue statistics consumer running", ami=f"{settings.bind}:{settings.ami_port}")
    try:
        await stop.wait()
    finally:
        await consumer.stop()
        mgr.close()
        await client.aclose()


def queue_wrapups(settings) -> dict[str, float]:
    """Wrap-up seconds per queue, from the same specs the renderer writes."""
    try:
        return {q["name"]: float(q.get("wrapuptime", 0)) for q in queue_specs(load_map_for(settings), settings)}
    except (ConfigError, ValueError) as exc:  # a broken map must not stop the statistics
        log_event(log, "cannot read queue wrap-up times; assuming 0", logging.ERROR, error=str(exc)[:500])
        return {}

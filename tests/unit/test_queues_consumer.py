"""The statistics consumer: raw AMI bytes over loopback -> hotline.ami's reader -> aggregator -> store."""

from __future__ import annotations

import asyncio

from hotline import ami
from hotline.settings import Settings
from queues.service import Consumer, MemoryStore
from tests.fakes.amifeed import FeedServer, generate_events, render_event

SECRETS = {"ami_user": "hotline", "ami_secret": "x"}


T0 = 1_790_000_000.0


async def _consume(payload: bytes, n_events: int, status=None, store=None, chunk=1000, now=T0 + 3600):
    store = store or MemoryStore()
    async with FeedServer(payload, chunk=chunk, status=status) as srv:
        c = Consumer(store, clock=lambda: now)
        await c.restore()
        mgr = ami.manager(Settings(ami_port=srv.port), SECRETS, ping_delay=1000)
        await c.attach(mgr)
        await asyncio.wait_for(srv.sent, 10)
        for _ in range(500):
            if c.received >= n_events:
                break
            await asyncio.sleep(0.01)
        mgr.close()
        await c.stop()
    return c, store


async def test_consumer_counts_every_event_and_stores_the_view():
    events, expect = generate_events(3000, t0=T0)
    payload = b"".join(render_event(e) for e in events)
    # odd-sized chunks: multi-byte caller names get split across reads
    c, store = await _consume(payload, len(events), chunk=997)
    assert c.received == len(events)
    views = {q["queue"]: q["today"] for q in store.view["queues"]}
    for q, exp in expect.items():
        assert (views[q]["offered"], views[q]["answered"], views[q]["abandoned"]) == (
            exp["offered"],
            exp["answered"],
            exp["abandoned"],
        )
    assert store.saves >= 1 and store.state["v"] == 1


async def test_consumer_resyncs_from_queuestatus_and_keeps_saved_day():
    first = [
        {"Event": "QueueCallerJoin", "Timestamp": f"{T0}", "Queue": "general", "Uniqueid": "u1"},
        {"Event": "QueueCallerJoin", "Timestamp": f"{T0 + 1}", "Queue": "general", "Uniqueid": "u2"},
        {
            "Event": "AgentConnect",
            "Timestamp": f"{T0 + 3}",
            "Queue": "general",
            "Uniqueid": "u1",
            "HoldTime": "3",
            "Interface": "PJSIP/1001",
        },
    ]
    c, store = await _consume(b"".join(render_event(e) for e in first), 3)
    assert {q["queue"]: q for q in store.view["queues"]}["general"]["waiting"] == 1
    saved = store.state
    # restart: the saved day comes back, the live part comes from QueueStatus
    status = [
        {"Event": "QueueParams", "Queue": "general"},
        {
            "Event": "QueueMember",
            "Queue": "general",
            "Name": "bob",
            "Location": "PJSIP/1002",
            "StateInterface": "PJSIP/1002",
            "Penalty": "1",
            "Status": "1",
            "Paused": "1",
            "PausedReason": "午饭",
            "InCall": "0",
        },
    ]
    c2, store2 = await _consume(b"", 0, status=status, store=MemoryStore(saved))
    general = {q["queue"]: q for q in store2.view["queues"]}["general"]
    assert (general["today"]["offered"], general["today"]["answered"]) == (2, 1)  # the day survived
    assert general["waiting"] == 0  # u2 is not in QueueStatus any more
    agents = {a["name"]: a for a in store2.agents}
    assert agents["bob"]["state"] == "paused" and agents["bob"]["reason"] == "午饭"


async def test_an_idle_consumer_does_no_work_between_events():
    class Counting(MemoryStore):
        polls = 0

        async def take_records(self, limit: int = 500):
            Counting.polls += 1
            return await super().take_records(limit)

    store = Counting()
    c = Consumer(store, flush_interval=0.02, clock=lambda: T0)
    await c.restore()
    c.start_flusher()
    try:
        await asyncio.sleep(0.1)  # the restore's flush
        saves, polls = store.saves, Counting.polls
        await asyncio.sleep(0.6)  # 30 ticks of flush_interval with nothing happening
        assert (store.saves, Counting.polls) == (saves, polls)
        c.on_event(None, {"Event": "QueueCallerJoin", "Queue": "q", "Uniqueid": "u1", "Timestamp": str(T0)})
        await asyncio.sleep(0.1)  # an event wakes it at once
        assert store.saves == saves + 1 and store.view["total"]["today"]["offered"] == 1
    finally:
        await c.stop()


async def test_the_stop_saves_the_state_with_its_last_event():
    """The state is written every STATE_EVERY s: the stop writes it even when the last flush wrote
    only the view, so that the next start replays queue_log from the real last event."""
    store = MemoryStore()
    c = Consumer(store, clock=lambda: T0 + 1)
    await c.restore()
    c.on_event(None, {"Event": "QueueCallerJoin", "Timestamp": f"{T0:.6f}", "Queue": "q", "Uniqueid": "u1"})
    await c.flush()
    assert store.state["last_ts"] == T0
    c.on_event(None, {"Event": "QueueCallerJoin", "Timestamp": f"{T0 + 0.5:.6f}", "Queue": "q", "Uniqueid": "u2"})
    await c.flush()  # within STATE_EVERY: the view only
    assert store.state["last_ts"] == T0
    await c.stop()
    assert store.state["last_ts"] == T0 + 0.5

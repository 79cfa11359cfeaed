"""The consumers' AMI reader rests between reads (``read_every``): events that Asterisk writes one
by one come in a few reads instead of a wake-up each, none is lost or reordered, and the answer
to an action is never held back by the rest.  Over a real loopback TCP socket (tests/fakes)."""

from __future__ import annotations

import asyncio
import time

from hotline import ami
from hotline.settings import Settings
from queues.agents import login
from tests.fakes.amifeed import FeedServer, render_event

SECRETS = {"ami_user": "hotline", "ami_secret": "x"}
EVENTS = 60
GAP = 0.005  # seconds between two events, each its own write (as Asterisk writes them)


def _payload() -> tuple[bytes, int]:
    events = [render_event({"Event": "QueueCallerJoin", "Uniqueid": f"u{i:04d}"}) for i in range(EVENTS)]
    assert len({len(e) for e in events}) == 1
    return b"".join(events), len(events[0])


async def _run(read_every: float, action_at: float | None = None) -> tuple[list[str], int, float | None]:
    """-> (the Uniqueids dispatched, reads, seconds an action sent at ``action_at`` waited)."""
    payload, size = _payload()
    got: list[str] = []
    async with FeedServer(payload, rate=size / GAP, chunk=size) as srv:
        mgr = ami.manager(Settings(ami_port=srv.port), SECRETS, ping_delay=1000, read_every=read_every)
        mgr.register_event("QueueCallerJoin", lambda _m, ev: got.append(ev["Uniqueid"]))
        await login(mgr)
        waited = None
        if action_at is not None:
            await asyncio.sleep(action_at)
            t0 = time.monotonic()
            await asyncio.wait_for(mgr.send_action({"Action": "Ping"}), 5)
            waited = time.monotonic() - t0
        await asyncio.wait_for(srv.sent, 10)
        for _ in range(300):
            if len(got) >= EVENTS:
                break
            await asyncio.sleep(0.01)
        reads = mgr.protocol.reads
        mgr.close()
    return got, reads, waited


async def test_events_written_one_by_one_come_in_a_few_reads_none_lost():
    want = [f"u{i:04d}" for i in range(EVENTS)]
    every, every_reads, _ = await _run(0.1)
    always, always_reads, _ = await _run(0.0)
    assert every == want and always == want  # all of them, in order, either way
    # 60 events over ~0.3 s: a wake-up each without the rest (the kernel may merge a few), a
    # read per 0.1 s with it (plus the banner and the login's answer)
    assert every_reads <= 10, every_reads
    assert always_reads >= 3 * every_reads, (always_reads, every_reads)


async def test_an_actions_answer_is_not_held_back_by_the_rest():
    # a rest of 2 s: without reading again at the send, the Ping's answer would wait for it
    got, _reads, waited = await _run(2.0, action_at=0.1)
    assert waited is not None and waited < 0.5, waited
    assert len(got) == EVENTS


async def test_fired_actions_go_in_one_write_and_their_answers_wake_no_one():
    async with FeedServer(b"") as srv:
        mgr = ami.manager(Settings(ami_port=srv.port), SECRETS, ping_delay=1000, read_every=2.0)
        got: list[dict] = []
        mgr.register_event("*", lambda _m, ev: got.append(ev))
        await login(mgr)
        writes: list[bytes] = []
        transport = mgr.protocol.transport
        real_write = transport.write
        transport.write = lambda data: (writes.append(data), real_write(data))[1]
        sent = [mgr.fire({"Action": "Setvar", "Channel": f"PJSIP/{n}", "Variable": "V", "Value": "1"}) for n in (1, 2)]
        assert sent == [True, True] and writes == []  # at the end of this turn of the loop, together
        await asyncio.sleep(0)
        assert len(writes) == 1 and writes[0].count(b"Action: Setvar") == 2
        assert mgr.protocol._resume is not None  # the reader rests on (a send_action wakes it)
        # a Ping reads on: the fake's two Success answers come before its own, and are dropped
        await asyncio.wait_for(mgr.send_action({"Action": "Ping"}), 5)
        assert [a["Channel"] for a in srv.actions if a.get("Action") == "Setvar"] == ["PJSIP/1", "PJSIP/2"]
        assert not mgr.protocol.responses and got == []  # no future waits; no callback saw them
        mgr.close()
        assert mgr.fire({"Action": "Setvar", "Channel": "PJSIP/3", "Variable": "V", "Value": "1"}) is False

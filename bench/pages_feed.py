"""The wallboard's event latency for bench/bench_pages.py: a change of the queue statistics
to the moment ``/api/v1/queues/stream`` (what web/static/wallboard.js listens to) delivers it.

No Asterisk here: a loopback AMI source (tests/fakes/amifeed.py's ``FeedServer``, fed on
demand) sends real AMI events (QueueCallerJoin, then QueueCallerAbandon + QueueCallerLeave)
to the real statistics consumer (``hotline stats`` in its own process, writing Redis), and
the real API process serves the stream to a signed-in supervisor.  Each change is timed
from the moment its bytes are written to the AMI socket to the moment an SSE ``stats``
event carrying it arrives (the consumer flushes every 0.5 s, the stream polls every 1 s)."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import time

import httpx

from tests.fakes.amifeed import FeedServer, render_event


class LiveFeed(FeedServer):
    """A FeedServer whose stream is what :meth:`send` is given, when it is given."""

    def __init__(self):
        super().__init__(b"")
        self.pending: asyncio.Queue[bytes] = asyncio.Queue()
        self.connected = asyncio.Event()

    async def _stream(self, writer):
        self.connected.set()
        while True:
            data = await self.pending.get()
            writer.write(data)
            await writer.drain()

    def send(self, events: list[dict]) -> None:
        self.pending.put_nowait(b"".join(render_event(e) for e in events))


async def _sse_events(resp: httpx.Response, out: asyncio.Queue):
    buf = ""
    async for chunk in resp.aiter_text():
        buf += chunk
        while "\n\n" in buf:
            block, buf = buf.split("\n\n", 1)
            data = [line[5:].strip() for line in block.split("\n") if line.startswith("data:")]
            if data:
                await out.put((time.perf_counter(), json.loads("\n".join(data))))


def _waiting(view: dict) -> int:
    return int(view["total"]["waiting"])


async def measure(base: str, cookies, env: dict, queue: str, events: int, seed: int = 7) -> list[float]:
    """Seconds from each AMI change to its SSE event, ``events`` changes."""
    rnd = random.Random(seed)
    lat: list[float] = []
    async with LiveFeed() as feed:
        proc = subprocess.Popen(
            [sys.executable, "-m", "deploy.cli", "stats"],
            env={**env, "HOTLINE_AMI_PORT": str(feed.port)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            await asyncio.wait_for(feed.connected.wait(), 30)
            got: asyncio.Queue = asyncio.Queue()
            async with httpx.AsyncClient(base_url=base, cookies=cookies, timeout=30) as c:
                async with c.stream("GET", "/api/v1/queues/stream") as resp:
                    assert resp.status_code == 200, resp.status_code
                    reader = asyncio.ensure_future(_sse_events(resp, got))
                    try:
                        _, view = await asyncio.wait_for(got.get(), 30)  # the view as it is
                        waiting = _waiting(view)
                        last_uid = ""
                        for i in range(events):
                            await asyncio.sleep(0.3 + rnd.random())  # no phase lock with the 0.5 s / 1 s ticks
                            uid = f"{int(time.time())}.{900000 + i}"
                            now = f"{time.time():.6f}"
                            if waiting == 0:
                                batch = [_join(queue, uid, now, i)]
                                want = 1
                            else:
                                batch = [_abandon(queue, last_uid, now), _leave(queue, last_uid, now)]
                                want = 0
                            last_uid = uid if want else ""
                            t0 = time.perf_counter()
                            feed.send(batch)
                            while True:
                                t1, view = await asyncio.wait_for(got.get(), 10)
                                if _waiting(view) == want:
                                    break
                            lat.append(t1 - t0)
                            waiting = want
                    finally:
                        reader.cancel()
                        await asyncio.gather(reader, return_exceptions=True)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return lat


def _join(queue: str, uid: str, ts: str, i: int) -> dict:
    return {
        "Event": "QueueCallerJoin",
        "Privilege": "agent,all",
        "Timestamp": ts,
        "Channel": f"PJSIP/pstn-{i:08x}",
        "ChannelState": "6",
        "CallerIDNum": f"138{i:08d}",
        "CallerIDName": "张三",
        "Queue": queue,
        "Position": "1",
        "Count": "1",
        "Uniqueid": uid,
        "Linkedid": uid,
        "HOTLINE_ORIGIN": "12345",
    }


def _abandon(queue: str, uid: str, ts: str) -> dict:
    return {
        "Event": "QueueCallerAbandon",
        "Privilege": "agent,all",
        "Timestamp": ts,
        "Queue": queue,
        "Uniqueid": uid,
        "Position": "1",
        "OriginalPosition": "1",
        "HoldTime": "1",
    }


def _leave(queue: str, uid: str, ts: str) -> dict:
    return {
        "Event": "QueueCallerLeave",
        "Privilege": "agent,all",
        "Timestamp": ts,
        "Queue": queue,
        "Count": "0",
        "Position": "1",
        "Uniqueid": uid,
    }

"""How many AMI events per second does the statistics consumer keep up with?

Generated AMI event streams (queue joins, answers, abandons, completions,
member status, plus dialplan noise; Chinese caller names) are sent as raw
bytes over a loopback TCP socket, at rising rates, into the real consumer:
the project's AMI reader on panoramisk's Manager
(:mod:`hotline.ami`), the '*' event callback, the pure aggregator and the
periodic store flush (:mod:`queues.service`).  At each rate the run checks
that no event was lost (every event received, and the per-queue counts equal
what was generated) and that the consumer finished within a small lag of the
sender.

The floor: the same bytes through a minimal raw parser (split on the blank
line, split headers into a dict) over the same loopback socket, measured in
the same run.  The result is reported as a ratio consumer / floor.

    python3 bench/bench_ami_events.py [--rates 1000,2000,5000,10000,20000] [--seconds 2]

Goal (issue 4): 5,000 events/s with none lost.  Exit status 1 if missed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from hotline import ami
from hotline.settings import Settings
from queues.service import Consumer, MemoryStore
from tests.fakes.amifeed import FeedServer, generate_events, render_event

GOAL = 5000
SECRETS = {"ami_user": "bench", "ami_secret": "bench"}
T0 = 1_790_000_000.0


class RawFloor(asyncio.Protocol):
    """Minimal AMI reader: bytes -> dicts, nothing else."""

    def __init__(self, done: asyncio.Future, expected: int):
        self.buf = b""
        self.count = 0
        self.done = done
        self.expected = expected
        self.t_first = None

    def connection_made(self, transport):
        transport.write(b"Action: Login\r\nActionID: 1\r\n\r\n")

    def data_received(self, data: bytes):
        if self.t_first is None:
            self.t_first = time.perf_counter()
        self.buf += data
        *blocks, self.buf = self.buf.split(b"\r\n\r\n")
        for block in blocks:
            d = {}
            for line in block.decode("utf-8", "replace").split("\r\n"):
                k, _, v = line.partition(": ")
                d[k] = v
            if "Event" in d:
                self.count += 1
        if self.count >= self.expected and not self.done.done():
            self.done.set_result(time.perf_counter())


async def floor_rate(payload: bytes, n: int) -> float:
    loop = asyncio.get_running_loop()
    async with FeedServer(payload, chunk=65536) as srv:
        done = loop.create_future()
        t0 = time.perf_counter()
        transport, proto = await loop.create_connection(lambda: RawFloor(done, n), "127.0.0.1", srv.port)
        t_end = await asyncio.wait_for(done, 60)
        transport.close()
    return n / (t_end - t0)


async def consumer_run(events: list[dict], expect: dict, rate: float | None) -> dict:
    payload = b"".join(render_event(e) for e in events)
    n = len(events)
    byte_rate = None if rate is None else rate * len(payload) / n
    store = MemoryStore()
    async with FeedServer(
        payload, rate=byte_rate, chunk=8192 if rate is None else max(512, int(byte_rate / 200))
    ) as srv:
        c = Consumer(store, flush_interval=0.5, clock=lambda: T0 + 600)
        await c.restore()
        mgr = ami.manager(Settings(ami_port=srv.port), SECRETS, ping_delay=1000)
        t0 = time.perf_counter()
        await c.attach(mgr)
        c.start_flusher()
        send_time = await asyncio.wait_for(srv.sent, 120)
        t_sent = time.perf_counter()
        while c.received < n and time.perf_counter() - t_sent < 10:
            await asyncio.sleep(0.001)
        t_done = time.perf_counter()
        mgr.close()
        await c.stop()
    view = {q["queue"]: q["last_24h"] for q in store.view["queues"]}
    lost = n - c.received
    counts_ok = all(
        (view.get(q, {}).get("offered"), view.get(q, {}).get("answered"), view.get(q, {}).get("abandoned"))
        == (e["offered"], e["answered"], e["abandoned"])
        for q, e in expect.items()
    )
    elapsed = t_done - t0
    return {
        "rate": rate,
        "events": n,
        "received": c.received,
        "lost": lost,
        "counts_ok": counts_ok,
        "send_s": send_time,
        "lag_s": t_done - t_sent,
        "kept": n / max(elapsed, 1e-9),
        "flushes": store.saves,
    }


async def main(rates: list[int], seconds: float) -> int:
    print("AMI event consumer benchmark: hotline.ami reader + aggregator, loopback TCP")
    big, big_expect = generate_events(60_000, t0=T0)
    payload = b"".join(render_event(e) for e in big)
    print(f"payload: {len(big)} events, {len(payload) / len(big):.0f} bytes/event on average")
    floor = await floor_rate(payload, len(big))
    print(f"raw parse floor (split + dict, same socket): {floor:,.0f} events/s")
    print(f"{'offered/s':>10}{'events':>8}{'lost':>6}{'counts':>8}{'lag s':>7}{'kept/s':>10}")
    kept_at_goal = False
    best = 0.0
    for rate in rates:
        n = int(rate * seconds)
        events, expect = generate_events(n, t0=T0)
        r = await consumer_run(events, expect, rate)
        ok = r["lost"] == 0 and r["counts_ok"] and r["lag_s"] < 0.5
        best = max(best, r["kept"]) if ok else best
        if rate >= GOAL and ok:
            kept_at_goal = True
        print(
            f"{rate:>10,}{r['events']:>8}{r['lost']:>6}{'ok' if r['counts_ok'] else 'WRONG':>8}"
            f"{r['lag_s']:>7.2f}{r['kept']:>10,.0f}{'' if ok else '  fell behind'}"
        )
    r = await consumer_run(big, big_expect, None)
    print(
        f"{'max':>10}{r['events']:>8}{r['lost']:>6}{'ok' if r['counts_ok'] else 'WRONG':>8}"
        f"{r['lag_s']:>7.2f}{r['kept']:>10,.0f}"
    )
    ratio = r["kept"] / floor
    print(
        f"consumer at full speed: {r['kept']:,.0f} events/s = {ratio:.2f} x the raw parse floor "
        f"({floor:,.0f}/s); none lost: {r['lost'] == 0 and r['counts_ok']}"
    )
    goal_met = kept_at_goal and r["lost"] == 0 and r["counts_ok"] and r["kept"] >= GOAL
    print(f"goal {GOAL:,}/s with none lost: {'MET' if goal_met else 'MISSED'}")
    return 0 if goal_met else 1


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rates", default="1000,2000,5000,10000,20000")
    ap.add_argument("--seconds", type=float, default=2.0, help="length of each paced run")
    a = ap.parse_args()
    sys.exit(asyncio.run(main([int(x) for x in a.rates.split(",")], a.seconds)))

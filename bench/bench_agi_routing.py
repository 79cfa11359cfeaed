"""Benchmark: the routing decision through the real FastAGI server.

    python3 bench/bench_agi_routing.py [--sessions 20000] [--concurrency 200]

Three measurements in the same run, same client, same machine:

1. ``floor``: a raw asyncio server that speaks the same wire protocol (reads
   the ``agi_*`` environment, sends one ``EXEC MSet`` of the same size, reads
   the answer, closes) and decides nothing.  This is what any asyncio
   FastAGI server costs on this machine.
2. ``agi``: ``agi.server.FastAGIServer`` with ``agi.handlers`` (the ``route``
   handler: ``agi.routing.decide`` over the default Handan map, ``MSet`` of
   the channel variables, one JSON log line per decision), exactly as in
   production.
3. ``decide``: the pure decision alone, calls per second.

Each server runs in its own process; the client plays Asterisk with
``--concurrency`` sessions in flight at once and answers ``200 result=0``.
Printed: sessions/s of each, the ratio agi/floor, p50/p99 latency of a
session (connect to close) at that concurrency (with 200 sessions in flight
this is mostly waiting in line: 200 / throughput), and p50/p99 of a session
run alone (its own cost).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing as mp
import os
import random
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.agi_client import env_block, free_port  # noqa: E402

NUMBERS = [
    "12345",
    "12349",
    "96119",
    "12336",
    "12312",
    "12356",
    "12396",
    "12329",
    "12350",
    "12320",
    "12348",
    "12333",
    "12315",
    "12316",
    "12313",
    "12366",
    "03103012345",
]


# --- servers (child processes) -----------------------------------------------------


def _floor_server(port: int, ready) -> None:
    payload = b'EXEC MSet "' + b"X" * 420 + b'"\n'  # about the size of the real MSet line

    async def handle(reader, writer):
        try:
            while True:
                line = await reader.readline()
                if not line or line == b"\n":
                    break
            writer.write(payload)
            await writer.drain()
            await reader.readline()
        finally:
            writer.close()

    async def main():
        srv = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096, reuse_address=True)
        ready.set()
        async with srv:
            await srv.serve_forever()

    asyncio.run(main())


def _agi_server(port: int, ready, map_path: str) -> None:
    from agi.handlers import HANDLERS
    from agi.server import FastAGIServer
    from agi.service import make_state
    from hotline.log import setup_logging
    from hotline.settings import Settings

    setup_logging("INFO", open(os.devnull, "w"))  # every decision is logged, as in production
    settings = Settings.from_env({}, transfer_map=Path(map_path))

    async def main():
        state = make_state(settings)
        assert state["tmap"] is not None, "default map did not load"
        srv = await FastAGIServer(HANDLERS, state).serve("127.0.0.1", port)
        ready.set()
        async with srv:
            await srv.serve_forever()

    asyncio.run(main())


# --- the client: plays Asterisk ----------------------------------------------------------


async def one_session(port: int, dialed: str, uid: int, lat: list[float], sets: list[str]) -> None:
    t0 = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(env_block(uid, dialed, "138" + f"{uid:08d}"[-8:], full=True))
    await writer.drain()
    while True:
        line = await reader.readline()
        if not line:
            break
        if sets is not None and len(sets) < 3:
            sets.append(line.decode("utf-8", "replace").strip())
        writer.write(b"200 result=0\n")
        await writer.drain()
    writer.close()
    lat.append(time.perf_counter() - t0)


async def drive(port: int, sessions: int, concurrency: int) -> dict:
    lat: list[float] = []
    sample: list[str] = []
    sem = asyncio.Semaphore(concurrency)
    rnd = random.Random(12345)

    async def guarded(i):
        async with sem:
            await one_session(port, rnd.choice(NUMBERS), i, lat, sample)

    t0 = time.perf_counter()
    await asyncio.gather(*(guarded(i) for i in range(sessions)))
    wall = time.perf_counter() - t0
    lat.sort()
    return {
        "sessions": len(lat),
        "wall_s": wall,
        "per_s": len(lat) / wall,
        "p50_ms": 1000 * lat[len(lat) // 2],
        "p99_ms": 1000 * lat[int(len(lat) * 0.99) - 1],
        "sample": sample[:1],
    }


def measure(target, args, sessions: int, concurrency: int) -> dict:
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    port = free_port()
    proc = ctx.Process(target=target, args=(port, ready, *args), daemon=True)
    proc.start()
    try:
        if not ready.wait(30):
            raise RuntimeError(f"{target.__name__} did not start")
        asyncio.run(drive(port, min(500, sessions), concurrency))  # warm-up
        out = asyncio.run(drive(port, sessions, concurrency))
        # unloaded: one session at a time, the cost of a session without queueing
        alone = asyncio.run(drive(port, 1000, 1))
        out["alone_p50_ms"], out["alone_p99_ms"] = alone["p50_ms"], alone["p99_ms"]
        return out
    finally:
        proc.terminate()
        proc.join(5)


def bench_decide(map_path: Path, n: int) -> float:
    from agi.routing import decide
    from hotline.transfer_map import load_map

    tmap = load_map(map_path)
    now = datetime(2027, 3, 2, 10, 0)
    t0 = time.perf_counter()
    for i in range(n):
        decide(NUMBERS[i % len(NUMBERS)], now, tmap)
    return n / (time.perf_counter() - t0)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sessions", type=int, default=20000)
    p.add_argument("--concurrency", type=int, default=200)
    p.add_argument("--map", type=Path, default=ROOT / "transfer_map.yaml")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    logging.disable(logging.NOTSET)
    floor = measure(_floor_server, (), args.sessions, args.concurrency)
    agi = measure(_agi_server, (str(args.map),), args.sessions, args.concurrency)
    dec = bench_decide(args.map, 200000)
    out = {
        "cpu": os.cpu_count(),
        "python": sys.version.split()[0],
        "concurrency": args.concurrency,
        "floor": {k: v for k, v in floor.items() if k != "sample"},
        "agi": {k: v for k, v in agi.items() if k != "sample"},
        "ratio_agi_over_floor": agi["per_s"] / floor["per_s"],
        "decide_per_s": dec,
        "agi_first_command": agi["sample"][0][:120] if agi["sample"] else "",
    }
    if args.json:
        print(json.dumps(out, indent=1, ensure_ascii=False))
        return 0
    print(
        f"machine: {out['cpu']} CPUs, Python {out['python']}; {args.sessions} sessions, {args.concurrency} concurrent"
    )
    for name, r in (("floor (raw asyncio, same protocol)", floor), ("agi (FastAGI route + decide + log)", agi)):
        print(
            f"{name:38s} {r['per_s']:9.0f} sessions/s   p50 {r['p50_ms']:7.2f} ms   p99 {r['p99_ms']:7.2f} ms"
            f"   (one at a time: p50 {r['alone_p50_ms']:.2f} ms, p99 {r['alone_p99_ms']:.2f} ms)"
        )
    print(f"ratio agi / floor: {out['ratio_agi_over_floor']:.2f}")
    print(f"decide() alone: {dec:,.0f} decisions/s")
    print(f"first AGI command sent: {out['agi_first_command']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

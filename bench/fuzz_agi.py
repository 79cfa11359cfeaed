"""Timed fuzz run: the real ``hotline agi`` service under bad input, with well-formed calls beside it.

    python3 bench/fuzz_agi.py [--seconds 20] [--attackers 16] [--seed 12345]

Starts the production FastAGI service (``python -m deploy.cli agi``, the shipped
map, its own temporary home, free loopback ports), then:

1. ``alone``: well-formed sessions one after another (the client plays Asterisk:
   sends the environment, answers the ``EXEC MSet``) - the baseline latency;
2. ``fuzz``: for ``--seconds``, ``--attackers`` clients send what Asterisk never
   would - random bytes, mutated environments (bit flips, cut at a random byte,
   huge values, NULs, no end), 1 MB environments, connections that say nothing,
   one byte at a time (slowloris), garbage answers to the command, no answer,
   a close in the middle - while one client keeps placing well-formed sessions.

Printed: what was sent (per kind, bytes), the well-formed sessions' p50/p99/max
alone and under fuzz and their ratio, the service's own counters from its
``/metrics`` (sessions by outcome), whether it is still up, and whether every
line of its log is JSON.  Exit status 1 if the service died, a handler failed
(``outcome="error"``), a well-formed session failed or took longer than
``--bound`` seconds, or a log line is not JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.agi_client import env_block, free_port  # noqa: E402

KINDS = ("random", "mutated", "huge", "silent", "slow", "bad_answer", "no_answer", "close_mid")


def mutate(rnd: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rnd.randint(1, 8)):
        op = rnd.randrange(5)
        i = rnd.randrange(len(b)) if b else 0
        if op == 0 and b:
            b[i] ^= 1 << rnd.randrange(8)  # bit flip
        elif op == 1:
            b = b[:i]  # cut
        elif op == 2:
            b[i:i] = b"\x00" * rnd.randint(1, 50)
        elif op == 3:
            b[i:i] = ("agi_extension: " + "9" * rnd.randint(100, 20000) + "\n").encode()
        else:
            b[i:i] = "路由\r\n\ufeff".encode() * rnd.randint(1, 20)
    return bytes(b)


class Service:
    def __init__(self, home: Path):
        self.port, self.metrics_port = free_port(), free_port()
        self.log = home / "agi.log"
        env = dict(os.environ)
        env.update(
            {
                "HOTLINE_HOME": str(home),
                "HOTLINE_TRANSFER_MAP": str(ROOT / "transfer_map.yaml"),
                "HOTLINE_AGI_PORT": str(self.port),
                "HOTLINE_AGI_METRICS_PORT": str(self.metrics_port),
            }
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "deploy.cli", "agi"],
            env=env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=open(self.log, "ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("hotline agi exited: " + self.log.read_text()[-2000:]) from None
                time.sleep(0.1)
        raise RuntimeError("hotline agi did not listen")

    def metrics(self) -> dict[str, float]:
        text = urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).read().decode()
        out = {}
        for line in text.splitlines():
            if line.startswith("hotline_agi_") and not line.startswith("hotline_agi_decision_seconds_bucket"):
                name, _, value = line.rpartition(" ")
                out[name] = float(value)
        return out

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


async def good_session(port: int, uid: int, bound: float) -> float:
    t0 = time.perf_counter()
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), bound)
    try:
        writer.write(env_block(uid))
        await writer.drain()
        cmd = await asyncio.wait_for(reader.readline(), bound * 5)
        took = time.perf_counter() - t0
        if not cmd.startswith(b"EXEC MSet ") or b"HOTLINE_KIND=" not in cmd:
            raise RuntimeError(f"unexpected command {cmd[:120]!r}")
        writer.write(b"200 result=0\n")
        await writer.drain()
        if await asyncio.wait_for(reader.read(), bound * 5) != b"":
            raise RuntimeError("the server said more after the MSet answer")
        return took
    finally:
        writer.close()


async def attack(port: int, kind: str, rnd: random.Random, sent: Counter, open_socks: list) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        if kind == "random":
            data = os.urandom(rnd.randint(1, 16000))
        elif kind == "mutated":
            data = mutate(rnd, env_block(rnd.randrange(1 << 30)))
        elif kind == "huge":
            data = b"agi_callerid: " + b"1" * (1 << 20)
        else:
            data = b""
        if kind == "silent":
            if len(open_socks) < 200:
                open_socks.append(writer)  # held open; the server drops it after its ENV_TIMEOUT
                writer = None
            return
        if kind == "slow":
            for b in env_block(1)[:20]:
                writer.write(bytes([b]))
                await writer.drain()
                sent[kind + "_bytes"] += 1
                await asyncio.sleep(0.3)
            return
        if kind in ("bad_answer", "no_answer", "close_mid"):
            data = env_block(rnd.randrange(1 << 30))
            writer.write(data)
            await writer.drain()
            await asyncio.wait_for(reader.readline(), 5)
            if kind == "bad_answer":
                writer.write(os.urandom(rnd.randint(1, 300)).replace(b"\n", b"") + b"\n")
                await writer.drain()
                await asyncio.wait_for(reader.read(), 5)
            elif kind == "no_answer" and len(open_socks) < 200:
                open_socks.append(writer)
                writer = None
            sent[kind + "_bytes"] += len(data)
            return
        writer.write(data)
        await writer.drain()
        sent[kind + "_bytes"] += len(data)
        writer.write_eof()
        await asyncio.wait_for(reader.read(), 10)
    except (OSError, TimeoutError, asyncio.IncompleteReadError):
        pass  # the server cut us off: that is the point
    finally:
        sent[kind] += 1
        if writer is not None:
            writer.close()


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * q))]


async def run(args, svc: Service) -> tuple[dict, bool]:
    rnd = random.Random(args.seed)
    alone = [await good_session(svc.port, i, args.bound) for i in range(args.baseline)]
    sent: Counter = Counter()
    open_socks: list = []
    stop = time.monotonic() + args.seconds

    async def attacker(i: int) -> None:
        r = random.Random(args.seed + i)
        while time.monotonic() < stop:
            await attack(svc.port, r.choice(KINDS), r, sent, open_socks)

    tasks = [asyncio.create_task(attacker(i)) for i in range(args.attackers)]
    under: list[float] = []
    failed = 0
    uid = 10_000
    while time.monotonic() < stop:
        uid += 1
        try:
            under.append(await good_session(svc.port, uid, args.bound))
        except (OSError, TimeoutError, RuntimeError) as exc:
            failed += 1
            print(f"well-formed session {uid} failed: {exc!r}")
        await asyncio.sleep(rnd.uniform(0, 0.02))
    await asyncio.gather(*tasks)
    for w in open_socks:
        w.close()
    return {"alone": alone, "under": under, "failed": failed, "sent": sent, "held_open": len(open_socks)}, failed == 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--attackers", type=int, default=16)
    p.add_argument("--baseline", type=int, default=300, help="well-formed sessions alone first")
    p.add_argument("--bound", type=float, default=1.0, help="seconds a well-formed session may take")
    p.add_argument("--seed", type=int, default=12345)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="fuzz-agi-") as tmp:
        svc = Service(Path(tmp))
        try:
            t0 = time.perf_counter()
            out, ok = asyncio.run(run(args, svc))
            wall = time.perf_counter() - t0
            alive = svc.proc.poll() is None
            counters = svc.metrics() if alive else {}
        finally:
            svc.stop()
        lines = svc.log.read_text(encoding="utf-8", errors="replace").splitlines()
        bad_lines = 0
        for line in lines:
            try:
                json.loads(line)
            except ValueError:
                bad_lines += 1
    sent, alone, under = out["sent"], out["alone"], out["under"]
    attacks = sum(sent[k] for k in KINDS)
    print(f"fuzz_agi: {wall:.1f} s, seed {args.seed}, {args.attackers} attackers, the real `hotline agi` service")
    print(f"  bad input sent: {attacks} connections, {sum(v for k, v in sent.items() if k.endswith('_bytes'))} bytes")
    for k in KINDS:
        print(f"    {k:<11} {sent[k]:>7} connections {sent[k + '_bytes']:>12} bytes")
    print(f"  held open at the end (silent / no answer): {out['held_open']}")
    print(
        f"  well-formed alone:     {len(alone):>6} sessions  p50 {1000 * pct(alone, 0.5):6.2f} ms"
        f"  p99 {1000 * pct(alone, 0.99):6.2f} ms  max {1000 * max(alone):6.2f} ms"
    )
    print(
        f"  well-formed under fuzz:{len(under):>6} sessions  p50 {1000 * pct(under, 0.5):6.2f} ms"
        f"  p99 {1000 * pct(under, 0.99):6.2f} ms  max {1000 * max(under):6.2f} ms  failed {out['failed']}"
    )
    print(
        f"  ratio under/alone: p50 {pct(under, 0.5) / pct(alone, 0.5):.2f}x"
        f"  p99 {pct(under, 0.99) / pct(alone, 0.99):.2f}x"
    )
    print(f"  service alive at the end: {alive}")
    for name, value in sorted(counters.items()):
        if "sessions_total" in name or name.endswith("_count"):
            print(f"  {name} {value:.0f}")
    print(f"  log: {len(lines)} lines, {bad_lines} not JSON")
    errors = counters.get('hotline_agi_sessions_total{outcome="error"}', 0)
    good = ok and alive and not errors and not bad_lines and max(under) < args.bound
    print("  verdict:", "PASS" if good else "FAIL")
    return 0 if good else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())

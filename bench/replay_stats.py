"""The statistics consumer's Python cost per answered call, offline, on a recorded AMI stream.

    .venv/bin/python bench/replay_stats.py DIR/stats.ami [--profile FILE] [--rounds 3]

``DIR/stats.ami`` is what ``bench/bench_consumers.py --record DIR`` wrote: the bytes Asterisk
sent the stats consumer's AMI user during a real run.  The stream is cut into the reads the
consumer makes (one per ``READ_EVERY`` of the events' own ``Timestamp``s) and fed, on one
process and without sockets, through

* ``floor``: splitting each read into messages (``bytes.count``, what ``bench/ami_floor.py`` does),
* ``parse``: the consumer's reader (:class:`hotline.ami.LeanAMIProtocol`: split, decode, parse the
  wanted events into dicts) with callbacks that do nothing,
* ``consumer``: the reader, :class:`queues.service.Consumer` and :class:`queues.stats_metrics.CallMetrics`
  as ``hotline stats`` runs them, with a flush every ``flush_interval`` of the stream's time into
  a :class:`queues.stats_store.RedisStore` over a client that only encodes the pipeline's
  commands (the JSON and the hashes are built; nothing is sent),

and prints the CPU of each per answered call (``AgentConnect``), best of ``--rounds``.  The live
figure (``bench/bench_consumers.py``) adds the socket reads and Redis; this one says where
the Python goes.  ``--profile FILE``: a cProfile of one ``consumer`` round (``python -m pstats``).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import re
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hotline.ami import LeanAMIProtocol, LeanManager, parse_message, picks_of  # noqa: E402
from hotline.names import event_admitted  # noqa: E402
from queues.service import READ_EVERY, Consumer  # noqa: E402
from queues.stats_ami import AMI_USER, READS  # noqa: E402
from queues.stats_metrics import CallMetrics  # noqa: E402
from queues.stats_store import RedisStore  # noqa: E402

STAMP = re.compile(rb"\r\nTimestamp: (\d+\.\d+)")


def admitted(data: bytes) -> bytes:
    """The stream without the events the consumer's AMI user is not sent any more (a stream
    recorded before its ``eventfilter`` changed: the agents' legs' Newchannel, their dials)."""
    blocks = data.split(b"\r\n\r\n")
    keep = [
        b
        for b in blocks
        if not b.startswith(b"Event: ")
        or event_admitted(AMI_USER["events"], parse_message(b.decode("utf-8", "replace")))
    ]
    return b"\r\n\r\n".join(keep)


def reads(data: bytes, every: float) -> list[tuple[float, bytes]]:
    """The stream as the consumer reads it: (time, bytes) per ``every`` seconds of event stamps."""
    out: list[tuple[float, bytes]] = []
    start, t0 = 0, None
    for m in STAMP.finditer(data):
        ts = float(m.group(1))
        if t0 is None:
            t0 = ts
        if ts - t0 >= every:
            cut = data.rfind(b"\r\n\r\n", start, m.start()) + 4
            if cut > start:
                out.append((t0, data[start:cut]))
                start = cut
            t0 = ts
    out.append((t0 or 0.0, data[start:]))
    return out


class _Pipe:
    """A redis pipeline that encodes its commands (as redis-py would) and sends nothing."""

    def __init__(self) -> None:
        self.n = 0

    def _cmd(self, *args: Any, mapping: dict | None = None) -> None:
        parts = [str(a).encode() for a in args]
        for k, v in (mapping or {}).items():
            parts += [str(k).encode(), str(v).encode()]
        self.n += len(b"".join(parts))

    def set(self, key: str, value: str) -> None:
        self._cmd("SET", key, value)

    def hset(self, key: str, mapping: dict) -> None:
        self._cmd("HSET", key, mapping=mapping)

    def hdel(self, key: str, *fields: str) -> None:
        self._cmd("HDEL", key, *fields)

    def publish(self, key: str, value: str) -> None:
        self._cmd("PUBLISH", key, value)

    async def execute(self) -> list:
        return []


class _Client:
    def pipeline(self, transaction: bool = True) -> _Pipe:
        return _Pipe()

    async def lpop(self, key: str, n: int) -> None:
        return None


class _Factory:
    """What the reader needs of its manager: which events are wanted, which headers of them
    (the consumer's ``READS``; ``--whole``: none, every event parsed whole), and where they go."""

    def __init__(self, callbacks: list, whole: bool = False) -> None:
        self.mgr = LeanManager.__new__(LeanManager)
        self.mgr.by_name, self.mgr.every = {}, list(callbacks)
        self.read_every = 0.0
        self.picks = {} if whole else picks_of(READS)

    def wants(self, name: str) -> bool:
        return self.mgr.wants(name)

    def dispatch(self, event: Any) -> None:
        self.mgr.dispatch(event)


class _Transport:
    def write(self, data: bytes) -> None:
        pass


def _reader(callbacks: list, whole: bool) -> LeanAMIProtocol:
    p = LeanAMIProtocol()
    p.connection_made(_Transport())
    p.factory = _Factory(callbacks, whole)
    p.version = "x"
    return p


def floor(chunks: list[tuple[float, bytes]]) -> float:
    t = time.process_time()
    n = 0
    for _, data in chunks:
        n += data.count(b"\r\n\r\n")
    return time.process_time() - t


def parse(chunks: list[tuple[float, bytes]], whole: bool = False) -> float:
    p = _reader([lambda mgr, ev: None], whole)
    t = time.process_time()
    for _, data in chunks:
        p.data_received(data)
    return time.process_time() - t


def consumer(
    chunks: list[tuple[float, bytes]], prof: cProfile.Profile | None = None, whole: bool = False
) -> tuple[float, Consumer]:
    clock = [chunks[0][0]]
    c = Consumer(RedisStore(_Client(), "bench"), clock=lambda: clock[0])
    metrics = CallMetrics()
    p = _reader([c.on_event, metrics.on_event], whole)
    loop = asyncio.new_event_loop()
    flushed = chunks[0][0]
    if prof is not None:
        prof.enable()
    t = time.process_time()
    for ts, data in chunks:
        clock[0] = ts
        p.data_received(data)
        if ts - flushed >= c.flush_interval:
            loop.run_until_complete(c.flush())
            flushed = ts
    loop.run_until_complete(c.flush(full=True))
    spent = time.process_time() - t
    if prof is not None:
        prof.disable()
    loop.close()
    return spent, c


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("stream", type=Path)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--profile", type=Path, default=None)
    ap.add_argument("--whole", action="store_true", help="parse every event whole (no READS)")
    ap.add_argument("--unfiltered", action="store_true", help="keep events the AMI user is not sent now")
    a = ap.parse_args()
    data = a.stream.read_bytes()
    data = data[data.find(b"Event: ") :]  # from the first event (the login's answer before it)
    if not a.unfiltered:
        data = admitted(data)
    chunks = reads(data, READ_EVERY)
    answered = data.count(b"Event: AgentConnect\r\n")
    messages = data.count(b"\r\n\r\n")
    best = {"floor": float("inf"), "parse": float("inf"), "consumer": float("inf")}
    for _ in range(a.rounds):
        best["floor"] = min(best["floor"], floor(chunks))
        best["parse"] = min(best["parse"], parse(chunks, a.whole))
        best["consumer"] = min(best["consumer"], consumer(chunks, whole=a.whole)[0])
    if a.profile:
        prof = cProfile.Profile()
        consumer(chunks, prof, a.whole)
        prof.dump_stats(str(a.profile))
    span = chunks[-1][0] - chunks[0][0]
    print(
        f"{len(data):,} bytes, {messages:,} messages, {answered:,} answered calls, {len(chunks):,} reads "
        f"over {span:.0f} s of the stream"
    )
    for k, v in best.items():
        print(f"{k:<9} {v * 1000 / max(1, answered):.3f} ms CPU / answered call ({v:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

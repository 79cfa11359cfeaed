"""The floor of an AMI consumer's CPU: a raw reader logged in as the consumer's own AMI user.

    python bench/ami_floor.py HOST PORT USER SECRET [RECORD_FILE] [REST]

Asterisk sends it the same filtered events as the consumer (same user, same ``eventfilter``
lines); it reads the socket and counts the messages (``bytes.count``), nothing else (and a Ping
every 10 s, as the consumers do). Prints ``ready`` once logged in and, at SIGTERM, a JSON line
``{"messages": N}``. Standard library only, so that it starts at once (bench/bench_consumers.py
measures its CPU from ``ready`` on).  ``RECORD_FILE``: also write the raw bytes there.
``REST``: seconds it sleeps after each read, as the consumer's reader rests (its ``read_every``),
so that the floor wakes up no more often than the consumer.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys


async def floor_reader(host: str, port: int, user: str, secret: str, record: str, rest: float = 0.0) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"Action: Login\r\nUsername: {user}\r\nSecret: {secret}\r\nEvents: on\r\n\r\n".encode())
    banner_and_login = b""
    while b"Authentication accepted" not in banner_and_login:
        chunk = await reader.read(65536)
        if not chunk:
            raise SystemExit(f"AMI login as {user} failed: {banner_and_login!r}")
        banner_and_login += chunk
    out = open(record, "wb") if record else None  # noqa: SIM115 (closed at the end)
    count = 0
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)

    async def read() -> None:
        nonlocal count
        while True:
            data = await reader.read(262144)
            if not data:
                return
            count += data.count(b"\r\n\r\n")
            if out is not None:
                out.write(data)
            if rest:  # the transport paused too, as the consumer's reader does (else it reads on)
                writer.transport.pause_reading()
                await asyncio.sleep(rest)
                writer.transport.resume_reading()

    print("ready", flush=True)
    task = asyncio.ensure_future(read())
    ping = 0
    while not stop.is_set() and not task.done():
        try:
            await asyncio.wait_for(stop.wait(), 10)
        except TimeoutError:
            ping += 1
            writer.write(f"Action: Ping\r\nActionID: floor-{ping}\r\n\r\n".encode())
    task.cancel()
    if out is not None:
        out.close()
    print(json.dumps({"messages": count}), flush=True)


if __name__ == "__main__":
    h, p, u, s = sys.argv[1:5]
    record = sys.argv[5] if len(sys.argv) > 5 else ""
    asyncio.run(floor_reader(h, int(p), u, s, record, float(sys.argv[6]) if len(sys.argv) > 6 else 0.0))

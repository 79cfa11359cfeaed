"""A loopback AMI event source for tests and the benchmark (never for calls).

It speaks just enough of AMI for a panoramisk Manager to log in (banner,
Login, QueueStatus, any other action answered with Success), then streams
prepared raw event bytes at a chosen rate.  The end-to-end tests use the real
Asterisk; this is for measuring the consumer's own parsing and aggregation.
"""

from __future__ import annotations

import asyncio
import random

EOL = "\r\n"


def render_event(fields: dict) -> bytes:
    return ("".join(f"{k}: {v}{EOL}" for k, v in fields.items()) + EOL).encode("utf-8")


def generate_events(
    n: int, queues=("general", "housing", "tax"), agents: int = 20, seed: int = 1, t0: float = 1_790_000_000.0
) -> tuple[list[dict], dict]:
    """A plausible stream: joins, answers, abandons, completions, member status.

    Returns the events and the expected per-queue counts (offered/answered/abandoned)."""
    rng = random.Random(seed)
    out: list[dict] = []
    expect = {q: {"offered": 0, "answered": 0, "abandoned": 0} for q in queues}
    t = t0
    i = 0
    while len(out) < n:
        i += 1
        q = rng.choice(queues)
        uid = f"{int(t0)}.{i}"
        t += 0.01
        name = f"张三{i % 97}"  # multi-byte caller names exercise the UTF-8 reader
        out.append(
            {
                "Event": "QueueCallerJoin",
                "Privilege": "agent,all",
                "Timestamp": f"{t:.6f}",
                "Channel": f"PJSIP/pstn-{i:08x}",
                "ChannelState": "6",
                "CallerIDNum": f"138{i:08d}",
                "CallerIDName": name,
                "Queue": q,
                "Position": "1",
                "Count": "1",
                "Uniqueid": uid,
                "Linkedid": uid,
                "HOTLINE_ORIGIN": "12345",
            }
        )
        expect[q]["offered"] += 1
        member = f"PJSIP/{1000 + rng.randrange(agents)}"
        if rng.random() < 0.85:
            hold = rng.randrange(0, 40)
            out.append(
                {
                    "Event": "QueueCallerLeave",
                    "Privilege": "agent,all",
                    "Timestamp": f"{t + hold:.6f}",
                    "Queue": q,
                    "Count": "0",
                    "Position": "1",
                    "Uniqueid": uid,
                }
            )
            out.append(
                {
                    "Event": "AgentConnect",
                    "Privilege": "agent,all",
                    "Timestamp": f"{t + hold:.6f}",
                    "Queue": q,
                    "Uniqueid": uid,
                    "Interface": member,
                    "MemberName": member,
                    "HoldTime": str(hold),
                    "RingTime": "2",
                    "CallerIDName": name,
                }
            )
            out.append(
                {
                    "Event": "QueueMemberStatus",
                    "Privilege": "agent,all",
                    "Timestamp": f"{t + hold:.6f}",
                    "Queue": q,
                    "MemberName": member,
                    "Interface": member,
                    "StateInterface": member,
                    "Membership": "dynamic",
                    "Penalty": "0",
                    "CallsTaken": "1",
                    "LastCall": "0",
                    "InCall": "1",
                    "Status": "2",
                    "Paused": "0",
                    "PausedReason": "",
                }
            )
            out.append(
                {
                    "Event": "AgentComplete",
                    "Privilege": "agent,all",
                    "Timestamp": f"{t + hold + 90:.6f}",
                    "Queue": q,
                    "Uniqueid": uid,
                    "Interface": member,
                    "MemberName": member,
                    "HoldTime": str(hold),
                    "TalkTime": "90",
                    "Reason": "caller",
                }
            )
            expect[q]["answered"] += 1
        else:
            out.append(
                {
                    "Event": "QueueCallerAbandon",
                    "Privilege": "agent,all",
                    "Timestamp": f"{t + 20:.6f}",
                    "Queue": q,
                    "Uniqueid": uid,
                    "Position": "1",
                    "OriginalPosition": "1",
                    "HoldTime": "20",
                }
            )
            out.append(
                {
                    "Event": "QueueCallerLeave",
                    "Privilege": "agent,all",
                    "Timestamp": f"{t + 20:.6f}",
                    "Queue": q,
                    "Count": "0",
                    "Position": "1",
                    "Uniqueid": uid,
                }
            )
            expect[q]["abandoned"] += 1
        # noise the consumer must skip
        out.append(
            {
                "Event": "Newexten",
                "Privilege": "dialplan,all",
                "Timestamp": f"{t:.6f}",
                "Channel": f"PJSIP/pstn-{i:08x}",
                "Context": "hotline-inbound",
                "Extension": "12345",
                "Priority": "1",
                "Application": "NoOp",
                "AppData": "hotline inbound 12345",
                "Uniqueid": uid,
            }
        )
    return out, expect


def _fields(block: bytes) -> dict:
    out = {}
    for line in block.decode("utf-8", "replace").split(EOL):
        k, sep, v = line.partition(":")
        if sep:
            out[k.strip()] = v.strip()
    return out


class FeedServer:
    """``async with FeedServer(payload, rate) as srv:`` ... ``srv.port``; ``await srv.sent``."""

    def __init__(
        self, payload: bytes = b"", rate: float | None = None, chunk: int = 4096, status: list[dict] | None = None
    ):
        self.payload = payload
        self.rate = rate  # bytes per second; None = as fast as the socket takes it
        self.chunk = chunk
        self.status = status or []
        self.server: asyncio.AbstractServer | None = None
        self.port = 0
        self.sent: asyncio.Future | None = None
        self.actions: list[dict] = []
        self._tasks: set[asyncio.Task] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def __aenter__(self):
        self.sent = asyncio.get_running_loop().create_future()
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc):
        self.server.close()
        for w in list(self._writers):
            w.close()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.server.wait_closed()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        task = asyncio.current_task()
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._writers.add(writer)
        writer.write(b"Asterisk Call Manager/9.0.0\r\n")
        streaming = None
        try:
            while True:
                block = await reader.readuntil(b"\r\n\r\n")
                act = _fields(block)
                self.actions.append(act)
                aid = act.get("ActionID", "")
                name = act.get("Action", "").lower()
                if name == "login":
                    writer.write(
                        render_event({"Response": "Success", "ActionID": aid, "Message": "Authentication accepted"})
                    )
                    if streaming is None:
                        streaming = asyncio.ensure_future(self._stream(writer))
                elif name == "queuestatus":
                    writer.write(
                        render_event(
                            {
                                "Response": "Success",
                                "ActionID": aid,
                                "EventList": "start",
                                "Message": "Queue status will follow",
                            }
                        )
                    )
                    for ev in self.status:
                        writer.write(render_event({**ev, "ActionID": aid}))
                    writer.write(
                        render_event(
                            {
                                "Event": "QueueStatusComplete",
                                "ActionID": aid,
                                "EventList": "Complete",
                                "ListItems": str(len(self.status)),
                            }
                        )
                    )
                else:
                    writer.write(render_event({"Response": "Success", "ActionID": aid, "Message": "ok"}))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            if streaming is not None and not streaming.done():
                streaming.cancel()
                await asyncio.gather(streaming, return_exceptions=True)
            writer.close()

    async def _stream(self, writer: asyncio.StreamWriter):
        loop = asyncio.get_running_loop()
        start = loop.time()
        sent = 0
        try:
            await asyncio.sleep(0.05)  # let the client's QueueStatus go first
            start = loop.time()
            data = memoryview(self.payload)
            while sent < len(data):
                piece = data[sent : sent + self.chunk]
                writer.write(piece)
                sent += len(piece)
                await writer.drain()
                if self.rate:
                    due = start + sent / self.rate
                    delay = due - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
            if not self.sent.done():
                self.sent.set_result(loop.time() - start)
        except Exception as exc:  # pragma: no cover
            if not self.sent.done():
                self.sent.set_exception(exc)

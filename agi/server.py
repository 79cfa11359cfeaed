"""A small asyncio FastAGI server: one process, many concurrent calls.

Asterisk connects once per ``AGI(agi://host:port/script?args)``, sends the
``agi_*`` environment, then takes commands and answers ``200 result=...``.
This server reads the environment, strips the query string from
``agi_network_script`` (Asterisk 22 leaves it there) and passes it on as
arguments, and dispatches by script name to a handler in
:mod:`agi.handlers`.

Unlike panoramisk's ``fast_agi`` it never blocks or busy-loops when a peer
closes early: every read is bounded by a timeout, an empty read ends the
session, and Asterisk's asynchronous ``HANGUP`` line is understood.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from hotline.log import event
from hotline.metrics import AGI_DECISION_SECONDS, AGI_SESSIONS

log = logging.getLogger("agi")

ENV_TIMEOUT = 5.0  # seconds to wait for the agi_* environment
COMMAND_TIMEOUT = 10.0  # seconds to wait for Asterisk's answer to a command
_RESPONSE = re.compile(r"^(\d{3})(?: result=(-?\d+))?(?: \((.*)\))?(?: (.*))?$")


class AGIClosed(Exception):
    """The peer went away (hung up, closed the socket, or stopped answering)."""


class AGIBadEnv(AGIClosed):
    """No environment: none within ENV_TIMEOUT, cut short, or longer than the reader's limit."""


class AGIProtocolError(AGIClosed):
    """The peer answered a command with something that is not an AGI answer."""


@dataclass(frozen=True)
class AGIResponse:
    code: int
    result: int
    data: str = ""
    rest: str = ""


def parse_response(line: str) -> AGIResponse:
    m = _RESPONSE.match(line)
    if not m:
        raise ValueError(f"not an AGI response: {line!r}")
    return AGIResponse(int(m.group(1)), int(m.group(2) or 0), m.group(3) or "", m.group(4) or "")


def parse_env(lines: list[str]) -> tuple[dict[str, str], str, dict[str, str]]:
    """``agi_*`` lines -> (env, script name, query arguments)."""
    env: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.partition(":")
        if sep and key.startswith("agi_"):
            env[key] = value.strip()
    script = env.get("agi_network_script", "").lstrip("/")
    script, _, query = script.partition("?")
    args = dict(parse_qsl(query, keep_blank_values=True))
    # positional AGI(url,arg1,arg2) arguments arrive as agi_arg_N
    for key, value in env.items():
        if key.startswith("agi_arg_"):
            args.setdefault(key, value)
    return env, script, args


def quote(value: str) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


@dataclass
class AGISession:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    env: dict[str, str]
    script: str
    args: dict[str, str]
    state: dict = field(default_factory=dict)

    @property
    def dialed(self) -> str:
        return self.args.get("dialed") or self.env.get("agi_extension", "")

    @property
    def caller(self) -> str:
        return self.env.get("agi_callerid", "")

    async def command(self, line: str) -> AGIResponse:
        self.writer.write(line.encode("utf-8") + b"\n")
        await self.writer.drain()
        return await read_response(self.reader)

    async def set_variables(self, values: dict[str, str]) -> None:
        """Set several channel variables in one round trip (MSet)."""
        if not values:
            return
        pairs = ",".join(f"{k}={_mset_escape(v)}" for k, v in values.items())
        resp = await self.command(f"EXEC MSet {quote(pairs)}")
        if resp.code != 200 or resp.result < 0:
            raise AGIClosed(f"MSet failed: {resp}")


async def read_response(reader: asyncio.StreamReader, timeout: float = COMMAND_TIMEOUT) -> AGIResponse:
    """Asterisk's answer to one command.

    Skips the asynchronous ``HANGUP`` notice and ``100 Trying`` (a command
    still running, its answer follows); reads a multi-line ``520-`` usage
    answer to its ``520 End of proper usage.`` line and returns it as one 520
    with the usage text; raises :class:`AGIClosed` on ``511`` (dead channel)."""
    while True:
        raw = await _readline(reader, timeout)
        if raw == "HANGUP" or raw.startswith("100 ") or raw == "100":
            continue
        if raw.startswith("520-"):
            usage = [raw[4:]]
            while True:
                more = await _readline(reader, timeout)
                if more.startswith("520 "):
                    return AGIResponse(520, -1, "", "\n".join(usage).strip())
                usage.append(more)
        try:
            resp = parse_response(raw)
        except ValueError:
            raise AGIProtocolError(f"not an AGI answer ({len(raw)} characters)") from None
        if resp.code == 511:  # command not permitted on a dead channel
            raise AGIClosed("channel is dead")
        return resp


def _mset_escape(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace(",", "\\,")


async def _readline(reader: asyncio.StreamReader, timeout: float) -> str:
    try:
        raw = await asyncio.wait_for(reader.readline(), timeout)
    except (TimeoutError, ConnectionError) as exc:
        raise AGIClosed(f"no answer: {exc!r}") from None
    if not raw:
        raise AGIClosed("peer closed")
    return raw.decode("utf-8", "replace").rstrip("\r\n")


Handler = Callable[[AGISession], Awaitable[None]]


class FastAGIServer:
    def __init__(self, handlers: dict[str, Handler], state: dict | None = None):
        self.handlers = handlers
        self.state = state if state is not None else {}
        self.sessions = 0
        self.errors = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.sessions += 1
        outcome, script = "ok", ""
        try:
            # the whole environment in one read under one timeout (a timer per
            # line cost half of a session's time)
            try:
                raw = await asyncio.wait_for(reader.readuntil(b"\n\n"), ENV_TIMEOUT)
            except asyncio.LimitOverrunError:
                raise AGIBadEnv("environment too long") from None
            except asyncio.IncompleteReadError as exc:
                if not exc.partial:  # connected and closed: a port probe (hotline status)
                    raise AGIClosed("closed before the environment") from None
                raise AGIBadEnv(f"environment cut short after {len(exc.partial)} bytes") from None
            except (TimeoutError, ConnectionError) as exc:
                raise AGIBadEnv(f"no environment: {type(exc).__name__}") from None
            env, script, args = parse_env(raw.decode("utf-8", "replace").splitlines())
            session = AGISession(reader, writer, env, script, args, self.state)
            handler = self.handlers.get(script)
            if handler is None:
                outcome = "unknown_script"
                event(log, "unknown AGI script", logging.WARNING, script=script[:80])
                await session.command(f"VERBOSE {quote('hotline: unknown AGI script ' + script[:80])} 1")
                return
            started = time.perf_counter()
            await handler(session)
            AGI_DECISION_SECONDS.labels(script).observe(time.perf_counter() - started)
        except AGIBadEnv as exc:
            outcome = "bad_env"
            event(log, "AGI connection without an environment", logging.WARNING, reason=str(exc))
        except AGIProtocolError as exc:
            outcome = "protocol"
            event(log, "AGI peer sent a non-AGI answer", logging.WARNING, script=script[:80], reason=str(exc))
        except AGIClosed:
            if outcome == "ok":
                outcome = "closed"
        except Exception:
            outcome = "error"
            self.errors += 1
            log.exception("AGI handler failed")
        finally:
            AGI_SESSIONS.labels(outcome).inc()
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass

    async def serve(self, host: str, port: int) -> asyncio.base_events.Server:
        return await asyncio.start_server(self.handle, host, port, backlog=4096, reuse_address=True)

"""A thin ARI client on httpx + websockets that reconnects by itself.

The async ARI clients on PyPI neither reconnect nor exit when Asterisk drops
the websocket; this one owns the loop: :meth:`Ari.events` yields decoded
events forever, reconnecting with a capped back-off, and calls
``on_connect`` after every (re)connection so the app can pick up the
channels still in Stasis (``GET /channels``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import websockets

from hotline.log import event

log = logging.getLogger("hotline.ari")


class AriError(Exception):
    def __init__(self, status: int, path: str, body: str):
        self.status = status
        super().__init__(f"ARI {path}: HTTP {status} {body[:200]}")


class RestPool:
    """HTTP/1.1 keep-alive connections to Asterisk's HTTP server, on asyncio streams.

    httpx's pool burns CPU in proportion to the requests waiting for a
    connection (it rescans them all on every change), which at a few hundred
    calls in flight stalls the event loop; ARI's REST calls are small, so a
    plain pool of persistent connections is enough and costs almost nothing."""

    def __init__(self, host: str, port: int, user: str, password: str, size: int = 24, timeout: float = 5.0):
        self.host, self.port, self.timeout = host, port, timeout
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self.head = f"Host: {host}:{port}\r\nAuthorization: Basic {token}\r\n"
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self.sem = asyncio.Semaphore(size)

    async def close(self) -> None:
        while self.idle:
            self.idle.pop()[1].close()

    IDLE_MAX = 10.0  # Asterisk closes a kept-alive connection after 15 s idle (session_keep_alive)

    def _take(self):
        now = time.monotonic()
        while self.idle:
            reader, writer, since = self.idle.pop()
            if now - since < self.IDLE_MAX and not reader.at_eof():
                return reader, writer
            writer.close()
        return None

    async def request(self, method: str, target: str, body: bytes = b"") -> tuple[int, bytes]:
        async with self.sem:
            for attempt in (0, 1):
                conn = self._take() if attempt == 0 else None
                fresh = conn is None
                if conn is None:
                    conn = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), self.timeout)
                try:
                    status, data, keep = await asyncio.wait_for(
                        self._exchange(conn, method, target, body), self.timeout
                    )
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    conn[1].close()
                    if fresh:
                        raise OSError(f"ARI {method} {target}: {exc!r}") from None
                    # a kept-alive connection Asterisk had closed: once more on a new one
                    while self.idle:
                        self.idle.pop()[1].close()
                    continue
                except TimeoutError:
                    conn[1].close()
                    raise
                if keep:
                    self.idle.append((conn[0], conn[1], time.monotonic()))
                else:
                    conn[1].close()
                return status, data
        raise OSError("unreachable")

    async def _exchange(self, conn, method: str, target: str, body: bytes) -> tuple[int, bytes, bool]:
        reader, writer = conn
        extra = (
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n" if body else "Content-Length: 0\r\n"
        )
        writer.write(f"{method} {target} HTTP/1.1\r\n{self.head}{extra}\r\n".encode() + body)
        await writer.drain()
        line = await reader.readuntil(b"\r\n")
        status = int(line.split(b" ", 2)[1])
        length, chunked, keep = 0, False, True
        while True:
            h = await reader.readuntil(b"\r\n")
            if h == b"\r\n":
                break
            name, _, value = h.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value:
                chunked = True
            elif name == "connection" and value == "close":
                keep = False
        if chunked:
            data = b""
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await reader.readuntil(b"\r\n")
                    break
                data += await reader.readexactly(size)
                await reader.readexactly(2)
        else:
            data = await reader.readexactly(length) if length else b""
        return status, data, keep


class Ari:
    def __init__(self, host: str, port: int, user: str, password: str, app: str, timeout: float = 5.0):
        self.base = f"http://{host}:{port}/ari"
        self.ws_url = (
            f"ws://{host}:{port}/ari/events?app={quote(app)}&subscribeAll=false&api_key={quote(user)}:{quote(password)}"
        )
        self.app = app
        self.pool = RestPool(host, port, user, password, timeout=timeout)
        # a connection of its own for the heartbeat
        self._hb = httpx.AsyncClient(
            base_url=self.base,
            auth=(user, password),
            timeout=timeout,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )
        self.connected = asyncio.Event()
        self.reconnects = 0
        self._ws = None

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        await self.pool.close()
        await self._hb.aclose()

    async def heartbeat_post(self, path: str, **params) -> None:
        resp = await self._hb.post(path, params=params)
        if resp.status_code >= 400:
            raise AriError(resp.status_code, path, resp.text)

    # ------------------------------------------------------------ REST
    async def request(
        self,
        method: str,
        path: str,
        params: dict | None = None,
        json_body: Any = None,
        ok_missing: bool = False,
        missing: Any = None,
    ) -> Any:
        target = "/ari" + path + ("?" + urlencode(params) if params else "")
        body = json.dumps(json_body).encode() if json_body is not None else b""
        status, data = await self.pool.request(method, target, body)
        if status == 404 and ok_missing:
            return missing
        if status >= 400:
            raise AriError(status, path, data.decode("utf-8", "replace"))
        if status == 204 or not data:
            return None
        return json.loads(data)

    async def get(self, path: str, **params) -> Any:
        return await self.request("GET", path, params=params or None)

    async def post(self, path: str, ok_missing: bool = False, **params) -> Any:
        return await self.request(
            "POST", path, params={k: v for k, v in params.items() if v is not None}, ok_missing=ok_missing
        )

    async def delete(self, path: str, ok_missing: bool = True, **params) -> Any:
        return await self.request("DELETE", path, params=params or None, ok_missing=ok_missing)

    # ---------------------------------------------------------- events
    async def events(
        self, on_connect: Callable[[], Awaitable[None]] | None = None, max_backoff: float = 1.0
    ) -> AsyncIterator[dict]:
        """Yield ARI events forever; reconnect when the websocket drops (tries at most
        ``max_backoff`` s apart: back within about a second of a restarted Asterisk)."""
        backoff = 0.2
        while True:
            try:
                async with websockets.connect(
                    self.ws_url, max_size=2**22, ping_interval=5, ping_timeout=10, open_timeout=5
                ) as ws:
                    self._ws = ws
                    self.connected.set()
                    backoff = 0.2
                    event(log, "ARI websocket connected", app=self.app, reconnects=self.reconnects)
                    if on_connect is not None:
                        await on_connect()
                    async for raw in ws:
                        try:
                            yield json.loads(raw)
                        except ValueError:
                            continue
            except (TimeoutError, OSError, websockets.WebSocketException) as exc:
                event(
                    log,
                    "ARI websocket lost; reconnecting",
                    level=logging.WARNING,
                    app=self.app,
                    error=str(exc)[:200],
                    backoff=backoff,
                )
            finally:
                self.connected.clear()
                self._ws = None
            self.reconnects += 1
            await asyncio.sleep(backoff)
            backoff = min(max_backoff, backoff * 2)


def event_lag(ev: dict, now: datetime | None = None) -> float:
    """Seconds between Asterisk stamping ``ev`` and now (0 if unknown)."""
    ts = ev.get("timestamp")
    if not ts:
        return 0.0
    try:
        # "2026-11-23T23:10:01.123+0000"
        t = datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        return 0.0
    now = now or datetime.now(UTC)
    return max(0.0, (now - t).total_seconds())


def parse_args(args: list[str], default_flow: str) -> tuple[str, str | None, dict[str, str]]:
    """Stasis(app,<flow>[:<node>],K=V,...) -> (flow, node, variables); no flow named: ``default_flow``
    (the hotline's own flow)."""
    flow, node = default_flow, None
    variables: dict[str, str] = {}
    rest = list(args)
    if rest and "=" not in rest[0]:
        first = rest.pop(0)
        flow, _, node = first.partition(":")
        node = node or None
    for a in rest:
        k, sep, v = a.partition("=")
        if sep and k:
            variables[k.strip()] = v
    return flow or default_flow, node, variables

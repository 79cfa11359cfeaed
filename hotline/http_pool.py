"""The platform's one HTTP client: HTTP/1.1 keep-alive connections on asyncio streams.

httpx's pool burns CPU in proportion to the requests waiting for a connection
(it rescans them all on every change), and its request/response objects cost
about a millisecond a round trip: ~90% of the AMI hand-off's CPU, and at a few
hundred calls in flight a stall of the ARI app's event loop.  The services'
requests are small JSON exchanges with one known server (Asterisk's ARI, the
work-order API), so a plain pool of persistent connections is enough and costs
almost nothing.  Basic auth (ARI) and bearer tokens (the API) both.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class HttpStatusError(Exception):
    """The server answered ``status`` >= 400 (``text``: the start of its body)."""

    def __init__(self, status: int, target: str, text: str):
        self.status, self.text = status, text
        super().__init__(f"{target}: HTTP {status} {text[:200]}")


class HttpPool:
    """Up to ``size`` requests at once to ``host:port``, each over a kept-alive connection
    when one is idle.  Transport failures raise ``OSError``; ``timeout`` (connect, then
    the whole exchange) raises ``TimeoutError``."""

    IDLE_MAX = 10.0  # Asterisk closes a kept-alive connection after 15 s idle (session_keep_alive)

    def __init__(self, host: str, port: int, authorization: str = "", size: int = 24, timeout: float = 5.0):
        self.host, self.port, self.timeout = host, port, timeout
        auth = f"Authorization: {authorization}\r\n" if authorization else ""
        self.head = f"Host: {host}:{port}\r\n{auth}"
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self.sem = asyncio.Semaphore(size)

    @classmethod
    def basic(cls, host: str, port: int, user: str, password: str, **kw: Any) -> HttpPool:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        return cls(host, port, f"Basic {token}", **kw)

    @classmethod
    def bearer(cls, base_url: str, token: str, **kw: Any) -> tuple[HttpPool, str]:
        """-> (a pool to ``base_url``'s host, its path prefix); ``http://`` only."""
        url = urlsplit(base_url)
        if url.scheme != "http" or not url.hostname:
            raise ValueError(f"HttpPool: an http://host[:port] URL, not {base_url!r}")
        return cls(url.hostname, url.port or 80, f"Bearer {token}", **kw), url.path.rstrip("/")

    async def close(self) -> None:
        while self.idle:
            self.idle.pop()[1].close()

    def _take(self) -> Conn | None:
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
                taken = self._take() if attempt == 0 else None
                fresh = taken is None
                conn: Conn = (
                    taken
                    if taken is not None
                    else await asyncio.wait_for(asyncio.open_connection(self.host, self.port), self.timeout)
                )
                try:
                    status, data, keep = await asyncio.wait_for(
                        self._exchange(conn, method, target, body), self.timeout
                    )
                except TimeoutError:  # before OSError: TimeoutError is one, and is not retried here
                    conn[1].close()
                    raise
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    conn[1].close()
                    if fresh:
                        raise OSError(f"{method} {target}: {exc!r}") from None
                    # a kept-alive connection the server had closed: once more on a new one
                    while self.idle:
                        self.idle.pop()[1].close()
                    continue
                if keep:
                    self.idle.append((conn[0], conn[1], time.monotonic()))
                else:
                    conn[1].close()
                return status, data
        raise OSError("unreachable")

    async def json(
        self, method: str, target: str, params: dict[str, Any] | None = None, body: Any = None
    ) -> tuple[int, Any]:
        """A JSON exchange -> (status, the decoded body or None); raises :class:`HttpStatusError`
        for a status >= 400."""
        if params:
            target += "?" + urlencode(params)
        raw = json.dumps(body).encode() if body is not None else b""
        status, data = await self.request(method, target, raw)
        if status >= 400:
            raise HttpStatusError(status, target.split("?", 1)[0], data.decode("utf-8", "replace"))
        return status, (json.loads(data) if data and status != 204 else None)

    async def _exchange(self, conn: Conn, method: str, target: str, body: bytes) -> tuple[int, bytes, bool]:
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

"""A thin ARI client on websockets and the core's keep-alive HTTP pool that reconnects by itself.

The async ARI clients on PyPI neither reconnect nor exit when Asterisk drops
the websocket; this one owns the loop: :meth:`Ari.events` yields decoded
events forever, reconnecting with a capped back-off, and calls
``on_connect`` after every (re)connection so the app can pick up the
channels still in Stasis (``GET /channels``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import websockets

from hotline.http_pool import HttpPool
from hotline.log import event

log = logging.getLogger("hotline.ari")


class AriError(Exception):
    def __init__(self, status: int, path: str, body: str):
        self.status = status
        super().__init__(f"ARI {path}: HTTP {status} {body[:200]}")


class Ari:
    def __init__(self, host: str, port: int, user: str, password: str, app: str, timeout: float = 5.0):
        self.base = f"http://{host}:{port}/ari"
        self.ws_url = (
            f"ws://{host}:{port}/ari/events?app={quote(app)}&subscribeAll=false&api_key={quote(user)}:{quote(password)}"
        )
        self.app = app
        self.pool = HttpPool.basic(host, port, user, password, timeout=timeout)
        # a connection of its own for the heartbeat
        self._hb = HttpPool.basic(host, port, user, password, size=1, timeout=timeout)
        self.connected = asyncio.Event()
        self.reconnects = 0
        self._ws = None

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        await self.pool.close()
        await self._hb.close()

    async def heartbeat_post(self, path: str, **params) -> None:
        status, data = await self._hb.request("POST", "/ari" + path + ("?" + urlencode(params) if params else ""))
        if status >= 400:
            raise AriError(status, path, data.decode("utf-8", "replace"))

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

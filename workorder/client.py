"""The one client of the work-order API, for the services that talk to it over HTTP.

The IVR (role ``ivr``): order status for the progress query, the survey
result, a draft order from a recorded message, the knowledge base's hot
questions and the published answer of one of them.  The AMI hand-off (role
``calls``): the draft order of an answered call.  Imports only the core (its
keep-alive pool, :mod:`hotline.http_pool`), so any service can use it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import quote

from hotline.http_pool import HttpPool, HttpStatusError
from hotline.log import event
from hotline.secrets import load_secrets

log = logging.getLogger("workorder.client")


# what a request to the API can fail with: no answer, a timeout (an OSError), a status >= 400, a body not JSON
ApiFailure = (OSError, HttpStatusError, ValueError)


class OrdersClient:
    def __init__(self, base_url: str, token: str, timeout: float = 4.0, size: int = 24):
        self.base_url = base_url.rstrip("/") + "/api/v1"
        self.http, prefix = HttpPool.bearer(self.base_url, token, size=size, timeout=timeout)
        self.prefix = prefix

    async def _get(self, path: str, params: dict | None = None) -> tuple[int, Any]:
        """-> (status, body): a refusal is a status here, not an exception."""
        try:
            return await self.http.json("GET", self.prefix + path, params)
        except HttpStatusError as exc:
            return exc.status, None

    @classmethod
    def from_settings(cls, settings, role: str = "ivr", timeout: float = 4.0, size: int = 24) -> OrdersClient:
        """A client of this platform's API with the built-in token of ``role``."""
        token = load_secrets(settings.secrets_file)["api_tokens"][role]
        return cls(f"http://{settings.bind}:{settings.api_port}", token, timeout=timeout, size=size)

    async def close(self) -> None:
        await self.http.close()

    async def order_status(self, number: str, caller: str, last4: str | None = None) -> tuple[str, dict]:
        """-> (outcome, data); outcome: ok | needs_last4 | not_found | error."""
        params = {"caller": caller}
        if last4:
            params["last4"] = last4
        try:
            status, data = await self._get(f"/ivr/orders/{quote(number, safe='')}", params)
        except (OSError, ValueError) as exc:
            event(log, "order lookup failed", level=logging.WARNING, error=str(exc)[:200])
            return "error", {}
        if status == 200:
            return "ok", data
        if status == 403:
            return "needs_last4", {}
        if status in (404, 422):
            return "not_found", {}
        event(log, "order lookup failed", level=logging.WARNING, status=status)
        return "error", {"status": status}

    async def kb_hot(self, limit: int) -> tuple[str, list[dict]]:
        """The hot questions (live entries tagged 热点, with their answers) -> (ok | error, items)."""
        try:
            status, data = await self._get("/kb/hot", {"limit": limit})
        except (OSError, ValueError) as exc:
            event(log, "hot questions failed", level=logging.WARNING, error=str(exc)[:200])
            return "error", []
        if status != 200:
            event(log, "hot questions failed", level=logging.WARNING, status=status)
            return "error", []
        return "ok", list((data or {}).get("items", []))

    async def kb_entry(self, article_id: int) -> tuple[str, dict]:
        """One live entry's published version -> (ok | not_found | error, entry).  The ``ivr`` role
        sees only published, unexpired entries: one that expired since the list is not_found."""
        try:
            status, data = await self._get(f"/kb/articles/{int(article_id)}")
        except (OSError, ValueError) as exc:
            event(log, "kb entry failed", level=logging.WARNING, error=str(exc)[:200])
            return "error", {}
        if status == 200:
            return "ok", data
        if status == 404:
            return "not_found", {}
        event(log, "kb entry failed", level=logging.WARNING, status=status)
        return "error", {"status": status}

    async def survey(self, linkedid: str, caller: str, score: int) -> tuple[bool, dict]:
        return await self._post("/ivr/surveys", {"linkedid": linkedid, "caller": caller, "score": score})

    async def draft(
        self, linkedid: str, caller: str, origin: str, transcript: str, recording: str
    ) -> tuple[bool, dict]:
        return await self._post(
            "/ivr/drafts",
            {
                "linkedid": linkedid,
                "caller": caller,
                "origin": origin,
                "transcript": transcript,
                "recording": recording,
            },
        )

    async def call_answered(self, body: dict[str, str]) -> tuple[dict, bool]:
        """``POST /calls/answered`` (idempotent by linkedid): ``{"order": ..., "open_orders": [...]}``
        and whether the order is new (201) rather than the call's existing one (200).
        Raises one of :data:`ApiFailure` (``HttpStatusError`` for a refusal) so the caller decides on retries."""
        status, out = await self.http.json("POST", self.prefix + "/calls/answered", body=body)
        if not isinstance(out, dict):
            raise ValueError(f"calls/answered: not a JSON object: {out!r}"[:200])
        return out, status == 201

    async def calls_answered(self, bodies: list[dict[str, str]]) -> list[dict]:
        """``POST /calls/answered/batch``: one result per body, in order (``{"linkedid", "status",
        "order": {"number", ...}}``).  Raises one of :data:`ApiFailure` for the request as a whole."""
        _status, out = await self.http.json("POST", self.prefix + "/calls/answered/batch", body={"calls": bodies})
        results = out.get("results") if isinstance(out, dict) else None
        if not isinstance(results, list) or len(results) != len(bodies):
            raise ValueError(f"calls/answered/batch: not one result per call: {out!r}"[:200])
        return results

    async def _post(self, path: str, body: dict[str, Any]) -> tuple[bool, dict]:
        try:
            status, out = await self.http.json("POST", self.prefix + path, body=body)
        except HttpStatusError as exc:
            event(log, "store refused", level=logging.WARNING, path=path, status=exc.status)
            return False, {"status": exc.status, "body": exc.text[:200]}
        except (OSError, ValueError) as exc:
            event(log, "store call failed", level=logging.WARNING, path=path, error=str(exc)[:200])
            return False, {"error": str(exc)[:200]}
        if status not in (200, 201):
            event(log, "store refused", level=logging.WARNING, path=path, status=status)
            return False, {"status": status, "body": ""}
        return True, out if out is not None else {}


BATCH_PATH = "/calls/answered/batch"


class AnsweredCalls:
    """The answered calls of many concurrent hand-offs, posted together: each :meth:`post` waits
    for the result of its own call, while the calls posted meanwhile wait in one list and go in
    the next ``POST /calls/answered/batch`` (up to ``max_batch`` a request, ``in_flight``
    requests at once).  A call waits at most ``linger`` seconds for others to join it (a full
    batch goes at once; 0: a call alone goes at once), so that one request and one transaction
    carry many: a request's cost (~4 ms of the API's CPU, ~1 ms of the caller's) was most of a
    hand-off's, and at 30 answers a second without a wait most requests carried one call.  A
    batch the API refuses as a whole (4xx) is posted again call by call, so one call's bad body
    costs the others nothing."""

    def __init__(self, client: OrdersClient, max_batch: int, in_flight: int, linger: float = 0.0):
        self.client, self.max_batch, self.in_flight, self.linger = client, max_batch, in_flight, linger
        self.pending: list[tuple[dict[str, str], asyncio.Future]] = []
        self.since = 0.0  # loop time the oldest pending call came
        self.timer: asyncio.TimerHandle | None = None
        self.sending = 0
        self.batches = 0  # requests sent (for the log and the tests)

    async def post(self, body: dict[str, str]) -> tuple[dict, bool]:
        """Like :meth:`OrdersClient.call_answered`: ``({"order": {"number", ...}, "batch": the
        calls of the request that carried it}, made now)``; raises one of :data:`ApiFailure`."""
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        if not self.pending:
            self.since = loop.time()
        self.pending.append((body, fut))
        self._kick()
        return await fut

    def _kick(self) -> None:
        loop = asyncio.get_running_loop()
        while self.pending and self.sending < self.in_flight:
            wait = self.since + self.linger - loop.time()
            if len(self.pending) < self.max_batch and wait > 0:
                if self.timer is None:
                    self.timer = loop.call_later(wait, self._due)
                return
            batch, self.pending = self.pending[: self.max_batch], self.pending[self.max_batch :]
            # the calls left (more than a batch): they waited already and go with the next free request
            self.sending += 1
            asyncio.ensure_future(self._send(batch))

    def _due(self) -> None:
        self.timer = None
        self._kick()

    async def _send(self, batch: list[tuple[dict[str, str], asyncio.Future]]) -> None:
        try:
            self.batches += 1
            try:
                results = await self.client.calls_answered([body for body, _ in batch])
            except HttpStatusError as exc:
                if exc.status >= 500 or len(batch) == 1:
                    raise
                await asyncio.gather(*(self._one(body, fut) for body, fut in batch))
                return
            for (_body, fut), res in zip(batch, results, strict=True):
                if fut.done():
                    continue
                status = int(res.get("status", 500))
                if status >= 400:
                    fut.set_exception(HttpStatusError(status, BATCH_PATH, str(res.get("error", ""))))
                else:
                    fut.set_result(({"order": res.get("order") or {}, "batch": len(batch)}, status == 201))
        except Exception as exc:  # noqa: BLE001 - every call of the batch gets it, to retry or give up
            for _body, fut in batch:
                if not fut.done():
                    fut.set_exception(exc)
        finally:
            self.sending -= 1
            self._kick()

    async def _one(self, body: dict[str, str], fut: asyncio.Future) -> None:
        try:
            out = await self.client.call_answered(body)
        except Exception as exc:  # noqa: BLE001 - this call's own failure
            if not fut.done():
                fut.set_exception(exc)
            return
        if not fut.done():
            fut.set_result(out)

"""The one client of the work-order API, for the services that talk to it over HTTP.

The IVR (role ``ivr``): order status for the progress query, the survey
result, a draft order from a recorded message, the knowledge base's hot
questions and the published answer of one of them.  The AMI hand-off (role
``calls``): the draft order of an answered call.  Imports only the core and
httpx, so any service can use it.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from hotline.log import event
from hotline.secrets import load_secrets

log = logging.getLogger("workorder.client")


class OrdersClient:
    def __init__(self, base_url: str, token: str, timeout: float = 4.0, transport=None):
        self.http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            transport=transport,
        )

    @classmethod
    def from_settings(cls, settings, role: str = "ivr", timeout: float = 4.0) -> OrdersClient:
        """A client of this platform's API with the built-in token of ``role``."""
        token = load_secrets(settings.secrets_file)["api_tokens"][role]
        return cls(f"http://{settings.bind}:{settings.api_port}", token, timeout=timeout)

    async def close(self) -> None:
        await self.http.aclose()

    async def order_status(self, number: str, caller: str, last4: str | None = None) -> tuple[str, dict]:
        """-> (outcome, data); outcome: ok | needs_last4 | not_found | error."""
        params = {"caller": caller}
        if last4:
            params["last4"] = last4
        try:
            r = await self.http.get(f"/ivr/orders/{number}", params=params)
        except httpx.HTTPError as exc:
            event(log, "order lookup failed", level=logging.WARNING, error=str(exc)[:200])
            return "error", {}
        if r.status_code == 200:
            return "ok", r.json()
        if r.status_code == 403:
            return "needs_last4", {}
        if r.status_code in (404, 422):
            return "not_found", {}
        event(log, "order lookup failed", level=logging.WARNING, status=r.status_code)
        return "error", {"status": r.status_code}

    async def kb_hot(self, limit: int) -> tuple[str, list[dict]]:
        """The hot questions (live entries tagged 热点, with their answers) -> (ok | error, items)."""
        try:
            r = await self.http.get("/kb/hot", params={"limit": limit})
        except httpx.HTTPError as exc:
            event(log, "hot questions failed", level=logging.WARNING, error=str(exc)[:200])
            return "error", []
        if r.status_code != 200:
            event(log, "hot questions failed", level=logging.WARNING, status=r.status_code)
            return "error", []
        return "ok", list(r.json().get("items", []))

    async def kb_entry(self, article_id: int) -> tuple[str, dict]:
        """One live entry's published version -> (ok | not_found | error, entry).  The ``ivr`` role
        sees only published, unexpired entries: one that expired since the list is not_found."""
        try:
            r = await self.http.get(f"/kb/articles/{article_id}")
        except httpx.HTTPError as exc:
            event(log, "kb entry failed", level=logging.WARNING, error=str(exc)[:200])
            return "error", {}
        if r.status_code == 200:
            return "ok", r.json()
        if r.status_code == 404:
            return "not_found", {}
        event(log, "kb entry failed", level=logging.WARNING, status=r.status_code)
        return "error", {"status": r.status_code}

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

    async def call_answered(self, body: dict[str, str]) -> dict:
        """``POST /calls/answered`` (idempotent by linkedid): ``{"order": ..., "open_orders": [...]}``.
        Raises ``httpx.HTTPError`` (``HTTPStatusError`` for a refusal) so the caller decides on retries."""
        r = await self.http.post("/calls/answered", json=body)
        r.raise_for_status()
        return r.json()

    async def _post(self, path: str, body: dict[str, Any]) -> tuple[bool, dict]:
        try:
            r = await self.http.post(path, json=body)
        except httpx.HTTPError as exc:
            event(log, "store call failed", level=logging.WARNING, path=path, error=str(exc)[:200])
            return False, {"error": str(exc)[:200]}
        if r.status_code in (200, 201):
            return True, r.json() if r.content else {}
        event(log, "store refused", level=logging.WARNING, path=path, status=r.status_code)
        return False, {"status": r.status_code, "body": r.text[:200]}

"""Queue callback: keep the caller's place, dial back when the turn comes.

When the caller accepts, a placeholder takes the caller's place in the queue:
a Local channel whose ``;2`` half waits in the queue at the caller's priority
(context ``hotline-ivr-callback``).  When an agent answers the placeholder,
the ``;1`` half runs ``hotline-ivr-callback-dial`` and dials the citizen
(``HOTLINE_CALLBACK_DIAL``, e.g. ``PJSIP/pstn/sip:{number}@carrier``), so
the agent is connected as soon as the citizen picks up.

No duplicates: one pending callback per number.  The placeholder channel
is named after the number, so "pending" is simply "that channel exists"
(checked and created under a lock in this process): no state to go stale.
"""

from __future__ import annotations

import asyncio
import logging
import re

from hotline.log import event

log = logging.getLogger("hotline.ari.callback")


def estimate_wait(waiting: int, agents: int, handle_seconds: float) -> float:
    """Pure: expected seconds until a new caller is answered (no agent: very long)."""
    if agents <= 0:
        return 3600.0
    return (waiting + 1) * handle_seconds / agents


class Callbacks:
    def __init__(self, ari, settings, hotline_number: str):
        """HOTLINE_IVR_AHT, HOTLINE_CALLBACK_DIAL (hotline.settings); the callback shows the hotline's number."""
        self.ari = ari
        self.hotline_number = hotline_number
        self.handle_seconds = float(settings.ivr_aht)
        self.dial = settings.callback_dial
        self.lock = asyncio.Lock()

    # dialplan functions are evaluated on a channel (ARI's global variables are
    # plain variables): we use the caller's own channel, still in Stasis
    async def _func(self, channel_id: str, expr: str) -> str:
        r = await self.ari.get(f"/channels/{channel_id}/variable", variable=expr)
        return str((r or {}).get("value", ""))

    async def estimate(self, queue: str, channel_id: str) -> float:
        waiting = int(await self._func(channel_id, f"QUEUE_WAITING_COUNT({queue})") or 0)
        # QUEUE_MEMBER(q,paused) needs an interface (Asterisk logs an ERROR without
        # one): the estimate counts logged-in agents, paused ones included
        agents = int(await self._func(channel_id, f"QUEUE_MEMBER({queue},logged)") or 0)
        return estimate_wait(waiting, agents, self.handle_seconds)

    async def pending(self, number: str) -> bool:
        """A callback for ``number`` waits in a queue or is being dialed: its
        placeholder channel is named after the number, so it exists exactly as
        long as the callback is pending (nothing to clean up after a crash)."""
        marker = f"-{number}@hotline-ivr-callback"
        for ch in await self.ari.get("/channels") or []:
            if ch.get("name", "").startswith("Local/cb-") and marker in ch.get("name", ""):
                return True
        return False

    async def place(
        self, number: str, queue: str, priority: int, linkedid: str, channel_id: str = ""
    ) -> tuple[bool, dict]:
        number = (number or "").lstrip("+")
        if not re.fullmatch(r"\d{3,20}", number):
            return False, {"error": "no callable caller number"}
        async with self.lock:
            if await self.pending(number):
                event(log, "callback already pending", caller=number)
                return True, {"duplicate": True}
            try:
                await self.ari.request(
                    "POST",
                    "/channels",
                    params={
                        "endpoint": f"Local/cb-{queue}-{priority}-{number}@hotline-ivr-callback/n",
                        "context": "hotline-ivr-callback-dial",
                        "extension": number,
                        "priority": 1,
                        "timeout": 7200,
                        "callerId": f"{self.hotline_number} <{number}>",
                    },
                    json_body={
                        "variables": {
                            "HOTLINE_CALLBACK": "1",
                            "HOTLINE_CB_DIAL": self.dial.format(number=number),
                            "HOTLINE_CB_LINKEDID": linkedid,
                        }
                    },
                )
            except Exception as exc:
                event(log, "callback originate failed", level=logging.WARNING, error=str(exc)[:200])
                return False, {"error": str(exc)[:200]}
        event(log, "callback placed", caller=number, queue=queue, priority=priority)
        return True, {"duplicate": False}

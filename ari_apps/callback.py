"""Queue callback: keep the caller's place, dial back when the turn comes.

When the caller accepts, a placeholder takes the caller's place in the queue:
a Local channel whose ``;2`` half waits in the queue at the caller's priority
(context ``hotline-ivr-callback``).  When an agent answers the placeholder,
the ``;1`` half runs ``hotline-ivr-callback-dial`` and dials the citizen
(``HOTLINE_CALLBACK_DIAL``, e.g. ``PJSIP/pstn/sip:{number}@carrier``), so
the agent is connected as soon as the citizen picks up.

No duplicates: one pending callback per number, kept in Asterisk's own DB
(``DB(hotline-cb/<number>)``, deleted by the dialplan when the callback
ends), checked and set under a lock in this process.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time

from hotline.log import event

log = logging.getLogger("hotline.ari.callback")


def estimate_wait(waiting: int, agents: int, handle_seconds: float) -> float:
    """Pure: expected seconds until a new caller is answered (no agent: very long)."""
    if agents <= 0:
        return 3600.0
    return (waiting + 1) * handle_seconds / agents


class Callbacks:
    def __init__(self, ari, settings=None, env=None):
        env = os.environ if env is None else env
        self.ari = ari
        self.handle_seconds = float(env.get("HOTLINE_IVR_AHT", 180))
        self.dial = env.get("HOTLINE_CALLBACK_DIAL", "PJSIP/pstn/sip:{number}@127.0.0.1:5070")
        self.lock = asyncio.Lock()
        # a pending entry older than this is stale (a crash left it behind)
        self.stale_after = float(env.get("HOTLINE_CALLBACK_STALE", 7200))

    async def _func(self, expr: str) -> str:
        r = await self.ari.get("/asterisk/variable", variable=expr)
        return str((r or {}).get("value", ""))

    async def estimate(self, queue: str, channel_id: str) -> float:
        waiting = int(await self._func(f"QUEUE_WAITING_COUNT({queue})") or 0)
        agents = int(await self._func(f"QUEUE_MEMBER({queue},logged)") or 0)
        paused = int(await self._func(f"QUEUE_MEMBER({queue},paused)") or 0)
        return estimate_wait(waiting, agents - paused, self.handle_seconds)

    async def place(self, number: str, queue: str, priority: int, linkedid: str) -> tuple[bool, dict]:
        if not re.fullmatch(r"\+?\d{3,20}", number or ""):
            return False, {"error": "no callable caller number"}
        key = f"hotline-cb/{number.lstrip('+')}"
        async with self.lock:
            pending = await self._func(f"DB({key})")
            since = pending.rpartition("|")[2]
            if pending and since.isdigit() and time.time() - int(since) < self.stale_after:
                event(log, "callback already pending", caller=number)
                return True, {"duplicate": True}
            await self.ari.post("/asterisk/variable", variable=f"DB({key})", value=f"{linkedid}|{int(time.time())}")
            try:
                await self.ari.request("POST", "/channels", params={
                    "endpoint": f"Local/cb-{queue}-{priority}@hotline-ivr-callback/n",
                    "context": "hotline-ivr-callback-dial", "extension": number.lstrip("+"), "priority": 1,
                    "timeout": 7200, "callerId": f"12345 <{number}>",
                }, json_body={"variables": {
                    "HOTLINE_CALLBACK": "1", "HOTLINE_CB_KEY": key,
                    "HOTLINE_CB_DIAL": self.dial.format(number=number.lstrip("+")),
                    "HOTLINE_CB_LINKEDID": linkedid,
                }})
            except Exception as exc:
                await self._func(f"DB_DELETE({key})")
                event(log, "callback originate failed", level=logging.WARNING, error=str(exc)[:200])
                return False, {"error": str(exc)[:200]}
        event(log, "callback placed", caller=number, queue=queue, priority=priority)
        return True, {"duplicate": False}

"""The hand-off's catching up: the calls answered while it could not see them (an AMI gap, a
stop) get their drafts from Asterisk's queue_log (a mixin of
:class:`workorder.handoff_service.Handoff`).

After a lost AMI connection it reads queue_log from a little before the gap: a call answered in
the gap that has ended by the re-login is no longer in ``CoreShowChannels``; its ``CONNECT``
line gets it its order (:func:`workorder.handoff.queue_log_answers`, with the route's facts its
ENTERQUEUE line carries).  After a stop: every :data:`MARK_EVERY` s it keeps the stamp of the
last AgentConnect it took in Asterisk's AstDB (:data:`hotline.names.HANDOFF_MARK`), and at its
start it reads queue_log from there on (at most :data:`CATCH_UP_MAX` s back).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hotline.log import event as log_event
from hotline.names import HANDOFF_MARK
from queues.queue_log import queue_log_events
from queues.stats_consts import GAP_MARGIN
from workorder.handoff import queue_log_answers

log = logging.getLogger("workorder.handoff")

MARK_EVERY = 1.0  # seconds between two saves of the last AgentConnect's stamp (HANDOFF_MARK)
MARK_SLACK = 2.0  # seconds before the mark a start reads queue_log from
CATCH_UP_MAX = 86400.0  # seconds of queue_log read back at a start, however long it was stopped


class CatchUpMixin:
    queue_log: Path | None
    gap_from: float | None
    last_ts: float
    seen: dict[str, None]
    logins: int
    on_event: Callable[[Any, dict], None]  # Handoff's: queue a hand-off

    def catch_up(self, manager, since: float | None = None) -> int:
        """After a re-login: queue a hand-off for each call queue_log shows answered since
        GAP_MARGIN s before the gap that was not handed off (the calls still up were, by the
        resync just before, with their channel variables); at a start, since ``since``."""
        if since is None:
            after, self.gap_from = self.gap_from, None
            if after is None:
                return 0
            since = after - GAP_MARGIN
        if self.queue_log is None or not self.queue_log.exists():
            return 0
        with self.queue_log.open(encoding="utf-8", errors="replace") as fh:
            answers = queue_log_answers(queue_log_events(fh, after=since - 3600), since)  # joined up to 1 h before
        found = [ev for ev in answers if ev["Linkedid"] not in self.seen]
        for ev in found:
            self.on_event(manager, ev)
        log_event(log, "answered calls of an AMI gap re-read from queue_log", handoffs=len(found), logins=self.logins)
        return len(found)

    async def read_mark(self, manager) -> float | None:
        """The stamp of the last AgentConnect a previous run took (AstDB), or None."""
        family, key = HANDOFF_MARK.split("/", 1)
        try:
            reply = await manager.send_action({"Action": "DBGet", "Family": family, "Key": key})
        except Exception as exc:  # no catch-up this start; the mark is written again from now
            log_event(log, "hand-off mark unreadable", logging.WARNING, error=str(exc)[:300])
            return None
        for msg in reply if isinstance(reply, list) else [reply]:
            if msg.get("Event") == "DBGetResponse":
                try:
                    return float(msg.get("Val", ""))
                except ValueError:
                    return None
        return None

    async def keep_mark(self, manager) -> None:
        """Every MARK_EVERY s, the last AgentConnect's stamp into AstDB when it moved."""
        family, key = HANDOFF_MARK.split("/", 1)
        saved = 0.0
        while True:
            await asyncio.sleep(MARK_EVERY)
            if self.last_ts > saved:
                try:
                    put = {"Action": "DBPut", "Family": family, "Key": key, "Val": repr(self.last_ts)}
                    await manager.send_action(put)
                    saved = self.last_ts
                except Exception:  # AMI away: the next pass writes it
                    pass

    async def start(self, manager) -> int:
        """At the service's start: hand off the calls answered since the last run's mark."""
        mark = await self.read_mark(manager)
        if mark is None:
            return 0
        # from a little before the mark (queue_log stamps whole seconds); the API is idempotent
        found = self.catch_up(manager, since=max(mark - MARK_SLACK, time.time() - CATCH_UP_MAX))
        log_event(log, "answered calls since the last run re-read from queue_log", handoffs=found, since=mark)
        return found

    def lost(self) -> None:
        """The AMI connection dropped: AgentConnects from now until the next login are missed."""
        if self.gap_from is None:
            self.gap_from = self.last_ts or time.time()

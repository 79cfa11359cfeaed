"""Live queue statistics and agent state from AMI events.  Pure: no I/O.

:class:`Aggregator` is fed AMI event dicts (``apply(event, now)``) - from the
live AMI stream, from ``QueueStatus`` on start, or from queue_log lines turned
into the same dicts (:func:`queue_log_event`) - and gives a plain view
(``view(now)``).  Its whole state is a JSON-able dict (``dump``/``load``): the
consumer stores it in Redis so a restart does not reset the day.

These are the **queue** figures (what each ACD queue did with the callers it
got).  The platform's figures - every call that reached the platform, per
line, per mode and overall, the 24 h answer rate against the 95% target - are
:mod:`queues.stats_calls` (``view()["calls"]``), fed by the same events.

Definitions of the queue figures (the same as in :mod:`queues.sizing`):

* offered: a caller joined the queue (``QueueCallerJoin``);
* answered: a person answered (``AgentConnect``);
* abandoned: the caller hung up while waiting (``QueueCallerAbandon``);
* other: left without either (timeout / overflow to another queue / the queue
  emptied) = offered - answered - abandoned - still waiting;
* answer rate = answered / offered;
* service level (15 s) = answered within 15 s of joining / offered.  Unlike
  app_queue's own ``ServicelevelPerf`` (answered within T / (answered +
  abandoned)), every abandoned call and every timeout counts against it;
* ASA = mean hold time of answered calls;
* AHT = mean talk time (hold included, as app_queue reports it) of completed
  calls plus the queue's wrap-up time.

For the whole hotline (queue ``"*"``) a call is counted once however many
queues it passes through (overflow), and its wait runs from its first join.

Counters live in hourly buckets (UTC hour index); ``today`` sums the buckets of
the local day (Beijing time, UTC+8) and ``last_24h`` the last 24 buckets.
"""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

from hotline.settings import local_zone
from queues.stats_calls import EVENTS as CALL_EVENTS
from queues.stats_calls import CallFigures
from queues.stats_consts import (
    _COUNTERS,
    CALL_MEMORY,
    DEDUPE_SECONDS,
    KEEP_HOURS,
    RESTORE_MARGIN,
)
from queues.stats_consts import (  # re-exported: the figures' vocabulary
    ALL as ALL,
)
from queues.stats_consts import (
    SL_SECONDS as SL_SECONDS,
)
from queues.stats_consts import (
    STATES as STATES,
)
from queues.stats_views import ViewsMixin


def _f(ev: dict, key: str, default: float = 0.0) -> float:
    try:
        return float(ev.get(key, default))
    except (TypeError, ValueError):
        return default


def _member_key(ev: dict) -> str:
    return ev.get("Interface") or ev.get("Location") or ev.get("StateInterface") or ev.get("MemberName", "")


def zone_offset(tz: ZoneInfo) -> int:
    """Seconds east of UTC of ``tz`` now (China has no daylight saving: a day is a fixed span)."""
    off = datetime.now(tz).utcoffset()
    return int(off.total_seconds()) if off is not None else 0


class Aggregator(ViewsMixin):
    def __init__(
        self,
        wrapup: dict[str, float] | None = None,
        sl_seconds: float = SL_SECONDS,
        day_offset: int | None = None,
        figures: CallFigures | None = None,
    ):
        """``day_offset``: seconds east of UTC of the hotline's day (default: HOTLINE_TIMEZONE now);
        ``figures``: the platform's call figures (:mod:`queues.stats_calls`; default: no trunks, the
        95% target, a 60 min alert window)."""
        self.sl = sl_seconds
        self.figures = figures if figures is not None else CallFigures(sl_seconds=sl_seconds)
        self.day_offset = day_offset if day_offset is not None else zone_offset(local_zone())
        self.wrapup: dict[str, float] = dict(wrapup or {})
        # queue -> hour -> counters
        self.buckets: dict[str, dict[int, dict[str, float]]] = {}
        # queue -> uniqueid -> join time (callers waiting now)
        self.waiting: dict[str, dict[str, float]] = {}
        # queue -> interface -> member record
        self.members: dict[str, dict[str, dict]] = {}
        # interface -> time the last call ended (wrap-up runs from it)
        self.last_end: dict[str, float] = {}
        # uniqueid -> [first join, answered?, abandoned?]  (dedupe for ALL)
        self.calls: dict[str, list] = {}
        # the calls changed and forgotten since the last calls_delta(): a store that keeps the
        # calls apart (RedisStore: a hash) writes only these, not all of CALL_MEMORY's calls
        self.touched: set[str] = set()
        self.gone: set[str] = set()
        self.events = 0
        self.last_ts = 0.0
        # "kind|queue|uniqueid" -> time: what was counted lately, so that an event that comes twice
        # (live and again from queue_log after an AMI gap, queues/queue_log.py) counts once
        self.counted: dict[str, float] = {}
        # where a start's queue_log replay begins (load: RESTORE_MARGIN before the state's last event)
        self.replay_after = 0.0

    # ------------------------------------------------------------------ feed
    def _bucket(self, queue: str, ts: float) -> dict[str, float]:
        hour = int(ts // 3600)
        per_q = self.buckets.get(queue)
        if per_q is None:
            per_q = self.buckets[queue] = {}
        b = per_q.get(hour)
        if b is None:
            b = per_q[hour] = dict.fromkeys(_COUNTERS, 0.0)
        return b

    def apply(self, ev: dict, now: float | None = None) -> None:
        """Apply one AMI event (a dict of its headers).  Unknown events are ignored."""
        name = ev.get("Event")
        handler = _HANDLERS.get(name)
        if handler is None and name not in CALL_EVENTS:
            return
        ts = _f(ev, "Timestamp", now if now is not None else self.last_ts)
        if ts > self.last_ts:
            self.last_ts = ts
        if handler is not None and handler(self, ev, ts) is False:
            return  # counted already: live, then again from queue_log (an AMI gap's replay)
        self.events += 1
        self.figures.apply(str(name), ev, ts)

    def _once(self, kind: str, q: str, uid: str, ts: float) -> bool:
        """True the first time this caller's ``kind`` in queue ``q`` is seen (within DEDUPE_SECONDS)."""
        key = f"{kind}|{q}|{uid}"
        if key in self.counted:
            return False
        self.counted[key] = ts
        return True

    def _join(self, ev, ts):
        q, uid = ev.get("Queue", ""), ev.get("Uniqueid", "")
        if not self._once("join", q, uid, ts):
            return False
        self.waiting.setdefault(q, {})[uid] = ts
        self._bucket(q, ts)["offered"] += 1
        if uid not in self.calls:
            self.calls[uid] = [ts, False, False]
            self.touched.add(uid)
            self._bucket(ALL, ts)["offered"] += 1

    def _leave(self, ev, ts):
        q, uid = ev.get("Queue", ""), ev.get("Uniqueid", "")
        self.waiting.get(q, {}).pop(uid, None)

    def _abandon(self, ev, ts):
        q, uid = ev.get("Queue", ""), ev.get("Uniqueid", "")
        self.waiting.get(q, {}).pop(uid, None)
        if not self._once("abandon", q, uid, ts):
            return False
        self._bucket(q, ts)["abandoned"] += 1
        call = self.calls.get(uid)
        if call is not None and not call[1] and not call[2]:
            call[2] = True
            self.touched.add(uid)
            self._bucket(ALL, ts)["abandoned"] += 1

    def _connect(self, ev, ts):
        q, uid = ev.get("Queue", ""), ev.get("Uniqueid", "")
        self.waiting.get(q, {}).pop(uid, None)
        if not self._once("connect", q, uid, ts):
            return False
        hold = _f(ev, "HoldTime")
        b = self._bucket(q, ts)
        b["answered"] += 1
        b["wait_answered"] += hold
        if hold <= self.sl:
            b["answered_sl"] += 1
        call = self.calls.get(uid)
        if call is None:  # joined before we were watching: count it from here
            call = self.calls[uid] = [ts - hold, False, False]
            self._bucket(ALL, ts - hold)["offered"] += 1
        if not call[1]:
            call[1] = True
            self.touched.add(uid)
            wait = max(hold, ts - call[0])  # from the first join, across overflows
            a = self._bucket(ALL, ts)
            a["answered"] += 1
            a["wait_answered"] += wait
            if wait <= self.sl:
                a["answered_sl"] += 1
        member = self.members.get(q, {}).get(_member_key(ev))
        if member is not None:
            member["incall"] = True

    def _complete(self, ev, ts):
        q = ev.get("Queue", "")
        if not self._once("complete", q, ev.get("Uniqueid", ""), ts):
            return False
        talk = _f(ev, "TalkTime")
        for key in (q, ALL):
            b = self._bucket(key, ts)
            b["talk"] += talk
            b["completed"] += 1
        iface = _member_key(ev)
        self.last_end[iface] = ts
        for members in self.members.values():
            m = members.get(iface)
            if m is not None:
                m["incall"] = False

    def _member(self, ev, ts):
        q, iface = ev.get("Queue", ""), _member_key(ev)
        members = self.members.setdefault(q, {})
        m = members.get(iface)
        if m is None:
            m = members[iface] = {
                "name": "",
                "penalty": 0,
                "status": "0",
                "paused": False,
                "reason": "",
                "incall": False,
                "since": ts,
                "wrapup": 0.0,
            }
        m["name"] = ev.get("MemberName") or ev.get("Name") or m["name"] or iface
        if "Penalty" in ev:
            m["penalty"] = int(_f(ev, "Penalty"))
        if "Status" in ev:
            m["status"] = str(ev["Status"])
        if "Paused" in ev:
            paused = str(ev["Paused"]) in ("1", "true", "yes")
            if paused != m["paused"]:
                m["since"] = ts
            m["paused"] = paused
            m["reason"] = ev.get("PausedReason", ev.get("Reason", "")) if paused else ""
        if "InCall" in ev:
            m["incall"] = str(ev["InCall"]) == "1"
        if "Wrapuptime" in ev:
            m["wrapup"] = _f(ev, "Wrapuptime")
        last_call = _f(ev, "LastCall")
        if last_call > self.last_end.get(iface, 0.0):
            self.last_end[iface] = last_call

    def _member_removed(self, ev, ts):
        self.members.get(ev.get("Queue", ""), {}).pop(_member_key(ev), None)

    def _params(self, ev, ts):
        self.members.setdefault(ev.get("Queue", ""), {})
        self.waiting.setdefault(ev.get("Queue", ""), {})

    def _entry(self, ev, ts):
        # QueueStatus: a caller waiting now; Wait = seconds waited so far
        q, uid = ev.get("Queue", ""), ev.get("Uniqueid", "")
        joined = ts - _f(ev, "Wait")
        self.waiting.setdefault(q, {})[uid] = joined
        if uid not in self.calls:
            # it joined while we were not watching: count it as offered now (and its ENTERQUEUE,
            # should an AMI gap's queue_log replay bring it after this, not again)
            self.counted[f"join|{q}|{uid}"] = joined
            self.calls[uid] = [joined, False, False]
            self.touched.add(uid)
            self._bucket(q, joined)["offered"] += 1
            self._bucket(ALL, joined)["offered"] += 1

    # ------------------------------------------------------------- restart
    def begin_resync(self) -> None:
        """Before replaying QueueStatus: live state (waiting, members) is rebuilt from it."""
        self.waiting = {}
        self.members = {}

    def prune(self, now: float) -> None:
        oldest = int(now // 3600) - KEEP_HOURS
        for per_q in self.buckets.values():
            for h in [h for h in per_q if h < oldest]:
                del per_q[h]
        old = [u for u, c in self.calls.items() if now - c[0] >= CALL_MEMORY]
        for u in old:
            del self.calls[u]
        self.gone.update(old)
        self.touched.difference_update(old)
        # relative to the last event applied, which stands still while AMI is away: the gap's replay
        # still finds what was counted just before it
        self.counted = {k: t for k, t in self.counted.items() if self.last_ts - t < DEDUPE_SECONDS}
        self.figures.prune(now)

    def calls_delta(self) -> tuple[dict[str, list], list[str]]:
        """The calls changed (uid -> record) and forgotten since the last call; then none."""
        changed = {u: self.calls[u] for u in self.touched if u in self.calls}
        gone = sorted(self.gone)
        self.touched, self.gone = set(), set()
        return changed, gone

    def untake(self, changed: dict[str, list], gone: list[str]) -> None:
        """A delta that was not written: taken again by the next calls_delta()."""
        self.touched.update(u for u in changed if u in self.calls)
        self.gone.update(u for u in gone if u not in self.calls)

    def dump(self, with_calls: bool = True) -> dict:
        """The whole state; ``with_calls`` False: without the calls (kept apart, see calls_delta)."""
        out = self._dump()
        if not with_calls:
            del out["calls"]
            out["calls_apart"] = True
        return out

    def _dump(self) -> dict:
        return {
            "v": 1,
            "buckets": {q: {str(h): b for h, b in per.items()} for q, per in self.buckets.items()},
            "waiting": self.waiting,
            "members": self.members,
            "last_end": self.last_end,
            "calls": self.calls,
            "wrapup": self.wrapup,
            "events": self.events,
            "last_ts": self.last_ts,
            # what was counted lately: a start replays queue_log from RESTORE_MARGIN before last_ts
            "counted": {k: t for k, t in self.counted.items() if self.last_ts - t < 2 * RESTORE_MARGIN},
            "figures": self.figures.dump(),
        }

    @classmethod
    def load(cls, data: dict | None, **kw) -> Aggregator:
        agg = cls(**kw)
        if not data or data.get("v") != 1:
            return agg
        agg.buckets = {q: {int(h): dict(b) for h, b in per.items()} for q, per in data.get("buckets", {}).items()}
        agg.waiting = {q: dict(w) for q, w in data.get("waiting", {}).items()}
        agg.members = {q: {i: dict(m) for i, m in ms.items()} for q, ms in data.get("members", {}).items()}
        agg.last_end = dict(data.get("last_end", {}))
        agg.calls = {u: list(c) for u, c in data.get("calls", {}).items()}
        if not data.get("calls_apart"):
            agg.touched = set(agg.calls)  # saved inside the state: a store keeping them apart writes them all once
        saved_wrapup = dict(data.get("wrapup", {}))
        saved_wrapup.update(agg.wrapup)
        agg.wrapup = saved_wrapup
        agg.events = int(data.get("events", 0))
        agg.last_ts = float(data.get("last_ts", 0.0))
        if "counted" in data:
            agg.counted = {str(k): float(t) for k, t in data["counted"].items()}
            agg.replay_after = agg.last_ts - RESTORE_MARGIN
        else:  # saved without what it counted lately: from its last event (a line of that second may be lost)
            agg.replay_after = agg.last_ts
        agg.figures.load(data.get("figures"))
        return agg

    # ---------------------------------------------------------------- view


_HANDLERS = {
    "QueueCallerJoin": Aggregator._join,
    "QueueCallerLeave": Aggregator._leave,
    "QueueCallerAbandon": Aggregator._abandon,
    "AgentConnect": Aggregator._connect,
    "AgentComplete": Aggregator._complete,
    "QueueMemberAdded": Aggregator._member,
    "QueueMemberStatus": Aggregator._member,
    "QueueMemberPause": Aggregator._member,
    "QueueMemberPenalty": Aggregator._member,
    "QueueMember": Aggregator._member,  # QueueStatus list entry
    "QueueMemberRemoved": Aggregator._member_removed,
    "QueueParams": Aggregator._params,
    "QueueEntry": Aggregator._entry,
}
EVENTS = frozenset(_HANDLERS) | CALL_EVENTS
# what of these the consumer's AMI user is sent, and which headers it reads: queues/stats_ami.py


def rate(x: float | None) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.1%}"

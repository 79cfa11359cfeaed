"""The platform's call figures (接通率, 15 s service level), per line, per mode and overall.  Pure.

Unlike the per-queue figures (:mod:`queues.stats`: offered = joined a queue), a
call counts from the moment it **reached the platform**: its channel was
created in the public entry context (AMI ``Newchannel`` in ``from-pstn``).  No
dialplan step is added for it: every fact comes from AMI events Asterisk sends
anyway (``Newchannel``, ``QueueCallerJoin``, ``DialBegin``/``DialEnd``,
``AgentConnect``, ``Hangup``), and the route's facts (line, mode, level) from the
``HotlineRouted`` UserEvent the dialplan raises once the route is taken
(``hotline.names.CALL_FACTS``; AMI events carry no channel variables).

A call is *settled* once its outcome is known:

* answered by a 12345 agent (``AgentConnect``), or at a trunk of the map
  (``DialEnd`` with ``DialStatus: ANSWER`` from ``route-dial`` or the IVR's
  transfer): the department seats, the sub-center, the province; kind from the
  trunk's ``kind`` in the map;
* abandoned: the caller hung up first; the stage is where the call was:
  ``routing`` (before a route was taken), ``ivr`` (greeting, menus, hot
  answers: the Stasis app), ``announcement`` (the transition announcement or a
  prompt before the queue or the target), ``queue`` (waiting for an agent),
  ``target`` (ringing the seats / sub-center / province);
* refused: a number that is never integrated (``route-hangup``: 110, 119 ...):
  not offered, counted apart.

A sub-center's own records (``collect_records``, :meth:`CallFigures.record`)
are settled calls too, of their line and mode.

Figures (over settled calls; calls still in progress are shown apart):

* offered = settled calls that reached the platform (refused ones excluded);
* answered = answered by a person, anywhere (agents, seats, sub-center, province);
* answer rate = answered / offered;
* service level = answered within ``sl`` seconds **of arrival** / offered;
* ASA = mean seconds from arrival to answer.

Counters live in hourly buckets of the call's arrival (UTC hour index) per key
``*`` (overall), ``line:<number>`` and ``mode:<mode>``; the alert window keeps
running counts in 10 s slots (:mod:`queues.stats_window`): reading it does not
walk the window's calls.
"""

from __future__ import annotations

from collections.abc import Iterable

from hotline.names import ROUTED_EVENT, parse_call_facts
from queues.sizing import TARGET_ANSWER_RATE
from queues.stats_consts import ALL, KEEP_HOURS, SL_SECONDS, sum_buckets
from queues.stats_window import SlidingCounts

ENTRY_CONTEXT = "from-pstn"  # extensions.conf.j2: where a citizen's call enters the platform
TRUNK_CONTEXTS = frozenset({"route-dial", "hotline-ivr-transfer"})  # contexts that Dial() a trunk
REFUSED_CONTEXTS = frozenset({"route-hangup"})
ROUTING_CONTEXTS = frozenset({ENTRY_CONTEXT, "hotline-inbound", "hotline-static", "route-overflow"})
IVR_CONTEXTS = frozenset({"route-ivr"})

ANSWERED_BY = ("agent", "seats", "subcenter", "province", "other")
STAGES = ("routing", "ivr", "announcement", "queue", "target", "other")
_COUNTERS = (
    "offered",
    "answered",
    "answered_sl",
    "wait_answered",
    "refused",
    *(f"by_{k}" for k in ANSWERED_BY),
    *(f"ab_{s}" for s in STAGES),
)
RECENT_MEMORY = 24 * 3600  # the longest alert window
CALL_MEMORY = 6 * 3600  # forget an unsettled call after this (a lost Hangup)


def routed_facts(ev: dict) -> dict[str, str] | None:
    """The route's facts of a ``HotlineRouted`` UserEvent (``HOTLINE_ORIGIN``: ..., set ones), else None."""
    if ev.get("UserEvent") != ROUTED_EVENT:
        return None
    return parse_call_facts(str(ev.get("Facts", "")))


def endpoint_of(channel: str) -> str:
    """``PJSIP/seats-12350-0000002a`` -> ``seats-12350``."""
    tech_rest = channel.partition("/")[2] or channel
    name, sep, _ = tech_rest.rpartition("-")
    return name if sep else tech_rest


def figures_of(tot: dict[str, float]) -> dict:
    """The figures of summed counters."""
    offered, answered = int(tot["offered"]), int(tot["answered"])
    abandoned = {s: int(tot[f"ab_{s}"]) for s in STAGES}
    return {
        "offered": offered,
        "answered": answered,
        "answered_by": {k: int(tot[f"by_{k}"]) for k in ANSWERED_BY},
        "abandoned": sum(abandoned.values()),
        "abandoned_by": abandoned,
        "refused": int(tot["refused"]),
        "answered_within_sl": int(tot["answered_sl"]),
        "answer_rate": answered / offered if offered else None,
        "service_level": tot["answered_sl"] / offered if offered else None,
        "asa": tot["wait_answered"] / answered if answered else None,
    }


def window_alerts(figures: dict[str, dict], target: float, min_calls: int) -> dict[tuple[str, str], tuple[float, int]]:
    """Which (scope, figure) are under ``target`` in the window: ``{(scope, figure): (value, offered)}``.

    A scope with fewer than ``min_calls`` settled calls is not judged (one
    abandoned call out of two is no trend)."""
    out: dict[tuple[str, str], tuple[float, int]] = {}
    for scope, fig in figures.items():
        if fig["offered"] < max(1, min_calls):
            continue
        for name in ("answer_rate", "service_level"):
            value = fig[name]
            if value is not None and value < target:
                out[(scope, name)] = (value, fig["offered"])
    return out


class CallFigures:
    """Per-call facts -> settled calls -> hourly counters.  ``apply(name, ev, ts)`` per AMI event."""

    def __init__(
        self,
        trunks: dict[str, str] | None = None,
        sl_seconds: float = SL_SECONDS,
        target: float = TARGET_ANSWER_RATE,
        window: float = 3600.0,
        min_calls: int = 20,
    ):
        """``trunks``: trunk name -> kind (``seats``/``subcenter``/``province``), from the map."""
        self.trunks = dict(trunks or {})
        self.sl = sl_seconds
        self.target = target
        self.window = window
        self.min_calls = min_calls
        self.buckets: dict[str, dict[int, dict[str, float]]] = {}
        self.live: dict[str, dict] = {}  # uniqueid -> the call while it lasts
        self.recent = SlidingCounts(window)  # the window's settled calls, counted per scope
        self._window_memo: tuple = (None, {})  # window_figures' last answer, by (now, recent.version)
        self.modes: dict[str, str] = {}  # line -> the mode its calls carried last
        self.active: dict[str, dict] = {}  # "<scope>|<figure>" -> the alert raised
        self.alert_log: list[dict] = []  # the last raised / cleared alerts (newest last)

    # ------------------------------------------------------------------ feed
    def apply(self, name: str, ev: dict, ts: float) -> None:
        handler = _HANDLERS.get(name)
        if handler is not None:
            handler(self, ev, ts)

    def _call(self, ev: dict) -> dict | None:
        return self.live.get(ev.get("Uniqueid", ""))

    def _routed(self, ev: dict, ts: float) -> None:
        facts = routed_facts(ev)
        call = self._call(ev) if facts is not None else None
        if call is not None:
            for var, key in (("HOTLINE_ORIGIN", "line"), ("HOTLINE_MODE", "mode"), ("HOTLINE_LEVEL", "level")):
                if facts.get(var):
                    call[key] = facts[var]

    def _newchannel(self, ev: dict, ts: float) -> None:
        if ev.get("Context") != ENTRY_CONTEXT:
            return
        uid = ev.get("Uniqueid", "")
        if uid and uid not in self.live:
            dialed = str(ev.get("Exten", "")).lstrip("+")
            self.live[uid] = {"t": ts, "line": dialed, "mode": "", "level": "", "stage": "routing", "done": False}

    def _join(self, ev: dict, ts: float) -> None:
        call = self._call(ev)
        if call is not None and not call["done"]:
            call["stage"] = "queue"

    def _dial_begin(self, ev: dict, ts: float) -> None:
        call = self._call(ev)
        if call is not None and not call["done"] and ev.get("Context") in TRUNK_CONTEXTS:
            call["stage"] = "target"

    def _dial_end(self, ev: dict, ts: float) -> None:
        call = self._call(ev)
        if call is None or call["done"] or ev.get("Context") not in TRUNK_CONTEXTS:
            return
        if ev.get("DialStatus") == "ANSWER":
            kind = self.trunks.get(endpoint_of(ev.get("DestChannel", "")), "other")
            self._settle(call, ts, answered_by=kind if kind in ANSWERED_BY else "other")

    def _connect(self, ev: dict, ts: float) -> None:
        call = self._call(ev)
        if call is not None and not call["done"]:
            self._settle(call, ts, answered_by="agent")

    def _hangup(self, ev: dict, ts: float) -> None:
        call = self._call(ev)
        if call is None:
            return
        self.live.pop(ev.get("Uniqueid", ""), None)
        if call["done"]:
            return
        context = ev.get("Context", "")
        if context in REFUSED_CONTEXTS:
            self._settle(call, ts, refused=True)
            return
        stage = call["stage"]
        if stage not in ("queue", "target"):
            if context in ROUTING_CONTEXTS:
                stage = "routing"
            elif context in IVR_CONTEXTS:
                stage = "ivr"
            elif context.startswith(("route-", "hotline-ivr-")):
                stage = "announcement"  # in the route's context before its queue or target
            else:
                stage = "other"
        self._settle(call, ts, stage=stage)

    # --------------------------------------------------------------- settle
    def _keys(self, line: str, mode: str) -> tuple[str, ...]:
        return (ALL, f"line:{line}", f"mode:{mode or 'unknown'}")

    def _add(self, arrived: float, line: str, mode: str, counts: dict[str, float]) -> None:
        hour = int(arrived // 3600)
        for key in self._keys(line, mode):
            b = self.buckets.setdefault(key, {}).setdefault(hour, dict.fromkeys(_COUNTERS, 0.0))
            for k, v in counts.items():
                b[k] += v

    def _settle(
        self,
        call: dict,
        ts: float,
        answered_by: str | None = None,
        stage: str | None = None,
        refused: bool = False,
    ) -> None:
        call["done"] = True
        self.count(call["t"], call["line"], call["mode"], ts - call["t"], answered_by, stage, refused)

    def count(
        self,
        arrived: float,
        line: str,
        mode: str,
        wait: float,
        answered_by: str | None = None,
        stage: str | None = None,
        refused: bool = False,
    ) -> None:
        """One settled call: answered (``answered_by``) after ``wait`` s, or abandoned at ``stage``, or refused."""
        if mode:
            self.modes[line] = mode
        if refused:
            self._add(arrived, line, mode, {"refused": 1})
            return
        counts: dict[str, float] = {"offered": 1}
        within = False
        if answered_by is not None:
            within = wait <= self.sl
            counts.update(answered=1, wait_answered=max(0.0, wait), answered_sl=1 if within else 0)
            counts[f"by_{answered_by}"] = 1
        else:
            counts[f"ab_{stage or 'other'}"] = 1
        self._add(arrived, line, mode, counts)
        self.recent.add(arrived, self._keys(line, mode), answered_by is not None, within)

    def record(self, rec: dict) -> None:
        """A sub-center's own call (``collect_records``): ``{arrived, line, mode, answered, wait}``."""
        self.count(
            float(rec["arrived"]),
            str(rec["line"]),
            str(rec.get("mode") or "subcenter"),
            float(rec.get("wait") or 0.0),
            answered_by="subcenter" if rec.get("answered") else None,
            stage=None if rec.get("answered") else "target",
        )

    # ------------------------------------------------------------------ view
    def _sum(self, key: str, hours: Iterable[int]) -> dict[str, float]:
        return sum_buckets(self.buckets.get(key, {}), hours, _COUNTERS)

    def window_figures(self, now: float) -> dict[str, dict]:
        """Figures of the calls that arrived in the last ``window`` seconds, per scope (once per
        ``now`` and state: a flush asks twice, for its alerts and for the view)."""
        tots = self.recent.at(now)
        memo = (now, self.recent.version)
        if self._window_memo[0] == memo:
            return self._window_memo[1]
        out = {k: figures_of(_window_counters(t)) for k, t in tots.items()}
        self._window_memo = (memo, out)
        return out

    def check_alerts(self, now: float) -> list[dict]:
        """Raise / clear the window's alerts; returns what changed (each a dict for logs and hooks)."""
        under = window_alerts(self.window_figures(now), self.target, self.min_calls)
        changes = []
        for (scope, figure), (value, offered) in sorted(under.items()):
            key = f"{scope}|{figure}"
            if key not in self.active:
                alert = {
                    "state": "raised",
                    "scope": scope,
                    "figure": figure,
                    "value": round(value, 4),
                    "target": self.target,
                    "offered": offered,
                    "window_minutes": round(self.window / 60, 1),
                    "at": now,
                }
                self.active[key] = alert
                changes.append(alert)
            else:
                self.active[key].update(value=round(value, 4), offered=offered)
        for key in sorted(set(self.active) - {f"{s}|{f}" for s, f in under}):
            raised = self.active.pop(key)
            changes.append({**raised, "state": "cleared", "at": now})
        self.alert_log = (self.alert_log + changes)[-20:]
        return changes

    def view(self, now: float, day_hours: range) -> dict:
        hour = int(now // 3600)
        last24 = range(hour - 23, hour + 1)

        def both(key: str) -> dict:
            return {"today": figures_of(self._sum(key, day_hours)), "last_24h": figures_of(self._sum(key, last24))}

        keys = sorted(self.buckets)
        return {
            "sl_seconds": self.sl,
            "target": self.target,
            "in_progress": sum(1 for c in self.live.values() if not c["done"]),
            "total": both(ALL),
            "lines": [
                {"line": k[5:], "mode": self.modes.get(k[5:], ""), **both(k)} for k in keys if k.startswith("line:")
            ],
            "modes": [{"mode": k[5:], **both(k)} for k in keys if k.startswith("mode:")],
            "window": {
                "minutes": round(self.window / 60, 1),
                "min_calls": self.min_calls,
                "figures": self.window_figures(now),
            },
            "alerts": {"active": list(self.active.values()), "recent": self.alert_log},
        }

    # ---------------------------------------------------------------- state
    def prune(self, now: float) -> None:
        oldest = int(now // 3600) - KEEP_HOURS
        for per in self.buckets.values():
            for h in [h for h in per if h < oldest]:
                del per[h]
        self.live = {u: c for u, c in self.live.items() if now - c["t"] < CALL_MEMORY}
        self.recent.prune(now)

    def dump(self) -> dict:
        return {
            "buckets": {k: {str(h): b for h, b in per.items()} for k, per in self.buckets.items()},
            "live": self.live,
            "window": self.recent.dump(),
            "modes": self.modes,
            "active": self.active,
            "alert_log": self.alert_log,
        }

    def load(self, data: dict | None) -> None:
        if not data:
            return
        self.buckets = {k: {int(h): dict(b) for h, b in per.items()} for k, per in data.get("buckets", {}).items()}
        self.live = {u: dict(c) for u, c in data.get("live", {}).items()}
        self.recent.load(data.get("window"), recent=data.get("recent"), keys=self._keys)  # "recent": before 12-02
        self.modes = dict(data.get("modes", {}))
        self.active = {k: dict(a) for k, a in data.get("active", {}).items()}
        self.alert_log = [dict(a) for a in data.get("alert_log", [])]


def _window_counters(c: list[float]) -> dict[str, float]:
    """A scope's window counts ``[offered, answered, answered_sl]`` as the counters figures_of reads."""
    tot = dict.fromkeys(_COUNTERS, 0.0)
    tot["offered"], tot["answered"], tot["answered_sl"] = c[0], c[1], c[2]
    return tot


_HANDLERS = {
    "Newchannel": CallFigures._newchannel,
    "QueueCallerJoin": CallFigures._join,
    "DialBegin": CallFigures._dial_begin,
    "DialEnd": CallFigures._dial_end,
    "AgentConnect": CallFigures._connect,
    "Hangup": CallFigures._hangup,
    "UserEvent": CallFigures._routed,
}
EVENTS = frozenset(_HANDLERS)
# the headers each handler reads of its event (queues/stats_ami.py READS; tests/unit/test_ami_reads.py)
READS: dict[str, tuple[str, ...]] = {
    "Newchannel": ("Context", "Uniqueid", "Exten"),
    "QueueCallerJoin": ("Uniqueid",),
    "DialBegin": ("Context", "Uniqueid"),
    "DialEnd": ("Context", "Uniqueid", "DialStatus", "DestChannel"),
    "AgentConnect": ("Uniqueid",),
    "Hangup": ("Context", "Uniqueid"),
    "UserEvent": ("UserEvent", "Facts", "Uniqueid"),
}

"""The statistics consumer's Prometheus counters, from the AMI events it receives anyway.

:class:`CallMetrics` watches every event (registered for ``*`` beside the
statistics, :func:`queues.service.serve`) and counts, once per call:

* ``hotline_calls_routed{line, mode, router}``: a citizen's channel (created in
  ``from-pstn``) on its first ``HotlineRouted`` UserEvent (the route's facts, raised
  once the route is taken; ``HOTLINE_ROUTER`` is ``agi`` when FastAGI routed it,
  ``static`` when the fallback dialplan did); the line is ``HOTLINE_ORIGIN`` when
  it is a number of the map, else ``other``;
* ``hotline_fallbacks{kind="routing"}`` for each ``static`` one, and
  ``{kind="ivr"}`` when a channel enters ``hotline-ivr-fallback``
  (extensions_ivr.conf: the IVR app was down or shedding load; its ``HotlineIvrFallback`` UserEvent);
* ``hotline_queue_wait_seconds{queue, outcome}`` from ``AgentConnect`` and
  ``QueueCallerAbandon`` (their ``HoldTime``).

:meth:`CallMetrics.observe` is plain: a dict in, counters out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hotline.metrics import CALLS_ROUTED, FALLBACKS, OTHER_LINE, QUEUE_WAIT_SECONDS, ROUTERS
from hotline.names import IVR_FALLBACK_EVENT
from hotline.policy import NEVER_INTEGRATED
from queues.stats_calls import ENTRY_CONTEXT, routed_facts

# IVR_FALLBACK_EVENT is sent by hotline-ivr-fallback (extensions_ivr.conf.j2): one event on that
# rare path, so that the consumer's AMI user needs no Newexten, the most frequent event of all
MAX_TRACKED = 100_000  # citizens' channels remembered until their Hangup (a lost Hangup must not grow this)
# the headers CallMetrics.observe reads, by event (hotline.ami.LeanManager's ``reads``); of any
# other event it reads Uniqueid (and UserEvent, which only a UserEvent has)
READS: dict[str, tuple[str, ...]] = {
    "Newchannel": ("Context", "Uniqueid"),
    "Hangup": ("Uniqueid",),
    "AgentConnect": ("HoldTime", "Queue", "Uniqueid"),
    "QueueCallerAbandon": ("HoldTime", "Queue", "Uniqueid"),
    "UserEvent": ("UserEvent", "Facts", "Uniqueid"),
}
ALWAYS_READ = ("Uniqueid",)


class CallMetrics:
    def __init__(self, lines: Iterable[str] = (), queues: Iterable[str] = ()):
        """``lines``: the numbers that are a ``line`` label (the map's); ``queues``: the queue names that
        are a ``queue`` label (any other queue is ``other``; empty: every queue name AMI sends)."""
        self.lines = frozenset(lines)
        self.queues = frozenset(queues)
        self.live: dict[str, bool] = {}  # uniqueid of a citizen's channel -> counted as routed yet
        self.ivr_fallbacks: set[str] = set()
        # (metric, labels) -> its child: prometheus_client's labels() locks and checks each time
        self.children: dict[tuple, Any] = {}

    def child(self, metric: Any, *labels: str) -> Any:
        key = (metric, *labels)
        got = self.children.get(key)
        if got is None:
            got = self.children[key] = metric.labels(*labels)
        return got

    # AMI callback (hotline.ami.LeanManager): (manager, event dict)
    def on_event(self, manager, message) -> None:
        self.observe(message)  # hotline.ami.LeanManager hands every event over as a plain dict

    def observe(self, ev: dict) -> None:
        name, uid = ev.get("Event", ""), ev.get("Uniqueid", "")
        if name == "Newchannel":
            if ev.get("Context") == ENTRY_CONTEXT and uid and len(self.live) < MAX_TRACKED:
                self.live.setdefault(uid, False)
            return
        if name == "Hangup":
            self.live.pop(uid, None)
            self.ivr_fallbacks.discard(uid)
            return
        if name in ("AgentConnect", "QueueCallerAbandon"):
            self._wait(ev, "answered" if name == "AgentConnect" else "abandoned")
        if name == "UserEvent" and ev.get("UserEvent") == IVR_FALLBACK_EVENT and uid not in self.ivr_fallbacks:
            if len(self.ivr_fallbacks) < MAX_TRACKED:
                self.ivr_fallbacks.add(uid)
            self.child(FALLBACKS, "ivr").inc()
        self._routed(uid, ev)

    def _routed(self, uid: str, ev: dict) -> None:
        """Count a citizen's call as routed on its first ``HotlineRouted`` UserEvent."""
        if self.live.get(uid) is not False:
            return
        cv = routed_facts(ev)
        if cv is None:
            return
        router = cv.get("HOTLINE_ROUTER", "")
        if router in ROUTERS:
            self.live[uid] = True
            origin = cv.get("HOTLINE_ORIGIN", "")
            line = origin if origin in self.lines else OTHER_LINE
            self.child(CALLS_ROUTED, line, cv.get("HOTLINE_MODE", "") or "unknown", router).inc()
            if router == "static":
                self.child(FALLBACKS, "routing").inc()

    def _wait(self, ev: dict, outcome: str) -> None:
        try:
            hold = float(ev.get("HoldTime", ""))
        except ValueError:
            return
        queue = str(ev.get("Queue", ""))
        if self.queues and queue not in self.queues:
            queue = OTHER_LINE
        self.child(QUEUE_WAIT_SECONDS, queue, outcome).observe(max(0.0, hold))


def label_values(tmap, queue_names: Iterable[str]) -> tuple[frozenset[str], frozenset[str]]:
    """(lines, queues) that may be label values: the map's numbers (12345, its lines, the numbers never
    integrated) and the configured queues."""
    lines = {tmap.hotline.number, *(line.number for line in tmap.lines), *NEVER_INTEGRATED}
    return frozenset(lines), frozenset(queue_names)

"""What the statistics consumer (:mod:`queues.service`) takes from Asterisk's AMI: the events
its own AMI user is sent (``AMI_USER``, manager.conf's ``eventfilter`` lines) and the headers it
reads of each (``READS``, :class:`hotline.ami.LeanManager`'s ``reads``)."""

from __future__ import annotations

from hotline.names import IVR_FALLBACK_EVENT, ROUTED_EVENT, header_filter, user_event_filter
from queues.stats import EVENTS
from queues.stats_calls import ENTRY_CONTEXT, TRUNK_CONTEXTS
from queues.stats_calls import READS as CALL_READS
from queues.stats_metrics import ALWAYS_READ
from queues.stats_metrics import READS as METRIC_READS

# the headers the aggregator's handlers (queues/stats.py ``_HANDLERS``) read of their event
# (hotline.ami.LeanManager's ``reads``: the reader picks those out instead of parsing the event
# whole); a header left out reads as missing: tests/unit/test_ami_reads.py checks them on real
# Asterisk events
_MEMBER_KEY = ("Interface", "Location", "StateInterface", "MemberName")
_MEMBER = (*_MEMBER_KEY, "Queue", "Name", "Penalty", "Status", "Paused", "PausedReason", "Reason")
_MEMBER += ("InCall", "Wrapuptime", "LastCall")
_CALLER = ("Queue", "Uniqueid")
_READS: dict[str, tuple[str, ...]] = {
    "QueueCallerJoin": _CALLER,
    "QueueCallerLeave": _CALLER,
    "QueueCallerAbandon": _CALLER,
    "AgentConnect": (*_CALLER, "HoldTime", *_MEMBER_KEY),
    "AgentComplete": (*_CALLER, "TalkTime", *_MEMBER_KEY),
    **dict.fromkeys(("QueueMemberAdded", "QueueMemberStatus", "QueueMemberPause", "QueueMemberPenalty"), _MEMBER),
    "QueueMember": _MEMBER,
    "QueueMemberRemoved": ("Queue", *_MEMBER_KEY),
    "QueueParams": ("Queue",),
    "QueueEntry": (*_CALLER, "Wait"),
}
# what the statistics consumer reads of each of its events: the aggregator's, the call figures'
# and /metrics' headers (all three see every event), and the Timestamp of each
READS = {
    name: tuple(
        dict.fromkeys(
            ("Timestamp", *_READS.get(name, ()), *CALL_READS.get(name, ()), *METRIC_READS.get(name, ()), *ALWAYS_READ)
        )
    )
    for name in sorted(EVENTS)
}

# `hotline stats`' own AMI user (rendered into manager.conf by deploy/configure.py): Asterisk sends
# it these events only (``eventfilter``), FullyBooted for the resync after a restart, and two
# UserEvents: the route's facts (HotlineRouted) and the IVR fallback (/metrics,
# queues/stats_metrics.py); the QueueStatus answer is not filtered.  Read: call (channels,
# dials), agent (queues), system (boot).  A Newchannel only in the entry context and a
# DialBegin / DialEnd only in a context that dials a trunk: the only ones the call figures and
# /metrics read (queues/stats_calls.py); the agents' legs and the queue's dials to them are 3 of
# the 14 events of a queue call, 2 KB of its 7.5.
_ONLY_IN = {"Newchannel": (ENTRY_CONTEXT,), "DialBegin": tuple(TRUNK_CONTEXTS), "DialEnd": tuple(TRUNK_CONTEXTS)}
AMI_USER = {
    "events": tuple(
        sorted(
            (EVENTS - {"UserEvent"} - set(_ONLY_IN))
            | {header_filter(name, "Context", c) for name, contexts in _ONLY_IN.items() for c in contexts}
            | {"FullyBooted", user_event_filter(ROUTED_EVENT), user_event_filter(IVR_FALLBACK_EVENT)}
        )
    ),
    "read": "call,agent,system,user",  # user: the UserEvents
    "write": "agent",
}

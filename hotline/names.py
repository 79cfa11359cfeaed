"""Identifiers that cross packages, each with one rule: queue names, dial strings.

The transfer map, the agent registry, the IVR flows and the renderer all name
Asterisk queues and PJSIP endpoints; they all check and build them here.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_plus

# an Asterisk queue name: a section of queues.conf and a Redis key part
QUEUE_NAME_RE = re.compile(r"^[a-z][a-z0-9_\-]{0,39}$")
QUEUE_NAME_RULE = "lower-case ASCII letters, digits, - and _, starting with a letter, at most 40"
# "general" is the [general] section of queues.conf, never a queue
RESERVED_QUEUES = frozenset({"general"})
# the name the map's 12345 queue has when the map does not say
DEFAULT_HOTLINE_QUEUE = "hotline"
# the AstDB key (family/key) the disk guard sets to "off" to stop recording agent calls
RECORDING_SWITCH = "hotline/recording"
# AstDB family/key: the Timestamp of the last AgentConnect `hotline handoff` took (this node's
# Asterisk keeps it, as it keeps the queue_log the hand-off catches up from after a stop)
HANDOFF_MARK = "hotline/handoff_last"
# The call's facts, one string of key=URIENCODE(value) pairs (``o=12349&m=merge&d=...``) that
# the dialplan writes where a consumer reads them, instead of manager.conf ``channelvars`` (which
# copy every listed variable into every channel snapshot: each dialplan step of every call):
#   UserEvent HotlineRouted   once the route is taken (the statistics: line, mode, level, router)
#   UserEvent HotlineAnswered on the agent's channel once it answered ([agent-connected]; the
#                             hand-off: what the draft order says; the variables are inherited)
#   queue_log ENTERQUEUE      Queue()'s URL argument (sent to an agent only over a channel with
#                             HTML, which PJSIP is not): a hand-off that missed the AMI events
# and that AMI Getvar reads back as one EVAL (the hand-off's resync of the calls in progress).
LINKEDID_FACT = "CHANNEL(linkedid)"
CALL_FACTS = (
    ("o", "HOTLINE_ORIGIN"),
    ("m", "HOTLINE_MODE"),
    ("d", "HOTLINE_DEPT"),
    ("l", "HOTLINE_LEVEL"),
    ("r", "HOTLINE_ROUTER"),
    ("f", "HOTLINE_FLAG"),
    ("po", "HOTLINE_PEER_ORDER"),
    ("p", "HOTLINE_PEER"),
    ("n", "HOTLINE_ORDER"),
    # the call's linkedid: the queueing channel's own uniqueid (queue_log's call id) is not it
    # for a callback or any call whose first channel is not the one that queues (a Local ;2)
    ("c", LINKEDID_FACT),
)
_FACT_NAMES = dict(CALL_FACTS)  # short key -> variable
ROUTED_EVENT = "HotlineRouted"
ANSWERED_EVENT = "HotlineAnswered"
# the other UserEvents a consumer reads: hotline-ivr-fallback's (the IVR app was down or shedding
# load: /metrics) and the *0110 emergency linkage's (the hand-off answers it with a Redirect)
IVR_FALLBACK_EVENT = "HotlineIvrFallback"
LINKAGE_EVENT = "HotlineLinkage"


def user_event_filter(name: str) -> str:
    """A consumer's AMI user's event list entry for one UserEvent (manager.conf ``eventfilter``
    on the event's ``UserEvent`` header): it is sent that UserEvent and no other."""
    return f"UserEvent:{name}"


def header_filter(event: str, header: str, value: str) -> str:
    """A consumer's AMI user's event list entry for ``event`` with ``header`` equal to ``value``
    only (manager.conf ``eventfilter(...,header(H),method(exact))``); several entries of one
    event: any of them lets it through.  For an event a consumer reads only in some contexts
    (the statistics: a ``Newchannel`` in the entry context, not the agents' legs)."""
    return f"{event}:{header}={value}"


def event_filter(entry: str) -> tuple[str, str | None, str | None]:
    """An event list entry (a name, :func:`user_event_filter`'s, :func:`header_filter`'s) ->
    (event, header or None, value or None): what manager.conf's ``eventfilter`` line says."""
    event, sep, rest = entry.partition(":")
    if not sep:
        return event, None, None
    header, eq, value = rest.partition("=")
    return (event, header, value) if eq else (event, "UserEvent", rest)


def event_admitted(entries: tuple[str, ...] | list[str], event: dict[str, Any]) -> bool:
    """Whether an AMI user with these event list entries is sent ``event`` (a dict of headers)."""
    for entry in entries:
        name, header, value = event_filter(entry)
        if name == event.get("Event") and (header is None or event.get(header) == value):
            return True
    return False


def call_facts_expression() -> str:
    """The dialplan expression of the call's facts (:data:`CALL_FACTS`)."""
    return "&".join(f"{k}=${{URIENCODE(${{{var}}})}}" for k, var in CALL_FACTS)


def parse_call_facts(text: str) -> dict[str, str]:
    """``o=12349&m=merge&...`` -> ``{"HOTLINE_ORIGIN": "12349", ...}``, the empty ones (unset
    variables) and unknown keys left out."""
    out: dict[str, str] = {}
    for pair in (text or "").split("&"):  # parse_qsl's reading, at a fifth of its cost (two a call)
        key, _, value = pair.partition("=")
        name = _FACT_NAMES.get(key)
        if name is not None and value:
            out[name] = unquote_plus(value) if "%" in value or "+" in value else value
    return out


# a PJSIP endpoint (trunk) name
ENDPOINT_NAME_RE = QUEUE_NAME_RE


def queue_name_problem(name: object) -> str | None:
    """Why ``name`` is not a usable queue name, or None when it is."""
    if not isinstance(name, str) or not QUEUE_NAME_RE.match(name):
        return f"queue name {name!r}: {QUEUE_NAME_RULE}"
    if name in RESERVED_QUEUES:
        return f"queue name {name!r} is reserved: it is the [{name}] section of queues.conf"
    return None


# the queue of a skill's 行业专家 (expert seats, a line's ``expert_seats: true``)
EXPERT_SUFFIX = "-expert"


def expert_queue(skill: str) -> str:
    """The expert queue of ``skill``: gongjijin -> gongjijin-expert."""
    return skill + EXPERT_SUFFIX


def check_queue_name(name: str) -> str:
    """``name`` when it is a usable queue name; ValueError saying why not."""
    problem = queue_name_problem(name)
    if problem:
        raise ValueError(problem)
    return name


def dial_string(trunk: str, number: str) -> str:
    """Dial ``number`` on a trunk's PJSIP endpoint (its AOR is the peer)."""
    return f"PJSIP/{number}@{trunk}"


# An agent's two phones: the desk phone or SIP softphone registers as ``<extension>``,
# the browser softphone of the agent desktop as ``webrtc-<extension>``
# (asterisk_conf/templates/pjsip_webrtc.conf.j2).
WEBRTC_PREFIX = "webrtc-"
DEVICES = ("desk", "browser")


def agent_endpoint(extension: str, device: str = "desk") -> str:
    """The PJSIP endpoint of an agent's ``device`` (one of :data:`DEVICES`)."""
    if device not in DEVICES:
        raise ValueError(f"device {device!r}: one of {', '.join(DEVICES)}")
    return extension if device == "desk" else WEBRTC_PREFIX + extension


def member_interface(endpoint: str) -> str:
    """The queue-member interface of an agent's PJSIP endpoint."""
    return f"PJSIP/{endpoint}"


def transition_prompt(number: str) -> str:
    """Prompt name of a line's transition announcement (过渡期语音提示)."""
    return f"transition-{number}"


def emergency_prompt(number: str) -> str:
    """Prompt name of the refusal played for an emergency number (110, 119 ...)."""
    return f"emergency-{number}"


def unreachable_prompt(trunk: str) -> str:
    """Prompt name of what a caller hears when the peer behind ``trunk`` (the province, a
    sub-center, a department's seats) cannot be reached, before the call comes back to 12345."""
    return f"unreachable-{trunk}"


def linkage_prompt(number: str) -> str:
    """Prompt name of what an IVR caller hears when 12345 cannot connect them to an
    emergency line (no linkage trunk for it, or the trunk did not answer): hang up and dial it."""
    return f"linkage-{number}"

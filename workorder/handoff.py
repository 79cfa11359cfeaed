"""Hand-off from calls: an AMI ``AgentConnect`` event -> the ``calls/answered`` service call.

:func:`answered_body` is pure: it reads the caller's channel ids, the caller number,
the queue, the agent (``MemberName``, else the ``Interface``) and the inherited
``HOTLINE_*`` channel variables.  Variables arrive as ``ChanVariable: NAME=value``
lines (one string, or a list when there are several), as ``DestChanVariable`` for
the agent's leg, or already as plain keys (``HOTLINE_ORIGIN``).  The caller's leg
wins over the agent's; plain keys win over both.

:class:`workorder.client.OrdersClient` posts it to the work-order API.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from hotline.names import LINKEDID_FACT, QUEUE_LOG_FACTS

# `hotline handoff`'s own AMI user (rendered into manager.conf by deploy/configure.py): the
# answered calls, the agents' linkage UserEvent, FullyBooted for the resync after a restart.
# Write: call (Setvar, Redirect, Getvar), reporting (CoreShowChannels, for the resync; DBGet),
# system (DBPut: the mark of the last answer it took, hotline.names.HANDOFF_MARK).
AMI_USER = {
    "events": ("AgentConnect", "FullyBooted", "UserEvent"),
    "read": "agent,user,system",
    "write": "call,reporting,system",
}

VARS = (
    "HOTLINE_ORIGIN",
    "HOTLINE_MODE",
    "HOTLINE_DEPT",
    "HOTLINE_LEVEL",
    "HOTLINE_ORDER",
    "HOTLINE_PEER_ORDER",
    "HOTLINE_PEER",
)


def _chanvars(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if isinstance(raw, dict):
        return {str(k): str(v) for k, v in raw.items()}
    items = raw if isinstance(raw, (list, tuple)) else [raw]
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = str(item).partition("=")
        if sep:
            out[name.strip()] = value.strip()
    return out


def channel_vars(event: dict) -> dict[str, str]:
    out = _chanvars(event.get("DestChanVariable"))
    out.update(_chanvars(event.get("ChanVariable")))
    for name in VARS:
        for key in (name, "__" + name):
            if event.get(key) not in (None, ""):
                out[name] = str(event[key])
    return out


def _agent(event: dict) -> str:
    member = (event.get("MemberName") or "").strip()
    if member:
        return member
    iface = (event.get("Interface") or "").strip()
    # PJSIP/1001 or Local/1001@agents/n -> 1001
    return iface.split("/", 1)[-1].split("@", 1)[0] if iface else ""


def _caller(event: dict) -> str:
    num = (event.get("CallerIDNum") or "").strip()
    return "" if num.lower() in ("<unknown>", "unknown", "anonymous") else num


class NotAnAgentConnect(ValueError):
    pass


def answered_body(event: dict) -> dict[str, str]:
    """The body of ``POST /api/v1/calls/answered`` for an AgentConnect event."""
    if event.get("Event") not in (None, "AgentConnect"):
        raise NotAnAgentConnect(f"not an AgentConnect event: {event.get('Event')!r}")
    uniqueid = (event.get("Uniqueid") or "").strip()
    linkedid = (event.get("Linkedid") or uniqueid).strip()
    if not uniqueid or not linkedid:
        raise NotAnAgentConnect("AgentConnect without Uniqueid/Linkedid")
    v = channel_vars(event)
    body = {
        "uniqueid": uniqueid,
        "linkedid": linkedid,
        "caller": _caller(event),
        "origin": v.get("HOTLINE_ORIGIN") or "",
        "mode": v.get("HOTLINE_MODE") or "direct",
        "department": v.get("HOTLINE_DEPT") or "",
        "agent": _agent(event),
        "queue": (event.get("Queue") or "").strip(),
    }
    # a call from the other level (docs/province.md): its order there, and which platform it is
    if v.get("HOTLINE_PEER_ORDER") and v.get("HOTLINE_PEER"):
        body["peer_order"], body["peer"] = v["HOTLINE_PEER_ORDER"], v["HOTLINE_PEER"]
    return body


def _agent_interface(channel: str) -> str:
    """PJSIP/1001-0000002a -> PJSIP/1001; Local/1001@agents-00000003;1 -> Local/1001@agents."""
    return channel.split(";", 1)[0].rsplit("-", 1)[0]


def resync_events(channels: list[dict]) -> list[dict]:
    """The answered calls a ``CoreShowChannels`` listing shows without their order: an
    AgentConnect-like event each (for :func:`answered_body`), so a call answered while the
    consumer was not connected still gets its draft order.

    A caller's leg is one in the ``Queue`` application, up, in a bridge; its agent is the
    other channel of that bridge.  A call whose caller already carries ``HOTLINE_ORDER``
    was handed off; the API is idempotent by linkedid for the rest."""
    by_bridge: dict[str, list[dict]] = {}
    for ch in channels:
        if ch.get("Event") == "CoreShowChannel" and ch.get("BridgeId"):
            by_bridge.setdefault(str(ch["BridgeId"]), []).append(ch)
    out = []
    for members in by_bridge.values():
        callers = [c for c in members if c.get("Application") == "Queue" and str(c.get("ChannelState")) == "6"]
        for caller in callers:
            if channel_vars(caller).get("HOTLINE_ORDER"):
                continue
            agents = [c for c in members if c is not caller]
            if len(agents) != 1:
                continue  # not a plain caller-agent bridge (a conference): not an answer to hand off
            agent = agents[0]
            out.append(
                {
                    "Event": "AgentConnect",
                    "Channel": caller.get("Channel", ""),
                    "DestChannel": agent.get("Channel", ""),
                    "Uniqueid": caller.get("Uniqueid", ""),
                    "Linkedid": caller.get("Linkedid", ""),
                    "CallerIDNum": caller.get("CallerIDNum", ""),
                    "Queue": str(caller.get("ApplicationData", "")).split(",", 1)[0],
                    "Interface": _agent_interface(str(agent.get("Channel", ""))),
                    "ChanVariable": caller.get("ChanVariable", []),
                    "DestChanVariable": agent.get("ChanVariable", []),
                    "Resync": "yes",
                }
            )
    return out


def queue_log_facts(url: str) -> dict[str, str]:
    """The channel variables a caller's ENTERQUEUE line carries in Queue()'s URL argument
    (``o=12349&m=merge&d=...``, hotline.names.QUEUE_LOG_FACTS), the empty ones left out."""
    names = dict(QUEUE_LOG_FACTS)
    return {names[k]: v for k, v in parse_qsl(url, keep_blank_values=False) if k in names and v}


def queue_log_answers(events, since: float) -> list[dict]:
    """The calls an agent answered (queue_log ``CONNECT``) at ``since`` or later, as AgentConnect-
    like events for :func:`answered_body`, from queue_log's events
    (:func:`queues.queue_log.queue_log_events`): what an AMI gap hid from the hand-off.  The
    caller's number and the route's facts (origin, mode, department, level, peer) come from its
    ``ENTERQUEUE`` (:func:`queue_log_facts`), and so does the call's linkedid (the key the API
    is idempotent by: for a callback the queueing channel, whose uniqueid queue_log has, is a
    Local ;2); a line written without it falls back to that uniqueid."""
    callers: dict[str, tuple[str, dict[str, str]]] = {}
    out = []
    for ev in events:
        uid = str(ev.get("Uniqueid", ""))
        if ev.get("Event") == "QueueCallerJoin":
            callers[uid] = (str(ev.get("CallerIDNum", "")), queue_log_facts(str(ev.get("Url", ""))))
        elif ev.get("Event") == "AgentConnect" and float(ev["Timestamp"]) >= since and uid:
            number, facts = callers.get(uid, ("", {}))
            facts = dict(facts)
            linkedid = facts.pop(LINKEDID_FACT, "") or uid
            out.append({**ev, **facts, "Linkedid": linkedid, "CallerIDNum": number, "Resync": "queue_log"})
    return out

"""Hand-off from calls: an AMI ``AgentConnect`` event -> the ``calls/answered`` service call.

:func:`answered_body` is pure: it reads the caller's channel ids, the caller number,
the queue, the agent (``MemberName``, else the ``Interface``) and the call's facts
(``HOTLINE_*`` as plain keys of the event).  No channel variable travels with AMI events
(manager.conf sets no ``channelvars``: each would be copied into every snapshot of every
channel); the hand-off adds the facts to the event from the ``HotlineAnswered`` UserEvent
the agent's channel raises as it answers, from one ``Getvar`` at a resync, or from queue_log
(``hotline.names.CALL_FACTS``, :func:`call_facts`).

:class:`workorder.client.OrdersClient` posts it to the work-order API.
"""

from __future__ import annotations

from hotline.names import (
    ANSWERED_EVENT,
    CALL_FACTS,
    LINKAGE_EVENT,
    LINKEDID_FACT,
    call_facts_expression,
    parse_call_facts,
    user_event_filter,
)

# `hotline handoff`'s own AMI user (rendered into manager.conf by deploy/configure.py): the
# answered calls, the agents' linkage UserEvent, FullyBooted for the resync after a restart.
# Write: call (Setvar, Redirect, Getvar), reporting (CoreShowChannels, for the resync; DBGet),
# system (DBPut: the mark of the last answer it took, hotline.names.HANDOFF_MARK).
AMI_USER = {
    "events": ("AgentConnect", "FullyBooted", user_event_filter(ANSWERED_EVENT), user_event_filter(LINKAGE_EVENT)),
    "read": "agent,user,system",
    "write": "call,reporting,system",
}

FACTS = tuple(var for _, var in CALL_FACTS if var != LINKEDID_FACT)
FACTS_EVAL = f"EVAL({call_facts_expression()})"  # a Getvar of the facts: the dialplan's same string


def channel_vars(event: dict) -> dict[str, str]:
    """The call's facts an event carries as plain keys (``HOTLINE_ORIGIN``), set ones only."""
    return {name: str(event[name]) for name in FACTS if event.get(name) not in (None, "")}


def call_facts(text: str) -> dict[str, str]:
    """The facts of a ``HotlineAnswered`` UserEvent, a Getvar's EVAL or an ENTERQUEUE URL
    (``hotline.names.CALL_FACTS``), the call's linkedid left out."""
    facts = parse_call_facts(text)
    facts.pop(LINKEDID_FACT, None)
    return facts


def facts_getvar(channel: str) -> dict[str, str]:
    """The AMI action that reads a channel's facts in one round trip (EVAL of the same string)."""
    return {"Action": "Getvar", "Channel": channel, "Variable": FACTS_EVAL}


def answered_facts(event: dict) -> tuple[str, dict[str, str]] | None:
    """(agent channel, facts) of a ``HotlineAnswered`` UserEvent, else None."""
    if event.get("UserEvent") != ANSWERED_EVENT or not event.get("Channel"):
        return None
    return str(event["Channel"]), call_facts(str(event.get("Facts", "")))


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
    other channel of that bridge.  The listing has no channel variables: the service reads
    each caller's facts with :func:`facts_getvar` (a call whose caller already carries
    ``HOTLINE_ORDER`` was handed off); the API is idempotent by linkedid for the rest."""
    by_bridge: dict[str, list[dict]] = {}
    for ch in channels:
        if ch.get("Event") == "CoreShowChannel" and ch.get("BridgeId"):
            by_bridge.setdefault(str(ch["BridgeId"]), []).append(ch)
    out = []
    for members in by_bridge.values():
        callers = [c for c in members if c.get("Application") == "Queue" and str(c.get("ChannelState")) == "6"]
        for caller in callers:
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
                    "Resync": "yes",
                }
            )
    return out


def queue_log_answers(events, since: float) -> list[dict]:
    """The calls an agent answered (queue_log ``CONNECT``) at ``since`` or later, as AgentConnect-
    like events for :func:`answered_body`, from queue_log's events
    (:func:`queues.queue_log.queue_log_events`): what an AMI gap hid from the hand-off.  The
    caller's number and the route's facts (origin, mode, department, level, peer) come from its
    ``ENTERQUEUE`` (:func:`call_facts`), and so does the call's linkedid (the key the API
    is idempotent by: for a callback the queueing channel, whose uniqueid queue_log has, is a
    Local ;2); a line written without it falls back to that uniqueid."""
    callers: dict[str, dict[str, str]] = {}  # uniqueid -> what its ENTERQUEUE says
    out = []
    for ev in events:
        uid = str(ev.get("Uniqueid", ""))
        if ev.get("Event") == "QueueCallerJoin":
            url = str(ev.get("Url", ""))
            linkedid = parse_call_facts(url).get(LINKEDID_FACT) or uid
            callers[uid] = {**call_facts(url), "Linkedid": linkedid, "CallerIDNum": str(ev.get("CallerIDNum", ""))}
        elif ev.get("Event") == "AgentConnect" and float(ev["Timestamp"]) >= since and uid:
            joined = callers.get(uid, {"Linkedid": uid, "CallerIDNum": ""})
            out.append({**ev, **joined, "Resync": "queue_log"})
    return out

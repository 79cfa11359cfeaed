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

VARS = ("HOTLINE_ORIGIN", "HOTLINE_MODE", "HOTLINE_DEPT", "HOTLINE_LEVEL", "HOTLINE_ORDER")


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
    return {
        "uniqueid": uniqueid,
        "linkedid": linkedid,
        "caller": _caller(event),
        "origin": v.get("HOTLINE_ORIGIN") or "",
        "mode": v.get("HOTLINE_MODE") or "direct",
        "department": v.get("HOTLINE_DEPT") or "",
        "agent": _agent(event),
        "queue": (event.get("Queue") or "").strip(),
    }

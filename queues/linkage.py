"""An agent's one-key emergency linkage (紧急热线联动, 邯政办字〔2021〕24号: 逐步建立12345热线
与110、119、120、122等紧急热线的联动机制).

During a call the agent presses :data:`queues.config.LINKAGE_CODE` and the number
(``*0110``).  The DTMF feature (features.conf ``applicationmap``, enabled only on
the agents' channels by ``DYNAMIC_FEATURES`` in their endpoints) runs
``hotline-linkage`` (extensions_linkage.conf) on the agent's channel.  A channel
cannot move itself (let alone its peer too) from a feature's subroutine, so that
subroutine only raises the AMI UserEvent ``HotlineLinkage``; the hand-off
consumer (workorder/handoff_service.py) answers it with :func:`linkage_redirect`:
one AMI Redirect with ``ExtraChannel``, which moves both bridged channels at
once.  The caller goes into a ConfBridge of their own, the agent's channel
originates the emergency line into it over its linkage trunk and joins.  The caller and the emergency line are
*marked* users; the agent is not, so the agent may hang up and the other two
stay connected; the conference ends when the last marked user leaves
(``end_marked``, confbridge.conf).

Only numbers with a linkage trunk in the map (trunk kind ``emergency``) get a
feature: :func:`linkage_context` is the pure decision, rendered into the
configuration.  :func:`redirect_action` is the same move as one AMI Redirect,
for the desktop's button.
"""

from __future__ import annotations

from typing import Any

from hotline.names import LINKAGE_EVENT, dial_string
from queues.config import LINKAGE_CODE

FEATURE_PREFIX = "hotline-linkage-"
CONF_CONTEXT = "hotline-linkage-conf"
CONF_PREFIX = "linkage-"  # ConfBridge names: linkage-<digits of the agent channel's uniqueid>


def feature_name(number: str) -> str:
    """The applicationmap feature of ``number`` (also a DYNAMIC_FEATURES item)."""
    return FEATURE_PREFIX + number


def linkage_code(number: str) -> str:
    """What the agent presses during a call to bring ``number`` in: ``*0110``."""
    return LINKAGE_CODE + number


def conference_name(agent_uniqueid: str) -> str:
    """The ConfBridge of one linkage, named after the agent channel that started it."""
    return CONF_PREFIX + "".join(c for c in agent_uniqueid if c.isdigit())


def linkage_context(tmap: Any) -> dict[str, Any]:
    """What features.conf, confbridge.conf, extensions_linkage.conf and the agents'
    endpoints need (pure): one row per emergency number that has a linkage trunk."""
    rows = [
        {
            "number": number,
            "trunk": trunk,
            "dial": dial_string(trunk, number),
            "feature": feature_name(number),
            "code": linkage_code(number),
        }
        for number, trunk in sorted(tmap.linkage_trunks().items())
    ]
    return {
        "linkage": rows,
        "linkage_features": "#".join(r["feature"] for r in rows),
        "linkage_conf_context": CONF_CONTEXT,
        "linkage_code_prefix": LINKAGE_CODE,
        "conf_prefix": CONF_PREFIX,
    }


def _redirect(number: str, conf: str, agent_channel: str, caller_channel: str) -> dict:
    """One AMI Redirect of both bridged channels at once (``ExtraChannel``): Asterisk
    moves the two together, so neither is hung up when the other leaves the bridge."""
    return {
        "Action": "Redirect",
        "Channel": caller_channel,
        "Context": CONF_CONTEXT,
        "Exten": f"c-{conf}",
        "Priority": "1",
        "ExtraChannel": agent_channel,
        "ExtraContext": CONF_CONTEXT,
        "ExtraExten": f"a-{number}-{conf}",
        "ExtraPriority": "1",
    }


def redirect_action(tmap: Any, number: str, agent_channel: str, agent_uniqueid: str, caller_channel: str) -> dict:
    """The AMI Redirect that does what the feature does (pure): the caller into the
    conference as a marked user, the agent into it after dialing ``number``.
    ValueError when ``number`` has no linkage trunk."""
    if number not in tmap.linkage_trunks():
        raise ValueError(f"{number} has no linkage trunk in the transfer map")
    return _redirect(number, conference_name(agent_uniqueid).removeprefix(CONF_PREFIX), agent_channel, caller_channel)


def linkage_redirect(event: dict) -> dict | None:
    """The answer to the feature's ``HotlineLinkage`` UserEvent (pure): the AMI Redirect
    that moves its caller and agent channels into the conference; None for any other
    event or one missing a field.  The dialplan raises the event only for numbers
    with a linkage trunk (the feature exists for no other)."""
    if event.get("Event") != "UserEvent" or event.get("UserEvent") != LINKAGE_EVENT:
        return None
    number, conf = event.get("Number", ""), event.get("Conference", "")
    agent, caller = event.get("AgentChannel", ""), event.get("CallerChannel", "")
    digits = conf.removeprefix(CONF_PREFIX)
    if not (number.isdigit() and conf.startswith(CONF_PREFIX) and digits.isdigit() and agent and caller):
        return None
    return _redirect(number, digits, agent, caller)

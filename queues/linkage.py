"""An agent's one-key emergency linkage (紧急热线联动, 邯政办字〔2021〕24号: 逐步建立12345热线
与110、119、120、122等紧急热线的联动机制).

During a call the agent presses :data:`queues.config.LINKAGE_CODE` and the number
(``*0110``).  The DTMF feature (features.conf ``applicationmap``, enabled only on
the agents' channels by ``DYNAMIC_FEATURES`` in their endpoints) runs
``hotline-linkage`` (extensions_linkage.conf) on the agent's channel: the caller
and the agent are moved into a ConfBridge of their own, and the emergency line
is dialed into it over its linkage trunk.  The caller and the emergency line are
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

from hotline.names import dial_string
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


def redirect_action(tmap: Any, number: str, agent_channel: str, agent_uniqueid: str, caller_channel: str) -> dict:
    """The AMI Redirect that does what the feature does (pure): the caller into the
    conference as a marked user, the agent into it after dialing ``number``.
    ValueError when ``number`` has no linkage trunk."""
    if number not in tmap.linkage_trunks():
        raise ValueError(f"{number} has no linkage trunk in the transfer map")
    conf = conference_name(agent_uniqueid).removeprefix(CONF_PREFIX)
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

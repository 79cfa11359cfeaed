"""Agent login, logout and pause: AMI actions built by pure functions, sent by a thin adapter.

An agent logs in to every queue of their skills (``QueueAdd`` with the skill's
penalty), logs out of all of them (``QueueRemove``), and pauses in all queues
at once (``QueuePause`` without a queue) with a reason that shows in the
statistics, in queue_log and on the wallboard.

The member interface is the PJSIP endpoint of the phone the agent logs in
with: the desk phone (``PJSIP/<extension>``) or the desktop page's browser
softphone (``PJSIP/webrtc-<extension>``), used as the state interface too, so
app_queue sees the phone's device state (registered / ringing / in use)
without polling.  Logout and pause act on the interfaces the agent is logged
in with (the live view's), so they follow whichever phone it chose.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from hotline import ami
from hotline.names import agent_endpoint, member_interface
from hotline.secrets import load_secrets

PAUSE_REASONS = ("break", "lunch", "training", "meeting", "after-call", "other")


def interface(agent: dict, device: str = "desk") -> str:
    return member_interface(agent_endpoint(agent["extension"], device))


def login_actions(agent: dict, queues: list[str] | None = None, device: str = "desk") -> list[dict]:
    """QueueAdd for each skill (or just ``queues``), with the skill's penalty, for ``device``'s phone."""
    iface = interface(agent, device)
    out = []
    for q, penalty in sorted(agent["skills"].items()):
        if queues is not None and q not in queues:
            continue
        out.append(
            {
                "Action": "QueueAdd",
                "Queue": q,
                "Interface": iface,
                "Penalty": str(penalty),
                "MemberName": agent["name"],
                "StateInterface": iface,
                "Paused": "false",
            }
        )
    return out


def logout_actions(agent: dict, queues: list[str] | None = None, interfaces: list[str] | None = None) -> list[dict]:
    """QueueRemove from each skill queue, for each of ``interfaces`` (default: the desk phone)."""
    return [
        {"Action": "QueueRemove", "Queue": q, "Interface": iface}
        for iface in interfaces or [interface(agent)]
        for q in sorted(agent["skills"])
        if queues is None or q in queues
    ]


def pause_actions(agent: dict, paused: bool, reason: str = "", interfaces: list[str] | None = None) -> list[dict]:
    """QueuePause in every queue, for each of ``interfaces`` (default: the desk phone)."""
    out = []
    for iface in interfaces or [interface(agent)]:
        action = {"Action": "QueuePause", "Interface": iface, "Paused": "true" if paused else "false"}
        if paused and reason:
            action["Reason"] = reason
        out.append(action)
    return out


def pause_action(agent: dict, paused: bool, reason: str = "") -> dict:
    return pause_actions(agent, paused, reason)[0]


# Responses that mean "already so": login twice or logout twice is not an error.
_IDEMPOTENT = ("already there", "not there", "unable to add interface: already")


@dataclass
class ActionResult:
    action: dict
    ok: bool
    message: str


def check_responses(actions: list[dict], responses: list) -> list[ActionResult]:
    out = []
    for action, resp in zip(actions, responses, strict=False):
        first = resp[0] if isinstance(resp, list) and resp else resp
        first = dict(first.items()) if hasattr(first, "items") else dict(first or {})
        msg = first.get("Message", "")
        ok = first.get("Response") == "Success" or any(s in msg.lower() for s in _IDEMPOTENT)
        out.append(ActionResult(action, ok, msg))
    return out


async def login(mgr) -> None:
    """Connect a panoramisk Manager and wait until its Login is answered."""
    await mgr.connect()
    fut = getattr(mgr, "authenticated_future", None)
    while fut is None and not getattr(mgr, "authenticated", False):
        await asyncio.sleep(0.01)  # connection_made runs as a callback of connect()
        fut = getattr(mgr, "authenticated_future", None)
    if fut is not None:
        await fut
    await asyncio.sleep(0)  # let Manager.login() record the result
    if not mgr.authenticated:
        raise ConnectionError("AMI login refused")


async def send_actions(
    settings, actions: list[dict], secrets: dict | None = None, timeout: float = 5.0
) -> list[ActionResult]:
    """Connect to this instance's AMI, send ``actions`` in order, return their results."""

    secrets = secrets or load_secrets(settings.secrets_file)
    mgr = ami.manager(settings, secrets)
    await asyncio.wait_for(login(mgr), timeout)
    try:
        responses = []
        for action in actions:
            # as_list=False: panoramisk takes "Added interface to queue" for the start of a
            # list and would wait for more; these actions answer with one response
            responses.append(await asyncio.wait_for(mgr.send_action(dict(action), as_list=False), timeout))
        return check_responses(actions, responses)
    finally:
        mgr.close()


def run_actions(settings, actions: list[dict], **kw) -> list[ActionResult]:
    return asyncio.run(send_actions(settings, actions, **kw))

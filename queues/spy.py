"""Listen, whisper and barge (监听 / 耳语 / 强插) on an agent's live call: the AMI
``Originate`` that rings a supervisor's phone and, once answered, spies on the
agent's channel.  Pure: plain data in, the action (a dict) out; the route in
``web/pages_wallboard.py`` sends it.

The dialplan it runs is rendered (``extensions_agents.conf.j2``):

* the Originate rings the supervisor's phone, the registry endpoint of the
  extension the account is bound to (``PJSIP/1009``), for ``RING_SECONDS``;
* the answered call runs ``supervisor-spy,<mode>,1``:
  ``ChanSpy(${SPY_TARGET}-,...)`` on the agent's member interface (``PJSIP/1001``)
  followed by ``-``, so ``PJSIP/1001`` never matches ``PJSIP/10010-...``.  The
  options there: ``q`` quiet, ``b`` bridged calls only, ``E`` end when the agent's
  call ends, ``S`` end when there is no call to spy on; whisper adds ``w`` (the
  agent hears the supervisor, the citizen does not), barge ``B`` (both hear).

The supervisor hanging up ends only the spy channel: the citizen and the agent
stay connected (once audio flows on the agent's channel: Asterisk issue #978).
(A ``Local/`` channel ringing desk phone and browser together was
tried: Asterisk 22's ChanSpy on the Local half did not end when the phone hung up.)
"""

from __future__ import annotations

import re

MODES: dict[str, str] = {"listen": "监听", "whisper": "耳语", "barge": "强插"}
SPY_CONTEXT = "supervisor-spy"
RING_SECONDS = 30
# a queue member interface of the registry's endpoints: PJSIP/1001, PJSIP/webrtc-1001
INTERFACE_RE = re.compile(r"^PJSIP/(?:webrtc-)?([1-9][0-9]{2,7})$")
EXTENSION_RE = re.compile(r"^[1-9][0-9]{2,7}$")


class SpyError(ValueError):
    """The request cannot become a spy call (bad mode, interface or extension)."""


def mode_problem(mode: str) -> str | None:
    if mode in MODES:
        return None
    choices = "、".join(f"{m}（{label}）" for m, label in MODES.items())
    return f"方式 {mode!r} 无效：应为 {choices}"


def agent_extension(interface: str) -> str:
    """The extension of a member interface (``PJSIP/webrtc-1001`` -> ``1001``)."""
    m = INTERFACE_RE.match(interface)
    if m is None:
        raise SpyError(f"interface {interface!r}: not an agent's PJSIP endpoint")
    return m.group(1)


def phone(extension: str) -> str:
    """The supervisor's phone for a bound extension: its desk (UDP) endpoint."""
    if not EXTENSION_RE.match(extension):
        raise SpyError(f"extension {extension!r}: 3 to 8 digits, not starting with 0")
    return f"PJSIP/{extension}"


def originate(interface: str, supervisor: str, mode: str) -> dict[str, str]:
    """The AMI ``Originate`` ringing ``supervisor`` (an interface, ``PJSIP/1009``) to
    spy on the agent's ``interface`` (async: answered at once, the phone rings after)."""
    problem = mode_problem(mode)
    if problem:
        raise SpyError(problem)
    agent_ext = agent_extension(interface)
    m = INTERFACE_RE.match(supervisor)
    if m is None:
        raise SpyError(f"interface {supervisor!r}: not a supervisor's PJSIP endpoint")
    if m.group(1) == agent_ext:
        raise SpyError(f"分机 {agent_ext} 是您自己的分机，不能{MODES[mode]}自己")
    return {
        "Action": "Originate",
        "Channel": supervisor,
        "Context": SPY_CONTEXT,
        "Exten": mode,
        "Priority": "1",
        "Timeout": str(RING_SECONDS * 1000),
        "CallerID": f'"{MODES[mode]} {agent_ext}" <{agent_ext}>',
        "Variable": f"SPY_TARGET={interface}",
        "Async": "true",
    }

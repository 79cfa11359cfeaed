"""The routing decision for a dialed number: a pure function, no I/O.

``decide(dialed, caller, now, tmap)`` returns a :class:`Route`.  The FastAGI
``route`` handler (agi/handlers.py) only adapts it onto the channel with
:meth:`Route.channel_vars`; the renderer (asterisk_conf/render.py) calls the
same function at render time to write the static fallback that the dialplan
uses when FastAGI is down.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

GENERAL_QUEUE = "general"
HOTLINE_NUMBER = "12345"


@dataclass(frozen=True)
class Route:
    kind: str  # "queue" | "dial" | "ivr" | "hangup"
    queue: str = GENERAL_QUEUE  # queue to join (kind=queue), or to overflow to (kind=dial)
    target: str = ""  # Dial() string for kind=dial: department seats, sub-center, province trunk
    timeout: int = 0  # seconds to ring target before overflowing to `queue`
    announce: str = ""  # prompt played first, e.g. the transition announcement
    flow: str = ""  # IVR flow name for kind=ivr
    priority: int = 0  # queue priority (overflowed sub-center calls come back higher)
    origin: str = HOTLINE_NUMBER  # the number the citizen dialed
    mode: str = "direct"  # direct (12345 itself) | merge | dual | subcenter
    department: str = ""
    level: str = "city"  # city | province
    reason: str = ""

    def channel_vars(self) -> dict[str, str]:
        """Variables set on the caller's channel.  ``__`` makes Asterisk copy
        them to every channel the call creates (the agent's leg included), so
        origin, mode and department reach the screen pop and the work order."""
        return {
            "HOTLINE_KIND": self.kind,
            "HOTLINE_QUEUE": self.queue,
            "HOTLINE_TARGET": self.target,
            "HOTLINE_TIMEOUT": str(self.timeout),
            "HOTLINE_ANNOUNCE": self.announce,
            "HOTLINE_FLOW": self.flow,
            "HOTLINE_PRIORITY": str(self.priority),
            "__HOTLINE_ORIGIN": self.origin,
            "__HOTLINE_MODE": self.mode,
            "__HOTLINE_DEPT": self.department,
            "__HOTLINE_LEVEL": self.level,
        }


def decide(dialed: str, caller: str, now: datetime, tmap: Any) -> Route:
    """Foundation version: everything goes to the general 12345 queue.

    The transfer-map issue replaces this with the per-mode decision."""
    return Route(kind="queue", queue=GENERAL_QUEUE, origin=dialed or HOTLINE_NUMBER,
                 reason="12345 general queue")

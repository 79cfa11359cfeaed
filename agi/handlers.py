"""FastAGI handlers: thin adapters from an AGI session to pure decisions.

``route`` is the one Python round trip on a call's path: it asks
:func:`agi.routing.decide` where the dialed number goes and sets the answer
on the channel in a single ``MSet``.  The map it decides with is the
process's state (:mod:`agi.service`): always a validated map, never none.
"""

from __future__ import annotations

import logging
from datetime import datetime

from agi import routing
from agi.server import AGISession
from hotline.log import event

log = logging.getLogger("agi.route")


async def route(session: AGISession) -> None:
    dialed, caller = session.dialed, session.caller
    tmap = session.state["tmap"]
    r = routing.decide(dialed, datetime.now(tmap.calendar.tz), tmap)
    values = r.channel_vars()
    values["__HOTLINE_ROUTER"] = "agi"
    await session.set_variables(values)
    event(
        log,
        "route",
        caller=caller,
        dialed=dialed,
        mode=r.mode,
        kind=r.kind,
        queue=r.queue,
        target=r.target,
        department=r.department,
        reason=r.reason,
        uniqueid=session.env.get("agi_uniqueid", ""),
    )


HANDLERS = {"route": route}

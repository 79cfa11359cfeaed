"""FastAGI handlers: thin adapters from an AGI session to pure decisions.

``route`` is the one Python round trip on a call's path: it asks
:func:`agi.routing.decide` where the dialed number goes and sets the answer
on the channel in a single ``MSet``.  The transfer map is loaded at start-up
and re-read in the background when the file changes (or on SIGHUP); a bad
map is refused whole and the last good one stays in force.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path

from agi import routing
from agi.server import AGISession
from hotline.log import event

log = logging.getLogger("agi.route")


def make_state(settings) -> dict:
    """Per-process state: the current map, and how to reload it."""
    state: dict = {"settings": settings, "tmap": None, "map_mtime": None}

    def reload() -> None:
        path = Path(settings.transfer_map)
        try:
            mtime = path.stat().st_mtime
        except OSError:
            mtime = None
        try:
            from hotline.transfer_map import load_map
        except ImportError:
            state["map_mtime"] = mtime
            return
        try:
            state["tmap"] = load_map(path)
            event(log, "transfer map loaded", path=str(path))
        except Exception as exc:  # ConfigError: keep the last good map
            event(log, "transfer map rejected, keeping the last good one", logging.ERROR,
                  path=str(path), problems=str(exc))
        state["map_mtime"] = mtime

    async def watch() -> None:
        while True:
            await asyncio.sleep(2)
            try:
                mtime = Path(settings.transfer_map).stat().st_mtime
            except OSError:
                continue
            if mtime != state["map_mtime"]:
                reload()

    state["reload"] = reload
    state["watch"] = watch
    reload()
    return state


async def route(session: AGISession) -> None:
    dialed, caller = session.dialed, session.caller
    r = routing.decide(dialed, caller, datetime.now().astimezone(), session.state.get("tmap"))
    values = r.channel_vars()
    values["__HOTLINE_ROUTER"] = "agi"
    await session.set_variables(values)
    event(log, "route", caller=caller, dialed=dialed, mode=r.mode, kind=r.kind,
          queue=r.queue, target=r.target, department=r.department, reason=r.reason,
          uniqueid=session.env.get("agi_uniqueid", ""))


HANDLERS = {"route": route}

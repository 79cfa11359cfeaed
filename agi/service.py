"""``hotline agi``: the FastAGI service, and the transfer map it routes with.

At start the service loads the map file.  If the file is refused, it logs
every problem and serves the last accepted map (``settings.accepted_map``,
kept by the deploy layer whenever a map is accepted); if there is neither, it
exits without listening, so Asterisk's static dialplan takes the calls.  A
FastAGI that answers with no map would send every call -- 110 included -- to
the general queue.

While running, the file is re-read when it changes (or on SIGHUP); a refused
map leaves the last good one in force.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from agi.handlers import HANDLERS
from agi.server import FastAGIServer
from hotline import metrics
from hotline.log import event
from hotline.settings import Settings, load_calendar
from hotline.transfer_map import load_map
from hotline.yamlsrc import ConfigError

log = logging.getLogger("agi")


class NoMap(RuntimeError):
    """Neither the map file nor the last accepted map can be served."""


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def initial_map(settings: Settings) -> Any:
    """The map to start with: the file's, else the last accepted one; NoMap when neither loads."""
    calendar = load_calendar(settings)
    path = Path(settings.transfer_map)
    try:
        tmap = load_map(path, calendar=calendar)
        event(log, "transfer map loaded", path=str(path))
        return tmap
    except (ConfigError, OSError) as exc:
        event(log, "transfer map refused at start", logging.ERROR, path=str(path), problems=str(exc))
    accepted = Path(settings.accepted_map)
    try:
        tmap = load_map(accepted, calendar=calendar)
    except (ConfigError, OSError) as exc:
        raise NoMap(
            f"{path} is refused and the last accepted map {accepted} cannot be served ({exc}): "
            "not answering, the static dialplan takes the calls"
        ) from None
    event(log, "serving the last accepted transfer map", logging.WARNING, path=str(accepted))
    return tmap


def make_state(settings: Settings) -> dict[str, Any]:
    """Per-process state: the current map, and how to reload it.  Raises NoMap."""
    state: dict[str, Any] = {
        "settings": settings,
        "tmap": initial_map(settings),
        "map_mtime": _mtime(Path(settings.transfer_map)),
    }

    def reload() -> None:
        path = Path(settings.transfer_map)
        state["map_mtime"] = _mtime(path)
        try:
            state["tmap"] = load_map(path, calendar=load_calendar(settings))
            event(log, "transfer map loaded", path=str(path))
        except (ConfigError, OSError) as exc:
            event(
                log,
                "transfer map rejected, keeping the last good one",
                logging.ERROR,
                path=str(path),
                problems=str(exc),
            )

    async def watch() -> None:
        while True:
            await asyncio.sleep(2)
            if _mtime(Path(settings.transfer_map)) != state["map_mtime"]:
                reload()

    state["reload"] = reload
    state["watch"] = watch
    return state


def add_arguments(p) -> None:
    p.add_argument("--port", type=int, help="port (default: settings.agi_port)")


def run(args, settings: Settings) -> int:
    try:
        state = make_state(settings)
    except NoMap as exc:
        event(log, str(exc), logging.CRITICAL)
        print(f"hotline agi: {exc}", file=sys.stderr)
        return 2
    port = args.port or settings.agi_port

    async def main() -> None:
        server = FastAGIServer(HANDLERS, state)
        srv = await server.serve(settings.bind, port)
        event(log, "FastAGI listening", bind=settings.bind, port=port)
        metrics.serve(metrics.AGI, settings.bind, settings.agi_metrics_port, "agi")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        loop.add_signal_handler(signal.SIGHUP, lambda: state["reload"]())
        watcher = asyncio.create_task(state["watch"]())
        async with srv:
            await stop.wait()
        watcher.cancel()

    asyncio.run(main())
    return 0

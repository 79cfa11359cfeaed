"""``hotline ari``: run the IVR Stasis app (flows, progress query, survey, speech).

Configuration: the settings (ARI port, app name, flows directory, API port),
the secrets (ARI user, the ``ivr`` API token), and a few environment knobs:
``HOTLINE_VOSK_MODEL`` (speech model directory; none: DTMF only),
``HOTLINE_IVR_MAX_CALLS`` / ``HOTLINE_IVR_MAX_LAG`` (load shedding),
``HOTLINE_CALLBACK_DIAL`` / ``HOTLINE_IVR_AHT`` (queue callback).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from ari_apps.app import Capacity, IvrApp, Prompts
from ari_apps.ari import Ari
from ari_apps.callback import Callbacks
from ari_apps.flow import load_dir, map_flows
from ari_apps.speech import Speech
from hotline.calendar import Calendar
from hotline.instance import read_instance_paths
from hotline.log import event
from hotline.secrets import load_secrets
from hotline.settings import load_calendar
from hotline.transfer_map import load_map_for
from hotline.yamlsrc import ConfigError
from workorder.client import OrdersClient

log = logging.getLogger("hotline.ari")


def add_arguments(parser) -> None:
    parser.add_argument("--flows", type=Path, default=None, help="flows directory (default: settings)")
    parser.add_argument("--no-warm", action="store_true", help="do not pre-generate the prompts at start")


def asterisk_dirs(settings) -> tuple[Path | None, str | None, Path | None]:
    """(sounds dir on this host, the same as Asterisk sees it, recordings dir on this host)."""
    try:
        paths = read_instance_paths(settings)
    except (OSError, ValueError, KeyError) as exc:
        event(log, "Asterisk paths unknown: prompts and recordings are off", level=logging.ERROR, error=str(exc)[:200])
        return None, None, None
    return paths.sounds_host, paths.sounds_asterisk, paths.recordings_host


def local_clock(calendar: Calendar) -> Callable[[], datetime]:
    """Wall clock of the hotline (``hours`` nodes), not of the host: the calendar's
    zone, HOTLINE_TIMEZONE (naive local time, as the engine takes it)."""
    return lambda: calendar.now().replace(tzinfo=None)


async def serve(settings, flows_dir: Path, warm: bool = True) -> int:
    for noisy in ("httpx", "httpcore", "websockets", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        calendar = load_calendar(settings)
        tmap = load_map_for(settings)
        flows = load_dir(flows_dir, map_flows(tmap), calendar=calendar)
    except ConfigError as exc:
        for p in exc.problems:
            event(log, "flow problem", level=logging.ERROR, problem=str(p))
        return 1
    secrets = load_secrets(settings.secrets_file)
    ari = Ari(settings.bind, settings.http_port, secrets["ari_user"], secrets["ari_password"], settings.ari_app)
    sounds_host, sounds_ast, recordings = asterisk_dirs(settings)
    prompts = Prompts(sounds_host, sounds_ast)
    if warm:
        n = await asyncio.to_thread(prompts.warm, flows)
        event(log, "prompts ready", prompts=n)
    speech = await asyncio.to_thread(Speech.from_settings, settings)
    app = IvrApp(
        ari,
        flows,
        store=OrdersClient.from_settings(settings),
        speech=speech,
        prompts=prompts,
        capacity=Capacity.from_settings(settings),
        recordings_host=recordings,
        bind=settings.bind,
        callbacks=Callbacks(ari, settings, tmap.hotline.number),
        clock=local_clock(calendar),
        hotline_number=tmap.hotline.number,
    )
    event(log, "ARI app starting", app=settings.ari_app, flows=sorted(flows), speech=speech is not None)
    task = asyncio.create_task(app.run())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    task.cancel()
    await app.set_health(False)
    await ari.close()
    return 0


def run(args, settings) -> int:
    flows_dir = getattr(args, "flows", None) or settings.ivr_flows_dir
    return asyncio.run(serve(settings, flows_dir, warm=not getattr(args, "no_warm", False)))

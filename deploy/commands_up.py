"""hotline up: set up what is missing and run the platform in the foreground."""

from __future__ import annotations

import signal
import time

from deploy import packages
from deploy.asterisk import say
from deploy.platform import Platform, startup_warnings
from hotline.transfer_map import load_map_for
from hotline.yamlsrc import ConfigError
from queues.config import DEMO_AGENTS
from queues.models import Registry
from web.demo import banner as pages_banner
from web.demo import seed_demo_users
from workorder import migrate


def seed_demo_agents(settings) -> None:
    """A fresh install gets agents 1001-1003 (the hotline's skill) so a softphone can log in at once."""
    migrate.upgrade(settings.database_url)  # the registry's table is in the migrations
    registry = Registry(settings.database_url)
    if not registry.all():
        queue = load_map_for(settings).hotline.queue
        for name in DEMO_AGENTS:
            registry.add(f"demo{name}", name, {queue: 0}, display=f"demo agent {name}")
        say(f"agent registry was empty: added demo agents {', '.join(DEMO_AGENTS)} (`hotline agent list`)")


def add_arguments(p) -> None:
    p.add_argument("--no-setup", action="store_true", help="do not install missing packages")


def run(args, settings) -> int:
    if not args.no_setup:
        packages.ensure()
    platform = Platform(settings)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    try:
        for warning in startup_warnings(settings):
            say(warning)
        seed_demo_agents(settings)
        demo_users = seed_demo_users(settings)
        platform.start()
    except (ConfigError, RuntimeError) as exc:
        print(f"hotline up: {exc}")
        platform.stop()
        return 1
    print(platform.banner(), flush=True)
    print(pages_banner(settings, demo_users), flush=True)
    restarts: dict[str, int] = {}
    try:
        while not stopping:
            time.sleep(1)
            for name, proc in list(platform.procs.items()):
                if proc.poll() is None:
                    continue
                platform.procs.pop(name)
                restarts[name] = restarts.get(name, 0) + 1
                if restarts[name] > 5:
                    say(f"service {name} keeps failing; left stopped (see {settings.log_dir / (name + '.log')})")
                    continue
                say(f"service {name} exited ({proc.returncode}); restarting in {2 ** restarts[name]} s")
                time.sleep(2 ** restarts[name])
                platform.start_service(name)
    except KeyboardInterrupt:
        pass
    say("stopping")
    platform.stop()
    return 0

"""hotline up: set up what is missing and run the platform in the foreground."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from deploy import health, packages, supervise
from deploy.asterisk import say
from deploy.demo_peers import DEMO_PEERS, DemoPeers, placeholders, startup_lines
from deploy.platform import Platform, startup_warnings
from hotline import metrics
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
    p.add_argument(
        "--demo-peers",
        action="store_true",
        help="answer the map's loopback placeholder trunks with demo peers (./scripts/run does)",
    )


def run(args, settings) -> int:
    if not args.no_setup:
        packages.ensure()
    platform = Platform(settings)
    peers = DemoPeers(settings) if args.demo_peers else None
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    try:
        for warning in startup_warnings(settings):
            say(warning)
        seed_demo_agents(settings)
        demo_users = seed_demo_users(settings)
        tmap = load_map_for(settings)
        if peers is not None:  # first, so that the trunks' first SIP OPTIONS are answered
            peers.start(tmap)
        platform.start()
        for line in startup_lines(placeholders(tmap), peers is not None, tmap.hotline.number):
            say(line)
    except (ConfigError, RuntimeError) as exc:
        print(f"hotline up: {exc}")
        platform.stop()
        if peers is not None:
            peers.stop()
        return 1
    supervisor = Supervisor(platform, peers)
    supervisor.write()
    metrics.serve(metrics.UP, settings.bind, settings.up_metrics_port, "up")
    # "up" only once every service answers: the first calls must not take the fallback
    say("waiting for every service to answer")
    silent = health.wait_ready(platform.probes(), timeout=READY_TIMEOUT)
    if silent:
        say(f"started, but not answering after {READY_TIMEOUT:.0f} s: {', '.join(silent)} (see `hotline status`)")
    else:
        print(platform.banner(), flush=True)
        print(pages_banner(settings, demo_users), flush=True)
    try:
        while not stopping:
            time.sleep(1)
            supervisor.tick(time.time())
    except KeyboardInterrupt:
        pass
    say("stopping")
    platform.stop()
    if peers is not None:
        peers.stop()
    supervise.state_path(settings.home).unlink(missing_ok=True)
    return 0


READY_TIMEOUT = 60.0


class Supervisor:
    """Restarts what exits, with back-off, never blocking on a wait (:mod:`deploy.supervise`)."""

    def __init__(self, platform: Platform, peers: DemoPeers | None = None):
        self.platform = platform
        self.peers = peers
        now = time.time()
        self.records = {
            name: supervise.started(supervise.Record(name), proc.pid, now)
            for name, proc in self.procs().items()
            if proc is not None
        }

    def procs(self) -> dict[str, subprocess.Popen | None]:
        p = self.platform
        out: dict[str, subprocess.Popen | None] = {
            "redis": p.redis.proc if p.redis else None,
            "asterisk": p.asterisk.proc if p.asterisk else None,
        }
        out.update(p.procs)
        if self.peers is not None and self.peers.found:
            out[DEMO_PEERS] = self.peers.asterisk.proc
        return out

    def write(self) -> None:
        supervise.write_state(self.platform.settings.home, self.records, os.getpid())
        for name, rec in self.records.items():
            metrics.SERVICE_UP.labels(name).set(1 if rec.state == "running" else 0)

    def tick(self, now: float) -> None:
        procs = self.procs()
        changed = False
        for name, rec in list(self.records.items()):
            new = rec
            if rec.state == "running":
                proc = procs.get(name)
                code = None if proc is None else proc.poll()
                if proc is None or code is not None:
                    new = supervise.exited(rec, -1 if code is None else code, now)
                    say(f"{name} exited ({new.last_exit}); {supervise.describe(new, now)}")
                else:
                    new = supervise.healthy(rec, now)
            elif supervise.due(rec, now):
                try:
                    pid = self.restart(name)
                except Exception as exc:  # noqa: BLE001 - a failed start is one more failure
                    new = supervise.exited(supervise.started(rec, 0, now), -1, now)
                    say(f"{name} did not start ({exc}); {supervise.describe(new, now)}")
                else:
                    new = supervise.started(rec, pid, now)
                    metrics.SERVICE_RESTARTS.labels(name).inc()
                    say(f"{name} restarted (pid {pid}, restart {new.restarts})")
            if new != rec:
                self.records[name] = new
                changed = True
        if changed:
            self.write()

    def restart(self, name: str) -> int:
        p = self.platform
        if name == "redis" and p.redis is not None:
            p.redis.start()
            assert p.redis.proc is not None
            return p.redis.proc.pid
        if name == DEMO_PEERS and self.peers is not None:
            self.peers.asterisk.start()
            assert self.peers.asterisk.proc is not None
            return self.peers.asterisk.proc.pid
        if name == "asterisk" and p.asterisk is not None:
            p.asterisk.start()
            assert p.asterisk.proc is not None
            return p.asterisk.proc.pid
        p.start_service(name)
        return p.procs[name].pid

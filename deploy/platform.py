"""The whole platform of one instance: Redis, Asterisk and the Python services.

``Platform`` is what ``hotline up`` runs and what the end-to-end tests start
once per session.  It holds no call state: Asterisk, Redis and the DB do.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from asterisk_conf.render import write
from deploy import health, tls
from deploy.accepted import keep_accepted
from deploy.asterisk import Asterisk, say
from deploy.configure import render_instance
from deploy.procs import reap
from deploy.redis import RedisServer
from hotline import optional_import
from hotline.ami import connect
from hotline.secrets import load_secrets
from hotline.settings import Settings, load_calendar, settings_env
from hotline.transfer_map import date_warnings, load_map_for
from queues.config import FEATURE_CODES, RegistryUnavailable, agents_for_render
from workorder import migrate

# Python services, each `hotline <name>` (the module that runs it); started only if it exists
SERVICE_MODULES = {
    "agi": "agi.service",
    "api": "workorder.api.serve",
    "ari": "ari_apps.main",
    "stats": "queues.stats_cli",
    "handoff": "workorder.handoff_service",
    # deadline warnings, overdue supervision, archiving, the upstream push (heartbeat: hotline status)
    "jobs": "workorder.jobs_cli",
}
SERVICES = tuple(SERVICE_MODULES)


def pid_file(settings: Settings, name: str) -> Path:
    """Where ``hotline up`` notes the process of service ``name`` (read by ``hotline status``)."""
    return settings.home / "run" / f"{name}.pid"


def startup_warnings(settings: Settings) -> list[str]:
    """What time passing made stale (ended transition announcements, holiday data
    running out within 60 days, a provisional year): said by ``hotline up`` and
    ``hotline reload``, never a reason to refuse."""
    calendar = load_calendar(settings)
    return date_warnings(settings.transfer_map, calendar, calendar.today())


class Platform:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.secrets = load_secrets(settings.secrets_file)
        self.asterisk: Asterisk | None = None
        self.redis: RedisServer | None = None
        self.procs: dict[str, subprocess.Popen] = {}

    # configuration ------------------------------------------------------------
    def render(self, tmap=None, agents: list[dict] | None = None) -> dict[str, str]:
        """Validate the map, synthesise the prompts and render.

        Raises ConfigError (bad map) or RegistryUnavailable (the agents cannot
        be read) and then writes nothing.  On success the map is kept as the
        last accepted one (``settings.accepted_map``)."""
        if tmap is None:
            tmap = load_map_for(self.settings)
        files = render_instance(
            self.settings, self.secrets, self.asterisk.paths, tmap, agents=agents, sounds_host=self.asterisk.sounds
        )
        ids = self.asterisk.run_as()
        write(files, self.asterisk.etc, group=None if ids is None else ids[1])
        keep_accepted(self.settings)
        return files

    def reload(self, tmap=None, agents: list[dict] | None = None) -> list[str]:
        """Render and reload dialplan, endpoints and queues. Calls in progress stay up."""
        self.render(tmap=tmap, agents=agents)
        ami = connect(self.settings, self.secrets)
        try:
            out = []
            for module in ("res_pjsip.so", "pbx_config.so", "app_queue.so", "features", "app_confbridge.so"):
                resp = ami.action({"Action": "Reload", "Module": module})[0]
                out.append(f"{module}: {resp.get('Response')} {resp.get('Message', '')}".strip())
            return out
        finally:
            ami.close()
        # the FastAGI server re-reads the map itself when the file changes

    # lifecycle ------------------------------------------------------------------
    def busy_ports(self) -> list[str]:
        """Ports of this instance that something else already holds."""
        s = self.settings
        out = []
        for name, port, kind in (
            ("SIP agents", s.sip_agent_port, socket.SOCK_DGRAM),
            ("SIP trunk", s.sip_trunk_port, socket.SOCK_DGRAM),
            ("AMI", s.ami_port, socket.SOCK_STREAM),
            ("ARI/HTTP", s.http_port, socket.SOCK_STREAM),
            ("WSS softphones", s.wss_port, socket.SOCK_STREAM),
            ("FastAGI", s.agi_port, socket.SOCK_STREAM),
            ("API", s.api_port, socket.SOCK_STREAM),
            ("Redis", s.redis_port, socket.SOCK_STREAM),
        ):
            with socket.socket(socket.AF_INET, kind) as sock:
                if kind == socket.SOCK_STREAM:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind((s.bind, port))
                except OSError:
                    out.append(f"{name} {s.bind}:{port}")
        return out

    def start(self, services: tuple[str, ...] = SERVICES, agents: list[dict] | None = None) -> None:
        s = self.settings
        busy = self.busy_ports()
        if busy:
            raise RuntimeError(
                "already in use: " + ", ".join(busy) + " (another platform running? set HOTLINE_*_PORT, see README)"
            )
        s.log_dir.mkdir(parents=True, exist_ok=True)
        say("starting Redis")
        self.redis = RedisServer(s.redis_port, s.home / "redis", s.redis_host)
        self.redis.start()
        self.asterisk = Asterisk.locate(s)
        self.asterisk.prepare()
        say("rendering the Asterisk configuration")
        self.render(agents=agents)
        say(
            f"starting Asterisk ({'system' if self.asterisk.rootfs is None else 'chroot ' + str(self.asterisk.rootfs)})"
        )
        self.asterisk.start()
        # the schema is at head before any service starts (the API and the jobs both migrate at start)
        migrate.upgrade(s.database_url)
        for name in services:
            self.start_service(name)

    def start_service(self, name: str) -> None:
        if optional_import(SERVICE_MODULES[name]) is None:
            say(f"service {name}: not in this build, skipped")
            return
        log = open(self.settings.log_dir / f"{name}.log", "ab")
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "deploy.cli", name],
            env=settings_env(self.settings),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        pid = pid_file(self.settings, name)
        pid.parent.mkdir(parents=True, exist_ok=True)
        pid.write_text(f"{self.procs[name].pid}\n", encoding="ascii")
        say(f"service {name} started (log: {self.settings.log_dir / (name + '.log')})")

    def stop_service(self, name: str) -> None:
        pid_file(self.settings, name).unlink(missing_ok=True)
        proc = self.procs.pop(name, None)
        if proc and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            reap(proc, 10)

    def wait_port(self, port: int, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                socket.create_connection((self.settings.bind, port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(f"nothing listens on {self.settings.bind}:{port}")

    def probes(self) -> dict:
        """Health probes of what this platform started (:mod:`deploy.health`)."""
        started = {"redis", "asterisk", *self.procs}
        return {n: c for n, c in health.probes(self.settings, self.asterisk).items() if n in started}

    def stop(self) -> None:
        for name in list(self.procs):
            self.stop_service(name)
        if self.asterisk is not None:
            self.asterisk.stop()
        if self.redis is not None:
            self.redis.stop()

    def banner(self) -> str:
        s, sec = self.settings, self.secrets
        try:
            agents = agents_for_render(s, sec)
        except RegistryUnavailable as exc:
            agents = []
            say(str(exc))
        number = load_map_for(s).hotline.number
        lines = [
            "",
            f"{number} hotline platform is up.",
            f"  Agent softphones: register to sip:{s.bind}:{s.sip_agent_port} (UDP) as one of:",
        ]
        for a in agents[:5]:
            lines.append(f"      user {a['name']}  password {a['password']}")
        lines += [
            f"  Browser softphones: wss://{s.bind}:{s.wss_port}/ws as webrtc-<user>, same password;"
            f" the browser trusts {tls.state_dir(s.home) / 'ca.crt'} (docs/softphone.md)",
            f"  Citizens (PSTN side) dial sip:{number}@{s.bind}:{s.sip_trunk_port}, or a legacy number"
            " such as 12349, 12329, 12313 (see `hotline map show`).",
            f"  Put an agent in the queue:  hotline agent login 1001   (or dial {FEATURE_CODES['login']} from the"
            " softphone)",
            "  A SIPp citizen call:",
            f"      sipp -sf tests/e2e/sipp/citizen_call.xml -s {number} {s.bind}:{s.sip_trunk_port}"
            " -p 5099 -m 1 -key caller 13800138000",
            f"  AMI {s.bind}:{s.ami_port}, ARI http://{s.bind}:{s.http_port}/ari, "
            f"API http://{s.bind}:{s.api_port}/api/v1 (schema: /api/v1/openapi.json, with a token); "
            f"secrets in {s.secrets_file} (mode 0600)",
            f"  Logs: {s.log_dir} and {self.asterisk.log_dir if self.asterisk else ''}",
            "  Stop with Ctrl-C.",
        ]
        return "\n".join(lines)

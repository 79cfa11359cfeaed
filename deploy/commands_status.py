"""hotline status: what runs, how to reach it, and each process's health; exit 3 when one is down.

A service started by ``hotline up`` has a pid file (``<home>/run/<name>.pid``,
:func:`deploy.platform.pid_file`); the background jobs also write a heartbeat
after every pass (``<home>/jobs.heartbeat.json``, :mod:`workorder.jobs_cli`),
so status tells a job that runs from one that fails or hangs.  The judging is
pure (:func:`service_state`, :func:`jobs_health`) and unit-tested.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from deploy import health, supervise
from deploy.asterisk import Asterisk
from deploy.demo_peers import placeholders
from deploy.platform import SERVICES, pid_file
from hotline import metrics
from hotline.transfer_map import load_map_for
from hotline.yamlsrc import ConfigError
from workorder.jobs_cli import heartbeat_path, read_heartbeat

PROCESSES = ("redis", "asterisk", *SERVICES)  # what `hotline up` runs and supervises
STALE_INTERVALS = 3  # a heartbeat older than this many intervals (plus a grace) is stale
STALE_GRACE = 30.0  # seconds


def add_arguments(p) -> None:
    pass


def service_state(pid: int | None, alive: bool) -> str:
    """``running (pid N)``, ``dead (pid N)`` (started, then exited) or ``stopped`` (never started here)."""
    if pid is None:
        return "stopped"
    return f"{'running' if alive else 'dead'} (pid {pid})"


def jobs_health(beat: dict[str, Any] | None, now: datetime) -> tuple[str, str]:
    """(state, detail) of the background jobs from their heartbeat.  Pure.

    States: ``no pass yet``, ``ok``, ``push failing`` (the pass ran, the upstream
    refused), ``failed`` (the last pass raised), ``stale`` (no pass for
    :data:`STALE_INTERVALS` intervals: the job hangs or is gone)."""
    if not beat or "at" not in beat:
        return "no pass yet", "the jobs have not written a heartbeat (is the service running?)"
    try:
        at = datetime.fromisoformat(str(beat["at"]))
    except ValueError:
        return "no pass yet", f"unreadable heartbeat time {beat['at']!r}"
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    age = max(0.0, (now - at).total_seconds())
    interval = float(beat.get("interval") or 60.0)
    when = f"last pass {at.astimezone(UTC).isoformat(timespec='seconds')} ({age:.0f} s ago)"
    if age > STALE_INTERVALS * interval + STALE_GRACE:
        return "stale", f"{when}; passes are every {interval:.0f} s"
    if not beat.get("ok"):
        return "failed", f"{when}: {beat.get('error') or 'unknown error'}"
    result = beat.get("result") or {}
    alarms = result.get("alarms") or {}
    parts = ["alarms " + (", ".join(f"{k} {v}" for k, v in sorted(alarms.items())) or "none")]
    parts.append(f"archived {result.get('archived', 0)}")
    push = result.get("push")
    if push is None:
        parts.append("upstream push off (HOTLINE_UPSTREAM_URL not set)")
    else:
        parts.append(f"pushed {push.get('pushed', 0)}, pending {push.get('pending', 0)}")
        if push.get("error"):
            return "push failing", f"{when}: {', '.join(parts)}; upstream: {push['error']}"
    return "ok", f"{when}: {', '.join(parts)}"


def _pid(settings, name: str) -> tuple[int | None, bool]:
    try:
        pid = int(pid_file(settings, name).read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None, False
    return pid, _alive(pid)


def process_lines(settings, now: datetime, asterisk=None) -> list[tuple[str, str, bool]]:
    """(name, line, up) for Redis, Asterisk and every service of ``hotline up``.

    Under ``hotline up`` the supervisor's state file gives PID, uptime, restarts
    and back-off (:mod:`deploy.supervise`); without it (services started one by
    one) the pid files do.  Each line ends with the process's health: its port
    or CLI answering, the jobs' heartbeat."""
    sup_pid, records = supervise.read_state(settings.home)
    supervised = sup_pid is not None and _alive(sup_pid)
    checks = health.probes(settings, asterisk)
    wall = now.timestamp()
    out = []
    extra = [n for n in records if n not in PROCESSES] if supervised else []  # e.g. the demo peers
    for name in (*PROCESSES, *extra):
        rec = records.get(name) if supervised else None
        if rec is not None:
            alive = rec.state == "running" and rec.pid is not None and _alive(rec.pid)
            state = supervise.describe(rec, wall) if alive or rec.state != "running" else f"dead (pid {rec.pid})"
        elif name in SERVICES:
            pid, alive = _pid(settings, name)
            state = service_state(pid, alive)
        else:  # Redis and Asterisk started by hand or by the tests: only their answer tells
            alive = name in checks and checks[name]()
            state = "running" if alive else "stopped"
        up = alive
        notes = []
        if alive and name in checks:
            answers = checks[name]()
            up = answers
            notes.append("answering" if answers else "NOT answering")
        if name == "jobs":
            jstate, detail = jobs_health(read_heartbeat(heartbeat_path(settings)), now)
            notes.append(f"{jstate}: {detail}")
            up = up and jstate != "stale"
        line = f"  {name:<8} {state}" + ("; " + "; ".join(notes) if notes else "")
        out.append((name, line, up))
    return out


def service_lines(settings, now: datetime, asterisk=None) -> list[str]:
    """One line per process (:func:`process_lines`)."""
    return [line for _, line, _ in process_lines(settings, now, asterisk)]


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie (exited, not yet reaped by its parent)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace").rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc: existing is all we can tell
    return state not in ("Z", "X")


_CONTACT_LINE = re.compile(r"^\s*Contact:\s+([^/\s]+)/(\S+)\s+\S+\s+(\S+)(?:\s+([\d.]+))?", re.M)


def contact_states(cli: str) -> dict[str, tuple[str, str]]:
    """``pjsip show contacts`` -> {aor: (status, rtt ms)}.  Pure."""
    out = {}
    for m in _CONTACT_LINE.finditer(cli):
        if m.group(1) != "<Aor":
            out[m.group(1)] = (m.group(3), m.group(4) or "")
    return out


def trunk_lines(tmap, states: dict[str, tuple[str, str]] | None) -> list[str]:
    """One line per trunk: its contact, whether SIP OPTIONS reach it, and whether it is a
    loopback placeholder (:mod:`deploy.demo_peers`).  ``states`` None: Asterisk is not running."""
    marks = {p.trunk for p in placeholders(tmap)}
    out = []
    for name, trunk in sorted(tmap.trunks.items()):
        if states is None:
            reach = "unknown (Asterisk not running)"
        elif not trunk.qualify:
            reach = "not probed (qualify: 0)"
        else:
            status, rtt = states.get(name, ("no contact", ""))
            reach = {"Avail": f"reachable ({rtt} ms)", "Unavail": "UNREACHABLE"}.get(status, status)
        note = "; loopback placeholder" if name in marks else ""
        out.append(f"  {name:<16} {trunk.kind:<9} {trunk.contact}  {reach}{note}")
    return out


def run(args, settings) -> int:
    ast = Asterisk.locate(settings, install=False)
    located = ast.rootfs is not None or bool(ast.exe)
    running = located and ast.running()
    print(f"home:      {settings.home}")
    print(f"asterisk:  {'system' if ast.rootfs is None else 'chroot ' + str(ast.rootfs)}")
    if running:
        print(ast.rx("core show channels count").strip())
    print("processes:")
    report = process_lines(settings, datetime.now(UTC), ast if located else None)
    for _, line, _ in report:
        print(line)
    try:
        tmap = load_map_for(settings)
    except ConfigError as exc:
        print(f"trunks: the map does not load: {exc}")
    else:
        print("trunks:")
        states = contact_states(ast.rx("pjsip show contacts")) if running else None
        for line in trunk_lines(tmap, states):
            print(line)
    print(f"SIP agents {settings.bind}:{settings.sip_agent_port}  trunk {settings.bind}:{settings.sip_trunk_port}")
    print(
        f"AMI {settings.bind}:{settings.ami_port}  ARI {settings.bind}:{settings.http_port}  "
        f"AGI {settings.bind}:{settings.agi_port}  API {settings.bind}:{settings.api_port}"
    )
    ports = {"agi": settings.agi_metrics_port, "stats": settings.stats_metrics_port, "up": settings.up_metrics_port}
    print(f"metrics:   {metrics.targets(settings.bind, ports)}")
    down = [name for name, _, up in report if not up]
    if down:
        print(f"DOWN: {', '.join(down)}")
        return 3
    return 0

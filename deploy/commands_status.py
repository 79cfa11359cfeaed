"""hotline status: what runs, how to reach it, and each service's health.

A service started by ``hotline up`` has a pid file (``<home>/run/<name>.pid``,
:func:`deploy.platform.pid_file`); the background jobs also write a heartbeat
after every pass (``<home>/jobs.heartbeat.json``, :mod:`workorder.jobs_cli`),
so status tells a job that runs from one that fails or hangs.  The judging is
pure (:func:`service_state`, :func:`jobs_health`) and unit-tested.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from deploy.asterisk import Asterisk
from deploy.platform import SERVICES, pid_file
from workorder.jobs_cli import heartbeat_path, read_heartbeat

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
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return pid, False
    except PermissionError:
        return pid, True
    return pid, True


def service_lines(settings, now: datetime) -> list[str]:
    """One line per service of ``hotline up``; the jobs with their last pass."""
    out = []
    for name in SERVICES:
        pid, alive = _pid(settings, name)
        line = f"  {name:<8} {service_state(pid, alive)}"
        if name == "jobs":
            state, detail = jobs_health(read_heartbeat(heartbeat_path(settings)), now)
            line += f"; {state}: {detail}"
        out.append(line)
    return out


def run(args, settings) -> int:
    ast = Asterisk.locate(settings, install=False)
    up = ast.rootfs is not None or ast.exe
    running = bool(up) and ast.running()
    print(f"home:      {settings.home}")
    print(
        f"asterisk:  {'running' if running else 'stopped'} "
        f"({'system' if ast.rootfs is None else 'chroot ' + str(ast.rootfs)})"
    )
    if running:
        print(ast.rx("core show channels count").strip())
    print("services:")
    for line in service_lines(settings, datetime.now(UTC)):
        print(line)
    print(f"SIP agents {settings.bind}:{settings.sip_agent_port}  trunk {settings.bind}:{settings.sip_trunk_port}")
    print(
        f"AMI {settings.bind}:{settings.ami_port}  ARI {settings.bind}:{settings.http_port}  "
        f"AGI {settings.bind}:{settings.agi_port}  API {settings.bind}:{settings.api_port}"
    )
    return 0 if running else 3

"""Is each process of the platform answering?  Probes for ``hotline up`` and ``hotline status``.

A process that runs is not yet one that works: Redis answers ``PING``, Asterisk
its CLI, FastAGI and the API accept connections, the ARI app is registered
with Asterisk (``ari show apps``), the jobs write a heartbeat
(:func:`deploy.commands_status.jobs_health`).  The stats and hand-off
consumers have no port: their process running is their health.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable


def tcp_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        socket.create_connection((host, port), timeout=timeout).close()
        return True
    except OSError:
        return False


def redis_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def probes(settings, asterisk) -> dict[str, Callable[[], bool]]:
    """Name -> probe, for the processes that can be asked (the others: running = healthy)."""
    b = settings.bind
    out: dict[str, Callable[[], bool]] = {
        "redis": lambda: redis_answers(settings.redis_host, settings.redis_port),
        "agi": lambda: tcp_answers(b, settings.agi_port),
        "api": lambda: tcp_answers(b, settings.api_port),
    }
    if asterisk is not None:
        out["asterisk"] = lambda: bool(asterisk.rx("core show version", timeout=5).strip())
        out["ari"] = lambda: ari_registered(asterisk, settings.ari_app)
    return out


def ari_registered(asterisk, app: str) -> bool:
    """The Stasis app is connected: Asterisk lists it in ``ari show apps``."""
    listing = asterisk.rx("ari show apps", timeout=5)
    return any(line.strip() == app for line in listing.splitlines())


def wait_ready(checks: dict[str, Callable[[], bool]], timeout: float, step: float = 0.2) -> list[str]:
    """Wait until every check passes; return the names still failing at the deadline."""
    deadline = time.monotonic() + timeout
    pending = dict(checks)
    while pending:
        for name, check in list(pending.items()):
            if check():
                pending.pop(name)
        if not pending or time.monotonic() >= deadline:
            break
        time.sleep(step)
    return sorted(pending)

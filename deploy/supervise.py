"""Supervision of the platform's processes by ``hotline up``.

Each process (Redis, Asterisk and the Python services) has a record; the
decisions over it are pure functions of the record and the clock, so they are
unit-tested without starting anything:

* an exit schedules a restart after a back-off (1, 2, 4, 8, 16 s, capped at
  :data:`BACKOFF_CAP`); the loop never sleeps on it, it checks what is due on
  every tick;
* a process that ran :data:`HEALTHY_AFTER` seconds is healthy again: its
  failure count (the back-off) starts from zero at its next exit;
* after :data:`MAX_FAILURES` exits in a row without a healthy minute, the
  process is ``failing``: it is retried every :data:`FAILING_RETRY` seconds,
  never left stopped for good (a 7x24 platform must come back by itself when
  the cause goes away), and ``hotline status`` says so.

The records are written to ``<home>/run/supervisor.json`` after every change
(:func:`write_state`), which is what ``hotline status`` reads: PID, start time,
restarts and state of each process.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

HEALTHY_AFTER = 60.0  # seconds of running that reset the failure count
MAX_FAILURES = 5  # exits in a row, each within HEALTHY_AFTER of its start, before "failing"
BACKOFF_CAP = 30.0  # seconds
FAILING_RETRY = 300.0  # seconds between tries of a failing process

State = Literal["running", "backoff", "failing", "stopped"]


@dataclass(frozen=True)
class Record:
    name: str
    state: State = "stopped"
    pid: int | None = None
    started_at: float | None = None  # wall clock (time.time()) of the current start
    restarts: int = 0  # starts after the first one, since `hotline up` began
    failures: int = 0  # exits in a row without a healthy minute between them
    next_start: float | None = None  # when a restart is due (state backoff/failing)
    last_exit: int | None = None  # the last exit status


def backoff(failures: int) -> float:
    """Seconds to wait before restarting after the ``failures``-th exit in a row."""
    if failures > MAX_FAILURES:
        return FAILING_RETRY
    return min(BACKOFF_CAP, float(2 ** max(0, failures - 1)))


def started(rec: Record, pid: int, now: float) -> Record:
    """The process was (re)started."""
    again = rec.started_at is not None or rec.last_exit is not None
    return replace(
        rec,
        state="running",
        pid=pid,
        started_at=now,
        next_start=None,
        restarts=rec.restarts + (1 if again else 0),
    )


def exited(rec: Record, status: int, now: float) -> Record:
    """The process exited with ``status``: schedule its restart."""
    ran = now - rec.started_at if rec.started_at is not None else 0.0
    failures = 1 if ran >= HEALTHY_AFTER else rec.failures + 1
    return replace(
        rec,
        state="failing" if failures > MAX_FAILURES else "backoff",
        pid=None,
        failures=failures,
        last_exit=status,
        next_start=now + backoff(failures),
    )


def healthy(rec: Record, now: float) -> Record:
    """A running process past :data:`HEALTHY_AFTER` has its failure count reset."""
    if rec.state == "running" and rec.failures and rec.started_at is not None and now - rec.started_at >= HEALTHY_AFTER:
        return replace(rec, failures=0)
    return rec


def due(rec: Record, now: float) -> bool:
    """Is a restart of this process due?"""
    return rec.state in ("backoff", "failing") and rec.next_start is not None and now >= rec.next_start


def describe(rec: Record, now: float) -> str:
    """One line for people: ``running (pid 42, up 3m05s, 1 restart)``."""
    restarts = f"{rec.restarts} restart{'' if rec.restarts == 1 else 's'}"
    if rec.state == "running":
        return f"running (pid {rec.pid}, up {_duration(now - (rec.started_at or now))}, {restarts})"
    if rec.state in ("backoff", "failing"):
        wait = max(0.0, (rec.next_start or now) - now)
        what = "exited" if rec.state == "backoff" else f"failing ({rec.failures} exits in a row)"
        return f"{what}, status {rec.last_exit}; restart in {_duration(wait)} ({restarts})"
    return f"stopped ({restarts})"


def _duration(seconds: float) -> str:
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


# the state file ---------------------------------------------------------------


def state_path(home: Path) -> Path:
    return Path(home) / "run" / "supervisor.json"


def write_state(home: Path, records: dict[str, Record], supervisor_pid: int) -> None:
    """Replace the state file atomically (a reader never sees half of it)."""
    path = state_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    body = {"pid": supervisor_pid, "services": {n: asdict(r) for n, r in records.items()}}
    tmp.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)


def read_state(home: Path) -> tuple[int | None, dict[str, Record]]:
    """(supervisor pid, records); (None, {}) when there is no readable state file."""
    try:
        body: dict[str, Any] = json.loads(state_path(home).read_text(encoding="utf-8"))
        known = set(Record.__dataclass_fields__)
        records = {n: Record(**{k: v for k, v in r.items() if k in known}) for n, r in dict(body["services"]).items()}
        return int(body["pid"]), records
    except (OSError, ValueError, KeyError, TypeError):
        return None, {}

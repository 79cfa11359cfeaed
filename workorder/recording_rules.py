"""Pure decisions about agent calls' recordings: names, retention, the disk guard.

Plain functions over plain data (no I/O); ``workorder/recordings.py`` applies them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

EXT = ".wav"
# an Asterisk unique id: <epoch>.<sequence>, with the system name in front when asterisk.conf sets one
_ID = r"(?:[A-Za-z0-9_]+-)?\d+\.\d+"
_NAME_RE = re.compile(rf"^(?P<linkedid>{_ID})(?:-(?P<uniqueid>{_ID}))?{re.escape(EXT)}$")


def linkedid_of(name: str) -> str | None:
    """The call (linkedid) a recording file belongs to, None when the name is not one of ours.

    ``<linkedid>.wav`` is the first agent of the call, ``<linkedid>-<uniqueid>.wav`` a further one
    (``[agent-connected]`` in extensions_routes.conf)."""
    m = _NAME_RE.match(name)
    return m.group("linkedid") if m else None


def names_of_call(linkedid: str, names: Iterable[str]) -> list[str]:
    """The recordings of one call among ``names``, the first agent's first."""
    return sorted((n for n in names if linkedid_of(n) == linkedid), key=lambda n: (len(n), n))


def purge_due(files: Iterable[tuple[str, datetime]], now: datetime, retention_days: int) -> list[str]:
    """Names of the recordings (name, time written) older than ``retention_days``; 0 or less keeps all."""
    if retention_days <= 0:
        return []
    limit = now - timedelta(days=retention_days)
    return sorted(name for name, at in files if at < limit and linkedid_of(name) is not None)


@dataclass(frozen=True)
class GuardVerdict:
    record: bool  # may agent calls be recorded now
    changed: bool  # the verdict differs from the current state: switch and alert
    resume_mb: int  # free space at which recording resumes


def resume_threshold(min_free_mb: int) -> int:
    """Recording resumes a fifth above the minimum (at least 1 MB more): no flapping at the edge."""
    return min_free_mb + max(min_free_mb // 5, 1)


def disk_guard(free_mb: float, min_free_mb: int, recording: bool) -> GuardVerdict:
    """Stop recording below ``min_free_mb`` free; resume once back above the resume threshold."""
    resume = resume_threshold(min_free_mb)
    if recording:
        record = free_mb >= min_free_mb
    else:
        record = free_mb >= resume
    return GuardVerdict(record=record, changed=record != recording, resume_mb=resume)

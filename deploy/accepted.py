"""The last accepted transfer map, kept so that a restarted FastAGI never runs without one.

Whenever a map is accepted (validated and rendered into the instance: ``hotline
up``, ``hotline reload``), a copy is written atomically to
``settings.accepted_map``.  The FastAGI service loads the map file at start; if
that file is refused it serves the accepted copy (see :mod:`agi.service`).
"""

from __future__ import annotations

import os
import tempfile

from hotline.settings import Settings


def keep_accepted(settings: Settings) -> None:
    """Copy the map file that was just accepted to ``settings.accepted_map`` (atomic)."""
    data = settings.transfer_map.read_bytes()
    target = settings.accepted_map
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".accepted-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise

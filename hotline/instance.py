"""Where one Asterisk instance keeps the files the services share with it.

The deploy layer knows where the instance lives (a chroot or a system
Asterisk) and writes :class:`InstancePaths` into ``<home>/instance.json`` when
it prepares the instance; the services (the IVR app, the statistics
consumer) read it here instead of asking the deploy layer.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from hotline.settings import Settings


@dataclass(frozen=True)
class InstancePaths:
    sounds_host: Path  # the platform's prompts, as this host sees them
    sounds_asterisk: str  # the same directory, as Asterisk sees it (Playback paths)
    recordings_host: Path  # where ARI's recordings land, on this host
    queue_log: Path  # Asterisk's queue_log, on this host
    calls_host: Path = Path()  # agent calls' recordings (MixMonitor), on this host
    calls_asterisk: str = ""  # the same directory, as Asterisk sees it


def call_recordings_dir(settings: Settings, spool: str) -> str:
    """Where MixMonitor writes the agent calls, as Asterisk sees it: ``HOTLINE_RECORDINGS_DIR``,
    else ``<instance spool>/monitor``."""
    return settings.recordings_dir.rstrip("/") or f"{spool.rstrip('/')}/monitor"


def instance_file(settings: Settings) -> Path:
    return settings.home / "instance.json"


def write_instance_paths(settings: Settings, paths: InstancePaths) -> None:
    """Record the instance's paths (atomic)."""
    target = instance_file(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    data = {k: str(v) for k, v in asdict(paths).items()}
    fd, tmp = tempfile.mkstemp(prefix=".instance-", dir=target.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
    os.replace(tmp, target)


def read_instance_paths(settings: Settings) -> InstancePaths:
    """The instance's paths; FileNotFoundError with a clear message before the
    instance was prepared (``hotline up`` prepares it)."""
    path = instance_file(settings)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{path} is missing: the Asterisk instance has not been prepared (run `hotline up`)"
        ) from None
    return InstancePaths(
        sounds_host=Path(data["sounds_host"]),
        sounds_asterisk=data["sounds_asterisk"],
        recordings_host=Path(data["recordings_host"]),
        queue_log=Path(data["queue_log"]),
        calls_host=Path(data.get("calls_host", "")),
        calls_asterisk=data.get("calls_asterisk", ""),
    )

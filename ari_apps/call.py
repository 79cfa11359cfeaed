"""One call in the Stasis app: its flow, its engine state and its event queue."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from ari_apps import engine as E


@dataclass
class Call:
    id: str
    caller: str
    linkedid: str
    flow_name: str
    queue: asyncio.Queue
    origin: str = ""
    task: asyncio.Task | None = None
    state: E.State | None = None
    playback: str = ""  # current playback id
    playback_token: int = 0
    recording: str = ""
    recording_token: int = 0
    timer: asyncio.TimerHandle | None = None
    listen: asyncio.Task | None = None
    started: float = field(default_factory=time.monotonic)


GONE = object()  # the caller hung up / left Stasis
_GONE = object()

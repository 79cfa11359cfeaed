"""The IVR engine's vocabulary: the actions it asks for and the events it is given (plain data)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Play",
    "Say",
    "StopPlay",
    "Timer",
    "Listen",
    "Lookup",
    "Record",
    "HotList",
    "KbRead",
    "SaveDraft",
    "SaveSurvey",
    "OfferCallback",
    "PlaceCallback",
    "Continue",
    "Hangup",
    "Log",
    "Start",
    "PromptDone",
    "Digit",
    "Timeout",
    "Speech",
    "Looked",
    "Recorded",
    "HotListed",
    "KbAnswer",
    "Saved",
    "Wait",
    "State",
]


# ---------------------------------------------------------------- actions


@dataclass(frozen=True)
class Play:
    """Play prompts in order: each is (prompt name, text) or ("sound:<file>", "")."""

    prompts: tuple[tuple[str, str], ...]
    token: int


@dataclass(frozen=True)
class Say:
    """Play a text made at run time (a work order's status)."""

    text: str
    token: int


@dataclass(frozen=True)
class StopPlay:
    pass


@dataclass(frozen=True)
class Timer:
    seconds: float
    token: int


@dataclass(frozen=True)
class Listen:
    """Recognize speech against ``grammar`` for up to ``seconds``; answer with Speech."""

    grammar: tuple[str, ...]
    seconds: float
    token: int
    node: str


@dataclass(frozen=True)
class Lookup:
    number: str
    last4: str | None
    token: int


@dataclass(frozen=True)
class Record:
    seconds: int
    transcribe: bool
    token: int


@dataclass(frozen=True)
class HotList:
    """Ask the knowledge base for up to ``limit`` hot questions; answer with HotListed."""

    limit: int
    token: int


@dataclass(frozen=True)
class KbRead:
    """Fetch one live entry's published version; answer with KbAnswer."""

    article_id: int
    token: int


@dataclass(frozen=True)
class SaveDraft:
    recording: str
    transcript: str
    token: int


@dataclass(frozen=True)
class SaveSurvey:
    score: int
    token: int


@dataclass(frozen=True)
class OfferCallback:
    """Ask the queue for the estimated wait; answer with Wait(seconds)."""

    queue: str
    token: int


@dataclass(frozen=True)
class PlaceCallback:
    queue: str
    priority: int
    token: int


@dataclass(frozen=True)
class Continue:
    """Leave the app into the dialplan (terminal)."""

    context: str
    exten: str
    variables: Mapping[str, str]


@dataclass(frozen=True)
class Hangup:
    pass


@dataclass(frozen=True)
class Log:
    message: str
    fields: Mapping[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------- events
@dataclass(frozen=True)
class Start:
    variables: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PromptDone:
    token: int


@dataclass(frozen=True)
class Digit:
    digit: str


@dataclass(frozen=True)
class Timeout:
    token: int


@dataclass(frozen=True)
class Speech:
    text: str  # what was recognized ("" for nothing)
    token: int


@dataclass(frozen=True)
class Looked:
    outcome: str  # ok | needs_last4 | not_found | error
    data: Mapping[str, Any]
    token: int


@dataclass(frozen=True)
class Recorded:
    recording: str  # "" if nothing was recorded
    transcript: str
    token: int


@dataclass(frozen=True)
class HotListed:
    ok: bool  # False: the store did not answer
    items: tuple[Mapping[str, Any], ...]  # each with id, version, title, body
    token: int


@dataclass(frozen=True)
class KbAnswer:
    outcome: str  # ok | not_found (no longer live) | error
    data: Mapping[str, Any]
    token: int


@dataclass(frozen=True)
class Saved:
    ok: bool
    data: Mapping[str, Any]
    token: int


@dataclass(frozen=True)
class Wait:
    seconds: float  # estimated wait, -1 if unknown
    token: int


# ------------------------------------------------------------------ state
@dataclass(frozen=True)
class State:
    flow: str
    node: str = ""
    phase: str = ""
    retries: int = 0
    digits: str = ""
    token: int = 0
    vars: Mapping[str, str] = field(default_factory=dict)
    done: bool = False

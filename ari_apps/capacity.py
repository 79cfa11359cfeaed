"""Capacity and prompts of the Stasis app: when to shed load, and the audio it plays."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ari_apps import flow as F
from ari_apps.engine_text import say_name
from asterisk_conf.prompts import ensure_prompt, ensure_prompts
from hotline.log import event

log = logging.getLogger("hotline.ari.app")

FALLBACK_CONTEXT = "hotline-ivr-fallback"
HEALTH_SECONDS = 5  # the dialplan trusts the app this long after each heartbeat
INTERNAL_ARG = "hotline-internal"


@dataclass
class Capacity:
    max_calls: int = 400  # calls in the app at once
    max_event_lag: float = 0.5  # seconds between Asterisk and us
    max_loop_lag: float = 0.25  # seconds our event loop is late
    resume_ratio: float = 0.7  # hysteresis: resume below this share of each limit

    @classmethod
    def from_settings(cls, settings: Any) -> Capacity:
        """HOTLINE_IVR_MAX_CALLS, HOTLINE_IVR_MAX_LAG (hotline.settings)."""
        return cls(max_calls=settings.ivr_max_calls, max_event_lag=settings.ivr_max_lag)


def overloaded(cap: Capacity, calls: int, event_lag_s: float, loop_lag_s: float, shedding: bool) -> bool:
    """Pure: shed new calls?  With hysteresis so we do not flap."""
    k = cap.resume_ratio if shedding else 1.0
    return calls >= cap.max_calls * k or event_lag_s > cap.max_event_lag * k or loop_lag_s > cap.max_loop_lag * k


class Prompts:
    """Flow texts -> audio files (via asterisk_conf.prompts), addressed as Asterisk sees them."""

    def __init__(self, sounds_host: Path | None, sounds_ast: str | None):
        self.host = sounds_host
        self.ast = sounds_ast
        self.cache: dict[str, str | None] = {}
        self.ensure = ensure_prompt
        if sounds_host is None:
            event(log, "sounds dir unknown; prompts are skipped", level=logging.ERROR)

    def _uri(self, path: Path) -> str:
        rel = path.with_suffix("")
        if self.host is not None and self.ast is not None:
            try:
                return "sound:" + self.ast.rstrip("/") + "/" + str(rel.relative_to(self.host))
            except ValueError:
                pass
        return "sound:" + str(rel)

    def uri(self, name: str, text: str) -> str | None:
        if name.startswith("sound:"):
            # a sound named relative to our sounds dir (HOTLINE_ANNOUNCE), as the dialplan does
            snd = name[6:]
            if not snd.startswith("/") and self.ast:
                return f"sound:{self.ast.rstrip('/')}/{snd}"
            return name
        if name in self.cache:
            return self.cache[name]
        uri = None
        if self.ensure is not None and self.host is not None:
            try:
                uri = self._uri(Path(self.ensure(name, text, self.host)))
            except Exception as exc:
                event(log, "prompt generation failed", level=logging.ERROR, prompt=name, error=str(exc)[:200])
        self.cache[name] = uri
        return uri

    def say_uri(self, text: str) -> str | None:
        return self.uri(say_name(text), text)

    def warm(self, flows: dict[str, F.Flow]) -> int:
        """Generate every prompt of the flows now (in parallel), not on the first call."""
        if self.ensure is not None and self.host is not None:
            try:
                for name, path in ensure_prompts(F.all_prompts(flows), self.host, workers=8).items():
                    self.cache[name] = self._uri(Path(path))
            except Exception as exc:
                event(log, "prompt batch failed", level=logging.ERROR, error=str(exc)[:200])
        n = 0
        for name, text in F.all_prompts(flows).items():
            if self.uri(name, text):
                n += 1
        return n

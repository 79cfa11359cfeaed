"""Structured logging with caller numbers masked.

Every log record is one JSON object per line.  Phone numbers never reach a
log in clear: :func:`mask_number` keeps the first three and last four digits
of a long number (``138****5678``) and hides the middle of shorter ones.
Service numbers (12345, 12349, ...) are public and are not masked: pass them
as ``dialed=`` and only ``caller=`` style fields are masked.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

_DIGITS = re.compile(r"\d{7,}")
OUTAGE_LOG_INTERVAL = 30.0  # seconds between two log lines of one dependency's outage (:class:`Outage`)
MASKED_KEYS = frozenset({"caller", "callerid", "phone", "caller_number", "callback_number"})


def mask_number(number: str | None) -> str:
    if not number:
        return ""
    s = str(number)
    if len(s) >= 11:
        return s[:3] + "*" * (len(s) - 7) + s[-4:]
    if len(s) >= 7:
        return s[:2] + "*" * (len(s) - 4) + s[-2:]
    if len(s) > 2:
        return s[0] + "*" * (len(s) - 2) + s[-1]
    return "*" * len(s)


def mask_text(text: str) -> str:
    """Mask every run of 7 or more digits in free text."""
    return _DIGITS.sub(lambda m: mask_number(m.group(0)), text)


class JsonFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__()
        self._second = (-1, "")  # (whole second, its "%Y-%m-%dT%H:%M:%S"): one strftime a second

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second[0]:
            self._second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
        msg = record.getMessage()
        out = {
            "ts": f"{self._second[1]}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": mask_text(msg) if _DIGITS.search(msg) else msg,
        }
        fields = getattr(record, "fields", None)
        if fields:
            for key, value in fields.items():
                if key in MASKED_KEYS:
                    value = mask_number(value)
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def setup_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    # a record's thread, process and caller's frame: nothing here writes them, and looking
    # them up was a fifth of a log line's cost (the logging HOWTO's "Optimization")
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None  # no sys._getframe walk per record
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request at INFO: a second line per hand-off, IVR lookup ... beside our own
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLevelName(level.upper())))


def event(logger: logging.Logger, msg: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log ``msg`` with structured ``fields`` (caller-like keys are masked)."""
    logger.log(level, msg, extra={"fields": fields})


class Outage:
    """One dependency's outage in one service's log: a line when it goes, at most one more per
    ``interval`` seconds while it stays down (with how many failures were not logged), and one
    when it is back.  Pure over the clock: the caller says what happened, :meth:`down` /
    :meth:`up` return whether they logged.

        redis = Outage(log, "redis")
        try: ... ; redis.up()
        except RedisError as exc: redis.down(exc)
    """

    def __init__(
        self,
        logger: logging.Logger,
        what: str,
        interval: float = OUTAGE_LOG_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.log, self.what, self.interval, self.clock = logger, what, interval, clock
        self.since: float | None = None  # when the outage began (None: up)
        self.last_logged = 0.0
        self.unlogged = 0  # failures since the last line

    @property
    def is_down(self) -> bool:
        return self.since is not None

    def down(self, error: BaseException | str) -> bool:
        now = self.clock()
        first = self.since is None
        since = now if self.since is None else self.since
        if not first and now - self.last_logged < self.interval:
            self.unlogged += 1
            return False
        self.since = since
        msg = f"{self.what} unavailable" if first else f"{self.what} still unavailable"
        event(
            self.log,
            msg,
            logging.ERROR,
            dependency=self.what,
            error=mask_text(str(error).splitlines()[0][:300]) if str(error) else type(error).__name__,
            down_for=round(now - since, 1),
            failures_not_logged=self.unlogged,
        )
        self.last_logged, self.unlogged = now, 0
        return True

    def up(self) -> bool:
        if self.since is None:
            return False
        event(self.log, f"{self.what} back", dependency=self.what, down_for=round(self.clock() - self.since, 1))
        self.since, self.unlogged = None, 0
        return True

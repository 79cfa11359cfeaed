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
from typing import Any, TextIO

_DIGITS = re.compile(r"\d{7,}")
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
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": mask_text(record.getMessage()),
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
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def event(logger: logging.Logger, msg: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log ``msg`` with structured ``fields`` (caller-like keys are masked)."""
    logger.log(level, msg, extra={"fields": fields})

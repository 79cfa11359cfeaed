"""A sub-center's call records (设分中心: "相关数据实时向12345热线平台归集"), checked.  Pure.

A line of mode ``subcenter`` with ``collect_records: true`` in the map sends its
own call records to the platform (``POST /api/v1/queues/lines/<number>/records``);
each is counted in the figures of that line (:meth:`queues.stats_calls.CallFigures.record`).
A record that carries the platform's ``linkedid`` (the ``X-Hotline-Linkedid``
header the platform sent with the call) is a call the platform routed to the
sub-center and counted already: it is kept for idempotence, not counted twice.
``collect_records: false`` (or another mode) refuses the line's records.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

RECORD_MAX_AGE = 48 * 3600  # older records are refused: the figures keep 48 h
RECORD_MAX_AHEAD = 300  # clocks differ; a record from further ahead is an error
RECORD_ID_TTL = 72 * 3600  # how long a record id is remembered (idempotence)
MAX_RECORDS = 1000  # per request


class CallRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:\-]*$")]
    arrived: datetime  # when the call reached the sub-center (with its time zone)
    answered: bool
    wait: Annotated[float, Field(ge=0, le=86400)]  # seconds from arrival to the answer (or to the hang-up)
    linkedid: Annotated[str, Field(max_length=64)] = ""  # the platform's call id, for a call it routed


class RecordsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    records: Annotated[list[CallRecord], Field(min_length=1, max_length=MAX_RECORDS)]


def line_problem(line, department: str | None, role: str) -> tuple[int, str] | None:
    """Why these records may not come in for ``line`` (a map ``Line`` or None): (HTTP status, text)."""
    if line is None:
        return 404, "no such line in the transfer map"
    if line.canonical_mode != "subcenter":
        return 409, f"{line.number} is not a sub-center line (mode {line.canonical_mode}): it has no records to collect"
    if not line.collect_records:
        return 409, f"{line.number} has collect_records: false in the transfer map: its records are not collected"
    if role != "admin" and department != line.department:
        return 403, f"only the department {line.department!r} (or an admin) sends the records of {line.number}"
    return None


def record_problem(rec: CallRecord, now: float) -> str | None:
    if rec.arrived.tzinfo is None:
        return f"record {rec.id}: arrived needs a time zone (e.g. 2026-12-02T09:00:00+08:00)"
    t = rec.arrived.timestamp()
    if t < now - RECORD_MAX_AGE:
        return f"record {rec.id}: arrived more than 48 h ago"
    if t > now + RECORD_MAX_AHEAD:
        return f"record {rec.id}: arrived in the future"
    return None


def counted(rec: CallRecord, line: str) -> dict:
    """What the statistics consumer counts for a record."""
    return {
        "arrived": rec.arrived.timestamp(),
        "line": line,
        "mode": "subcenter",
        "answered": rec.answered,
        "wait": rec.wait,
    }

"""Agent calls' recordings: the files MixMonitor writes (``[agent-connected]``), the store's
rows that link them to the orders of their calls, the retention purge and the disk guard.

The decisions are pure (:mod:`workorder.recording_rules`); this module does the I/O: the
recordings directory (``hotline.instance``: ``calls_host``), the database, the AstDB switch
``hotline/recording`` (over AMI) that the dialplan reads before it records.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from hotline.log import event
from hotline.names import RECORDING_SWITCH
from workorder.db import Database
from workorder.models import CallRecording, Order
from workorder.recording_rules import EXT, disk_guard, linkedid_of, names_of_call, purge_due

log = logging.getLogger("workorder.recordings")


@dataclass
class Recordings:
    db: Database
    directory: Path  # where MixMonitor writes, as this host sees it

    def _files(self, pattern: str = f"*{EXT}") -> dict[str, Path]:
        if not self.directory.is_dir():
            return {}
        return {p.name: p for p in self.directory.glob(pattern) if linkedid_of(p.name) is not None}

    def _link(self, files: dict[str, Path]) -> int:
        """Rows for files not yet in the store, each linked to the order of its call (if any yet)."""
        if not files:
            return 0
        added = 0
        with self.db.write() as s:
            rows = {r.name: r for r in s.scalars(select(CallRecording).where(CallRecording.name.in_(list(files))))}
            for name, path in sorted(files.items()):
                try:
                    st = path.stat()
                except FileNotFoundError:
                    continue
                row = rows.get(name)
                if row is None:
                    linkedid = linkedid_of(name) or ""
                    row = CallRecording(
                        name=name,
                        linkedid=linkedid,
                        recorded_at=datetime.fromtimestamp(st.st_mtime, UTC),
                        size=0,
                    )
                    s.add(row)
                    added += 1
                if row.order_id is None:
                    order = s.scalars(select(Order).where(Order.linkedid == row.linkedid)).first()
                    if order is not None:
                        row.order_id, row.agent = order.id, order.agent
                if row.purged_at is None:
                    row.size = st.st_size
        return added

    def sync(self) -> int:
        """Link every recording in the directory (``hotline jobs``); the number of new rows."""
        return self._link(self._files())

    def of_order(self, order_id: int) -> tuple[Order | None, list[CallRecording]]:
        """The order and its recordings (the first agent's first), linking new files of its call."""
        with self.db.read() as s:
            order = s.get(Order, order_id)
        if order is None or not order.linkedid:
            return order, []
        self._link({n: p for n, p in self._files(f"{order.linkedid}*{EXT}").items()})
        with self.db.read() as s:
            rows = list(s.scalars(select(CallRecording).where(CallRecording.order_id == order_id)))
        by_name = {r.name: r for r in rows}
        return order, [by_name[n] for n in names_of_call(order.linkedid, by_name)]

    def path(self, row: CallRecording) -> Path | None:
        """The file of a recording, None once purged (or gone)."""
        p = self.directory / row.name
        return p if row.purged_at is None and p.is_file() else None

    def purge(self, retention_days: int, now: datetime | None = None) -> list[str]:
        """Delete the recordings older than the retention; their rows are marked purged."""
        now = now or datetime.now(UTC)
        files = self._files()
        written = [(n, datetime.fromtimestamp(p.stat().st_mtime, UTC)) for n, p in files.items()]
        due = purge_due(written, now, retention_days)
        if not due:
            return []
        self._link({n: files[n] for n in due})
        for name in due:
            files[name].unlink(missing_ok=True)
        with self.db.write() as s:
            for row in s.scalars(select(CallRecording).where(CallRecording.name.in_(due))):
                row.purged_at = now
        event(log, "recordings purged", count=len(due), retention_days=retention_days)
        return due

    def free_mb(self) -> float:
        return shutil.disk_usage(self.directory).free / 2**20


def recording_on(ami) -> bool:
    """The dialplan's switch (AstDB ``hotline/recording``): on unless it says off."""
    family, key = RECORDING_SWITCH.split("/", 1)
    for msg in ami.action({"Action": "DBGet", "Family": family, "Key": key}):
        if msg.get("Event") == "DBGetResponse":
            return str(msg.get("Val", "")).strip().lower() != "off"
    return True


def guard(recordings: Recordings, min_free_mb: int, ami) -> bool:
    """The disk guard, one pass: turn recording off below ``min_free_mb`` free (an ERROR alert),
    on again once the space is back.  Returns whether calls are recorded now."""
    free = recordings.free_mb()
    on = recording_on(ami)
    verdict = disk_guard(free, min_free_mb, on)
    if verdict.changed:
        family, key = RECORDING_SWITCH.split("/", 1)
        value = "on" if verdict.record else "off"
        ami.action({"Action": "DBPut", "Family": family, "Key": key, "Val": value})
        if verdict.record:
            event(log, "recording resumed: disk space is back", free_mb=round(free), resume_mb=verdict.resume_mb)
        else:
            event(
                log,
                "ALERT recording stopped: the recordings disk is almost full",
                logging.ERROR,
                free_mb=round(free),
                min_free_mb=min_free_mb,
                directory=str(recordings.directory),
            )
    return verdict.record

"""``hotline jobs``: the background job (``hotline up`` runs it as the service ``jobs``).

Each pass: raise warnings before deadlines and supervision records after them
(idempotent), archive orders closed for N days, and push the outbox to the
upstream (province) endpoint if ``--upstream`` / ``HOTLINE_UPSTREAM_URL`` is set; link new
call recordings to their orders, purge those older than ``HOTLINE_RECORDING_RETENTION_DAYS``
and run the disk guard (``HOTLINE_RECORDING_MIN_FREE_MB``; workorder/recordings.py); call the
citizens back whose orders wait for their 回访 (``HOTLINE_REVISIT_*``; workorder/revisit_service.py);
keep each line's calls per day from the call figures (the assessment's 接通率; workorder/line_days.py).
remove the web appeals' photos of orders closed longer than ``HOTLINE_CITIZEN_PHOTO_RETENTION_DAYS``
(workorder/photos.py); every ``HOTLINE_ASTERISK_TRIM_INTERVAL`` seconds, give the memory Asterisk's
allocator kept after a burst of calls back to the system (``malloc trim``).

After every pass the job writes its heartbeat, ``<home>/jobs.heartbeat.json``
(atomically): when the pass ran, whether it succeeded, what it did or the
error, and the interval.  ``hotline status`` reads it.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hotline import ami
from hotline.instance import read_instance_paths
from hotline.log import event
from hotline.secrets import load_secrets
from hotline.settings import local_zone
from workorder.db import Database
from workorder.line_days import days_pass
from workorder.migrate import upgrade
from workorder.outbox import push_pending
from workorder.photos import purge_closed
from workorder.recordings import Recordings, guard
from workorder.revisit import settings_from
from workorder.revisit_service import Dialer, Revisits
from workorder.service import Store

log = logging.getLogger("workorder.jobs")

HEARTBEAT_FILE = "jobs.heartbeat.json"


def heartbeat_path(settings) -> Path:
    """Where the jobs write their last pass (read by ``hotline status``)."""
    return Path(settings.home) / HEARTBEAT_FILE


def write_heartbeat(path: Path, record: dict[str, Any]) -> None:
    """Replace the heartbeat file atomically (a reader never sees half a record)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".jobs-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(record, fh, ensure_ascii=False, default=str)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_heartbeat(path: Path) -> dict[str, Any] | None:
    """The last pass, or None when there is none (or it cannot be read)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def add_arguments(parser) -> None:
    parser.add_argument("--once", action="store_true", help="one pass, then exit")
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between passes")
    parser.add_argument(
        "--upstream", default=None, help="URL the outbox events are POSTed to (default $HOTLINE_UPSTREAM_URL)"
    )
    parser.add_argument("--archive-after-days", type=int, default=30)


def one_pass(
    store, upstream: str = "", archive_after_days: int = 30, token: str | None = None, source: str | None = None
) -> dict:
    out = {"alarms": store.raise_alarms(), "archived": store.archive_closed(archive_after_days)}
    if upstream:
        out["push"] = push_pending(store.db, upstream, token=token, source=source)
    return out


def recordings_pass(settings, recordings: Recordings) -> dict:
    """Link, purge, guard: the recordings' part of a pass."""
    out: dict = {"linked": recordings.sync(), "purged": len(recordings.purge(settings.recording_retention_days))}
    try:
        conn = ami.connect(settings, load_secrets(settings.secrets_file))
    except OSError as exc:  # Asterisk down: no call is being recorded, nothing to switch
        out["guard"] = f"AMI unavailable: {exc}"
        return out
    try:
        out["recording"] = guard(recordings, settings.recording_min_free_mb, conn)
    finally:
        conn.close()
    return out


def photos_pass(settings, store: Store) -> int:
    """The photos of orders closed longer than the retention ago: removed (rows and files)."""
    return purge_closed(store, settings.citizen_photos, settings.citizen_photo_retention_days)


def trim_due(last: float | None, now: float, interval: int) -> bool:
    """Whether Asterisk's heap is due for ``malloc trim`` (``interval`` 0: never)."""
    return interval > 0 and (last is None or now - last >= interval)


def asterisk_trim(settings) -> str:
    """Asterisk's ``malloc trim``: glibc keeps the heap a burst of calls freed (no leak: RSS 352 MiB
    after 2,000 calls at 100/s, 76 MiB once trimmed; docs/benchmarks.md).  Its answer, or why not."""
    try:
        conn = ami.connect(settings, load_secrets(settings.secrets_file))
    except OSError as exc:  # Asterisk down: nothing to trim
        return f"AMI unavailable: {exc}"
    try:
        return conn.command("malloc trim").strip()[:200]
    finally:
        conn.close()


def revisit_dialer(settings, store: Store) -> Dialer:
    """The outbound 回访 dialer of this instance (the settings are checked here: a bad one stops the start)."""
    cfg = settings_from(settings, store.rules.callback_max_tries)

    def connect():
        return ami.connect(settings, load_secrets(settings.secrets_file), events="user")

    return Dialer(Revisits(store, cfg), settings.callback_dial, connect, caller_id=store.cfg.hotline_number)


def _recordings(settings, db: Database) -> Recordings | None:
    try:
        paths = read_instance_paths(settings)
    except FileNotFoundError:
        return None
    return Recordings(db, paths.calls_host) if paths.calls_asterisk else None


def run(args, settings) -> int:
    upgrade(settings.database_url)
    store = Store(Database(settings.database_url))
    recordings = _recordings(settings, store.db)
    dialer = revisit_dialer(settings, store)
    beat = heartbeat_path(settings)
    upstream = args.upstream or settings.upstream_url
    last_trim: float | None = None
    while True:
        record: dict[str, Any] = {"pid": os.getpid(), "interval": args.interval, "upstream": bool(upstream)}
        try:
            out = one_pass(
                store,
                upstream,
                args.archive_after_days,
                token=settings.upstream_token or None,
                source=settings.exchange_source,
            )
            if recordings is not None:
                out["recordings"] = recordings_pass(settings, recordings)
            out["photos_purged"] = photos_pass(settings, store)
            out["revisit"] = dialer.run_pass()
            out["line_days"] = days_pass(settings, store.db, local_zone(), time.time())
            if trim_due(last_trim, time.monotonic(), settings.asterisk_trim_interval):
                out["asterisk_trim"] = asterisk_trim(settings)
                last_trim = time.monotonic()
            event(log, "jobs pass", **{k: v for k, v in out.items()})
            record.update(ok=True, result=out)
        except Exception as exc:
            log.exception("jobs pass failed")
            record.update(ok=False, error=f"{type(exc).__name__}: {exc}"[:500])
        record["at"] = datetime.now(UTC).isoformat()
        try:
            write_heartbeat(beat, record)
        except OSError as exc:
            event(log, "jobs heartbeat not written", logging.ERROR, path=str(beat), error=str(exc))
        if args.once:
            return 0 if record["ok"] else 1
        time.sleep(args.interval)

"""``hotline jobs``: the background job.

Each pass: raise warnings before deadlines and supervision records after them
(idempotent), archive orders closed for N days, and push the outbox to the
upstream (province) endpoint if ``--upstream`` / ``HOTLINE_UPSTREAM_URL`` is set; link new
call recordings to their orders, purge those older than ``HOTLINE_RECORDING_RETENTION_DAYS``
and run the disk guard (``HOTLINE_RECORDING_MIN_FREE_MB``; workorder/recordings.py).
"""

from __future__ import annotations

import logging
import time

from hotline import ami
from hotline.instance import read_instance_paths
from hotline.log import event
from hotline.secrets import load_secrets
from workorder.db import Database
from workorder.migrate import upgrade
from workorder.outbox import push_pending
from workorder.recordings import Recordings, guard
from workorder.service import Store

log = logging.getLogger("workorder.jobs")


def add_arguments(parser) -> None:
    parser.add_argument("--once", action="store_true", help="one pass, then exit")
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between passes")
    parser.add_argument(
        "--upstream", default=None, help="URL the outbox events are POSTed to (default $HOTLINE_UPSTREAM_URL)"
    )
    parser.add_argument("--archive-after-days", type=int, default=30)


def one_pass(store, upstream: str = "", archive_after_days: int = 30, token: str | None = None) -> dict:
    out = {"alarms": store.raise_alarms(), "archived": store.archive_closed(archive_after_days)}
    if upstream:
        out["push"] = push_pending(store.db, upstream, token=token)
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
    while True:
        try:
            out = one_pass(
                store,
                args.upstream or settings.upstream_url,
                args.archive_after_days,
                token=settings.upstream_token or None,
            )
            if recordings is not None:
                out["recordings"] = recordings_pass(settings, recordings)
            event(log, "jobs pass", **{k: v for k, v in out.items()})
        except Exception:
            log.exception("jobs pass failed")
            if args.once:
                return 1
        if args.once:
            return 0
        time.sleep(args.interval)

"""``hotline jobs``: the background job.

Each pass: raise warnings before deadlines and supervision records after them
(idempotent), archive orders closed for N days, and push the outbox to the
upstream (province) endpoint if ``--upstream`` / ``HOTLINE_UPSTREAM_URL`` is set.
"""

from __future__ import annotations

import logging
import time

from hotline.log import event
from workorder.db import Database
from workorder.migrate import upgrade
from workorder.outbox import push_pending
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


def run(args, settings) -> int:
    upgrade(settings.database_url)
    store = Store(Database(settings.database_url))
    while True:
        try:
            out = one_pass(
                store,
                args.upstream or settings.upstream_url,
                args.archive_after_days,
                token=settings.upstream_token or None,
            )
            event(log, "jobs pass", **{k: v for k, v in out.items()})
        except Exception:
            log.exception("jobs pass failed")
            if args.once:
                return 1
        if args.once:
            return 0
        time.sleep(args.interval)

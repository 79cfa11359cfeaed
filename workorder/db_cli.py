"""``hotline db upgrade``: create or migrate the work-order database and seed departments/categories."""

from __future__ import annotations

import sys

from hotline.yamlsrc import ConfigError
from workorder.config import load_all
from workorder.migrate import upgrade


def add_arguments(parser) -> None:
    parser.add_argument("--url", default=None, help="database URL (default: settings.database_url)")
    parser.add_argument("--no-seed", action="store_true", help="do not insert the default departments/categories")


def run(args, settings) -> int:
    try:
        load_all()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    url = args.url or settings.database_url
    upgrade(url, seed=not args.no_seed)
    print(f"database at head: {url.split('@')[-1]}")
    return 0

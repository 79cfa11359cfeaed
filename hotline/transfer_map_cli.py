"""``hotline map check [FILE]``: validate a transfer map, print every problem.

Exit status 0 when the map is valid, 1 when it is rejected (each problem on
its own line as ``file:line:column: message``).  Warnings never reject: a
transition announcement whose last day is past (``file:line:column: warning:
...``; it is no longer played) and holiday data that ends within 60 days.
``--today`` fixes the day both are checked against (default: today).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from hotline.settings import Settings, load_calendar
from hotline.transfer_map import check_file, date_warnings, load_map


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", nargs="?", type=Path, help="map to check (default: the configured transfer_map.yaml)")
    p.add_argument(
        "--today",
        type=date.fromisoformat,
        default=None,
        help="check transition end dates and the holiday data against this day (YYYY-MM-DD)",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    path = args.file or settings.transfer_map
    calendar = load_calendar(settings)
    today = args.today or calendar.today()
    problems = check_file(path, today)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(
            f"{path}: rejected, {len(problems)} problem(s); the running system keeps its last good map", file=sys.stderr
        )
        return 1
    tmap = load_map(path, today, calendar=calendar)
    for warning in date_warnings(path, calendar, today):
        print(warning, file=sys.stderr)
    modes: dict[str, int] = {}
    for line in tmap.lines:
        key = f"{line.canonical_mode}/{line.level}"
        modes[key] = modes.get(key, 0) + 1
    summary = ", ".join(f"{k} {v}" for k, v in sorted(modes.items()))
    print(
        f"{path}: ok, {len(tmap.lines)} numbers ({summary}), {len(tmap.trunks)} trunks, "
        f"{len(tmap.queues)} queues, {len(tmap.departments)} departments"
    )
    return 0

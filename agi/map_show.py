"""``hotline map show [FILE]``: the route every number of the map takes.

One row per number: the mode, level, where the call goes first, where it
overflows and what the caller hears first, computed by the very decision the
FastAGI handler makes (``agi.routing.decide``) at ``--at`` (default: now).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from agi.routing import decide
from hotline.settings import load_calendar
from hotline.transfer_map import load_map
from hotline.yamlsrc import ConfigError


def add_arguments(p) -> None:
    p.add_argument("file", nargs="?", type=Path, help="map (default: the configured transfer_map.yaml)")
    p.add_argument(
        "--at",
        type=datetime.fromisoformat,
        default=None,
        help="decide as of this local time, e.g. 2027-02-07T10:00 (default: now)",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per number")


def rows(tmap: Any, at: datetime) -> list[dict[str, Any]]:
    out = []
    for number in [tmap.hotline.number] + [ln.number for ln in tmap.lines]:
        r = decide(number, at, tmap)
        line = tmap.line(number)
        out.append(
            {
                "number": number,
                "name": line.name if line else tmap.hotline.name,
                "department": r.department,
                "mode": r.mode,
                "level": r.level,
                "first": r.target if r.kind == "dial" else (f"ivr {r.flow}" if r.kind == "ivr" else f"queue {r.queue}"),
                "timeout": r.timeout,
                "then": (
                    f"{'number ' + r.overflow if r.overflow else 'queue ' + r.queue}"
                    f"{' prio ' + str(r.priority) if r.priority else ''}"
                    f"{' flag ' + r.flag if r.flag else ''}"
                )
                if r.kind == "dial"
                else "",
                "announce": r.announce,
                "row": r.row,
                "reason": r.reason,
            }
        )
    return out


def run(args, settings) -> int:
    path = args.file or settings.transfer_map
    try:
        tmap = load_map(path, calendar=load_calendar(settings))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    at = args.at or tmap.calendar.now()
    table = rows(tmap, at)
    if args.json:
        for row in table:
            print(json.dumps(row, ensure_ascii=False))
        return 0
    print(f"# routes of {path} at {at.isoformat(timespec='minutes')}")
    head = ("number", "mode", "level", "first", "timeout", "then", "announce", "department", "row")
    print("\t".join(head))
    for row in table:
        print("\t".join(str(row[k]) if row[k] not in ("", 0) else "-" for k in head))
    cm = tmap.catch_all
    print(f"(any other)\tmerge\tcity\tqueue {cm.queue}\t-\t-\t-\t{cm.department}\t{cm.row or '-'}")
    return 0

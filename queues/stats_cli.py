"""``hotline stats``: run the AMI statistics consumer, or print the current figures.

hotline stats                      # run: AMI events -> agent state + live stats in Redis
hotline stats --queue-log PATH     # ... catching up from queue_log first
hotline stats --show               # print the figures the consumer last stored
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

import redis

from hotline import metrics
from hotline.instance import read_instance_paths
from queues.service import keys, serve
from queues.stats import rate


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--queue-log",
        type=Path,
        default=None,
        help="Asterisk queue_log to replay on start (default: the instance's Asterisk log dir)",
    )
    parser.add_argument("--show", action="store_true", help="print the stored figures and exit")
    parser.add_argument("--json", action="store_true", help="with --show: print JSON")


def default_queue_log(settings) -> Path:
    """The instance's queue_log (recorded by the deploy layer in <home>/instance.json)."""
    try:
        return read_instance_paths(settings).queue_log
    except FileNotFoundError:
        return settings.home / "asterisk" / "log" / "queue_log"


def show(settings, as_json: bool = False, out=None) -> int:
    out = out or sys.stdout
    raw = redis.Redis.from_url(settings.redis_url).get(keys(settings.instance)["view"])
    if not raw:
        print("no statistics stored yet (is `hotline stats` running?)", file=sys.stderr)
        return 1
    view = json.loads(raw)
    if as_json:
        print(json.dumps(view, ensure_ascii=False, indent=2), file=out)
        return 0
    print(
        f"{'queue':<14}{'wait':>5}{'longest':>8}{'avail':>6}{'talk':>5}{'pause':>6}{'offered':>8}"
        f"{'answ':>6}{'aband':>6}{'rate':>7}{'SL15':>7}{'ASA':>6}{'AHT':>6}",
        file=out,
    )
    for q in view["queues"] + [view["total"]]:
        d, a = q["today"], q["agents"]
        asa = "-" if d["asa"] is None else f"{d['asa']:.0f}"
        aht = "-" if d["aht"] is None else f"{d['aht']:.0f}"
        name = "all" if q["queue"] == "*" else q["queue"]
        print(
            f"{name:<14}{q['waiting']:>5}{q['longest_wait']:>8.0f}{a['available']:>6}{a['talking']:>5}"
            f"{a['paused']:>6}{d['offered']:>8}{d['answered']:>6}{d['abandoned']:>6}{rate(d['answer_rate']):>7}"
            f"{rate(d['service_level']):>7}{asa:>6}{aht:>6}",
            file=out,
        )
    return 0


def run(args: argparse.Namespace, settings) -> int:
    if args.show:
        return show(settings, args.json)
    metrics.serve(metrics.STATS, settings.bind, settings.stats_metrics_port, "stats")
    try:
        asyncio.run(serve(settings, queue_log=args.queue_log or default_queue_log(settings)))
    except KeyboardInterrupt:
        pass
    return 0

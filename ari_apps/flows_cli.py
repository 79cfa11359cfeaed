"""``hotline flows check``: validate ivr_flows/*.yaml, print file:line:column problems."""

from __future__ import annotations

import argparse
from pathlib import Path

from ari_apps.flow import load_dir, map_flows
from hotline.settings import load_calendar
from hotline.transfer_map import load_map_for
from hotline.yamlsrc import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "directory", nargs="?", type=Path, default=None, help="flow directory (default: settings.ivr_flows_dir)"
    )


def run(args, settings) -> int:
    directory = args.directory or settings.ivr_flows_dir
    try:
        flows = load_dir(directory, map_flows(load_map_for(settings)), calendar=load_calendar(settings))
    except ConfigError as exc:
        for p in exc.problems:
            print(p)
        print(f"{len(exc.problems)} problem(s); nothing in {directory} is used until all are fixed")
        return 1
    nodes = sum(len(f.nodes) for f in flows.values())
    print(f"{directory}: {len(flows)} flows, {nodes} nodes OK ({', '.join(sorted(flows))})")
    return 0

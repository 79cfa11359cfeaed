"""``hotline flows check``: validate ivr_flows/*.yaml, print file:line:column problems."""

from __future__ import annotations

import argparse
from pathlib import Path

from hotline.yamlsrc import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", nargs="?", type=Path, default=None,
                        help="flow directory (default: settings.ivr_flows_dir)")


def run(args, settings) -> int:
    from ari_apps.flow import load_dir

    directory = args.directory or settings.ivr_flows_dir
    try:
        flows = load_dir(directory)
    except ConfigError as exc:
        for p in exc.problems:
            print(p)
        print(f"{len(exc.problems)} problem(s); nothing in {directory} is used until all are fixed")
        return 1
    nodes = sum(len(f.nodes) for f in flows.values())
    print(f"{directory}: {len(flows)} flows, {nodes} nodes OK ({', '.join(sorted(flows))})")
    return 0

"""hotline kamailio render --nodes nodes.yaml --out DIR: Kamailio's config for N Asterisk nodes.

Validates the nodes file against the map (every skill queue on one node), writes
``kamailio.cfg`` and ``dispatcher.list`` into DIR and, when Kamailio is
installed, checks the result with ``kamailio -c``.  docs/scale.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

from deploy import kamailio
from deploy.scale_nodes import load_plan
from hotline.transfer_map import load_map_for
from hotline.yamlsrc import ConfigError


def add_arguments(p) -> None:
    p.add_argument("--nodes", type=Path, required=True, help="the nodes file: which skill queues on which node")
    p.add_argument("--out", type=Path, required=True, help="directory Kamailio runs from (config, list, socket)")
    p.add_argument("--map", type=Path, help="transfer map (default: settings)")


def run(args, settings) -> int:
    if args.map:
        settings = settings.with_(transfer_map=args.map)
    try:
        tmap = load_map_for(settings)
        plan = load_plan(args.nodes, tmap)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    out = args.out.resolve()
    kamailio.write(kamailio.render(plan, tmap, out), out)
    for node in plan.nodes:
        print(f"{node.name} {node.host}:{node.port}: {', '.join(node.skills)}")
    if kamailio.Kamailio.available() is None:
        try:
            kamailio.check_config(out)
        except RuntimeError as exc:
            print(exc, file=sys.stderr)
            return 1
        print(f"kamailio -c: {out / kamailio.CFG} is valid")
    print(f"rendered {kamailio.CFG} and {kamailio.LIST} into {out}; run: kamailio -DD -E -f {out / kamailio.CFG}")
    return 0

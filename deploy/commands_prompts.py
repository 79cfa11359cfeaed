"""hotline prompts: synthesise every prompt of the map, the queues and the IVR flows.

The same step ``hotline up`` and ``hotline reload`` run before rendering; by
hand it also takes the IVR flows' texts (the ARI app makes them at its start).
Exits non-zero when a prompt could not be made."""

from __future__ import annotations

import sys
from pathlib import Path

from ari_apps import flow as F
from asterisk_conf import prompts as P
from deploy.configure import prompt_texts
from hotline.transfer_map import load_map_for
from hotline.yamlsrc import ConfigError


def add_arguments(p) -> None:
    p.add_argument(
        "--out", type=Path, default=None, help="sounds directory (default: <home>/asterisk/sounds of this instance)"
    )
    p.add_argument("--map", type=Path, default=None, help="transfer map (default: settings)")
    p.add_argument("--no-flows", action="store_true", help="only the transfer map's and the queues' prompts")
    p.add_argument("--say", metavar="TEXT", help="just print how TEXT is spoken (digits spelled) and exit")


def run(args, settings) -> int:
    if args.say:
        print(P.spoken(args.say))
        return 0
    missing = P.tools_available()
    if missing:
        print(f"hotline prompts: {missing}", file=sys.stderr)
        return 2
    if args.map:
        settings = settings.with_(transfer_map=args.map)
    try:
        tmap = load_map_for(settings)
        prompts = prompt_texts(tmap)
        if not args.no_flows:
            prompts.update(F.all_prompts(F.load_dir(settings.ivr_flows_dir)))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    out = args.out or (Path(settings.home) / "asterisk" / "sounds")
    try:
        files = P.ensure_prompts(prompts, out)
    except (P.PromptError, OSError) as exc:
        print(f"hotline prompts: {exc}", file=sys.stderr)
        return 1
    rec = sum(1 for name in files if P.recorded(name, out) is not None)
    for name, path in sorted(files.items()):
        print(f"{name}\t{path}")
    print(f"{len(files)} prompts in {out} ({rec} recorded, {len(files) - rec} generated or cached)")
    return 0

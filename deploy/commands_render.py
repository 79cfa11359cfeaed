"""hotline render --out DIR: write the Asterisk configuration for inspection (deterministic)."""

from __future__ import annotations

import sys
from pathlib import Path

from asterisk_conf.render import AstPaths, write
from deploy.configure import render_instance
from hotline.secrets import load_secrets
from hotline.transfer_map import load_map_for
from hotline.yamlsrc import ConfigError
from queues.config import RegistryUnavailable


def add_arguments(p) -> None:
    p.add_argument("--out", type=Path, required=True, help="directory to write the .conf files into")
    p.add_argument("--map", type=Path, help="transfer map to render (default: settings)")
    p.add_argument("--root", default=None, help="Asterisk instance directory as Asterisk sees it (default: <out>/..)")


def run(args, settings) -> int:
    if args.map:
        settings = settings.with_(transfer_map=args.map)
    root = args.root or str(Path(args.out).resolve().parent)
    try:
        tmap = load_map_for(settings)
        files = render_instance(settings, load_secrets(settings.secrets_file), AstPaths.under(root), tmap)
    except (ConfigError, RegistryUnavailable) as exc:
        print(exc, file=sys.stderr)
        return 1
    write(files, Path(args.out))
    print(f"rendered {len(files)} files into {args.out}")
    return 0

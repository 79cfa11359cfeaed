"""Render Asterisk's configuration from settings, secrets and transfer_map.yaml.

Every file Asterisk reads is written from ``asterisk_conf/templates/*.j2``; no
file is ever edited by hand.  Rendering is deterministic: the same inputs give
the same bytes (sorted iteration, no timestamps), so a diff of two renders is
a diff of two configurations.

The context is assembled here from a few providers, each owned by the code
that knows the domain:

- ``agi.routing``: the per-number static fallback routes (``static_routes``),
  computed by the very same pure decision the FastAGI handler makes;
- ``queues.config``: queues (``queue_specs``) and agents (``agents_for_render``);
- ``hotline.transfer_map``: the trunks and lines of the admin's map.

``hotline render --out DIR`` writes the files for inspection; the stack
(``hotline.stack``) writes them into the running instance and reloads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from hotline import optional_import
from hotline.settings import Settings

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class AstPaths:
    """Directories of one Asterisk instance, as Asterisk sees them."""

    etc: str
    log: str
    run: str
    spool: str
    lib: str
    sounds: str  # our generated / recorded prompts (absolute paths in Playback)

    @classmethod
    def under(cls, root: str | Path) -> "AstPaths":
        root = str(root).rstrip("/")
        return cls(etc=f"{root}/etc", log=f"{root}/log", run=f"{root}/run",
                   spool=f"{root}/spool", lib=f"{root}/lib", sounds=f"{root}/sounds")


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["dialplan_quote"] = lambda s: str(s).replace(",", "\\,").replace(";", "\\;")
    return env


def load_map(settings: Settings):
    """The validated transfer map, or None while the schema module is absent.

    Raises ``hotline.yamlsrc.ConfigError`` for a bad map: nothing is rendered."""
    tm = optional_import("hotline.transfer_map")
    if tm is None or not hasattr(tm, "load_map"):
        return None
    return tm.load_map(settings.transfer_map)


def build_context(settings: Settings, secrets: dict, paths: AstPaths, *, tmap: Any = None,
                  agents: list[dict] | None = None, sounds_host: Path | None = None) -> dict:
    from agi import routing
    from queues import config as qconfig

    static_routes = (routing.static_routes(tmap) if hasattr(routing, "static_routes")
                     else [(routing.HOTLINE_NUMBER, routing.decide(routing.HOTLINE_NUMBER, "", None, tmap))])
    if agents is None:
        agents = qconfig.agents_for_render(settings, secrets)
    ctx = {
        "s": settings,
        "secrets": secrets,
        "paths": paths,
        "tmap": tmap,
        "static_routes": sorted(static_routes, key=lambda nr: nr[0]),
        "general_queue": routing.GENERAL_QUEUE,
        "queues": qconfig.queue_specs(tmap, settings),
        "agents": sorted(agents, key=lambda a: a["name"]),
        "agi_url": f"agi://{settings.bind}:{settings.agi_port}",
        "trunks": [],
    }
    # optional providers, each owned by its package
    for module, func in (("hotline.transfer_map", "render_context"),
                         ("ari_apps.render_context", "render_context"),
                         ("queues.config", "render_context")):
        mod = optional_import(module)
        if mod is not None and hasattr(mod, func):
            ctx.update(getattr(mod, func)(settings=settings, tmap=tmap, paths=paths,
                                          sounds_host=sounds_host, ctx=ctx))
    return ctx


def render(settings: Settings, secrets: dict, paths: AstPaths, **kwargs) -> dict[str, str]:
    """All configuration files as {file name: text}."""
    ctx = build_context(settings, secrets, paths, **kwargs)
    env = _env()
    out = {}
    for tpl in sorted(TEMPLATES.glob("*.j2")):
        out[tpl.stem] = env.get_template(tpl.name).render(**ctx)
    return out


def write(files: dict[str, str], out_dir: Path) -> None:
    """Write atomically file by file; stale files from older renders are removed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        tmp = out_dir / f".{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out_dir / name)
    for old in out_dir.glob("*.conf"):
        if old.name not in files:
            old.unlink()


# --- CLI: hotline render ------------------------------------------------------

def add_arguments(p) -> None:
    p.add_argument("--out", type=Path, required=True, help="directory to write the .conf files into")
    p.add_argument("--map", type=Path, help="transfer map to render (default: settings)")
    p.add_argument("--root", default=None,
                   help="Asterisk instance directory as Asterisk sees it (default: <out>/..)")


def run(args, settings: Settings) -> int:
    import sys

    from hotline.secrets import load_secrets
    from hotline.yamlsrc import ConfigError

    if args.map:
        settings = settings.with_(transfer_map=args.map)
    root = args.root or str(Path(args.out).resolve().parent)
    try:
        tmap = load_map(settings)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    files = render(settings, load_secrets(settings.secrets_file), AstPaths.under(root), tmap=tmap)
    write(files, Path(args.out))
    print(f"rendered {len(files)} files into {args.out}")
    return 0

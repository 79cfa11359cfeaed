"""Render Asterisk's configuration: templates in, text out.

Every file Asterisk reads is written from ``asterisk_conf/templates/*.j2``; no
file is ever edited by hand.  Rendering is deterministic: the same inputs give
the same bytes (sorted iteration, no timestamps), so a diff of two renders is
a diff of two configurations.

The renderer imports only the core.  The deploy layer (``deploy/configure.py``)
gathers the inputs from the packages that own them -- the static fallback
routes (``agi.routing``), queues and agents (``queues.config``), the IVR's
names (``ari_apps``) -- and hands them over as :class:`RenderInputs`.  Prompt
synthesis is a step of its own (:mod:`asterisk_conf.prompts`); rendering only
writes text.

Values are escaped for the syntax of the file they land in: ``dialplan``
for application arguments in extensions*.conf, ``conf_value`` for the right
side of ``key = value`` lines (see :mod:`asterisk_conf.escape`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from asterisk_conf.escape import callerid_name, comment, conf_value, dialplan_arg
from asterisk_conf.map_context import map_context
from hotline.instance import call_recordings_dir
from hotline.names import (
    ANSWERED_EVENT,
    IVR_FALLBACK_EVENT,
    LINKAGE_EVENT,
    RECORDING_SWITCH,
    ROUTED_EVENT,
    call_facts_expression,
)
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
    def under(cls, root: str | Path) -> AstPaths:
        root = str(root).rstrip("/")
        return cls(
            etc=f"{root}/etc",
            log=f"{root}/log",
            run=f"{root}/run",
            spool=f"{root}/spool",
            lib=f"{root}/lib",
            sounds=f"{root}/sounds",
        )


@dataclass(frozen=True)
class RenderInputs:
    """Everything the templates show, gathered by the deploy layer."""

    tmap: Any  # a validated hotline.transfer_map.TransferMap
    static_routes: list[tuple[str, Any]]  # (number, agi.routing.Route) for the fallback dialplan
    queues: list[dict[str, Any]]  # queue specs (queues.config.queue_specs)
    agents: list[dict[str, Any]]  # softphone endpoints (queues.config.agents_for_render)
    extra: dict[str, Any] = field(default_factory=dict)  # further template names (queues, IVR)


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["dialplan"] = dialplan_arg
    env.filters["conf_value"] = conf_value
    env.filters["comment"] = comment
    env.filters["callerid_name"] = callerid_name
    # the call's facts (hotline.names.CALL_FACTS): the UserEvents HotlineRouted and
    # HotlineAnswered, and Queue()'s URL argument (queue_log's ENTERQUEUE)
    env.globals["call_facts"] = call_facts_expression()
    env.globals["routed_event"] = ROUTED_EVENT
    env.globals["answered_event"] = ANSWERED_EVENT
    env.globals["ivr_fallback_event"] = IVR_FALLBACK_EVENT
    env.globals["linkage_event"] = LINKAGE_EVENT
    return env


def build_context(settings: Settings, secrets: dict[str, Any], paths: AstPaths, inputs: RenderInputs) -> dict[str, Any]:
    tmap = inputs.tmap
    ctx: dict[str, Any] = {
        "s": settings,
        "secrets": secrets,
        "paths": paths,
        "tmap": tmap,
        "static_routes": sorted(inputs.static_routes, key=lambda nr: nr[0]),
        "general_queue": tmap.hotline.queue,
        "queues": inputs.queues,
        "agents": sorted(inputs.agents, key=lambda a: a["name"]),
        "agi_url": f"agi://{settings.bind}:{settings.agi_port}",
        "recordings_dir": call_recordings_dir(settings, paths.spool),
        "recording_switch": RECORDING_SWITCH,
    }
    ctx.update(map_context(tmap))
    ctx.update(inputs.extra)
    return ctx


def render(settings: Settings, secrets: dict[str, Any], paths: AstPaths, inputs: RenderInputs) -> dict[str, str]:
    """All configuration files as {file name: text}."""
    ctx = build_context(settings, secrets, paths, inputs)
    env = _env()
    out = {}
    for tpl in sorted(TEMPLATES.glob("*.j2")):
        out[tpl.stem] = env.get_template(tpl.name).render(**ctx)
    return out


def write(files: dict[str, str], out_dir: Path, group: int | None = None) -> None:
    """Write atomically file by file; stale files from older renders are removed.

    With ``group`` (Asterisk's group) each file is created readable by that
    group only (0640, owner root): the rendered config carries secrets."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        tmp = out_dir / f".{name}.tmp"
        if group is None:
            tmp.write_text(text, encoding="utf-8")
        else:
            tmp.unlink(missing_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.chown(tmp, 0, group)
            os.chmod(tmp, 0o640)
        tmp.replace(out_dir / name)
    for old in out_dir.glob("*.conf"):
        if old.name not in files:
            old.unlink()

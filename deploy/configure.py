"""Configure one Asterisk instance: gather the render inputs, synthesise the prompts, render.

This is where the packages meet.  The renderer (:mod:`asterisk_conf.render`)
imports only the core; this module asks each package for what it owns and
hands the renderer plain data:

- ``agi.routing.static_routes``: the per-number fallback routes, the very same
  pure decision the FastAGI handler makes;
- ``queues.config``: queue specs, the agents' endpoints, the announcements;
- ``ari_apps``: the Stasis app's name and the emergency linkage trunk;
- the prompts (:mod:`asterisk_conf.prompts`): synthesised as their own step,
  before rendering, so the configuration names only the sounds that exist.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agi import routing
from ari_apps.render_context import ivr_context
from asterisk_conf import prompts as P
from asterisk_conf.render import AstPaths, RenderInputs, render
from hotline.ami import consumer_user
from hotline.log import event
from hotline.names import event_filter
from hotline.secrets import AMI_CONSUMERS, trunk_password
from hotline.settings import Settings
from queues import config as qconfig
from queues.linkage import linkage_context
from queues.stats_ami import AMI_USER as STATS_AMI_USER
from workorder import revisit
from workorder.handoff import AMI_USER as HANDOFF_AMI_USER

# where each AMI consumer's user (its events, its rights) is defined
AMI_USERS = {
    "stats": (STATS_AMI_USER, "queues/stats_ami.py"),
    "handoff": (HANDOFF_AMI_USER, "workorder/handoff.py"),
}

log = logging.getLogger("deploy.configure")


@dataclass
class PromptReport:
    """What the prompt step did: the prompts that exist, and why others do not."""

    available: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)


def prompt_texts(tmap: Any) -> dict[str, str]:
    """Every prompt the rendered configuration plays: the map's, the queues' and the 回访 survey's."""
    return {**P.map_prompts(tmap), **qconfig.prompt_texts(tmap), **revisit.PROMPTS}


def synthesise(tmap: Any, sounds_host: Path | None) -> PromptReport:
    """Generate (or find cached / recorded) every prompt into ``sounds_host``.

    A failure is reported, never swallowed: each problem is logged at ERROR
    and returned; the prompts that exist are still used."""
    report = PromptReport()
    if sounds_host is None:
        return report
    texts = prompt_texts(tmap)
    missing_tools = P.tools_available()
    if missing_tools is None:
        try:
            P.ensure_prompts(texts, Path(sounds_host))
        except (P.PromptError, OSError) as exc:
            report.problems.append(f"prompt synthesis failed: {exc}")
    else:
        report.problems.append(f"prompts not generated: {missing_tools}")
    for name in texts:
        if any((Path(sounds_host) / f"{name}{ext}").exists() for ext in P.RECORDED_EXTS):
            report.available.add(name)
    for problem in report.problems:
        event(log, problem, logging.ERROR, sounds=str(sounds_host))
    return report


def gather(
    settings: Settings,
    secrets: dict[str, Any],
    tmap: Any,
    *,
    agents: list[dict] | None = None,
    available_prompts: set[str] | None = None,
    paths: AstPaths,
) -> RenderInputs:
    """The renderer's inputs.  Raises ``queues.config.RegistryUnavailable`` when
    the agents are not given and the registry cannot be read."""
    if agents is None:
        agents = qconfig.agents_for_render(settings, secrets)
    prompts = qconfig.prompt_paths(paths, available_prompts or set())
    extra = {**qconfig.queue_context(tmap, agents, prompts), **ivr_context(settings, tmap), **linkage_context(tmap)}
    extra["static_seat_ends"] = routing.static_seat_ends(tmap, tmap.calendar.today())
    extra["ami_consumers"] = ami_consumers(secrets)
    # the digest passwords of the trunks between the levels (generated on first render)
    users = sorted({t.digest_user for t in tmap.trunks.values() if t.digest_user})
    extra["trunk_passwords"] = {u: trunk_password(settings.secrets_file, u) for u in users}
    return RenderInputs(
        tmap=tmap,
        static_routes=routing.static_routes(tmap, tmap.calendar.today()),
        queues=qconfig.queue_specs(tmap, settings),
        agents=agents,
        extra=extra,
    )


def ami_consumers(secrets: dict[str, Any]) -> list[dict[str, Any]]:
    """The manager.conf sections of the AMI consumers (those with a secret)."""
    out = []
    for name in AMI_CONSUMERS:
        secret = (secrets.get("ami_consumers") or {}).get(name)
        if not secret:
            continue
        spec, home = AMI_USERS[name]
        filters = [event_filter(entry) for entry in spec["events"]]  # (event, header, value) a line
        user = consumer_user(secrets, name)
        out.append({"name": name, "user": user, "secret": secret, "home": home, "filters": filters, **spec})
    return out


def render_instance(
    settings: Settings,
    secrets: dict[str, Any],
    paths: AstPaths,
    tmap: Any,
    *,
    agents: list[dict] | None = None,
    sounds_host: Path | None = None,
) -> dict[str, str]:
    """Synthesise the prompts, then render every file (text only)."""
    report = synthesise(tmap, sounds_host)
    inputs = gather(settings, secrets, tmap, agents=agents, available_prompts=report.available, paths=paths)
    return render(settings, secrets, paths, inputs)

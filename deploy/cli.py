"""The ``hotline`` command.

Each subcommand lives next to the code it drives: the entry below names a
module that defines ``add_arguments(parser)`` and ``run(args, settings) -> int``.
Modules are imported only when their subcommand runs, so ``hotline --help``
stays fast and a missing optional dependency breaks only its own command.
"""

from __future__ import annotations

import argparse
import sys

from hotline import optional_import
from hotline.log import setup_logging
from hotline.settings import Settings

# name -> (module, one-line help). Nested commands use "group name".
COMMANDS: dict[str, tuple[str, str]] = {
    "setup": ("deploy.commands_setup", "install what is missing: Asterisk root fs, SIPp, Redis, espeak-ng"),
    "up": ("deploy.commands_up", "set up and run the whole platform in the foreground"),
    "status": ("deploy.commands_status", "each process: PID, uptime, restarts, health; exit 3 if one is down"),
    "units": ("deploy.commands_units", "write systemd units for a production install, one per process"),
    "prepare": (
        "deploy.commands_prepare",
        "prepare the Asterisk instance (config, prompts, owner) without starting it",
    ),
    "render": ("deploy.commands_render", "render the Asterisk configuration from settings and transfer_map.yaml"),
    "asterisk": (
        "deploy.commands_asterisk",
        "Asterisk's CLI on this instance: -rx 'core show channels', or the console",
    ),
    "kamailio render": (
        "deploy.commands_kamailio",
        "Kamailio in front of N Asterisk nodes: config from the nodes file (skills per node), docs/scale.md",
    ),
    "reload": ("deploy.commands_reload", "validate, render and reload the dialplan and queues over AMI"),
    "map check": ("hotline.transfer_map_cli", "validate transfer_map.yaml; print file:line:column problems"),
    "map show": ("agi.map_show", "print the route every number in the map takes"),
    "trunk secret": ("deploy.commands_trunk", "the digest password of a trunk between the levels (print, or --set)"),
    "seats": ("queues.sizing_cli", "seat sizing: 1 seat per 100,000 residents, checked with Erlang C/A"),
    "agent": ("queues.agents_cli", "agents: add, list, login, logout, pause, unpause"),
    "agi": ("agi.service", "run the FastAGI server (routing decisions on the call path)"),
    "ari": ("ari_apps.main", "run the ARI Stasis app (IVR flows, transfers, survey)"),
    "flows check": ("ari_apps.flows_cli", "validate ivr_flows/*.yaml"),
    "speech check": (
        "ari_apps.speech_cli",
        "load the Vosk model of HOTLINE_VOSK_MODEL and say whether speech nodes listen",
    ),
    "prompts": ("deploy.commands_prompts", "generate Mandarin prompt audio from the map, queue and flow texts"),
    "api": ("web.serve", "run the work-order REST API and the people's pages"),
    "user": ("web.cli", "users of the pages: add, list, disable, enable, passwd"),
    "db upgrade": ("workorder.db_cli", "create or migrate the work-order database"),
    "jobs": ("workorder.jobs_cli", "run the deadline warning / supervision job once or forever"),
    "handoff": ("workorder.handoff_service", "run the AMI hand-off: every answered call becomes a draft work order"),
    "stats": ("queues.stats_cli", "run the AMI statistics consumer (agent state, live queue stats)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hotline", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    groups: dict[str, argparse._SubParsersAction] = {}
    for name, (module, help_text) in COMMANDS.items():
        parts = name.split()
        target = sub
        if len(parts) == 2:
            if parts[0] not in groups:
                gp = sub.add_parser(parts[0], help=f"{parts[0]} commands")
                groups[parts[0]] = gp.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)
            target = groups[parts[0]]
        p = target.add_parser(parts[-1], help=help_text, description=help_text)
        p.set_defaults(_module=module)
        p._hotline_module = module  # type: ignore[attr-defined]
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    # let the chosen module add its own arguments before the real parse
    probe, _ = (
        parser.parse_known_args([a for a in argv if a not in ("-h", "--help")] or ["--help"]) if argv else (None, None)
    )
    module = None
    if probe is not None and getattr(probe, "_module", None):
        module = optional_import(probe._module)
        if module is None:
            print(f"hotline: {probe._module} is not available in this build", file=sys.stderr)
            return 2
        sub = _find_subparser(parser, probe._module)
        if hasattr(module, "add_arguments"):
            module.add_arguments(sub)
    args = parser.parse_args(argv)
    if not getattr(args, "_module", None):
        parser.print_help()
        return 0
    try:
        settings = Settings.from_env()
    except ValueError as exc:  # a HOTLINE_* variable refused, named in the message
        print(f"hotline: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level)
    return int(module.run(args, settings) or 0)


def _find_subparser(parser: argparse.ArgumentParser, module: str) -> argparse.ArgumentParser:
    stack = [parser]
    while stack:
        p = stack.pop()
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for child in action.choices.values():
                    if getattr(child, "_hotline_module", None) == module:
                        return child
                    stack.append(child)
    raise LookupError(module)


if __name__ == "__main__":
    sys.exit(main())

"""``hotline agent``: the agent registry and login / logout / pause over AMI.

hotline agent add zhangsan --extension 1001 --skills general:0,housing:1 --team A --display 张三
hotline agent list
hotline agent login zhangsan          # QueueAdd to every skill queue, with its penalty
hotline agent pause zhangsan --reason lunch
hotline agent unpause zhangsan
hotline agent logout zhangsan         # QueueRemove from every skill queue
hotline agent remove zhangsan
"""

from __future__ import annotations

import argparse
import json
import sys

from hotline.transfer_map import load_map_for
from queues import agents as ag
from queues.models import Registry, parse_skills


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="agent_cmd", metavar="ACTION", required=True)
    p = sub.add_parser("add", help="register an agent (then `hotline reload` creates the softphone endpoint)")
    p.add_argument("name")
    p.add_argument("--extension", required=True, help="PJSIP extension of the softphone, e.g. 1001")
    p.add_argument("--skills", default=None, help="queue:penalty,... (default: the hotline's queue, penalty 0)")
    p.add_argument("--team", default="")
    p.add_argument("--display", default="", help="name shown as caller id, e.g. 张三")
    p = sub.add_parser("skills", help="change an agent's skills (applies at next login)")
    p.add_argument("name")
    p.add_argument("skills", help="queue:penalty,...")
    p = sub.add_parser("remove", help="delete an agent from the registry")
    p.add_argument("name")
    p = sub.add_parser("list", help="list registered agents")
    p.add_argument("--json", action="store_true")
    for cmd, help_text in (
        ("login", "QueueAdd to every skill queue"),
        ("logout", "QueueRemove from every queue"),
        ("unpause", "QueuePause false in every queue"),
    ):
        p = sub.add_parser(cmd, help=help_text)
        p.add_argument("name", help="agent name or extension")
    p = sub.add_parser("pause", help="QueuePause true in every queue, with a reason")
    p.add_argument("name", help="agent name or extension")
    p.add_argument("--reason", default="break", help=f"e.g. {', '.join(ag.PAUSE_REASONS)}")


def run(args: argparse.Namespace, settings) -> int:
    reg = Registry(settings.database_url)
    if not reg.ready():
        print(
            "hotline agent: the database has no agent registry yet: run `hotline db upgrade` (hotline up does it)",
            file=sys.stderr,
        )
        return 1
    cmd = args.agent_cmd
    try:
        if cmd == "add":
            skills = args.skills or f"{load_map_for(settings).hotline.queue}:0"
            a = reg.add(args.name, args.extension, parse_skills(skills), team=args.team, display=args.display)
            print(
                f"added {a['name']} (extension {a['extension']}, skills {a['skills']}); "
                f"run `hotline reload` to create its softphone endpoint"
            )
            return 0
        if cmd == "skills":
            a = reg.update(args.name, skills=parse_skills(args.skills))
            print(f"{a['name']}: skills {a['skills']} (log out and in to apply)")
            return 0
        if cmd == "remove":
            if not reg.remove(args.name):
                print(f"no agent {args.name!r}", file=sys.stderr)
                return 1
            print(f"removed {args.name}")
            return 0
        if cmd == "list":
            rows = reg.all()
            if args.json:
                print(json.dumps(rows, ensure_ascii=False, indent=2))
                return 0
            print(f"{'name':<16}{'ext':<8}{'team':<10}{'display':<10}skills")
            for a in rows:
                skills = ",".join(f"{q}:{p}" for q, p in a["skills"].items())
                print(f"{a['name']:<16}{a['extension']:<8}{a['team']:<10}{a['display']:<10}{skills}")
            return 0
    except (ValueError, KeyError) as exc:
        print(f"hotline agent {cmd}: {exc}", file=sys.stderr)
        return 1
    agent = reg.get(args.name)
    if agent is None:
        print(f"hotline agent {cmd}: no agent {args.name!r} (see `hotline agent list`)", file=sys.stderr)
        return 1
    if cmd == "login":
        actions = ag.login_actions(agent)
    elif cmd == "logout":
        actions = ag.logout_actions(agent)
    elif cmd == "pause":
        actions = [ag.pause_action(agent, True, args.reason)]
    else:
        actions = [ag.pause_action(agent, False)]
    try:
        results = ag.run_actions(settings, actions)
    except (OSError, TimeoutError) as exc:
        print(
            f"hotline agent {cmd}: cannot reach Asterisk's AMI on {settings.bind}:{settings.ami_port}: {exc}",
            file=sys.stderr,
        )
        return 1
    bad = [r for r in results if not r.ok]
    for r in results:
        where = r.action.get("Queue", "all queues")
        print(f"{r.action['Action']} {agent['name']} {where}: {'ok' if r.ok else 'FAILED'} {r.message}".rstrip())
    return 1 if bad else 0

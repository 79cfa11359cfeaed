"""``hotline user add|list|disable|enable|passwd``: the people who sign in to the pages.

A generated password is printed once and kept nowhere but as its argon2 hash.
Every change is written to the work-order audit log as ``cli:<login name>``."""

from __future__ import annotations

import getpass
import sys

from hotline.auth import Principal
from web.accounts import ROLES, AccountError, Accounts
from workorder.db import Database
from workorder.migrate import upgrade
from workorder.service import Store


def add_arguments(p) -> None:
    sub = p.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    a = sub.add_parser("add", help="add a user (password generated and printed once)")
    a.add_argument("name", nargs="?", help="user name (an agent's defaults to its agent's name)")
    a.add_argument("--role", required=True, choices=sorted(ROLES))
    a.add_argument(
        "--extension",
        help="agents (required) and supervisors (optional): an extension of the agent registry (`hotline agent list`)",
    )
    a.add_argument("--department", help="department users: a department code of transfer_map.yaml")
    a.add_argument("--display", default="", help="the person's name as the pages show it")
    sub.add_parser("list", help="list users")
    for verb, text in (
        ("disable", "disable a user (its sessions end)"),
        ("enable", "enable a user again"),
        ("passwd", "set a new generated password (its sessions end)"),
    ):
        sub.add_parser(verb, help=text).add_argument("name")


def run(args, settings) -> int:
    upgrade(settings.database_url)
    db = Database(settings.database_url, group_commit=False)
    try:
        accounts = Accounts(db, settings.database_url)
        try:
            return _run(args, accounts, Store(db))
        except AccountError as exc:
            print(f"hotline user {args.user_command}: {exc}", file=sys.stderr)
            return 1
    finally:
        db.dispose()


def _audit(store: Store, what: str) -> None:
    store.audit(Principal(subject=f"cli:{getpass.getuser()}", role="admin"), "CLI", f"user {what}", 200, None)


def _run(args, accounts: Accounts, store: Store) -> int:
    cmd = args.user_command
    if cmd == "list":
        print(f"{'name':<20} {'role':<11} {'extension':<9} {'department':<11} {'active':<6} display")
        for u in accounts.all():
            print(
                f"{u.name:<20} {u.role:<11} {u.extension or '':<9} {u.department or '':<11} "
                f"{'yes' if u.active else 'no':<6} {u.display}"
            )
        return 0
    if cmd == "add":
        account, password = accounts.add(
            args.name, args.role, extension=args.extension, department=args.department, display=args.display
        )
        _audit(store, f"add {account.name}")
        print(f"added {account.role} {account.name}; password (shown once): {password}")
        return 0
    if cmd in ("disable", "enable"):
        accounts.set_active(args.name, cmd == "enable")
        _audit(store, f"{cmd} {args.name}")
        print(f"{args.name}: {'enabled' if cmd == 'enable' else 'disabled, its sessions ended'}")
        return 0
    password = accounts.set_password(args.name)
    _audit(store, f"passwd {args.name}")
    print(f"{args.name}: new password (shown once): {password}")
    return 0

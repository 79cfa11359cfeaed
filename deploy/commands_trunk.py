"""``hotline trunk secret USER [--set]``: the digest password of a trunk between the levels.

A province or city trunk with ``digest_user: USER`` in transfer_map.yaml authenticates
both ways with USER and one password that both platforms hold (docs/province.md).  One
platform generates it (this command, or its first render) and prints it; the admin
gives it to the other platform's admin, who stores it with ``--set`` (read from stdin,
never from the command line, so it stays out of the shell history), then ``hotline
reload`` on both.
"""

from __future__ import annotations

import argparse
import sys

from hotline.secrets import trunk_password
from hotline.settings import Settings


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("user", help="the trunk's digest_user in transfer_map.yaml")
    p.add_argument("--set", action="store_true", help="store the password read from stdin (the other platform's)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    if not args.user or not args.user.replace("_", "").isalnum() or not args.user.islower():
        print(f"{args.user!r}: a digest_user is lower-case letters, digits and _", file=sys.stderr)
        return 2
    if args.set:
        value = sys.stdin.readline().strip()
        if len(value) < 16:
            print("the password must be at least 16 characters (the generated ones are 32)", file=sys.stderr)
            return 2
        trunk_password(settings.secrets_file, args.user, value)
        print(f"stored in {settings.secrets_file}; run `hotline reload`", file=sys.stderr)
        return 0
    print(trunk_password(settings.secrets_file, args.user))
    return 0

"""hotline asterisk: Asterisk's own CLI against this platform's instance.

``hotline asterisk -rx 'core show channels'`` runs one command and prints its output;
``hotline asterisk`` (or ``-r``) opens the interactive console (``-v`` for more verbose).
The instance is found as ``hotline status`` finds it (:meth:`deploy.asterisk.Asterisk.locate`
from the same settings: ``HOTLINE_HOME``, ``HOTLINE_CACHE_DIR``, ``HOTLINE_FORCE_ROOTFS``), and
the command runs ``asterisk -C <instance>/etc/asterisk.conf -r[x]`` inside its root file system.
"""

from __future__ import annotations

import os
import subprocess
import sys

from deploy.asterisk import Asterisk


def add_arguments(p) -> None:
    p.add_argument(
        "-rx",
        "-x",
        dest="execute",
        metavar="COMMAND",
        help="run one CLI command and print its output, e.g. -rx 'core show version'",
    )
    p.add_argument("-r", dest="console", action="store_true", help="the interactive console (the default)")
    p.add_argument("-v", dest="verbose", action="count", default=0, help="console verbosity (repeat: -vvv)")


def argv_of(ast: Asterisk, execute: str | None, verbose: int = 0) -> list[str]:
    """The ``asterisk`` command line for one command (``-rx``) or the console (``-r``)."""
    if execute is not None:
        return ast.cli_argv("-rx", execute)
    return ast.cli_argv("-r" + "v" * verbose)


def run(args, settings) -> int:
    ast = Asterisk.locate(settings, install=False)
    if not ast.control_socket.exists():
        print(
            f"hotline asterisk: the Asterisk of {settings.home} does not run "
            f"(no control socket {ast.control_socket}); start it with `hotline up` or `./scripts/run`",
            file=sys.stderr,
        )
        return 3
    argv = argv_of(ast, args.execute, args.verbose)
    if args.execute is not None:
        return subprocess.run(argv, check=False).returncode
    sys.stdout.flush()
    os.execvp(argv[0], argv)  # the console owns the terminal from here
    return 0  # not reached

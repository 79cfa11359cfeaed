"""hotline reload: validate the map, render, reload dialplan/endpoints/queues over AMI.

A bad map is rejected whole: nothing is written, the running system keeps the
last good configuration.  So is a reload that cannot read the agent registry
(it would otherwise replace the real agents).  Calls in progress are not dropped."""

from __future__ import annotations

import sys

from deploy.asterisk import Asterisk
from deploy.platform import Platform, startup_warnings
from hotline.yamlsrc import ConfigError
from queues.config import RegistryUnavailable


def add_arguments(p) -> None:
    pass


def run(args, settings) -> int:
    platform = Platform(settings)
    platform.asterisk = Asterisk.locate(settings, install=False)
    try:
        for warning in startup_warnings(settings):
            print(warning, file=sys.stderr)
        for line in platform.reload():
            print(line)
    except (ConfigError, RegistryUnavailable) as exc:
        print(exc, file=sys.stderr)
        print("rejected: nothing was changed", file=sys.stderr)
        return 1
    return 0

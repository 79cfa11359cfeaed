"""hotline prepare: make the Asterisk instance ready without starting anything.

What ``hotline up`` does before it starts Asterisk -- the instance's
directories, the prompts, the certificates, the rendered configuration, the
work-order schema, and ownership by Asterisk's user -- for the systemd unit's
``ExecStartPre`` (``hotline units``).
"""

from __future__ import annotations

from deploy.asterisk import Asterisk, say
from deploy.platform import Platform
from hotline.yamlsrc import ConfigError
from queues.config import RegistryUnavailable
from workorder import migrate


def add_arguments(p) -> None:
    pass


def run(args, settings) -> int:
    migrate.upgrade(settings.database_url)  # the agent registry (rendered into the config) is in the schema
    platform = Platform(settings)
    platform.asterisk = Asterisk.locate(settings)
    platform.asterisk.prepare()
    try:
        platform.render()
    except (ConfigError, RegistryUnavailable) as exc:
        print(f"hotline prepare: {exc}")
        return 1
    platform.asterisk.own()
    say(f"instance ready: {platform.asterisk.etc}")
    return 0

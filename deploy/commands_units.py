"""hotline units --out DIR: systemd units for a production install, one per process.

``hotline up`` supervises the platform in the foreground (a demo, a test, a
small site).  A production node runs the same processes under systemd instead:
one unit per process (Redis, Asterisk, and each Python service of
:data:`deploy.platform.SERVICES`), each ``Restart=on-failure``, tied together by
``hotline.target``.  The units are rendered from this node's settings (its
ports, its state directory, this Python): install them with

    hotline units --out /etc/systemd/system && systemctl daemon-reload
    systemctl enable --now hotline.target

``hotline prepare`` (the Asterisk unit's ``ExecStartPre``) does what ``hotline
up`` does before Asterisk starts: directories, prompts, certificates, the
rendered configuration, the schema, ownership by Asterisk's user.
"""

from __future__ import annotations

import shlex
import shutil
import sys
from dataclasses import fields
from pathlib import Path

from deploy.asterisk import Asterisk
from deploy.platform import SERVICES
from deploy.redis import RedisServer
from hotline.settings import PROJECT_ROOT, Settings

ENV_FILE = "hotline.env"


def add_arguments(p) -> None:
    p.add_argument("--out", type=Path, required=True, help="directory to write the units into")


def _exec(argv: list[str]) -> str:
    """An ExecStart line: the program by its absolute path."""
    first = argv[0] if argv[0].startswith("/") else (shutil.which(argv[0]) or argv[0])
    return " ".join(shlex.quote(a) for a in [first, *argv[1:]])


def environment(settings: Settings) -> str:
    """The ``HOTLINE_*`` settings of this node, as a systemd EnvironmentFile."""
    lines = ["# hotline settings of this node (rendered by `hotline units`)"]
    for f in fields(settings):
        value = str(getattr(settings, f.name))
        lines.append(f'HOTLINE_{f.name.upper()}="{value}"')
    return "\n".join(lines) + "\n"


def units(settings: Settings, asterisk: Asterisk, env_file: Path) -> dict[str, str]:
    """File name -> text of every unit.  Pure over its arguments."""
    py = sys.executable
    common = f"EnvironmentFile={env_file}\nWorkingDirectory={PROJECT_ROOT}\nRestart=on-failure\nRestartSec=2s\n"
    # [Unit]: at most 5 starts a minute, as under `hotline up` (the budget resets after a healthy minute)
    limit = "StartLimitIntervalSec=60\nStartLimitBurst=5\n"
    redis = RedisServer(settings.redis_port, settings.home / "redis", settings.redis_host)
    out = {
        "hotline.target": (
            "[Unit]\nDescription=12345 hotline platform (all processes)\n"
            f"Wants={' '.join(f'hotline-{n}.service' for n in ('redis', 'asterisk', *SERVICES))}\n\n"
            "[Install]\nWantedBy=multi-user.target\n"
        ),
        "hotline-redis.service": (
            "[Unit]\nDescription=12345 hotline: Redis (live state)\nPartOf=hotline.target\n"
            f"{limit}\n[Service]\nExecStart={_exec(redis.argv())}\n{common}\n"
            "[Install]\nWantedBy=hotline.target\n"
        ),
        "hotline-asterisk.service": (
            "[Unit]\nDescription=12345 hotline: Asterisk (as its own user)\nPartOf=hotline.target\n"
            f"After=network.target\n{limit}\n"
            f"[Service]\nExecStartPre={_exec([py, '-m', 'deploy.cli', 'prepare'])}\n"
            f"ExecStart={_exec(asterisk.daemon_argv())}\n{common}TimeoutStartSec=300\n\n"
            "[Install]\nWantedBy=hotline.target\n"
        ),
    }
    for name in SERVICES:
        out[f"hotline-{name}.service"] = (
            f"[Unit]\nDescription=12345 hotline: {name} service\nPartOf=hotline.target\n"
            "After=hotline-redis.service hotline-asterisk.service\n"
            f"Wants=hotline-redis.service hotline-asterisk.service\n{limit}\n"
            f"[Service]\nExecStart={_exec([py, '-m', 'deploy.cli', name])}\n{common}\n"
            "[Install]\nWantedBy=hotline.target\n"
        )
    return out


def run(args, settings) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env_file = out / ENV_FILE
    env_file.write_text(environment(settings), encoding="utf-8")
    env_file.chmod(0o600)
    files = units(settings, Asterisk.locate(settings, install=False), env_file.resolve())
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} units and {ENV_FILE} into {out}")
    return 0

"""hotline status: what runs, and how to reach it."""

from __future__ import annotations

from deploy.asterisk import Asterisk


def add_arguments(p) -> None:
    pass


def run(args, settings) -> int:
    ast = Asterisk.locate(settings, install=False)
    up = ast.rootfs is not None or ast.exe
    running = bool(up) and ast.running()
    print(f"home:      {settings.home}")
    print(
        f"asterisk:  {'running' if running else 'stopped'} "
        f"({'system' if ast.rootfs is None else 'chroot ' + str(ast.rootfs)})"
    )
    if running:
        print(ast.rx("core show channels count").strip())
    print(f"SIP agents {settings.bind}:{settings.sip_agent_port}  trunk {settings.bind}:{settings.sip_trunk_port}")
    print(
        f"AMI {settings.bind}:{settings.ami_port}  ARI {settings.bind}:{settings.http_port}  "
        f"AGI {settings.bind}:{settings.agi_port}  API {settings.bind}:{settings.api_port}"
    )
    return 0 if running else 3

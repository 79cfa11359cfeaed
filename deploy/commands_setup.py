"""hotline setup: install whatever is missing (Debian packages, the Asterisk root fs)."""

from __future__ import annotations

from deploy import packages, softphone, tls
from deploy.asterisk import Asterisk, say
from hotline.secrets import load_secrets


def add_arguments(p) -> None:
    p.add_argument("--tests", action="store_true", help="also what the test suite needs (PostgreSQL, Chromium)")


def run(args, settings) -> int:
    say("checking Debian packages")
    packages.ensure(tests=args.tests)
    ast = Asterisk.locate(settings, install=True)
    say(f"Asterisk: {'system ' + ast.exe if ast.rootfs is None else 'chroot ' + str(ast.rootfs)}")
    load_secrets(settings.secrets_file)
    say(f"secrets: {settings.secrets_file} (mode 0600)")
    certs = tls.ensure_certificates(tls.state_dir(settings.home), settings.bind)
    say(f"browser softphones: certificate authority {certs.ca_cert} (trust it in the agents' browsers)")
    say(f"browser softphone library: {softphone.ensure_built()}")
    say(f"wallboard chart library: {softphone.ensure_chart_built()}")
    return 0

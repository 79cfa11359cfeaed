"""`hotline asterisk -rx '...'` runs Asterisk's CLI against this platform's instance (issue #13),
found from the settings the way `hotline status` finds it."""

from __future__ import annotations

import subprocess
import sys

from hotline.settings import settings_env


def _hotline(settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "deploy.cli", *args],
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_hotline_asterisk_rx_runs_the_cli_of_the_sessions_instance(stack):
    run = _hotline(stack.settings, "asterisk", "-rx", "core show version")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("Asterisk 22"), run.stdout
    assert run.stdout.strip() == stack.cli("core show version").strip()  # the same answer over AMI
    # this session's instance, not another Asterisk of the machine: its own random SIP ports
    run = _hotline(stack.settings, "asterisk", "-rx", "pjsip show transports")
    assert run.returncode == 0, run.stderr
    for port in (stack.settings.sip_agent_port, stack.settings.sip_trunk_port):
        assert f"{stack.settings.bind}:{port}" in run.stdout, run.stdout


def test_hotline_asterisk_says_when_the_instance_does_not_run(stack, tmp_path):
    run = _hotline(stack.settings.with_(home=tmp_path), "asterisk", "-rx", "core show version")
    assert run.returncode == 3, (run.stdout, run.stderr)
    assert "does not run" in run.stderr and str(tmp_path) in run.stderr, run.stderr

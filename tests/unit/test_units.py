"""The systemd units of a production install (issue #15, build 1): one per process, verified by systemd."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from deploy import commands_units
from deploy.asterisk import Asterisk
from deploy.platform import SERVICES
from hotline.settings import Settings


def test_one_unit_per_process_restarting_on_failure(tmp_path):
    settings = Settings.from_env({}, home=tmp_path / "home")
    files = commands_units.units(settings, Asterisk.locate(settings, install=False), tmp_path / "hotline.env")
    names = {"hotline.target", "hotline-redis.service", "hotline-asterisk.service"}
    names |= {f"hotline-{n}.service" for n in SERVICES}
    assert set(files) == names
    for name, text in files.items():
        if name.endswith(".service"):
            assert "Restart=on-failure" in text and f"EnvironmentFile={tmp_path / 'hotline.env'}" in text, name
    asterisk = files["hotline-asterisk.service"]
    assert "-U asterisk -G asterisk" in asterisk and "deploy.cli prepare" in asterisk
    assert f"--port {settings.redis_port}" in files["hotline-redis.service"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verifies_the_rendered_units(tmp_path):
    out = tmp_path / "units"
    settings = Settings.from_env({}, home=tmp_path / "home")
    assert commands_units.run(type("A", (), {"out": out})(), settings) == 0
    env = (out / commands_units.ENV_FILE).read_text()
    assert f'HOTLINE_HOME="{tmp_path / "home"}"' in env
    units = sorted(str(p) for p in out.iterdir() if p.suffix in (".service", ".target"))
    r = subprocess.run(["systemd-analyze", "verify", *units], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "hotline" not in r.stderr, r.stderr  # no warning about any of our units

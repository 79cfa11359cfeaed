"""`hotline up` supervises every process, and `hotline status` tells the truth (issue #15, build 1).

A second platform of its own (its own home and ports, the shipped map) runs
under a real `hotline up`: "up" is printed only when FastAGI, the API and the
ARI app answer; a killed service and a killed Redis come back with a restart
counted, `hotline status` exits 3 while one is down and 0 when all are back;
Asterisk runs as the unprivileged `asterisk` user.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from deploy import health, supervise
from deploy.asterisk import Asterisk
from hotline.settings import PROJECT_ROOT, settings_env
from tests.e2e.harness import instance_settings, metric

UP_TIMEOUT = 120


def _uid(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid line for {pid}")


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


def _passwd_uid(passwd: Path, user: str) -> int:
    for line in passwd.read_text().splitlines():
        parts = line.split(":")
        if parts[0] == user:
            return int(parts[2])
    raise AssertionError(f"no {user} in {passwd}")


def test_the_session_asterisk_runs_as_its_own_user(stack):
    ast = stack.asterisk
    pid = ast.proc.pid
    # the chroot wrapper execs asterisk: the process is Asterisk itself
    assert "asterisk" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    uid = _uid(pid)
    assert uid != 0, "Asterisk runs as root"
    assert uid == _passwd_uid(ast.host_path("/etc/passwd"), "asterisk")
    # the rendered config (secrets in it) is not world-readable
    manager = ast.etc / "manager.conf"
    assert manager.stat().st_mode & 0o077 == 0o040, oct(manager.stat().st_mode)


@pytest.fixture
def up(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copytree(PROJECT_ROOT / "holidays", home / "holidays")
    settings = instance_settings(home, PROJECT_ROOT / "transfer_map.yaml", (32000, 32999))
    env = {**os.environ, **settings_env(settings)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "deploy.cli", "up", "--no-setup"],
        env=env,
        cwd=PROJECT_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        yield settings, env, proc, out
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        reader.join(timeout=5)
        ast = Asterisk.locate(settings, install=False)
        if ast.rootfs is not None:
            shutil.rmtree(ast.host_path(ast.ast_root), ignore_errors=True)


def _status(env) -> tuple[int, str]:
    r = subprocess.run(
        [sys.executable, "-m", "deploy.cli", "status"], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    return r.returncode, r.stdout + r.stderr


def _wait(cond, timeout: float, what: str, out: list[str]):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout} s; hotline up printed:\n" + "".join(out)[-4000:])


def _record(settings, name: str) -> supervise.Record | None:
    return supervise.read_state(settings.home)[1].get(name)


def test_hotline_up_is_up_only_when_all_answer_and_brings_back_what_dies(up):
    settings, env, proc, out = up
    _wait(lambda: any("hotline platform is up" in ln for ln in out), UP_TIMEOUT, "the 'is up' banner", out)
    # "up" means answering, at once
    assert health.tcp_answers(settings.bind, settings.agi_port), "FastAGI does not answer after 'up'"
    assert health.tcp_answers(settings.bind, settings.api_port), "the API does not answer after 'up'"
    rc, text = _status(env)
    assert rc == 0, text
    for name in ("redis", "asterisk", "agi", "api", "ari", "stats", "handoff", "jobs"):
        line = next((ln for ln in text.splitlines() if ln.split()[:1] == [name]), None)
        assert line is not None and re.search(r"running \(pid \d+, up \d+", line), (name, text)
    assert "ari      running" in text and "answering" in text, text
    ast = _record(settings, "asterisk")
    assert ast is not None and ast.pid and _uid(ast.pid) != 0, "Asterisk runs as root under hotline up"

    # a service killed: status says so (exit 3) -- the supervisor is held (SIGSTOP) so that
    # it cannot restart it before status looks -- then, let go, it restarts it and counts it
    agi = _record(settings, "agi")
    assert agi is not None and agi.pid
    os.kill(proc.pid, signal.SIGSTOP)
    try:
        os.kill(agi.pid, signal.SIGKILL)
        _wait(lambda: not Path(f"/proc/{agi.pid}").exists() or _zombie(agi.pid), 10, "agi gone", out)
        rc, text = _status(env)
        assert rc == 3 and f"dead (pid {agi.pid})" in text and "DOWN: agi" in text, text
    finally:
        os.kill(proc.pid, signal.SIGCONT)
    back = _wait(
        lambda: (r := _record(settings, "agi")) and r.state == "running" and r.pid != agi.pid and r,
        20,
        "agi restarted",
        out,
    )
    assert back.restarts == 1 and back.failures == 1, back
    _wait(lambda: health.tcp_answers(settings.bind, settings.agi_port), 15, "FastAGI answering again", out)

    # Redis is supervised too
    redis = _record(settings, "redis")
    assert redis is not None and redis.pid
    os.kill(redis.pid, signal.SIGKILL)
    _wait(
        lambda: (r := _record(settings, "redis")) and r.state == "running" and r.pid != redis.pid,
        20,
        "redis restarted",
        out,
    )
    _wait(lambda: health.redis_answers(settings.bind, settings.redis_port), 15, "Redis answering again", out)
    rc, text = _wait(lambda: (s := _status(env))[0] == 0 and s, 30, "status back to 0", out)
    assert re.search(r"agi +running \(pid \d+, up \d+s, 1 restart\)", text), text
    assert re.search(r"redis +running \(pid \d+, up \d+s, 1 restart\)", text), text
    # and counted on the supervisor's /metrics (docs/operations.md "Metrics")
    for name in ("agi", "redis"):
        assert metric(settings.up_metrics_port, "hotline_service_restarts_total", service=name) == 1
        assert metric(settings.up_metrics_port, "hotline_service_up", service=name) == 1
    assert metric(settings.up_metrics_port, "hotline_service_restarts_total", service="api") == 0

    # stopped cleanly: the state file goes, nothing is left behind
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0, "".join(out)[-3000:]
    assert not supervise.state_path(settings.home).exists()
    assert not health.tcp_answers(settings.bind, settings.agi_port)
    assert not health.redis_answers(settings.bind, settings.redis_port)

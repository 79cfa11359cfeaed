"""The background jobs as a service of `hotline up`, and their health in `hotline status` (issue #11 item 6)."""

from __future__ import annotations

import argparse
import os
import socket
from datetime import UTC, datetime, timedelta

from deploy import commands_status as status
from deploy.platform import SERVICE_MODULES, SERVICES, pid_file
from hotline.settings import Settings
from workorder import jobs_cli

NOW = datetime(2027, 7, 1, 2, 0, tzinfo=UTC)


def _beat(age_s: float, **kw):
    return {"at": (NOW - timedelta(seconds=age_s)).isoformat(), "interval": 60.0, "ok": True, **kw}


def test_hotline_up_runs_the_jobs_as_a_service():
    assert "jobs" in SERVICES and SERVICE_MODULES["jobs"] == "workorder.jobs_cli"
    from deploy.cli import COMMANDS

    assert COMMANDS["jobs"][0] == SERVICE_MODULES["jobs"]  # start_service runs `hotline jobs`


def test_jobs_health_ok_with_what_the_pass_did():
    beat = _beat(20, result={"alarms": {"sign_overdue": 2, "handling_warning": 1}, "archived": 3})
    state, detail = status.jobs_health(beat, NOW)
    assert state == "ok"
    assert "20 s ago" in detail and "handling_warning 1, sign_overdue 2" in detail and "archived 3" in detail
    assert "upstream push off" in detail


def test_jobs_health_push_failing_failed_stale_and_none():
    push = {"alarms": {}, "archived": 0, "push": {"pushed": 0, "pending": 7, "error": "HTTP 503"}}
    state, detail = status.jobs_health(_beat(5, result=push), NOW)
    assert state == "push failing" and "pending 7" in detail and "HTTP 503" in detail
    state, detail = status.jobs_health(_beat(5, ok=False, error="OperationalError: no such table"), NOW)
    assert state == "failed" and "no such table" in detail
    assert status.jobs_health(_beat(3 * 60 + 31), NOW)[0] == "stale"
    assert status.jobs_health(_beat(3 * 60 + 29), NOW)[0] == "ok"
    assert status.jobs_health(None, NOW)[0] == "no pass yet"
    assert status.jobs_health({"at": "yesterday"}, NOW)[0] == "no pass yet"


def test_service_state():
    assert status.service_state(None, False) == "stopped"
    assert status.service_state(42, True) == "running (pid 42)"
    assert status.service_state(42, False) == "dead (pid 42)"


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_jobs_pass_writes_the_heartbeat_that_status_reads(tmp_path):
    # ports where nothing listens (a platform running on the defaults must not answer for this test)
    free = {f"{n}_port": _unused_port() for n in ("agi", "api", "redis")}
    settings = Settings.from_env({}, home=tmp_path, **free)
    args = argparse.Namespace(once=True, interval=60.0, upstream=None, archive_after_days=30)
    assert jobs_cli.run(args, settings) == 0
    beat = jobs_cli.read_heartbeat(jobs_cli.heartbeat_path(settings))
    assert beat and beat["ok"] is True and beat["pid"] == os.getpid() and beat["upstream"] is False
    state, detail = status.jobs_health(beat, datetime.now(UTC))
    assert state == "ok" and "alarms none" in detail, detail
    # the status lines: one per service; here only the jobs left a heartbeat, none has a pid file
    pid_file(settings, "agi").parent.mkdir(parents=True)
    pid_file(settings, "agi").write_text(f"{os.getpid()}\n")
    lines = status.service_lines(settings, datetime.now(UTC))
    assert len(lines) == len(SERVICES) + 2  # Redis and Asterisk first
    assert [ln.split()[0] for ln in lines] == ["redis", "asterisk", *SERVICES]
    # running, but nothing listens on its port: status says it does not answer
    assert any(ln.split()[:2] == ["agi", "running"] and ln.endswith("NOT answering") for ln in lines)
    jobs = next(ln for ln in lines if ln.split()[0] == "jobs")
    assert jobs.startswith("  jobs     stopped; ok: last pass "), jobs


def test_a_failing_pass_is_in_the_heartbeat(tmp_path, monkeypatch):
    settings = Settings.from_env({}, home=tmp_path)

    def boom(*a, **k):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(jobs_cli, "one_pass", boom)
    args = argparse.Namespace(once=True, interval=60.0, upstream=None, archive_after_days=30)
    assert jobs_cli.run(args, settings) == 1
    beat = jobs_cli.read_heartbeat(jobs_cli.heartbeat_path(settings))
    assert status.jobs_health(beat, datetime.now(UTC))[0] == "failed"
    assert "the database went away" in beat["error"]

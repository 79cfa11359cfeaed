"""The background jobs run as a service of the real stack, and `hotline status` sees them (issue #11 item 6)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from deploy import commands_status as status
from deploy.platform import SERVICES
from workorder.jobs_cli import heartbeat_path, read_heartbeat


def test_the_jobs_service_runs_a_clean_pass_and_status_shows_it(stack):
    assert "jobs" in SERVICES and "jobs" in stack.platform.procs
    path = heartbeat_path(stack.settings)
    deadline = time.monotonic() + 60
    beat = read_heartbeat(path)
    while beat is None and time.monotonic() < deadline:
        assert stack.platform.procs["jobs"].poll() is None, stack.service_log("jobs")
        time.sleep(0.5)
        beat = read_heartbeat(path)
    log = stack.service_log("jobs")
    assert beat is not None, log
    assert beat["ok"] is True and beat["pid"] == stack.platform.procs["jobs"].pid, beat
    assert "ERROR" not in log and "Traceback" not in log, log
    assert "jobs pass" in log, log
    # the first pass gives Asterisk's idle heap back to the system (HOTLINE_ASTERISK_TRIM_INTERVAL);
    # the heartbeat is the latest pass's, which is not the first when other tests ran before this one
    passes = [json.loads(ln) for ln in log.splitlines() if '"msg": "jobs pass"' in ln]
    assert passes and "asterisk_trim" in passes[0], passes[:1]
    assert passes[0]["asterisk_trim"] in ("Returned some memory to the OS.", "No memory returned to the OS."), passes[0]
    lines = status.service_lines(stack.settings, datetime.now(UTC))
    jobs = next(ln for ln in lines if ln.split()[0] == "jobs")
    assert f"running (pid {beat['pid']}); ok: last pass" in jobs, lines
    assert all("running" in ln for ln in lines if ln.split()[0] in stack.platform.procs), lines

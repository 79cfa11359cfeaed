"""The supervision decisions of `hotline up` (issue #15, build 1): pure, over a record and a clock."""

from __future__ import annotations

from deploy import supervise as sv


def _run(rec: sv.Record, t: float, pid: int = 100) -> sv.Record:
    return sv.started(rec, pid, t)


def test_back_off_doubles_and_is_capped_then_failing_retries_slowly():
    assert [sv.backoff(n) for n in range(1, 7)] == [1, 2, 4, 8, 16, sv.FAILING_RETRY]
    assert sv.backoff(5) <= sv.BACKOFF_CAP


def test_quick_exits_back_off_then_fail_but_are_never_left_stopped():
    t = 1000.0
    rec = _run(sv.Record("agi"), t)
    assert rec.restarts == 0 and rec.state == "running"
    waits = []
    for i in range(1, 8):
        t += 2  # dies 2 s after each start
        rec = sv.exited(rec, 1, t)
        waits.append(rec.next_start - t)
        assert not sv.due(rec, t), "a restart is never due at the moment of the exit"
        assert sv.due(rec, rec.next_start)
        t = rec.next_start
        rec = _run(rec, t, pid=100 + i)
    assert waits == [1, 2, 4, 8, 16, sv.FAILING_RETRY, sv.FAILING_RETRY]
    assert rec.restarts == 7 and rec.state == "running" and rec.failures == 7


def test_a_healthy_minute_resets_the_budget():
    t = 0.0
    rec = _run(sv.Record("api"), t)
    for _ in range(5):  # five quick exits: the next one would make it "failing"
        t += 1
        rec = sv.exited(rec, 1, t)
        t = rec.next_start
        rec = _run(rec, t)
    assert rec.failures == 5
    # it then runs a healthy minute: the tick resets the count ...
    assert sv.healthy(rec, t + sv.HEALTHY_AFTER - 1).failures == 5
    rec = sv.healthy(rec, t + sv.HEALTHY_AFTER)
    assert rec.failures == 0
    # ... and an exit long after, even without a tick, starts the back-off from 1 s
    again = sv.exited(_run(rec, t), 1, t + 3600)
    assert (again.failures, again.state, again.next_start - (t + 3600)) == (1, "backoff", 1.0)


def test_the_sixth_quick_exit_is_failing_and_says_so():
    t = 0.0
    rec = _run(sv.Record("ari"), t)
    for _ in range(6):
        t += 1
        rec = sv.exited(rec, 2, t)
        if rec.state == "failing":
            break
        t = rec.next_start
        rec = _run(rec, t)
    assert rec.state == "failing" and rec.failures == 6 and rec.last_exit == 2
    text = sv.describe(rec, t)
    assert text.startswith("failing (6 exits in a row), status 2; restart in 5m00s"), text


def test_describe_running_and_state_file_round_trip(tmp_path):
    rec = sv.started(sv.exited(_run(sv.Record("redis"), 0.0), -9, 90.0), 4242, 91.0)
    assert sv.describe(rec, 91.0 + 185) == "running (pid 4242, up 3m05s, 1 restart)"
    sv.write_state(tmp_path, {"redis": rec}, 77)
    pid, records = sv.read_state(tmp_path)
    assert pid == 77 and records == {"redis": rec}
    sv.state_path(tmp_path).write_text("{not json")
    assert sv.read_state(tmp_path) == (None, {})

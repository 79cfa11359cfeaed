"""The pure decisions about agent calls' recordings: names, retention, the disk guard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from workorder.recording_rules import disk_guard, linkedid_of, names_of_call, purge_due, resume_threshold

NOW = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)


def test_a_recording_is_named_by_its_call():
    assert linkedid_of("1733650000.17.wav") == "1733650000.17"
    assert linkedid_of("1733650000.17-1733650004.21.wav") == "1733650000.17"
    assert linkedid_of("ast1-1733650000.17.wav") == "ast1-1733650000.17"
    assert linkedid_of("ast1-1733650000.17-ast1-1733650004.21.wav") == "ast1-1733650000.17"
    for other in ("notes.txt", "1733650000.17.gsm", "../1733650000.17.wav", "x.wav", ".wav"):
        assert linkedid_of(other) is None, other


def test_the_first_agent_of_a_call_comes_first():
    names = ["1.2-3.4.wav", "9.9.wav", "1.2.wav", "1.20.wav"]
    assert names_of_call("1.2", names) == ["1.2.wav", "1.2-3.4.wav"]
    assert names_of_call("5.5", names) == []


def test_purge_takes_only_recordings_older_than_the_retention():
    files = [
        ("1.1.wav", NOW - timedelta(days=31)),
        ("2.2.wav", NOW - timedelta(days=29)),
        ("3.3-4.4.wav", NOW - timedelta(days=400)),
        ("notes.wav", NOW - timedelta(days=400)),  # not ours: never deleted
    ]
    assert purge_due(files, NOW, 30) == ["1.1.wav", "3.3-4.4.wav"]
    assert purge_due(files, NOW, 1000) == []
    assert purge_due(files, NOW, 0) == []  # 0: kept for ever


def test_disk_guard_stops_below_the_minimum_and_resumes_with_margin():
    assert resume_threshold(500) == 600 and resume_threshold(1) == 2
    v = disk_guard(499.9, 500, recording=True)
    assert not v.record and v.changed
    v = disk_guard(550, 500, recording=False)  # back above the minimum, not yet above the margin
    assert not v.record and not v.changed
    v = disk_guard(600, 500, recording=False)
    assert v.record and v.changed
    v = disk_guard(550, 500, recording=True)
    assert v.record and not v.changed

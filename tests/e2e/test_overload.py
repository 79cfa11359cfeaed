"""More calls than capacity (issue #15 item 3), against the real Asterisk.

The hotline's queue holds HOTLINE_QUEUE_MAXLEN callers; one more hears the busy announcement
(queue-full) and Asterisk hangs up. Here the limit is 3 and 8 citizens call at once
with nobody logged in: 3 wait, 5 are turned away, nothing is left up afterwards and Asterisk's
task queues stay under their high-water alert level. The long measurement is
bench/bench_e2e.py (twice the held rate)."""

from __future__ import annotations

import re
import time

from tests.e2e.harness import Stack

CALLS = 8
MAXLEN = 3


def _channels(stack: Stack) -> int:
    m = re.search(r"(\d+) active channel", stack.cli("core show channels count"))
    assert m, "core show channels count: no count"
    return int(m.group(1))


def taskprocessors_backed_up(text: str) -> list[str]:
    """Rows of ``core show taskprocessors`` (name, processed, in queue, max depth, low water,
    high water) whose queue is at or above its low-water level now."""
    over = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 6 and all(p.isdigit() for p in parts[1:6]):
            in_queue, low_water = int(parts[2]), int(parts[4])
            if in_queue >= max(low_water, 1):
                over.append(line.strip())
    return over


def test_full_queue_plays_busy_then_nothing_stays_up(stack):
    assert _channels(stack) == 0, "channels left by an earlier test"
    settings = stack.platform.settings
    stack.platform.settings = settings.with_(queue_maxlen=MAXLEN)
    try:
        stack.reload()
        assert f"maxlen = {MAXLEN}" in (stack.asterisk.etc / "queues.conf").read_text(encoding="utf-8")
        console = stack.asterisk_log_size()
        mark = stack.events.mark()
        scen = stack.sipp_file("ivr_dtmf.xml", {"<!-- IVR_ACTIONS -->": "", "IVR_WAIT": "15000"})
        r = stack.sipp_uac(scen, "12345", "13900000777", calls=CALLS, rate=50, timeout=30)
        assert r.ok, r.stdout + r.log[-2000:]
        evs = stack.events.since(mark)
        full = [e for e in evs if e.get("Event") == "UserEvent" and e.get("UserEvent") == "HotlineQueueFull"]
        joined = [e for e in evs if e.get("Event") == "QueueCallerJoin" and e.get("Queue") == "hotline"]
        assert len(joined) == MAXLEN and len(full) == CALLS - MAXLEN, (len(joined), len(full))
        full_ids = {e["Uniqueid"] for e in full}
        played = [
            e
            for e in evs
            if e.get("Event") == "Newexten"
            and e.get("Application") == "Playback"
            and e.get("Uniqueid") in full_ids
            and e.get("AppData", "").endswith("/queue-full")
        ]
        assert len(played) == CALLS - MAXLEN
        # Asterisk ends the turned-away calls after the (short) announcement; the citizens would
        # only hang up themselves 15 s after the answer
        turned_away = {e["Uniqueid"]: float(e["Timestamp"]) for e in full}
        ended = {e["Uniqueid"]: float(e["Timestamp"]) for e in evs if e.get("Event") == "Hangup"}
        assert set(ended) >= full_ids
        assert all(ended[u] - turned_away[u] < 10 for u in full_ids), [ended[u] - turned_away[u] for u in full_ids]
        deadline = time.monotonic() + 10
        while _channels(stack) and time.monotonic() < deadline:
            time.sleep(0.3)
        assert _channels(stack) == 0
        shown = stack.cli("core show taskprocessors")
        assert "stasis/m:manager:core" in shown  # the table was read
        assert taskprocessors_backed_up(shown) == []
        # Asterisk logs a WARNING when a task queue passes its high-water alert level
        assert "high water" not in stack.asterisk_log(console).lower()
    finally:
        stack.platform.settings = settings
        stack.reload()

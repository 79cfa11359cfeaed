"""The alert window's running counts (queues/stats_window.py) against a plain recount."""

import random

from queues.stats_calls import CallFigures
from queues.stats_window import STEP, SlidingCounts


def _recount(calls, now, window):
    first = -int((window - now) // STEP) * STEP  # the first slot's start at or after now - window
    out = {}
    for arrived, keys, answered, within in calls:
        if arrived >= first:
            for k in keys:
                c = out.setdefault(k, [0.0, 0.0, 0.0])
                c[0] += 1
                c[1] += answered
                c[2] += within
    return out


def test_running_counts_equal_a_recount_as_the_window_slides_and_calls_come_late():
    rnd = random.Random(15)
    w, now, calls = SlidingCounts(600), 1_000_000.0, []
    for _ in range(400):
        now += rnd.uniform(0, 20)
        arrived = now - rnd.choice((0, 5, 30, 200, 700))  # settled later than it arrived, some out already
        keys = ("*", f"line:{rnd.choice('ab')}")
        answered = rnd.random() < 0.8
        call = (arrived, keys, answered, answered and rnd.random() < 0.7)
        calls.append(call)
        w.add(*call)
        if rnd.random() < 0.3:
            assert w.at(now) == _recount(calls, now, 600)
        if rnd.random() < 0.05:
            w.prune(now)
    assert w.at(now) == _recount(calls, now, 600)
    assert w.at(now - 300) == _recount(calls, now - 300, 600)  # an earlier time: summed afresh
    assert SlidingCounts(600).at(now) == {}
    restored = SlidingCounts(600)
    restored.load(w.dump())
    assert restored.at(now) == _recount(calls, now, 600)


def test_a_saved_state_of_settled_calls_before_the_slots_still_loads():
    f = CallFigures(window=600)
    now = 2_000_000.0
    old = {"recent": [[now - 100, "12345", "direct", True, True], [now - 50, "12345", "direct", False, False]]}
    f.load(old)
    fig = f.window_figures(now)["*"]
    assert (fig["offered"], fig["answered"], fig["answered_within_sl"]) == (2, 1, 1)
    assert f.window_figures(now + 600) == {}

"""Outbound 回访: the pure scheduler and the outcome of a call (workorder/revisit.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from hotline.settings import Settings
from workorder import states
from workorder.revisit import (
    PROMPTS,
    SURVEY_SCORES,
    Candidate,
    RevisitSettings,
    Window,
    due,
    in_window,
    next_call_at,
    outcome,
    parse_window,
    settings_from,
)
from workorder.vocab import SATISFACTION

BJ = ZoneInfo("Asia/Shanghai")
CFG = RevisitSettings(
    window=parse_window("08:00-21:00"),
    interval=timedelta(hours=2),
    max_tries=states.RULES.callback_max_tries,
    max_calls=4,
    ring_seconds=30,
)


def bj(h: int, m: int = 0, s: int = 0, day: int = 2) -> datetime:
    return datetime(2026, 12, day, h, m, s, tzinfo=BJ)


def c(order_id: int = 1, **kw) -> Candidate:
    kw.setdefault("phone", "13800138000")
    return Candidate(order_id, **kw)


def test_window_edges_in_beijing_time():
    assert due([c()], bj(8, 0), BJ, CFG) == [1]  # 08:00 is inside
    assert due([c()], bj(7, 59, 59), BJ, CFG) == []
    assert due([c()], bj(20, 59, 59), BJ, CFG) == [1]
    assert due([c()], bj(21, 0), BJ, CFG) == []  # 21:00 is outside
    # the same instants given in UTC (Beijing is UTC+8 all year: no DST)
    assert due([c()], datetime(2026, 12, 2, 0, 0, tzinfo=UTC), BJ, CFG) == [1]
    assert due([c()], datetime(2026, 12, 1, 23, 59, tzinfo=UTC), BJ, CFG) == []
    assert due([c()], datetime(2026, 12, 2, 13, 0, tzinfo=UTC), BJ, CFG) == []
    for month in range(1, 13):  # no daylight saving: 08:00 is 00:00 UTC every month
        assert in_window(datetime(2026, month, 15, 0, 0, tzinfo=UTC), BJ, CFG.window)
        assert not in_window(datetime(2026, month, 14, 23, 59, tzinfo=UTC), BJ, CFG.window)


def test_naive_now_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        due([c()], datetime(2026, 12, 2, 10, 0), BJ, CFG)


def test_interval_between_tries_and_the_night_in_between():
    first = c(attempts=1, last_attempt=bj(20, 0))
    assert due([first], bj(20, 30), BJ, CFG) == []  # too soon
    assert due([first], bj(22, 0), BJ, CFG) == []  # interval over, but night
    assert due([first], bj(7, 59, day=3), BJ, CFG) == []
    assert due([first], bj(8, 0, day=3), BJ, CFG) == [1]  # the next morning
    assert next_call_at(first, bj(20, 30), BJ, CFG) == bj(8, 0, day=3)
    assert next_call_at(c(attempts=1, last_attempt=bj(9, 0)), bj(9, 30), BJ, CFG) == bj(11, 0)
    assert next_call_at(c(), bj(6, 0), BJ, CFG) == bj(8, 0)
    assert next_call_at(c(), bj(12, 0), BJ, CFG) == bj(12, 0)


def test_window_across_midnight():
    night = RevisitSettings(parse_window("21:00-02:00"), timedelta(minutes=10), 3, 4, 30)
    assert Window(time(21), time(2)) == night.window
    assert due([c()], bj(23, 30), BJ, night) == [1]
    assert due([c()], bj(1, 59, day=3), BJ, night) == [1]
    assert due([c()], bj(2, 0, day=3), BJ, night) == []
    assert due([c()], bj(20, 59), BJ, night) == []
    assert next_call_at(c(), bj(12, 0), BJ, night) == bj(21, 0)


def test_who_is_never_called():
    now = bj(10, 0)
    assert due([c(no_callback=True)], now, BJ, CFG) == []  # 不需要回访
    assert due([c(phone=None)], now, BJ, CFG) == []  # anonymous, no number
    assert due([c(phone="12")], now, BJ, CFG) == []
    assert due([c(status="evaluation")], now, BJ, CFG) == []
    assert due([c(attempts=CFG.max_tries)], now, BJ, CFG) == []
    # a call under way (its lock held): never twice at once; an expired lock is free again
    assert due([c(locked_until=now + timedelta(seconds=1))], now, BJ, CFG) == []
    assert due([c(locked_until=now)], now, BJ, CFG) == [1]
    assert next_call_at(c(no_callback=True), now, BJ, CFG) is None


def test_longest_waiting_first_and_at_most_max_calls():
    cands = [
        c(5, attempts=1, last_attempt=bj(7, 0)),
        c(3),
        c(4, attempts=1, last_attempt=bj(6, 0)),
        c(1),
        c(2),
    ]
    assert due(cands, bj(10, 0), BJ, CFG) == [1, 2, 3, 4]


def test_window_and_settings_are_checked():
    assert parse_window(" 8:00 - 21:00 ") == Window(time(8), time(21))
    for bad in ("8-21", "08:00-24:00", "25:00-08:00", "08:00-08:00", ""):
        with pytest.raises(ValueError, match="calling window"):
            parse_window(bad)
    s = Settings.from_env(env={})
    cfg = settings_from(s, states.RULES.callback_max_tries)
    assert cfg.window == Window(time(8), time(21)) and cfg.max_tries == 3 and cfg.interval == timedelta(hours=2)
    with pytest.raises(ValueError, match="HOTLINE_REVISIT_WINDOW"):
        settings_from(s.with_(revisit_window="8am-9pm"), 3)
    with pytest.raises(ValueError, match="HOTLINE_REVISIT_MAX_CALLS"):
        settings_from(s.with_(revisit_max_calls=0), 3)
    env = Settings.from_env(env={"HOTLINE_REVISIT_INTERVAL_MINUTES": "0.5"})
    assert settings_from(env, 3).interval == timedelta(seconds=30)


def test_the_survey_answers_map_onto_the_store_scale():
    assert {k: SATISFACTION[v] for k, v in SURVEY_SCORES.items()} == {"1": "满意", "2": "基本满意", "3": "不满意"}
    assert "满意请按1，基本满意请按2，不满意请按3" in PROMPTS["revisit-survey"]
    assert outcome("ANSWER", "1") == outcome("ANSWER", " 1 ")
    assert outcome("ANSWER", "1").reached and outcome("ANSWER", "1").satisfaction == 2
    assert outcome("ANSWER", "3").satisfaction == 4 and 4 in states.DISSATISFIED
    for reason, cause in (
        ("NOANSWER", "no_answer"),
        ("BUSY", "busy"),
        ("CONGESTION", "congestion"),
        ("CHANUNAVAIL", "unavailable"),
        ("x", "failed (x)"),
    ):
        o = outcome(reason, "")
        assert (o.reached, o.satisfaction, o.cause) == (False, None, cause)
    assert outcome("ANSWER", "").cause == "no_digit" and not outcome("ANSWER", "9").reached
    assert outcome(None, None).cause == "lost"


def test_no_callback_skips_the_call_in_the_state_machine():
    s = states.OrderState(status="replied", main_unit="u1", dispatched_ever=True, no_callback=True)
    r = states.apply(s, "review_reply", "dispatcher", {"decision": "accept"})
    assert r.state.status == "evaluation" and {"type": "callback_waived"} in r.events
    # 评价 without a rating closes it (the citizen asked not to be called)
    done = states.apply(r.state, "evaluate", "agent", {})
    assert done.state.status == "closed" and done.state.satisfaction is None
    # without the flag the reply goes to 回访, and a rating is needed after a reached call
    plain = states.apply(replace(s, no_callback=False), "review_reply", "dispatcher", {"decision": "accept"})
    assert plain.state.status == "callback"


def test_the_dialer_may_record_the_callback_and_the_survey():
    s = states.OrderState(status="callback", main_unit="u1", dispatched_ever=True)
    r = states.apply(s, "callback", states.SYSTEM, {"reached": True})
    r = states.apply(r.state, "evaluate", states.SYSTEM, {"satisfaction": 4, "unit_at_fault": True})
    assert r.state.status == "dispatched" and r.state.round == 2  # 不满意: the store's reopen rule


def test_settings_from_reads_only_the_revisit_fields():
    ns = SimpleNamespace(
        revisit_window="08:00-21:00", revisit_interval_minutes=1, revisit_max_calls=1, revisit_ring_seconds=5
    )
    assert settings_from(ns, 2).ring_seconds == 5

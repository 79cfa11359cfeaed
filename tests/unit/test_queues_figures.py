"""The platform's call figures (queues/stats_calls.py): every call that reached the platform.

The worked example of docs/operations.md "Figures", call by call, fed as the
AMI events Asterisk sends for it."""

from __future__ import annotations

import json

import pytest

from queues.stats import ALL, Aggregator
from queues.stats_calls import CallFigures, endpoint_of, window_alerts

H0 = 1_790_002_800.0  # the start of a UTC hour (2026-09-21 17:00 UTC = 01:00 Beijing)
TRUNKS = {"seats-12350": "seats", "subcenter-12313": "subcenter", "province": "province"}


def ev(name, t, uid, **kw):
    out = {"Event": name, "Timestamp": f"{t:.6f}", "Uniqueid": uid}
    out.update({k: str(v) for k, v in kw.items()})
    return out


def routed(t, uid, facts):
    """The HotlineRouted UserEvent the dialplan raises once the route is taken (CALL_FACTS)."""
    keys = {"HOTLINE_ORIGIN": "o", "HOTLINE_MODE": "m", "HOTLINE_LEVEL": "l"}
    return ev(
        "UserEvent", t, uid, UserEvent="HotlineRouted", Facts="&".join(f"{keys[k]}={v}" for k, v in facts.items())
    )


def route_vars(line, mode, level="city"):
    return {"HOTLINE_ORIGIN": line, "HOTLINE_MODE": mode, "HOTLINE_LEVEL": level}


class Calls:
    def __init__(self, agg):
        self.agg = agg
        self.n = 0
        self.routed: set[str] = set()

    def route(self, uid, t, v):
        """The call's route facts, once, before its first event that follows the route."""
        if v and uid not in self.routed:
            self.routed.add(uid)
            self.agg.apply(routed(t, uid, v))

    def arrive(self, t, dialed):
        self.n += 1
        uid = f"1790.{self.n}"
        self.agg.apply(ev("Newchannel", t, uid, Context="from-pstn", Exten=dialed, Channel=f"PJSIP/pstn-{self.n}"))
        return uid

    def queue(self, uid, t, queue, v):
        self.route(uid, t, v)
        self.agg.apply(ev("QueueCallerJoin", t, uid, Queue=queue, Position=1, Count=1))

    def agent(self, uid, t, queue, hold, v):
        self.route(uid, t, v)
        self.agg.apply(ev("QueueCallerLeave", t, uid, Queue=queue, Count=0))
        self.agg.apply(
            ev("AgentConnect", t, uid, Queue=queue, HoldTime=hold, Interface="PJSIP/1001", MemberName="1001")
        )

    def dial(self, uid, t, trunk, status, v, context="route-dial"):
        self.route(uid, t, v)
        dest = f"PJSIP/{trunk}-0000{self.n:04x}"
        self.agg.apply(ev("DialBegin", t, uid, Context=context, DestChannel=dest))
        return dest

    def dial_end(self, uid, t, dest, status, v, context="route-dial"):
        self.route(uid, t, v)
        self.agg.apply(ev("DialEnd", t, uid, Context=context, DestChannel=dest, DialStatus=status))

    def hangup(self, uid, t, context, v=None):
        self.route(uid, t, v)
        self.agg.apply(ev("Hangup", t, uid, Context=context, Exten="s", Cause=16))


def worked_example(agg):
    """The 10 calls of docs/operations.md "Figures" (t = seconds after H0)."""
    c = Calls(agg)
    d = route_vars("12345", "direct")
    # 1: 12345, 8 s greeting, 2 s in the queue: answered 10 s after arrival
    u = c.arrive(H0 + 0, "12345")
    c.queue(u, H0 + 8, "hotline", d)
    c.agent(u, H0 + 10, "hotline", 2, d)
    c.hangup(u, H0 + 100, "hotline-ivr-queue", d)
    # 2: 12345, 15 s greeting, 15 s in the queue: 30 s after arrival (the queue's SL counts it)
    u = c.arrive(H0 + 60, "12345")
    c.queue(u, H0 + 75, "hotline", d)
    c.agent(u, H0 + 90, "hotline", 15, d)
    c.hangup(u, H0 + 200, "hotline-ivr-queue", d)
    # 3: 12345, hangs up in the greeting after 1 s
    u = c.arrive(H0 + 120, "12345")
    c.hangup(u, H0 + 121, "route-ivr", d)
    # 4: 12349 (整体并入): 15 s transition announcement, 5 s in the queue: 20 s after arrival
    m = route_vars("12349", "merge")
    u = c.arrive(H0 + 180, "12349")
    c.queue(u, H0 + 195, "minzheng", m)
    c.agent(u, H0 + 200, "minzheng", 5, m)
    c.hangup(u, H0 + 300, "route-queue", m)
    # 5: 12349, hangs up during the announcement after 6 s
    u = c.arrive(H0 + 240, "12349")
    c.hangup(u, H0 + 246, "route-queue", m)
    # 6: 12350 (双号并行, seats kept): the seats answer after 4 s
    s = route_vars("12350", "dual")
    u = c.arrive(H0 + 300, "12350")
    dest = c.dial(u, H0 + 301, "seats-12350", "", s)
    c.dial_end(u, H0 + 304, dest, "ANSWER", s)
    c.hangup(u, H0 + 400, "route-dial", s)
    # 7: 12350: the seats ring 5 s unanswered, the caller waits 15 s in the queue and hangs up
    u = c.arrive(H0 + 360, "12350")
    dest = c.dial(u, H0 + 361, "seats-12350", "", s)
    c.dial_end(u, H0 + 366, dest, "NOANSWER", s)
    c.queue(u, H0 + 366, "yingji", s)
    agg.apply(ev("QueueCallerAbandon", H0 + 381, u, Queue="yingji", HoldTime=15))
    c.hangup(u, H0 + 381, "route-queue", s)
    # 8: 12313 (设分中心): the sub-center answers after 3 s
    sc = route_vars("12313", "subcenter")
    u = c.arrive(H0 + 420, "12313")
    dest = c.dial(u, H0 + 421, "subcenter-12313", "", sc)
    c.dial_end(u, H0 + 423, dest, "ANSWER", sc)
    c.hangup(u, H0 + 500, "route-dial", sc)
    # 9: a call the sub-center answered itself (its own record, collect_records): 8 s
    agg.figures.record({"arrived": H0 + 480, "line": "12313", "mode": "subcenter", "answered": True, "wait": 8})
    # 10: 110 (never integrated): the announcement, then hung up: refused, not offered
    u = c.arrive(H0 + 540, "110")
    c.hangup(u, H0 + 545, "route-hangup", route_vars("110", "emergency"))


def test_worked_example_every_figure():
    agg = Aggregator(day_offset=8 * 3600, figures=CallFigures(trunks=TRUNKS, window=3600, min_calls=5))
    worked_example(agg)
    now = H0 + 600
    calls = agg.view(now)["calls"]
    total = calls["total"]["last_24h"]
    assert total["offered"] == 9 and total["refused"] == 1
    assert total["answered"] == 6
    assert total["answered_by"] == {"agent": 3, "seats": 1, "subcenter": 2, "province": 0, "other": 0}
    assert total["abandoned"] == 3
    assert total["abandoned_by"] == {"routing": 0, "ivr": 1, "announcement": 1, "queue": 1, "target": 0, "other": 0}
    assert total["answer_rate"] == pytest.approx(6 / 9)
    assert total["answered_within_sl"] == 4  # calls 1, 6, 8, 9
    assert total["service_level"] == pytest.approx(4 / 9)
    assert total["asa"] == pytest.approx((10 + 30 + 20 + 4 + 3 + 8) / 6)
    assert calls["total"]["today"] == total  # 01:00-01:10 Beijing: the same calls
    assert calls["in_progress"] == 0

    lines = {ln["line"]: ln["last_24h"] for ln in calls["lines"]}
    assert {k: (v["offered"], v["answered"], v["answered_within_sl"]) for k, v in lines.items()} == {
        "12345": (3, 2, 1),
        "12349": (2, 1, 0),
        "12350": (2, 1, 1),
        "12313": (2, 2, 2),
        "110": (0, 0, 0),
    }
    assert lines["110"]["refused"] == 1
    assert {ln["line"]: ln["mode"] for ln in calls["lines"]}["12349"] == "merge"
    modes = {m["mode"]: m["last_24h"] for m in calls["modes"]}
    assert modes["direct"]["answer_rate"] == pytest.approx(2 / 3)
    assert modes["dual"]["answered_by"]["seats"] == 1 and modes["dual"]["abandoned_by"]["queue"] == 1
    assert modes["subcenter"]["service_level"] == 1.0

    # the queue figures of the same calls overstate: 3 of the 4 callers who joined a queue
    # were answered, all 3 within 15 s of joining
    q = agg.view(now)["total"]["last_24h"]
    assert (q["offered"], q["answered"], q["answered_within_sl"]) == (4, 3, 3)
    assert q["answer_rate"] == pytest.approx(0.75) and q["service_level"] == pytest.approx(0.75)

    # the window (60 min, >= 5 calls): overall, 12345... under 95%: alerts raised once
    changes = agg.figures.check_alerts(now)
    raised = {(a["scope"], a["figure"]) for a in changes if a["state"] == "raised"}
    assert (ALL, "answer_rate") in raised and (ALL, "service_level") in raised
    assert not any(s.startswith("line:") for s, _ in raised)  # 2 or 3 calls a line: below min_calls
    assert agg.figures.check_alerts(now + 1) == []  # still under: nothing new
    # an hour later the window is empty: every alert clears
    cleared = agg.figures.check_alerts(now + 3600)
    assert {(a["scope"], a["figure"]) for a in cleared if a["state"] == "cleared"} == raised
    assert agg.view(now + 3600)["calls"]["alerts"]["active"] == []


def test_state_survives_a_restart_and_calls_in_progress_count_apart():
    agg = Aggregator(day_offset=8 * 3600, figures=CallFigures(trunks=TRUNKS))
    c = Calls(agg)
    worked_example(agg)
    waiting = c.arrive(H0 + 590, "12345")
    state = json.loads(json.dumps(agg.dump()))
    back = Aggregator.load(state, day_offset=8 * 3600, figures=CallFigures(trunks=TRUNKS))
    assert back.view(H0 + 600)["calls"]["total"] == agg.view(H0 + 600)["calls"]["total"]
    assert back.view(H0 + 600)["calls"]["in_progress"] == 1
    Calls(back).hangup(waiting, H0 + 595, "route-ivr")
    assert back.view(H0 + 600)["calls"]["total"]["last_24h"]["abandoned_by"]["ivr"] == 2


def test_calls_not_from_the_public_entry_and_unknown_channels_are_not_counted():
    agg = Aggregator(figures=CallFigures())
    agg.apply(ev("Newchannel", H0, "a.1", Context="agents", Exten="12349"))  # an agent's transfer
    agg.apply(ev("Newchannel", H0, "a.2", Context="from-trunk-subcenter-12313", Exten="12345"))
    agg.apply(ev("Hangup", H0 + 5, "a.1", Context="hotline-transfer"))
    agg.apply(ev("Hangup", H0 + 5, "a.2", Context="route-queue"))
    agg.apply(ev("Hangup", H0 + 5, "never.seen", Context="route-queue"))
    assert agg.view(H0 + 10)["calls"]["total"]["last_24h"]["offered"] == 0


def test_only_the_first_answer_counts_and_a_transfer_later_does_not():
    agg = Aggregator(figures=CallFigures(trunks=TRUNKS))
    c = Calls(agg)
    d = route_vars("12345", "direct")
    u = c.arrive(H0, "12345")
    c.queue(u, H0 + 1, "hotline", d)
    c.agent(u, H0 + 3, "hotline", 2, d)
    dest = c.dial(u, H0 + 60, "subcenter-12313", "", d, context="hotline-ivr-transfer")
    c.dial_end(u, H0 + 62, dest, "ANSWER", d, context="hotline-ivr-transfer")
    c.hangup(u, H0 + 120, "hotline-ivr-transfer", d)
    t = agg.view(H0 + 130)["calls"]["total"]["last_24h"]
    assert (t["offered"], t["answered"], t["answered_by"]["agent"], t["answered_by"]["subcenter"]) == (1, 1, 1, 0)


def test_abandoned_while_the_target_rings_and_before_a_route():
    agg = Aggregator(figures=CallFigures(trunks=TRUNKS))
    c = Calls(agg)
    p = route_vars("12340", "merge", "province")
    u = c.arrive(H0, "12340")
    c.dial(u, H0 + 1, "province", "", p)
    c.hangup(u, H0 + 9, "route-dial", p)
    u = c.arrive(H0 + 10, "+12345")
    c.hangup(u, H0 + 10.2, "hotline-inbound")
    t = agg.view(H0 + 30)["calls"]
    assert t["total"]["last_24h"]["abandoned_by"]["target"] == 1
    assert t["total"]["last_24h"]["abandoned_by"]["routing"] == 1
    assert {ln["line"] for ln in t["lines"]} == {"12340", "12345"}  # the dialed number until a route says


def test_window_alerts_need_enough_calls():
    figs = {
        ALL: {"offered": 30, "answer_rate": 0.9, "service_level": 0.96},
        "line:12349": {"offered": 3, "answer_rate": 0.0, "service_level": 0.0},
    }
    assert window_alerts(figs, 0.95, 20) == {(ALL, "answer_rate"): (0.9, 30)}
    judged = set(window_alerts(figs, 0.95, 1))
    assert judged == {(ALL, "answer_rate"), ("line:12349", "answer_rate"), ("line:12349", "service_level")}


def test_endpoint_of_a_channel_name():
    assert endpoint_of("PJSIP/seats-12350-0000002a") == "seats-12350"
    assert endpoint_of("PJSIP/province-00000001") == "province"

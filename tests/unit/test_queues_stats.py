"""Live queue statistics: the pure aggregator fed by AMI event dicts."""

from __future__ import annotations

import json

import pytest

from queues.queue_log import queue_log_event, replay_queue_log
from queues.stats import ALL, Aggregator

T0 = 1_790_000_000.0  # some day, 2026


def ev(name, t, **kw):
    return {"Event": name, "Timestamp": f"{t:.6f}", **{k: str(v) for k, v in kw.items()}}


def member(q, iface, t, name="a", status=1, paused=0, incall=0, penalty=0, event="QueueMemberAdded", **kw):
    return ev(
        event,
        t,
        Queue=q,
        Interface=iface,
        MemberName=name,
        Status=status,
        Paused=paused,
        InCall=incall,
        Penalty=penalty,
        **kw,
    )


def call(agg, q, uid, t_join, answer_after=None, abandon_after=None, talk=60, iface="PJSIP/1001"):
    agg.apply(ev("QueueCallerJoin", t_join, Queue=q, Uniqueid=uid, Position=1, Count=1))
    if answer_after is not None:
        t = t_join + answer_after
        agg.apply(ev("QueueCallerLeave", t, Queue=q, Uniqueid=uid, Count=0))
        agg.apply(
            ev(
                "AgentConnect",
                t,
                Queue=q,
                Uniqueid=uid,
                HoldTime=int(answer_after),
                RingTime=2,
                Interface=iface,
                MemberName="a",
            )
        )
        agg.apply(
            ev(
                "AgentComplete",
                t + talk,
                Queue=q,
                Uniqueid=uid,
                HoldTime=int(answer_after),
                TalkTime=talk,
                Interface=iface,
                MemberName="a",
                Reason="caller",
            )
        )
    elif abandon_after is not None:
        t = t_join + abandon_after
        agg.apply(
            ev(
                "QueueCallerAbandon",
                t,
                Queue=q,
                Uniqueid=uid,
                Position=1,
                OriginalPosition=1,
                HoldTime=int(abandon_after),
            )
        )
        agg.apply(ev("QueueCallerLeave", t, Queue=q, Uniqueid=uid, Count=0))


def test_counts_rates_sl_asa_aht():
    agg = Aggregator(wrapup={"general": 10})
    call(agg, "general", "u1", T0, answer_after=5, talk=100)
    call(agg, "general", "u2", T0 + 1, answer_after=20, talk=200)  # answered, but after 15 s
    call(agg, "general", "u3", T0 + 2, abandon_after=30)
    call(agg, "general", "u4", T0 + 3)  # still waiting
    v = agg.queue_view("general", T0 + 400)
    d = v["today"]
    assert (d["offered"], d["answered"], d["abandoned"], d["other"]) == (4, 2, 1, 0)
    assert d["answer_rate"] == pytest.approx(0.5)
    assert d["service_level"] == pytest.approx(0.25)  # 1 of 4 offered answered within 15 s
    assert d["asa"] == pytest.approx(12.5)
    assert d["aht"] == pytest.approx(150 + 10)  # talk + wrap-up
    assert v["waiting"] == 1
    assert v["longest_wait"] == pytest.approx(397)
    assert v["last_24h"]["offered"] == 4


def test_overflowed_call_counts_once_for_the_hotline():
    agg = Aggregator()
    # waits 20 s in the housing queue, times out, overflows to general, answered 5 s later
    agg.apply(ev("QueueCallerJoin", T0, Queue="housing", Uniqueid="u1"))
    agg.apply(ev("QueueCallerLeave", T0 + 20, Queue="housing", Uniqueid="u1"))
    agg.apply(ev("QueueCallerJoin", T0 + 20, Queue="general", Uniqueid="u1"))
    agg.apply(ev("QueueCallerLeave", T0 + 25, Queue="general", Uniqueid="u1"))
    agg.apply(ev("AgentConnect", T0 + 25, Queue="general", Uniqueid="u1", HoldTime=5, Interface="PJSIP/1"))
    h = agg.queue_view("housing", T0 + 30)["today"]
    g = agg.queue_view("general", T0 + 30)["today"]
    t = agg.queue_view(ALL, T0 + 30)["today"]
    assert (h["offered"], h["answered"], h["other"]) == (1, 0, 1)
    assert (g["offered"], g["answered"], g["service_level"]) == (1, 1, 1.0)
    # for the hotline: one call, answered after 25 s, so outside the 15-s level
    assert (t["offered"], t["answered"], t["answered_within_sl"]) == (1, 1, 0)
    assert t["asa"] == pytest.approx(25)


def test_agent_states():
    agg = Aggregator(wrapup={"general": 30})
    agg.apply(member("general", "PJSIP/1001", T0, name="alice"))
    agg.apply(member("general", "PJSIP/1002", T0, name="bob"))
    agg.apply(member("general", "PJSIP/1003", T0, name="carol", status=5))
    agg.apply(
        member("general", "PJSIP/1002", T0 + 1, name="bob", paused=1, PausedReason="lunch", event="QueueMemberPause")
    )
    v = agg.queue_view("general", T0 + 2)
    assert v["agents"] == {"available": 1, "ringing": 0, "talking": 0, "wrapup": 0, "paused": 1, "unavailable": 1}
    agg.apply(member("general", "PJSIP/1001", T0 + 3, name="alice", status=6, event="QueueMemberStatus"))
    assert agg.queue_view("general", T0 + 3)["agents"]["ringing"] == 1
    call(agg, "general", "u1", T0 + 3, answer_after=1, talk=10)
    agg.apply(member("general", "PJSIP/1001", T0 + 14, name="alice", status=1, event="QueueMemberStatus"))
    # hung up at T0+14; wrap-up runs 30 s from there
    assert agg.queue_view("general", T0 + 20)["agents"]["wrapup"] == 1
    assert agg.queue_view("general", T0 + 45)["agents"]["available"] == 1
    agents = {a["name"]: a for a in agg.agents_view(T0 + 20)}
    assert agents["bob"]["state"] == "paused" and agents["bob"]["reason"] == "lunch"
    assert agents["alice"]["state"] == "wrapup"
    agg.apply(ev("QueueMemberRemoved", T0 + 50, Queue="general", Interface="PJSIP/1003", MemberName="carol"))
    assert sum(agg.queue_view("general", T0 + 50)["agents"].values()) == 2


def test_restart_keeps_the_day_and_resyncs_live_state():
    agg = Aggregator(wrapup={"general": 5})
    for i in range(10):
        call(agg, "general", f"u{i}", T0 + i, answer_after=3 if i % 2 else None, abandon_after=None if i % 2 else 8)
    call(agg, "general", "w1", T0 + 50)
    saved = json.loads(json.dumps(agg.dump()))
    again = Aggregator.load(saved)
    assert again.view(T0 + 100) == agg.view(T0 + 100)
    # on start the consumer re-reads QueueStatus: the waiting caller is gone, a new one waits
    again.begin_resync()
    again.apply(ev("QueueParams", T0 + 100, Queue="general"))
    again.apply(ev("QueueEntry", T0 + 100, Queue="general", Uniqueid="w2", Wait=7))
    again.apply(member("general", "PJSIP/1001", T0 + 100, event="QueueMember"))
    v = again.queue_view("general", T0 + 100)
    assert v["waiting"] == 1 and v["longest_wait"] == pytest.approx(7)
    assert v["today"]["offered"] == 12  # 11 before + the caller who joined while we were down
    assert v["today"]["answered"] == 5 and v["today"]["abandoned"] == 5
    assert v["agents"]["available"] == 1


def test_day_boundary_is_beijing_midnight_and_24h_is_rolling():
    agg = Aggregator()
    # 2026-01-01 15:30 UTC = 23:30 Beijing; then 00:30 Beijing the next day
    t_before = 1767281400.0
    t_after = t_before + 3600
    call(agg, "general", "u1", t_before, answer_after=2)
    call(agg, "general", "u2", t_after, answer_after=2)
    v = agg.queue_view("general", t_after + 60)
    assert v["today"]["offered"] == 1
    assert v["last_24h"]["offered"] == 2
    v = agg.queue_view("general", t_before + 24 * 3600 + 60)
    assert v["last_24h"]["offered"] == 1


def test_prune_drops_old_hours_and_calls():
    agg = Aggregator()
    call(agg, "general", "u1", T0, answer_after=2)
    agg.prune(T0 + 60 * 3600)
    assert agg.buckets["general"] == {} and agg.calls == {}


def test_queue_log_lines_become_events():
    lines = [
        f"{T0:.0f}|c1|general|NONE|ENTERQUEUE||13800000000|1",
        f"{T0 + 4:.0f}|c1|general|alice|CONNECT|4|c1-agent|2",
        f"{T0 + 64:.0f}|c1|general|alice|COMPLETECALLER|4|60|1",
        f"{T0 + 5:.0f}|c2|general|NONE|ENTERQUEUE||13900000000|1",
        f"{T0 + 35:.0f}|c2|general|NONE|ABANDON|1|1|30",
        f"{T0 + 36:.0f}|NONE|general|NONE|QUEUESTART|",
        "garbage",
    ]
    assert queue_log_event(lines[1])["HoldTime"] == "4"
    assert queue_log_event(lines[5]) is None and queue_log_event(lines[6]) is None
    agg = Aggregator()
    assert replay_queue_log(agg, lines, after=T0 - 1) == 5
    d = agg.queue_view("general", T0 + 100)["today"]
    assert (d["offered"], d["answered"], d["abandoned"], d["aht"]) == (2, 1, 1, 60)
    # only lines newer than what was already applied
    agg2 = Aggregator()
    assert replay_queue_log(agg2, lines, after=T0 + 4) == 3


def test_a_start_counts_the_lines_of_the_saved_states_last_second_once():
    """queue_log has whole seconds and the state's last event has microseconds: a CONNECT of the
    same second as that event but after it (not in the state: the consumer stopped or died before
    saving again) was skipped by a replay from the last event on (seen in e2e test_queues)."""
    agg = Aggregator()
    agg.apply(ev("QueueCallerJoin", T0 + 0.2, Queue="general", Uniqueid="c1"))
    agg.apply(ev("AgentConnect", T0 + 0.4, Queue="general", Uniqueid="c1", HoldTime=0, MemberName="a"))
    agg.apply(ev("QueueCallerJoin", T0 + 0.6, Queue="general", Uniqueid="c2"))
    saved = json.loads(json.dumps(agg.dump()))  # the last save; then c2's answer, unsaved
    s = f"{T0:.0f}"
    lines = [
        f"{s}|c1|general|NONE|ENTERQUEUE||13800000000|1",
        f"{s}|c1|general|a|CONNECT|0|c1-agent|0",
        f"{s}|c2|general|NONE|ENTERQUEUE||13800000001|1",
        f"{s}|c2|general|a|CONNECT|0|c2-agent|0",
        f"{T0 + 3:.0f}|c3|general|NONE|ENTERQUEUE||13800000002|1",  # while it was down
    ]
    again = Aggregator.load(saved)
    assert again.replay_after < float(s)  # from before the last event's second
    replay_queue_log(again, lines, after=again.replay_after)
    d = again.queue_view("general", T0 + 10)["today"]
    assert (d["offered"], d["answered"]) == (3, 2)  # c2's answer counted, c1 and c2 not twice
    all_ = again.queue_view(ALL, T0 + 10)["today"]
    assert (all_["offered"], all_["answered"]) == (3, 2)
    # a state saved without what it counted lately is replayed from its last event, as before
    old = {k: v for k, v in saved.items() if k != "counted"}
    assert Aggregator.load(old).replay_after == saved["last_ts"]


def test_the_state_keeps_only_what_it_counted_lately():
    agg = Aggregator()
    agg.apply(ev("QueueCallerJoin", T0, Queue="general", Uniqueid="old"))
    agg.apply(ev("QueueCallerJoin", T0 + 100, Queue="general", Uniqueid="new"))
    assert set(agg.dump()["counted"]) == {"join|general|new"}


def test_unknown_events_are_ignored():
    agg = Aggregator()
    agg.apply({"Event": "Newexten", "Timestamp": "1"})  # not one of the figures' events
    agg.apply({"Response": "Success"})
    assert agg.events == 0 and agg.view(T0)["queues"] == []

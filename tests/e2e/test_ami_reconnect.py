"""No event lost across a forced AMI reconnect (issue #15, the AMI consumers), on the real stack.

While citizens' calls are answered, the AMI connections of ``hotline stats`` and ``hotline
handoff`` are destroyed again and again for a few seconds (``ss -K``: both ends reset; each
re-login is cut again), so calls are answered, and end, while neither consumer hears of them.
Afterwards every call an agent answered (queue_log ``CONNECT``) has exactly one draft order, and
the stats consumer's offered / answered / abandoned for the hotline queue moved by what queue_log
says happened.  bench/bench_consumers.py does the same at 30 calls/s.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections import Counter

CALLS = 6
RATE = 2  # calls/s: 3 s of calls, cut off from the consumers from 0.5 s to 3.5 s
AGENTS = ("1005", "1006", "1007", "1008", "1009", "1010")  # one call each: no caller waits out a wrap-up


def _figures(counts: Counter) -> dict[str, int]:
    return {"offered": counts["ENTERQUEUE"], "answered": counts["CONNECT"], "abandoned": counts["ABANDON"]}


def _logged(stack, service: str, since: int, msg: str) -> list[dict]:
    lines = [json.loads(ln) for ln in stack.service_log(service)[since:].splitlines() if ln.strip()]
    return [ln for ln in lines if ln.get("msg") == msg]


def test_calls_answered_while_the_consumers_ami_is_cut_get_one_order_each_and_are_counted(stack):
    talk = stack.talking_agent(0.5)
    # the citizen hangs up 8 s after the answer if the agent's BYE has not come (not 30 s): a call
    # counts here once answered, and one stray BYE must not hold the test up
    citizen = stack.sipp_file("citizen_call.xml", {'timeout="30000"': 'timeout="8000"'})
    marks = {name: len(stack.service_log(name)) for name in ("stats", "handoff")}
    with contextlib.ExitStack() as agents:
        for name in AGENTS:
            agents.enter_context(stack.agent(name, scenario=talk))
        time.sleep(1.0)  # the stats consumer has flushed the logins
        before = stack.stats_figures()
        since = time.time()
        call = stack.sipp_uac_async(citizen, "12345", "13800138301", calls=CALLS, rate=RATE, timeout=40)
        time.sleep(0.5)
        cut = []
        until = time.monotonic() + 3.0
        while time.monotonic() < until:
            cut.append(stack.kill_ami_connections())
            time.sleep(0.25)
        call.join(45)
        assert call.result.ok, call.result.stdout + call.result.log
        deadline = time.monotonic() + 20
        while True:
            lines = stack.queue_log(since, "hotline")
            counts = Counter(p[4] for p in lines)
            connects = [p[1] for p in lines if p[4] == "CONNECT"]
            orders = stack.orders_by_linkedid()
            moved = {k: v - before[k] for k, v in stack.stats_figures().items()}
            if (all(orders.get(c) for c in connects) and moved == _figures(counts)) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    assert sum(k["stats"] for k in cut) >= 1 and sum(k["handoff"] for k in cut) >= 1, cut  # it did cut them
    assert len(connects) == CALLS, counts
    assert [c for c in connects if orders.get(c) != 1] == [], {c: orders.get(c) for c in connects}
    assert moved == _figures(counts), (moved, counts)
    # the gap was real: the hand-off found answered calls in queue_log that AMI never brought it
    replays = _logged(stack, "handoff", marks["handoff"], "answered calls of an AMI gap re-read from queue_log")
    assert replays and sum(r["handoffs"] for r in replays) >= 1, replays
    assert len(_logged(stack, "stats", marks["stats"], "AMI logged in")) >= 1


def _second() -> float:
    """Now, as queue_log stamps it (whole seconds): a call answered within this second counts."""
    return float(int(time.time()))


def _connects(stack, since: float) -> list[str]:
    return [p[1] for p in stack.queue_log(since, "hotline") if p[4] == "CONNECT"]


def _drafted(stack, since: float, want: int, timeout: float = 20) -> tuple[list[str], dict[str, int]]:
    deadline = time.monotonic() + timeout
    while True:
        connects, orders = _connects(stack, since), stack.orders_by_linkedid()
        if (len(connects) >= want and all(orders.get(c) for c in connects)) or time.monotonic() > deadline:
            return connects, orders
        time.sleep(0.5)


def test_calls_answered_while_the_handoff_is_stopped_get_their_order_when_it_starts(stack):
    """A stopped (not disconnected) hand-off: its mark in AstDB says where it was, and at its
    start it hands off the calls queue_log shows answered since, once each."""
    talk = stack.talking_agent(0.5)
    citizen = stack.sipp_file("citizen_call.xml", {'timeout="30000"': 'timeout="8000"'})
    with contextlib.ExitStack() as agents:
        for name in AGENTS[:2]:
            agents.enter_context(stack.agent(name, scenario=talk))
        time.sleep(1.0)
        since = _second()
        first = stack.sipp_uac(citizen, "12345", "13800138311", timeout=30)
        assert first.ok, first.stdout + first.log
        connects, orders = _drafted(stack, since, 1)
        assert [orders.get(c) for c in connects] == [1], (connects, orders)
        time.sleep(2.5)  # the mark of that answer is in AstDB (written every second)
        mark = stack.ami({"Action": "DBGet", "Family": "hotline", "Key": "handoff_last"})
        assert any(m.get("Event") == "DBGetResponse" and float(m["Val"]) >= since for m in mark), mark
        stack.platform.stop_service("handoff")
        try:
            stopped = _second()
            calls = stack.sipp_uac(citizen, "12345", "13800138312", calls=2, rate=2, timeout=30)
            assert calls.ok, calls.stdout + calls.log
            assert len(_connects(stack, stopped)) == 2
            log_mark = len(stack.service_log("handoff"))
            time.sleep(1.0)
            missing = [c for c in _connects(stack, stopped) if not stack.orders_by_linkedid().get(c)]
            assert len(missing) == 2, missing  # nothing made them while it was stopped
        finally:
            stack.platform.start_service("handoff")
        connects, orders = _drafted(stack, since, 3)
    assert len(connects) == 3, connects
    assert [c for c in connects if orders.get(c) != 1] == [], {c: orders.get(c) for c in connects}
    starts = _logged(stack, "handoff", log_mark, "answered calls since the last run re-read from queue_log")
    assert starts and starts[-1]["handoffs"] >= 2, starts
    # the drafts made from queue_log carry the route's facts (its ENTERQUEUE line), as the live one
    facts = _route_facts(stack, connects)
    assert facts[connects[0]][2] == "hotline", facts  # the 12345 route's department, from AMI
    assert len(set(facts.values())) == 1, facts


def test_a_callback_answered_while_the_handoff_is_stopped_gets_its_order_by_the_calls_linkedid(stack):
    """A callback's queueing channel is a Local ;2 (ari_apps/callback.py), so queue_log's call id
    is not the call's linkedid.  The draft the start catch-up makes still carries the linkedid
    (the ENTERQUEUE line's ``c=``), the key the API is idempotent by: a live AgentConnect, a
    resync and a catch-up all find the same order."""
    number = "13800138321"
    with stack.agent(AGENTS[0], scenario=stack.talking_agent(0.5)):
        time.sleep(1.0)
        since = _second()
        first = stack.sipp_uac(
            stack.sipp_file("citizen_call.xml", {'timeout="30000"': 'timeout="8000"'}), "12345", "13800138320"
        )
        assert first.ok, first.stdout + first.log
        _drafted(stack, since, 1)
        time.sleep(2.5)  # the mark of that answer is in AstDB
        stack.platform.stop_service("handoff")
        try:
            mark = stack.events.mark()
            # the callback app's own channel, its ;1 half holding the line (no citizen needed here)
            local = f"Local/cb-hotline-0-{number}@hotline-ivr-callback"
            stack.ami(
                {"Action": "Originate", "Channel": local + "/n", "Application": "Wait", "Data": "3", "Async": "true"}
            )
            connect = stack.events.wait_for(
                lambda e: e.get("Event") == "AgentConnect" and e.get("Channel", "").startswith(local),
                since=mark,
                timeout=15,
            )
            stack.events.wait_for(
                lambda e: e.get("Event") == "Hangup" and e.get("Uniqueid") == connect["Uniqueid"],
                since=mark,
                timeout=15,
            )
        finally:
            stack.platform.start_service("handoff")
    linkedid, uniqueid = connect["Linkedid"], connect["Uniqueid"]
    assert linkedid != uniqueid  # the Local ;2 queued, ;1 is the call's first channel
    deadline = time.monotonic() + 20
    while not stack.orders_by_linkedid().get(linkedid) and time.monotonic() < deadline:
        time.sleep(0.5)
    orders = stack.orders_by_linkedid()
    assert orders.get(linkedid) == 1 and uniqueid not in orders, (linkedid, uniqueid, orders.get(uniqueid))


def _route_facts(stack, linkedids: list[str]) -> dict[str, tuple]:
    """(origin, mode, origin_department) of each call's order."""
    url = stack.settings.database_url
    con = sqlite3.connect(f"file:{url.split('///', 1)[1]}?mode=ro", uri=True)
    try:
        marks = ",".join("?" * len(linkedids))
        rows = con.execute(
            f"SELECT linkedid, origin, mode, origin_department FROM orders WHERE linkedid IN ({marks})", linkedids
        )
        return {lid: (origin, mode, dept) for lid, origin, mode, dept in rows.fetchall()}
    finally:
        con.close()

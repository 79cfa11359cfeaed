"""Outbound 回访, the store side (workorder/revisit_service.py), on SQLite and PostgreSQL:
the candidates, the per-order lock two jobs nodes share, the result's one transaction,
and the no-call-back flag through the API.  The calls themselves: tests/e2e/test_revisit.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hotline.auth import Principal
from workorder.db import Database
from workorder.revisit import Outcome, RevisitSettings, parse_window
from workorder.revisit_service import Revisits
from workorder.service import Store

from .test_workorder_api import act, dept_token, new_order

AGENT = Principal("rv-agent", "agent")
DISPATCHER = Principal("rv-disp", "dispatcher")
UNIT = Principal("rv-mzj", "department", "mzj")
CFG = RevisitSettings(parse_window("08:00-21:00"), timedelta(minutes=30), 3, 10, 30)
NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # 10:00 in Beijing


class Clock:
    def __init__(self):
        self.t = NOW

    def __call__(self) -> datetime:
        return self.t


def to_callback(store: Store, phone: str = "13800138000", **extra) -> int:
    o = store.create({"type": "help", "content": "路灯不亮", "caller_phone": phone, **extra}, AGENT, status="accepted")
    store.transition(o["id"], "dispatch", {"main_unit": "mzj"}, DISPATCHER)
    store.transition(o["id"], "sign", {}, UNIT)
    store.transition(o["id"], "reply", {"content": "已修复"}, UNIT)
    store.transition(o["id"], "review_reply", {"decision": "accept"}, DISPATCHER)
    return o["id"]


def test_claim_candidates_and_results(db_url):
    clock = Clock()
    store = Store(Database(db_url, group_commit=False), now=clock)
    other = Store(Database(db_url, group_commit=False), now=clock)  # a second jobs node
    try:
        rv, rv2 = Revisits(store, CFG), Revisits(other, CFG)
        a, b = to_callback(store), to_callback(store, "13800138001")
        waived = to_callback(store, "13800138002", no_callback=True)
        assert store.get(waived, AGENT)["status"] == "evaluation"
        assert [c.order_id for c in rv.due(clock())] == [a, b]
        # one node claims, the other finds it taken; the lock hides it from the schedule
        assert rv.claim(a, clock()) and not rv2.claim(a, clock())
        assert [c.order_id for c in rv2.due(clock())] == [b]
        # a lock that ran out is free again (the node that held it died)
        clock.t += rv.hold + timedelta(seconds=1)
        assert rv2.claim(a, clock()) and not rv.claim(a, clock())
        # an unreached attempt: counted, lock released, due again after the interval
        out = rv2.record(a, Outcome(False, None, "busy"))
        assert out is not None and out["attempts"] == 1 and out["status"] == "callback"
        assert a not in [c.order_id for c in rv.due(clock())]
        clock.t += CFG.interval
        cand = {c.order_id: c for c in rv.candidates()}[a]
        assert cand.attempts == 1 and cand.locked_until is None and cand.last_attempt is not None
        assert a in [c.order_id for c in rv.due(clock())]
        # a node that judged it due before that attempt was counted does not call it again
        assert not rv.claim(a, clock(), attempts=0)
        assert {c.order_id: c for c in rv.candidates()}[a].locked_until is None
        assert rv.claim(a, clock(), attempts=1)  # one that saw the count takes it
        rv.release(a)
        # reached and 不满意: the store's reopen rule (next round), lock released
        assert rv.claim(b, clock())
        out = rv.record(b, Outcome(True, 4, "answered"))
        assert out == {"order": b, "status": "dispatched", "attempts": 0, "satisfaction": 4}
        h = store.history(b, AGENT)
        assert [(t["action"], t["actor"], t["role"]) for t in h["history"][-2:]] == [
            ("callback", "system:revisit", "system"),
            ("evaluate", "system:revisit", "system"),
        ]
        kinds = [r["kind"] for r in h["records"]]
        assert kinds[-4:] == ["callback", "evaluation", "reopened", "dispatch"], kinds
        # a manual 回访 came first: the dialer's late result writes nothing
        assert rv.claim(a, clock())
        store.transition(a, "callback", {"reached": True}, AGENT)
        before = store.get(a, AGENT)["version"]
        assert rv.record(a, Outcome(True, 2, "answered")) is None
        after = store.get(a, AGENT)
        assert after["status"] == "evaluation" and after["version"] == before  # an open form stays valid
        assert not [c for c in rv.candidates() if c.order_id == a]
    finally:
        store.db.dispose()
        other.db.dispose()


def test_no_callback_through_the_api(api):
    o = new_order(api, no_callback=True)
    assert o["no_callback"] is True
    tok = dept_token(api)
    assert act(api, o["id"], "dispatch", "dispatcher", {"main_unit": "mzj"}).status_code == 200
    assert act(api, o["id"], "sign", tok).status_code == 200
    assert act(api, o["id"], "reply", tok, {"content": "已处理"}).status_code == 200
    r = act(api, o["id"], "review_reply", "dispatcher", {"decision": "accept"})
    assert r.status_code == 200 and r.json()["status"] == "evaluation", r.text
    r = act(api, o["id"], "evaluate", "agent", {})
    assert r.status_code == 200 and r.json()["status"] == "closed" and r.json()["satisfaction"] is None
    # editable while accepted; null is refused
    o2 = new_order(api)
    assert o2["no_callback"] is False
    r = api.patch(f"/api/v1/orders/{o2['id']}", json={"no_callback": True})
    assert r.status_code == 200 and r.json()["no_callback"] is True, r.text

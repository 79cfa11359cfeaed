"""无理重复诉求 in the store, through the API on a real database: a repeat accepted is merged into the
first order (still open) or closed with its answer (finished), with the history and records as the
audit trail; ``undo_repeat`` takes it back (dispatcher and up only)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.workorder.test_workorder_api import act, dept_token
from workorder.errors import Conflict
from workorder.repeat import RepeatRule

PHONE = "13700001111"
NOISE = "楼下烧烤店每天夜里噪音扰民，严重影响休息"


def order(api, accept=True, **kw):
    body = {
        "type": "complaint",
        "category_code": "500300",
        "title": "噪音扰民",
        "content": NOISE,
        "caller_phone": PHONE,
        "accept": accept,
        **kw,
    }
    r = api.post("/api/v1/orders", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def records(api, oid, kind):
    r = api.get(f"/api/v1/orders/{oid}/history", as_="admin")
    assert r.status_code == 200, r.text
    return [x for x in r.json()["records"] if x["kind"] == kind], r.json()["history"]


def test_a_repeat_of_an_open_order_is_merged_and_can_be_undone(api):
    first = order(api)
    other = order(api, caller_phone="13900002222")  # another caller: not a repeat
    assert other["status"] == "accepted"
    again = order(api, content="楼下烧烤店夜里噪音扰民，影响休息", caller_phone="+8613700001111")
    assert again["status"] == "merged" and again["parent_id"] == first["id"]
    [rec], hist = records(api, again["id"], "repeat")
    assert rec["data"]["parent_id"] == first["id"] and rec["data"]["disposition"] == "merge"
    assert rec["data"]["window_days"] == 30 and rec["data"]["threshold"] == 0.6 and rec["data"]["similarity"] >= 0.6
    assert [(h["action"], h["to"], h["comment"]) for h in hist][-2:] == [
        ("accept", "accepted", None),
        ("merge", "merged", "无理重复诉求规则"),
    ]
    [back], _ = records(api, first["id"], "repeat_of")
    assert back["data"]["order_id"] == again["id"]

    # undo: an agent may not; a dispatcher may, with a reason
    r = act(api, again["id"], "undo_repeat", "agent", {"reason": "不同摊位"})
    assert r.status_code == 409 and r.json()["reason"] == "role_not_allowed"
    r = act(api, again["id"], "undo_repeat", "dispatcher", {})
    assert r.status_code == 409 and r.json()["reason"] == "missing_field"
    r = act(api, again["id"], "undo_repeat", "dispatcher", {"reason": "不同摊位"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "accepted" and out["parent_id"] is None and out["closed_at"] is None
    [undone], hist = records(api, again["id"], "repeat_undone")
    assert undone["data"] == {"parent_id": first["id"], "reason": "不同摊位"}
    assert hist[-1]["action"] == "undo_repeat" and hist[-1]["actor"] and hist[-1]["role"] == "dispatcher"
    # open again: it goes its own way
    r = act(api, again["id"], "dispatch", "dispatcher", {"main_unit": "sthj"})
    assert r.status_code == 200, r.text


def test_a_repeat_of_an_answered_order_is_closed_with_the_earlier_answer(api):
    first = order(api)
    r = act(api, first["id"], "direct_answer", "agent", {"answer": "已通知城管，烧烤店22点后停止营业"})
    assert r.status_code == 200, r.text
    # accepted later from a draft: the rule runs on 受理
    draft = order(api, accept=False)
    assert draft["status"] == "draft"
    r = act(api, draft["id"], "accept", "agent")
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "rejected" and out["disposition"] == "unreasonable_repeat"
    assert out["parent_id"] == first["id"] and out["closed_at"]
    [rec], hist = records(api, draft["id"], "repeat")
    assert rec["data"]["disposition"] == "close" and rec["data"]["answer"] == "已通知城管，烧烤店22点后停止营业"
    assert hist[-1]["action"] == "reject" and hist[-1]["comment"] == "无理重复诉求规则"
    # a third call about it links to the first order, not to the repeat
    third = order(api)
    assert third["status"] == "rejected" and third["parent_id"] == first["id"]
    # an ordinary 不予受理 cannot be undone as a repeat
    plain = order(api, category_code="100100", content="物价咨询", title="物价")
    r = act(api, plain["id"], "reject", "agent", {"disposition": "litigation"})
    assert r.status_code == 200
    r = act(api, plain["id"], "undo_repeat", "supervisor", {"reason": "x"})
    assert r.status_code == 409 and r.json()["reason"] == "not_repeat"


def test_the_window_is_the_setting(api):
    api.store.repeat = RepeatRule(window_days=0)  # off
    first = order(api)
    assert order(api)["status"] == "accepted"
    api.store.repeat = RepeatRule(window_days=2)
    t = [datetime.now(UTC) - timedelta(days=3)]
    api.store.now = lambda: t[0]
    order(api, caller_phone="13600003333")
    t[0] += timedelta(days=3)
    assert order(api, caller_phone="13600003333")["status"] == "accepted"  # 3 days later: outside 2
    t[0] += timedelta(days=1)
    assert order(api, caller_phone="13600003333")["status"] == "merged"  # 1 day after the previous one
    assert order(api)["parent_id"] == first["id"]


def test_a_department_never_undoes(api):
    first = order(api)
    again = order(api)
    assert again["parent_id"] == first["id"]
    tok = dept_token(api, "sthj")
    r = act(api, again["id"], "undo_repeat", tok, {"reason": "x"})
    assert r.status_code in (404, 409)


def test_a_refused_disposition_never_loses_the_order(api, monkeypatch):
    """Should the merge be refused (a parent changed meanwhile), the order is still accepted, linked only."""
    first = order(api)
    real = api.store._apply

    def refuse_merges(s, o, action, payload, p, comment, now):
        if action == "merge":
            raise Conflict("bad_parent", "refused for the test")
        return real(s, o, action, payload, p, comment, now)

    monkeypatch.setattr(api.store, "_apply", refuse_merges)
    again = order(api)
    assert again["status"] == "accepted" and again["parent_id"] is None
    [rec], _ = records(api, again["id"], "repeat")
    assert rec["data"]["disposition"] == "link" and rec["data"]["refused"] == "bad_parent"
    assert rec["data"]["parent_id"] == first["id"]
    [back], _ = records(api, first["id"], "repeat_of")
    assert back["data"]["disposition"] == "link"

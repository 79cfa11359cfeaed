"""The work-order API on a real database: SQLite always, PostgreSQL when marked."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from workorder.models import Order, Outbox, Record
from workorder.service import Conflict

PHONE = "13812345678"


def new_order(api, **kw):
    body = {
        "type": "complaint",
        "title": "噪音扰民",
        "content": "小区夜间施工噪音扰民，影响休息",
        "caller_phone": PHONE,
        "caller_name": "张三",
        "address": "丛台区中华大街1号",
        "accept": True,
        **kw,
    }
    r = api.post("/api/v1/orders", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def dept_token(api, code="mzj"):
    r = api.post(
        "/api/v1/tokens", as_="admin", json={"subject": f"unit-{code}", "role": "department", "department": code}
    )
    assert r.status_code == 201, r.text
    api.extra[f"dept:{code}"] = r.json()["token"]
    api.tokens.setdefault(f"dept:{code}", r.json()["token"])
    return f"dept:{code}"


def act(api, oid, action, as_, payload=None, **kw):
    return api.post(
        f"/api/v1/orders/{oid}/transitions", as_=as_, json={"action": action, "payload": payload or {}, **kw}
    )


def test_every_route_needs_a_token(api):
    paths = api.app.openapi()["paths"]
    checked = 0
    for path, ops in paths.items():
        url = (
            path.replace("{order_id}", "1")
            .replace("{article_id}", "1")
            .replace("{number}", "2026112300001")
            .replace("{service_code}", "400100")
            .replace("{request_id}", "2026112300001")
            .replace("{token}", "2026112300001")
        )
        for method in ops:
            r = api.client.request(method.upper(), url)
            assert r.status_code == 401, (method, url, r.status_code)
            r = api.client.request(method.upper(), url, headers={"Authorization": "Bearer nope"})
            assert r.status_code == 401, (method, url)
            checked += 1
    assert checked >= 25


def test_wrong_role_is_403(api):
    assert api.post("/api/v1/orders", as_="ivr", json={}).status_code == 403
    assert api.get("/api/v1/orders", as_="calls").status_code == 403
    assert api.get("/api/v1/ivr/orders/1", as_="agent").status_code == 403
    assert api.post("/api/v1/tokens", as_="supervisor", json={"subject": "x", "role": "agent"}).status_code == 403


def test_bad_bodies_get_422_with_field_messages(api):
    r = api.post("/api/v1/orders", json={"type": "gossip", "caller_phone": "12ab", "surprise": 1})
    assert r.status_code == 422
    locs = {tuple(e["loc"]) for e in r.json()["detail"]}
    assert ("body", "type") in locs and ("body", "caller_phone") in locs and ("body", "surprise") in locs
    r = api.post("/api/v1/orders", json={"category_code": "999999", "content": "x"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "category_code"]
    r = api.post("/api/v1/orders/1/transitions", json={"action": "fly"})
    assert r.status_code == 422
    r = api.post("/api/v1/orders", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422


def test_full_loop_through_the_api(api):
    o = new_order(api, category_code="300100")
    oid = o["id"]
    assert o["status"] == "accepted" and len(o["number"]) == 13 and o["number"].isdigit()
    r = act(api, oid, "dispatch", "dispatcher", {"main_unit": "mzj", "co_units": ["wjw"]})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["status"] == "dispatched" and d["sign_deadline"] and d["handling_deadline"]
    assert d["handling_deadline"] > d["sign_deadline"]
    unit = dept_token(api, "mzj")
    assert act(api, oid, "sign", unit).json()["status"] == "handling"
    assert act(api, oid, "reply", unit, {"content": "已协调施工方调整作业时间"}).json()["status"] == "replied"
    assert act(api, oid, "review_reply", "dispatcher", {"decision": "accept"}).json()["status"] == "callback"
    assert act(api, oid, "callback", "agent", {"reached": True, "resolved": True}).json()["status"] == "evaluation"
    r = act(api, oid, "evaluate", "agent", {"satisfaction": 2})
    assert r.json()["status"] == "closed" and r.json()["satisfaction"] == 2 and r.json()["closed_at"]
    h = api.get(f"/api/v1/orders/{oid}/history", as_="supervisor").json()
    assert [x["action"] for x in h["history"]] == [
        "create",
        "accept",
        "dispatch",
        "sign",
        "reply",
        "review_reply",
        "callback",
        "evaluate",
    ]
    assert h["history"][3]["actor"] == "unit-mzj" and h["history"][3]["role"] == "department"
    kinds = [x["kind"] for x in h["records"]]
    assert kinds.count("dispatch") == 2 and "sign" in kinds and "reply" in kinds and "evaluation" in kinds
    with api.store.db.read() as s:
        events = [(e.kind, e.payload["order"]["status"]) for e in s.scalars(select(Outbox).order_by(Outbox.id))]
    assert events[0] == ("order.created", "accepted") and events[-1] == ("order.transition", "closed")
    assert len(events) == 7  # create+accept is one commit, then six transitions


def test_invalid_transition_is_409_with_reason(api):
    o = new_order(api)
    r = act(api, o["id"], "sign", "dispatcher")
    assert r.status_code == 409 and r.json()["reason"] == "role_not_allowed"
    unit = dept_token(api, "mzj")
    assert act(api, o["id"], "sign", unit).status_code == 404  # not dispatched to it: invisible
    r = act(api, o["id"], "dispatch", "dispatcher", {"main_unit": "nosuchunit"})
    assert r.status_code == 409 and r.json()["reason"] == "unknown_unit"
    act(api, o["id"], "dispatch", "dispatcher", {"main_unit": "wjw", "co_units": ["mzj"]})
    r = act(api, o["id"], "sign", unit)  # a co-unit sees the order but may not sign it
    assert r.status_code == 409 and r.json()["reason"] == "not_main_unit"
    r = act(api, o["id"], "dispatch", "dispatcher", {"main_unit": "mzj"})
    assert r.status_code == 409 and r.json()["reason"] == "invalid_state" and "派单" in r.json()["detail"]
    draft = api.post("/api/v1/orders", json={}).json()
    r = act(api, draft["id"], "accept", "agent")
    assert r.status_code == 409 and r.json()["reason"] == "incomplete"
    assert act(api, 999999, "accept", "agent").status_code == 404


def test_version_conflict_on_stale_client(api):
    o = new_order(api)
    r = act(api, o["id"], "dispatch", "dispatcher", {"main_unit": "mzj"}, version=o["version"] + 5)
    assert r.status_code == 409 and r.json()["reason"] == "version_conflict"
    r = api.patch(f"/api/v1/orders/{o['id']}", json={"title": "新标题", "version": o["version"]})
    assert r.status_code == 200 and r.json()["version"] == o["version"] + 1
    r = api.patch(f"/api/v1/orders/{o['id']}", json={"title": "旧版本", "version": o["version"]})
    assert r.status_code == 409


def test_two_concurrent_transitions_one_409_nothing_lost(api):
    o = new_order(api)
    store, principal = api.store, None
    from hotline.auth import Principal

    principal = Principal("builtin:dispatcher", "dispatcher")
    barrier = threading.Barrier(2)
    results = []

    def go(unit):
        barrier.wait()
        try:
            results.append(
                ("ok", store.transition(o["id"], "dispatch", {"main_unit": unit}, principal, version=o["version"]))
            )
        except Conflict as exc:
            results.append(("conflict", exc.reason))

    threads = [threading.Thread(target=go, args=(u,)) for u in ("mzj", "wjw")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    oks = [r for r in results if r[0] == "ok"]
    assert len(oks) == 1 and len(results) == 2
    assert results[[r[0] for r in results].index("conflict")][1] in ("version_conflict", "invalid_state")
    winner = oks[0][1]["main_unit"]
    with store.db.read() as s:
        order = s.get(Order, o["id"])
        assert order.main_unit == winner and order.version == o["version"] + 1
        disp = list(s.scalars(select(Record).where(Record.order_id == o["id"], Record.kind == "dispatch")))
        assert [r.unit for r in disp] == [winner]


def test_stale_orm_write_raises_conflict(api):
    """Without BEGIN IMMEDIATE serialisation, the version column still refuses a lost update."""
    o = new_order(api)
    from sqlalchemy.orm import Session
    from sqlalchemy.orm.exc import StaleDataError

    engine = api.store.db.engine
    with Session(engine, expire_on_commit=False) as a, Session(engine, expire_on_commit=False) as b:
        oa, ob = a.get(Order, o["id"]), b.get(Order, o["id"])
        a.commit(), b.commit()  # both have read version N and hold no transaction now
        oa.title, ob.title = "A", "B"
        a.commit()
        with pytest.raises(StaleDataError):
            b.commit()
    with api.store.db.read() as s:
        assert s.get(Order, o["id"]).title == "A"


def test_phone_masking_and_department_visibility(api):
    o = new_order(api)
    secret = new_order(api, confidential=True, caller_phone="13900001111")
    assert api.get(f"/api/v1/orders/{o['id']}", as_="agent").json()["caller_phone"] == PHONE
    assert api.get(f"/api/v1/orders/{o['id']}", as_="supervisor").json()["caller_phone"] == PHONE
    unit = dept_token(api, "mzj")
    other = dept_token(api, "wjw")
    assert api.get(f"/api/v1/orders/{o['id']}", as_=unit).status_code == 404  # not dispatched to it yet
    for oid in (o["id"], secret["id"]):
        assert act(api, oid, "dispatch", "dispatcher", {"main_unit": "mzj"}).status_code == 200
    assert api.get(f"/api/v1/orders/{o['id']}", as_=unit).json()["caller_phone"] == PHONE
    s = api.get(f"/api/v1/orders/{secret['id']}", as_=unit).json()
    assert s["caller_phone"] == "139****1111" and s["caller_name"] == "张*"
    assert api.get(f"/api/v1/orders/{o['id']}", as_=other).status_code == 404
    assert api.get("/api/v1/orders", as_=other).json()["items"] == []
    assert {x["id"] for x in api.get("/api/v1/orders", as_=unit).json()["items"]} == {o["id"], secret["id"]}
    # the builtin department token has no unit: it sees nothing
    assert api.get("/api/v1/orders", as_="department").json()["items"] == []


def test_audit_log_records_reads_and_changes(api):
    o = new_order(api)
    api.get(f"/api/v1/orders/{o['id']}", as_="supervisor")
    rows = api.get(f"/api/v1/audit?order_id={o['id']}", as_="admin").json()["items"]
    whats = {(r["subject"], r["what"], r["method"]) for r in rows}
    assert ("builtin:agent", "change", "POST") in whats and ("builtin:supervisor", "read", "GET") in whats


def test_a_read_is_audited_before_its_answer_returns_and_a_failed_change_leaves_no_row(api):
    """Audit rows are written with what they record: no in-memory queue to lose on a crash."""
    from sqlalchemy import func, select

    from workorder.models import AuditLog

    o = new_order(api)
    with api.store.db.read() as s:
        before = s.scalar(select(func.count()).select_from(AuditLog))
    assert api.get(f"/api/v1/orders/{o['id']}", as_="supervisor").status_code == 200
    with api.store.db.read() as s:  # straight from the database, no flush needed
        rows = s.scalars(select(AuditLog).order_by(AuditLog.id.desc())).all()
        assert len(rows) == before + 1 and rows[0].what == "read" and rows[0].subject == "builtin:supervisor"
        changes = s.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.what == "change", AuditLog.order_id == o["id"])
        )
    # a change refused inside its transaction (stale version) is rolled back with its audit row
    r = api.patch(f"/api/v1/orders/{o['id']}", json={"title": "x", "version": 999})
    assert r.status_code in (409, 412, 428)
    with api.store.db.read() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(AuditLog)
                .where(AuditLog.what == "change", AuditLog.order_id == o["id"], AuditLog.status_code < 300)
            )
            == changes
        )


def test_list_filters_and_chinese_search(api):
    a = new_order(api, title="路灯不亮", content="解放路路灯损坏多日不亮", address="复兴区解放路")
    b = new_order(api, type="consult", title="公积金提取", content="咨询住房公积金提取条件")
    ids = lambda r: [x["id"] for x in r.json()["items"]]  # noqa: E731
    assert ids(api.get("/api/v1/orders", params={"q": "公积金提取"})) == [b["id"]]
    assert ids(api.get("/api/v1/orders", params={"q": "路灯"})) == [a["id"]]  # 2 characters: LIKE path
    assert ids(api.get("/api/v1/orders", params={"q": "解放路"})) == [a["id"]]
    assert ids(api.get("/api/v1/orders", params={"type": "consult"})) == [b["id"]]
    assert set(ids(api.get("/api/v1/orders", params={"phone": PHONE}))) == {a["id"], b["id"]}
    assert ids(api.get("/api/v1/orders", params={"status": "closed"})) == []
    r = api.get("/api/v1/orders", params={"limit": 1})
    assert len(r.json()["items"]) == 1 and r.json()["next_before_id"] == b["id"]
    assert ids(api.get("/api/v1/orders", params={"limit": 1, "before_id": b["id"]})) == [a["id"]]
    assert api.get(f"/api/v1/orders/by-number/{a['number']}").json()["id"] == a["id"]


def test_text_search_with_filters_walks_the_index_in_chunks(api):
    made = [new_order(api, type="consult" if i % 3 == 0 else "help", title=f"供暖不热 第{i}户") for i in range(9)]
    api.store.fts_chunk = 1  # force many small steps (limit*4 = 8 rows per step)
    r = api.get("/api/v1/orders", params={"q": "供暖不热", "type": "consult", "limit": 2}).json()
    want = [o["id"] for o in made if o["type"] == "consult"][::-1]
    assert [x["id"] for x in r["items"]] == want[:2] and r["next_before_id"] == want[1]
    r = api.get("/api/v1/orders", params={"q": "供暖不热", "type": "consult", "limit": 2, "before_id": want[1]}).json()
    assert [x["id"] for x in r["items"]] == want[2:] and r["next_before_id"] is None


def test_calls_answered_contract(api):
    old = new_order(api)  # an open order of the same caller
    body = {
        "uniqueid": "1700000000.1",
        "linkedid": "1700000000.1",
        "caller": PHONE,
        "origin": "12329",
        "mode": "dual",
        "department": "gjj",
        "agent": "1001",
        "queue": "general",
    }
    r = api.post("/api/v1/calls/answered", as_="calls", json=body)
    assert r.status_code == 201, r.text
    out = r.json()
    d = out["order"]
    assert d["status"] == "draft" and d["linkedid"] == "1700000000.1" and d["origin"] == "12329"
    assert d["mode"] == "dual" and d["origin_department"] == "gjj" and d["agent"] == "1001"
    assert [x["id"] for x in out["open_orders"]] == [old["id"]]
    r2 = api.post("/api/v1/calls/answered", as_="agent", json=body)
    assert r2.status_code == 200 and r2.json()["order"]["id"] == d["id"]
    assert api.post("/api/v1/calls/answered", as_="calls", json={"uniqueid": "x"}).status_code == 422


def test_calls_answered_in_one_batch(api):
    """The hand-off's batch: one request and one transaction for several answered calls, each
    answered as ``POST /calls/answered`` would have (201 made, 200 the call had its order), in
    order, each order made the same way and audited on its own."""
    first = {"uniqueid": "1700000100.1", "linkedid": "1700000100.1", "caller": PHONE, "origin": "12349"}
    old = api.post("/api/v1/calls/answered", as_="calls", json=first).json()["order"]
    calls = [
        {
            "uniqueid": "1700000100.2",
            "linkedid": "1700000100.2",
            "caller": PHONE,
            "origin": "12329",
            "mode": "dual",
            "department": "gjj",
            "agent": "1002",
            "queue": "general",
        },
        first,  # answered before: its order
        {"uniqueid": "1700000100.3", "linkedid": "1700000100.3", "department": "no_such_unit"},
        {"uniqueid": "1700000100.2", "linkedid": "1700000100.2"},  # the same call twice in one batch
    ]
    r = api.post("/api/v1/calls/answered/batch", as_="calls", json={"calls": calls})
    assert r.status_code == 200, r.text
    res = r.json()["results"]
    assert [(x["linkedid"], x["status"]) for x in res] == [
        ("1700000100.2", 201),
        ("1700000100.1", 200),
        ("1700000100.3", 201),
        ("1700000100.2", 200),
    ]
    assert res[1]["order"] == {"id": old["id"], "number": old["number"]} and res[3]["order"] == res[0]["order"]
    made = api.get(f"/api/v1/orders/{res[0]['order']['id']}", as_="agent").json()
    assert made["number"] == res[0]["order"]["number"] and made["status"] == "draft" and made["channel"] == "phone"
    assert made["origin"] == "12329" and made["mode"] == "dual" and made["origin_department"] == "gjj"
    assert made["agent"] == "1002" and made["queue"] == "general" and made["caller_phone"] == PHONE
    third = api.get(f"/api/v1/orders/{res[2]['order']['id']}", as_="agent").json()
    assert third["origin_department"] is None and third["origin"] == "12345"  # unknown unit: made all the same
    history = api.get(f"/api/v1/orders/{made['id']}/history", as_="agent").json()["history"]
    assert [(h["action"], h["to"], h["comment"]) for h in history] == [("create", "draft", "call answered")]
    with api.store.db.read() as s:
        kinds = s.scalars(select(Outbox.kind).where(Outbox.order_id.in_([made["id"], third["id"]]))).all()
    assert kinds == ["order.created", "order.created"]  # one event per order made, none for the repeats
    with api.store.db.read() as s:
        from workorder.models import AuditLog

        audited = s.execute(
            select(AuditLog.order_id, AuditLog.status_code).where(AuditLog.path == "/api/v1/calls/answered/batch")
        ).all()
    ids = [x["order"]["id"] for x in res]
    assert sorted(audited) == sorted(zip(ids, [201, 200, 201, 200], strict=True))
    # the same rules as one call: a bad call refuses the batch whole (the hand-off then posts one by one)
    bad = {"calls": [calls[0], {"uniqueid": "x"}]}
    assert api.post("/api/v1/calls/answered/batch", as_="calls", json=bad).status_code == 422
    assert api.post("/api/v1/calls/answered/batch", as_="calls", json={"calls": []}).status_code == 422
    many = [{"uniqueid": f"b.{i}", "linkedid": f"b.{i}"} for i in range(101)]
    assert api.post("/api/v1/calls/answered/batch", as_="calls", json={"calls": many}).status_code == 422
    assert api.post("/api/v1/calls/answered/batch", as_="agent", json={"calls": calls[:1]}).status_code == 403


def test_ivr_contract(api):
    o = new_order(api)
    n = o["number"]
    r = api.get(f"/api/v1/ivr/orders/{n}", as_="ivr", params={"caller": PHONE})
    assert r.status_code == 200 and r.json() == {
        "number": n,
        "status": "accepted",
        "status_text": "已受理",
        "deadline": None,
    }
    r = api.get(f"/api/v1/ivr/orders/{n}", as_="ivr", params={"caller": "13000000000"})
    assert r.status_code == 403 and r.json() == {"detail": "needs_last4"}
    r = api.get(f"/api/v1/ivr/orders/{n}", as_="ivr", params={"caller": "13000000000", "last4": "0000"})
    assert r.status_code == 403 and r.json() == {"detail": "needs_last4"}
    r = api.get(f"/api/v1/ivr/orders/{n}", as_="ivr", params={"caller": "13000000000", "last4": "5678"})
    assert r.status_code == 200
    assert api.get("/api/v1/ivr/orders/2000010100001", as_="ivr", params={"caller": PHONE}).status_code == 404
    act(api, o["id"], "dispatch", "dispatcher", {"main_unit": "mzj"})
    r = api.get(f"/api/v1/ivr/orders/{n}", as_="ivr", params={"caller": PHONE}).json()
    assert r["status_text"] == "已派单待签收" and r["deadline"].startswith("20")
    # surveys and drafts
    call = {"uniqueid": "1700000001.5", "linkedid": "1700000001.5", "caller": PHONE}
    api.post("/api/v1/calls/answered", as_="calls", json=call)
    r = api.post("/api/v1/ivr/surveys", as_="ivr", json={"linkedid": "1700000001.5", "caller": PHONE, "score": 1})
    assert r.status_code == 201
    assert (
        api.post("/api/v1/ivr/surveys", as_="ivr", json={"linkedid": "nope.1", "caller": PHONE, "score": 1}).status_code
        == 404
    )
    assert (
        api.post(
            "/api/v1/ivr/surveys", as_="ivr", json={"linkedid": "1700000001.5", "caller": PHONE, "score": 6}
        ).status_code
        == 422
    )
    r = api.post(
        "/api/v1/ivr/drafts",
        as_="ivr",
        json={
            "linkedid": "1700000002.9",
            "caller": PHONE,
            "origin": "12345",
            "transcript": "我要反映路灯不亮",
            "recording": "msg-1700000002.9.wav",
        },
    )
    assert r.status_code == 201 and set(r.json()) == {"id", "number"}
    d = api.get(f"/api/v1/orders/{r.json()['id']}").json()
    assert d["status"] == "draft" and d["transcript"] == "我要反映路灯不亮" and d["recording"].endswith(".wav")


def test_side_paths_return_extension_reopen(api):
    o = new_order(api)
    oid = o["id"]
    act(api, oid, "dispatch", "dispatcher", {"main_unit": "mzj"})
    u1, u2 = dept_token(api, "mzj"), dept_token(api, "rsj")
    r = act(api, oid, "return", u1, {"reason": "非本单位职责"})
    assert r.json()["status"] == "return_review"
    r = act(api, oid, "review_return", "dispatcher", {"decision": "redispatch", "main_unit": "rsj"})
    assert r.json()["main_unit"] == "rsj" and r.json()["return_count"] == 1
    act(api, oid, "sign", u2)
    before = api.get(f"/api/v1/orders/{oid}").json()["handling_deadline"]
    assert act(api, oid, "request_extension", u2, {"reason": "需现场核查", "extra": "bogus"}).status_code == 409
    assert (
        act(api, oid, "request_extension", u2, {"reason": "需现场核查", "extra": "3 working_days"}).status_code == 200
    )
    r = act(api, oid, "decide_extension", "supervisor", {"decision": "approve"})
    assert r.status_code == 200 and r.json()["handling_deadline"] > before
    recs = api.get(f"/api/v1/orders/{oid}/history", as_="admin").json()["records"]
    ext = [x for x in recs if x["kind"] == "extension"][0]
    assert ext["data"]["decision"] == "approve" and ext["data"]["new_deadline"]
    assert any(x["kind"] == "inform_caller" for x in recs)
    act(api, oid, "reply", u2, {"content": "已答复"})
    act(api, oid, "review_reply", "dispatcher", {"decision": "accept"})
    act(api, oid, "callback", "agent", {"reached": True, "resolved": False})
    r = act(api, oid, "evaluate", "agent", {"satisfaction": 5, "unit_at_fault": True})
    assert r.json()["status"] == "dispatched" and r.json()["round"] == 2 and r.json()["main_unit"] == "rsj"


def test_reject_merge_and_delete(api):
    a = new_order(api)
    b = new_order(api)
    r = act(api, b["id"], "merge", "agent", {"parent_id": a["id"]})
    assert r.json()["status"] == "merged" and r.json()["parent_id"] == a["id"]
    assert act(api, a["id"], "merge", "agent", {"parent_id": a["id"]}).status_code == 409
    c = new_order(api)
    r = act(api, c["id"], "reject", "agent", {"disposition": "emergency", "transfer_to": "120"})
    assert r.json()["status"] == "rejected" and r.json()["transfer_to"] == "120"
    draft = api.post("/api/v1/orders", json={"content": "x"}).json()
    assert api.delete(f"/api/v1/orders/{a['id']}").status_code == 409
    assert api.delete(f"/api/v1/orders/{draft['id']}").status_code == 204
    assert api.get(f"/api/v1/orders/{draft['id']}").status_code == 404


def test_background_job_is_idempotent(api):
    base = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 Beijing
    clock = {"now": base}
    api.store.now = lambda: clock["now"]
    o = new_order(api, type="consult")
    act(api, o["id"], "dispatch", "dispatcher", {"main_unit": "mzj"})
    assert api.store.raise_alarms() == {}
    clock["now"] = base + timedelta(minutes=100)  # 83% of the 120-minute sign-in limit
    assert api.store.raise_alarms() == {"sign_warning": 1}
    assert api.store.raise_alarms() == {}  # due again, but already recorded: nothing new
    clock["now"] = base + timedelta(minutes=121)
    api.store.raise_alarms()
    api.store.raise_alarms()
    recs = api.get(f"/api/v1/orders/{o['id']}/history", as_="admin").json()["records"]
    stages = sorted(x["data"]["stage"] for x in recs if x["kind"] == "supervision")
    assert stages == ["sign_overdue", "sign_warning"]
    assert {x["data"]["kind"] for x in recs if x["kind"] == "supervision"} == {"urge", "supervise"}


def test_reference_routes(api):
    depts = api.get("/api/v1/departments").json()["items"]
    assert {"mzj", "gjj", "ycj"} <= {d["code"] for d in depts}
    assert any(d["lines"] == ["12329"] for d in depts)
    assert len(api.get("/api/v1/categories").json()["items"]) > 20
    tl = api.get("/api/v1/time-limits").json()
    assert "2026-10-01" in tl["holidays"] and "2026-10-10" in tl["adjusted_workdays"]
    assert api.get("/api/v1/workflow").json()["actions"]["sign"]["roles"] == ["department"]
    assert api.post("/api/v1/departments", as_="admin", json={"code": "newunit", "name": "新单位"}).status_code == 201
    assert api.post("/api/v1/departments", as_="admin", json={"code": "newunit", "name": "新单位"}).status_code == 409

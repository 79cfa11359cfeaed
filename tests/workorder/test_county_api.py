"""The county chain (县级承办), first responsibility (首接负责制) and joint meetings (联席会议) through
the API, on SQLite and PostgreSQL: the departments are the shipped map's (涉县 and its 县直部门)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .test_workorder_api import act, dept_token, new_order

COUNTY, DEPT, OTHER = "shexian", "shexian_zjj", "shexian_jyj"


def _county_signed(api):
    o = new_order(api, address="涉县涉城镇某小区")
    r = act(api, o["id"], "dispatch", "dispatcher", {"main_unit": DEPT})
    assert r.status_code == 409 and r.json()["reason"] == "county_department", r.text
    assert "shexian" in r.json()["detail"]
    assert act(api, o["id"], "dispatch", "dispatcher", {"main_unit": COUNTY}).status_code == 200
    county = dept_token(api, COUNTY)
    assert act(api, o["id"], "sign", county).status_code == 200
    return o["id"], county


def test_the_city_sees_the_whole_chain_city_county_county_department(api):
    parents = {d["code"]: d["parent"] for d in api.get("/api/v1/departments").json()["items"]}
    assert parents[DEPT] == parents[OTHER] == COUNTY and parents[COUNTY] is None  # seeded from the map
    oid, county = _county_signed(api)
    dept, other = dept_token(api, DEPT), dept_token(api, OTHER)
    assert "sub_dispatch" in api.get(f"/api/v1/orders/{oid}", as_=county).json()["allowed_actions"]
    assert api.get(f"/api/v1/orders/{oid}", as_=dept).status_code == 404  # not yet its order
    for bad in (5, [DEPT], {"unit": DEPT}):  # a unit is a code: anything else is refused, nothing stored
        assert act(api, oid, "sub_dispatch", county, {"unit": bad}).json()["reason"] == "bad_field"
    r = act(api, oid, "sub_dispatch", county, {"unit": "mzj"})
    assert r.status_code == 409 and r.json()["reason"] == "not_county_department"
    assert act(api, oid, "sub_dispatch", dept, {"unit": DEPT}).status_code == 404  # not its order
    r = act(api, oid, "sub_dispatch", county, {"unit": DEPT})
    assert r.status_code == 200, r.text
    o = r.json()
    assert (o["status"], o["sub_unit"], o["sub_status"]) == ("handling", DEPT, "dispatched")
    assert o["sub_sign_deadline"] and o["sub_handling_deadline"] <= o["handling_deadline"]
    # the county's department sees the order now (and lists it); its sibling does not
    assert api.get(f"/api/v1/orders/{oid}", as_=dept).status_code == 200
    assert [x["id"] for x in api.get("/api/v1/orders", as_=dept).json()["items"]] == [oid]
    assert api.get(f"/api/v1/orders/{oid}", as_=other).status_code == 404
    assert act(api, oid, "sub_sign", other).status_code == 404
    assert act(api, oid, "sub_sign", dept).json()["sub_status"] == "handling"
    assert act(api, oid, "sub_reply", dept, {"content": "已督促物业整改"}).json()["sub_status"] == "replied"
    r = act(api, oid, "reply", county, {"content": "已办"})
    assert r.status_code == 409 and r.json()["reason"] == "sub_open"
    assert act(api, oid, "sub_review", county, {"decision": "accept"}).json()["sub_status"] == "done"
    assert act(api, oid, "reply", county, {"content": "经县住建局督促，物业已整改"}).json()["status"] == "replied"
    chain = api.get(f"/api/v1/orders/{oid}/chain", as_="dispatcher").json()
    city, down = chain["levels"]
    assert (city["unit"], city["first_unit"], city["status"]) == (COUNTY, COUNTY, "replied")
    assert (down["county"], down["unit"], down["status"], down["unit_name"]) == (
        COUNTY,
        DEPT,
        "done",
        "涉县住房和城乡建设局",
    )
    (a,) = chain["county_assignments"]
    assert a["outcome"] == "accepted" and a["signed_at"] and a["replies"][0]["content"] == "已督促物业整改"
    # the county department reads the chain of its order too; a stranger gets 404
    assert api.get(f"/api/v1/orders/{oid}/chain", as_=dept).status_code == 200
    assert api.get(f"/api/v1/orders/{oid}/chain", as_=other).status_code == 404


def test_the_county_level_has_its_own_deadlines_returns_and_supervision(api):
    base = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 Beijing
    clock = {"now": base}
    api.store.now = lambda: clock["now"]
    oid, county = _county_signed(api)
    dept = dept_token(api, DEPT)
    act(api, oid, "sub_dispatch", county, {"unit": DEPT})
    assert act(api, oid, "sub_return", dept, {"reason": "属县自然资源局"}).json()["sub_status"] == "return_review"
    assert act(api, oid, "sub_review_return", county, {"decision": "refuse"}).json()["sub_status"] == "dispatched"
    clock["now"] = base + timedelta(minutes=61)  # the county level's 60-minute sign-in is over
    assert api.store.raise_alarms() == {"county_sign_overdue": 1}
    assert api.store.raise_alarms() == {}
    r = act(api, oid, "supervise", "supervisor", {"kind": "supervise", "level": "county", "note": "请即签收"})
    assert r.status_code == 200
    assert act(api, oid, "sub_supervise", county, {"kind": "urge"}).status_code == 200
    recs = api.get(f"/api/v1/orders/{oid}/history", as_="admin").json()["records"]
    sup = [(x["unit"], x["data"]["level"], x["data"]["stage"]) for x in recs if x["kind"] == "supervision"]
    assert sup == [(DEPT, "county", "county_sign_overdue"), (DEPT, "county", "manual"), (DEPT, "county", "manual")]
    chain = api.get(f"/api/v1/orders/{oid}/chain", as_="supervisor").json()
    assert chain["county_assignments"][0]["supervisions"] == 3
    assert chain["county_assignments"][0]["returns"][0]["reason"] == "属县自然资源局"
    # taken back, the county may answer the city itself
    act(api, oid, "sub_return", dept, {"reason": "again"})
    assert act(api, oid, "sub_review_return", county, {"decision": "take_back"}).json()["sub_unit"] is None
    assert act(api, oid, "reply", county, {"content": "县政府直接办理"}).status_code == 200


def test_first_responsibility_then_a_designated_lead(api):
    o = new_order(api)
    oid = o["id"]
    act(api, oid, "dispatch", "dispatcher", {"main_unit": "mzj"})
    mzj, rsj = dept_token(api, "mzj"), dept_token(api, "rsj")
    assert act(api, oid, "sign", mzj).json()["first_unit"] == "mzj"
    acts = api.get(f"/api/v1/orders/{oid}", as_=mzj).json()["allowed_actions"]
    assert "reply" in acts and "sub_dispatch" not in acts  # mzj has no departments of its own
    assert act(api, oid, "return", mzj, {"reason": "涉及人社"}).status_code == 200
    r = act(api, oid, "review_return", "dispatcher", {"decision": "redispatch", "main_unit": "rsj"})
    assert r.status_code == 409 and r.json()["reason"] == "first_responsibility"
    assert "designate_lead" in r.json()["detail"]
    r = act(api, oid, "designate_lead", "dispatcher", {"lead": DEPT, "reason": "jurisdiction"})
    assert r.json()["reason"] == "county_department"
    r = act(api, oid, "designate_lead", "dispatcher", {"lead": "rsj", "reason": "jurisdiction"})
    assert r.status_code == 200, r.text
    assert (r.json()["main_unit"], r.json()["designated"], r.json()["status"]) == ("rsj", True, "dispatched")
    assert act(api, oid, "return", rsj, {"reason": "x"}).json()["reason"] == "designated"
    chain = api.get(f"/api/v1/orders/{oid}/chain", as_="dispatcher").json()
    assert chain["designations"][0] | {"at": None} == {
        "at": None,
        "unit": "rsj",
        "previous": "mzj",
        "reason": "jurisdiction",
    }


def test_joint_meeting_decides_the_lead_and_parts(api):
    o = new_order(api, title="小区违建和扬尘", content="小区旁违建施工，扬尘严重，涉及住建、城管、环保")
    oid = o["id"]
    meeting = {
        "held_on": "2026-12-01",
        "units_present": ["zrzy", "cgzf", "sthj", DEPT],  # a county department may attend
        "decision": "住建局牵头，城管局拆违，生态环境局监测扬尘",
        "lead": "zrzy",
        "assisting": [{"unit": "cgzf", "part": "拆除违建"}, {"unit": "sthj", "part": "扬尘监测"}],
    }
    url = f"/api/v1/orders/{oid}/joint-meetings"
    assert api.post(url, as_="agent", json=meeting).status_code == 403
    r = api.post(url, as_="dispatcher", json={**meeting, "held_on": "yesterday", "assisting": []})
    assert r.status_code == 422 and {e["loc"][-1] for e in r.json()["detail"]} >= {"held_on", "assisting"}
    r = api.post(url, as_="dispatcher", json={**meeting, "lead": "nope"})
    assert r.status_code == 409 and r.json()["reason"] == "unknown_unit"
    r = act(api, oid, "joint_meeting", "dispatcher", {**meeting, "lead": ["zrzy"]})
    assert r.status_code == 409 and r.json()["reason"] == "bad_field"
    r = api.post(url, as_="dispatcher", json={**meeting, "assisting": [{"unit": DEPT, "part": "配合"}]})
    assert r.status_code == 409 and r.json()["reason"] == "county_department"  # assigned only via its county
    r = api.post(url, as_="dispatcher", json=meeting)
    assert r.status_code == 201, r.text
    assert (r.json()["main_unit"], r.json()["co_units"], r.json()["parts_due"]) == (
        "zrzy",
        ["cgzf", "sthj"],
        ["cgzf", "sthj"],
    )
    zjj, cgj, hb = dept_token(api, "zrzy"), dept_token(api, "cgzf"), dept_token(api, "sthj")
    assert api.get(f"/api/v1/orders/{oid}", as_=cgj).status_code == 200  # an assisting unit sees the order
    act(api, oid, "sign", zjj)
    r = act(api, oid, "reply", zjj, {"content": "已处置"})
    assert r.status_code == 409 and r.json()["reason"] == "parts_pending" and "cgzf" in r.text
    assert act(api, oid, "part_reply", cgj, {"content": "违建已拆除"}).json()["parts_due"] == ["sthj"]
    assert act(api, oid, "part_reply", zjj, {"content": "x"}).json()["reason"] == "not_co_unit"
    assert act(api, oid, "part_reply", hb, {"content": "扬尘监测达标"}).json()["parts_due"] == []
    assert act(api, oid, "reply", zjj, {"content": "三部门联合处置完毕"}).json()["status"] == "replied"
    got = api.get(url, as_="supervisor").json()
    (m,) = got["items"]
    assert (m["held_on"], m["lead"], m["units_present"]) == ("2026-12-01", "zrzy", ["cgzf", DEPT, "sthj", "zrzy"])
    assert [(x["unit"], x["part"], x["content"]) for x in got["parts"]] == [
        ("cgzf", "拆除违建", "违建已拆除"),
        ("sthj", "扬尘监测", "扬尘监测达标"),
    ]

"""Caller numbers and names per role over every API route that returns them (workorder/privacy.py).

Three orders of the same make, one per kind: ordinary, confidential (保密) and anonymous (匿名),
each with its own caller; all made by the agent ``wang`` (its own orders) and dispatched to
民政局 (mzj).  The table ``CLEAR`` says which kinds each role sees in clear; everything else
must come back masked (``139****0001``, ``王*``), and a lookup by number must not find it.
The expectations are written out here, not computed with the rule under test.
"""

from __future__ import annotations

import pytest

KINDS = {
    "ordinary": {"caller_phone": "13900000001", "caller_name": "王小明"},
    "confidential": {"caller_phone": "13900000002", "caller_name": "李大山", "confidential": True},
    "anonymous": {"caller_phone": "13900000003", "caller_name": "赵一", "anonymous": True},
}
MASKED = {
    "13900000001": ("139****0001", "王**"),
    "13900000002": ("139****0002", "李**"),
    "13900000003": ("139****0003", "赵*"),
}
# role -> the kinds whose caller it sees in clear
CLEAR = {
    "agent": {"ordinary"},  # the built-in agent token: not the agent of these orders
    "own": {"ordinary", "confidential", "anonymous"},  # wang, who made them
    "dispatcher": {"ordinary"},
    "unit": {"ordinary"},  # 民政局, the handling department
    "supervisor": {"ordinary", "confidential", "anonymous"},
    "admin": {"ordinary", "confidential", "anonymous"},
}
ROLES = sorted(CLEAR)


@pytest.fixture
def orders(api):
    for key, body in (
        ("own", {"subject": "wang", "role": "agent"}),
        ("unit", {"subject": "unit-mzj", "role": "department", "department": "mzj"}),
        ("app", {"subject": "city-app", "role": "open311"}),
    ):
        r = api.post("/api/v1/tokens", as_="admin", json=body)
        assert r.status_code == 201, r.text
        api.extra[key] = r.json()["token"]
    out = {}
    for kind, fields in KINDS.items():
        body = {
            "type": "report",
            "title": "举报占道经营",
            "content": f"某路口夜市占道经营，我的电话 {fields['caller_phone']}",
            "address": "丛台区中华大街1号",
            "accept": True,
            **fields,
        }
        r = api.post("/api/v1/orders", as_="own", json=body)
        assert r.status_code == 201, r.text
        o = r.json()
        r = api.post(
            f"/api/v1/orders/{o['id']}/transitions",
            as_="dispatcher",
            json={"action": "dispatch", "payload": {"main_unit": "mzj"}},
        )
        assert r.status_code == 200, r.text
        out[kind] = r.json()
    return out


def _detail(api, role, o):
    r = api.get(f"/api/v1/orders/{o['id']}", as_=role)
    assert r.status_code == 200, r.text
    return r.json()


def _by_number(api, role, o):
    r = api.get(f"/api/v1/orders/by-number/{o['number']}", as_=role)
    assert r.status_code == 200, r.text
    return r.json()


def _listed(api, role, o):
    r = api.get("/api/v1/orders", as_=role, params={"limit": 500})
    assert r.status_code == 200, r.text
    return next(x for x in r.json()["items"] if x["id"] == o["id"])


READS = {"detail": _detail, "by_number": _by_number, "list": _listed}


def _expect(got: dict, kind: str, clear: bool) -> None:
    phone, name = KINDS[kind]["caller_phone"], KINDS[kind]["caller_name"]
    if clear:
        assert (got["caller_phone"], got["caller_name"]) == (phone, name), got
    else:
        assert (got["caller_phone"], got["caller_name"]) == MASKED[phone], got


@pytest.mark.parametrize("route", sorted(READS))
@pytest.mark.parametrize("role", ROLES)
def test_every_read_masks_the_caller_per_role(api, orders, role, route):
    for kind, o in orders.items():
        _expect(READS[route](api, role, o), kind, kind in CLEAR[role])


@pytest.mark.parametrize("role", ROLES)
def test_lookup_by_caller_finds_only_the_orders_the_role_sees(api, orders, role):
    for kind, o in orders.items():
        r = api.get("/api/v1/orders", as_=role, params={"phone": KINDS[kind]["caller_phone"]})
        assert r.status_code == 200, r.text
        found = [x["id"] for x in r.json()["items"]]
        # a match on a masked order would tell who filed it: none
        assert found == ([o["id"]] if kind in CLEAR[role] else []), (kind, found)
        for x in r.json()["items"]:
            _expect(x, kind, True)


@pytest.mark.parametrize("role", ["ivr", "calls", "app"])
def test_machine_roles_read_no_order(api, orders, role):
    o = orders["ordinary"]
    for path in (f"/api/v1/orders/{o['id']}", f"/api/v1/orders/by-number/{o['number']}", "/api/v1/orders"):
        assert api.get(path, as_=role).status_code == 403, path
    assert api.get("/api/v1/orders", as_=role, params={"phone": "13900000001"}).status_code == 403


# -- answers to changes ------------------------------------------------------------------


def _act(api, role, o, action, payload=None):
    r = api.post(f"/api/v1/orders/{o['id']}/transitions", as_=role, json={"action": action, "payload": payload or {}})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("role", ["agent", "own", "admin"])
def test_an_edit_answers_with_the_callers_view(api, role):
    api.extra["own"] = api.post("/api/v1/tokens", as_="admin", json={"subject": "wang", "role": "agent"}).json()[
        "token"
    ]
    for kind, fields in KINDS.items():
        body = {"type": "report", "title": "举报", "content": "占道经营", "accept": True, **fields}
        o = api.post("/api/v1/orders", as_="own", json=body).json()
        r = api.patch(f"/api/v1/orders/{o['id']}", as_=role, json={"title": "举报占道经营"})
        assert r.status_code == 200, r.text
        _expect(r.json(), kind, kind in CLEAR[role])


@pytest.mark.parametrize(
    "role,action,payload",
    [
        ("dispatcher", "supervise", {"kind": "urge"}),
        ("supervisor", "supervise", {"kind": "supervise"}),
        ("unit", "sign", {}),
    ],
)
def test_a_transition_answers_with_the_callers_view(api, orders, role, action, payload):
    for kind, o in orders.items():
        _expect(_act(api, role, o, action, payload), kind, kind in CLEAR[role])


def test_whoever_sees_the_caller_masked_may_not_change_it_or_lift_the_protection(api):
    api.extra["own"] = api.post("/api/v1/tokens", as_="admin", json={"subject": "wang", "role": "agent"}).json()[
        "token"
    ]
    body = {"type": "report", "title": "举报", "content": "占道经营", "accept": True, **KINDS["confidential"]}
    o = api.post("/api/v1/orders", as_="own", json=body).json()
    for change in ({"confidential": False}, {"caller_phone": "13000000000"}, {"caller_name": "某人"}):
        r = api.patch(f"/api/v1/orders/{o['id']}", as_="agent", json=change)
        assert r.status_code == 403 and "masked" in r.json()["detail"], (change, r.text)
    # the same value is no change; whoever sees the caller changes it
    assert api.patch(f"/api/v1/orders/{o['id']}", as_="agent", json={"confidential": True}).status_code == 200
    r = api.patch(f"/api/v1/orders/{o['id']}", as_="own", json={"confidential": False})
    assert r.status_code == 200 and r.json()["caller_phone"] == "13900000002", r.text
    # ... and now, no longer 保密, every hotline role sees it
    assert api.get(f"/api/v1/orders/{o['id']}", as_="agent").json()["caller_phone"] == "13900000002"


# -- the call hand-off -----------------------------------------------------------------------


def _answered(api, role, caller, n):
    body = {"uniqueid": f"1700000000.{n}", "linkedid": f"1700000000.{n}", "caller": caller, "agent": "li"}
    r = api.post("/api/v1/calls/answered", as_=role, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_an_answered_call_lists_the_callers_open_orders_the_principal_sees(api, orders):
    # the hand-off service sees every caller: the screen pop needs the caller's open orders
    for n, (kind, o) in enumerate(orders.items()):
        out = _answered(api, "calls", KINDS[kind]["caller_phone"], n)
        assert out["order"]["caller_phone"] == KINDS[kind]["caller_phone"]
        assert [x["id"] for x in out["open_orders"]] == [o["id"]]
        _expect(out["open_orders"][0], kind, True)
    # the built-in agent token (not the agent of these orders): the ordinary one only
    for n, (kind, o) in enumerate(orders.items(), start=10):
        out = _answered(api, "agent", KINDS[kind]["caller_phone"], n)
        assert out["order"]["caller_phone"] == KINDS[kind]["caller_phone"]  # its own new draft
        assert [x["id"] for x in out["open_orders"]] == ([o["id"]] if kind == "ordinary" else []), kind


# -- Open311 (app keys) ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["app", "agent", "admin"])
def test_open311_never_carries_the_caller(api, orders, role):
    key = api.extra.get(role) or api.tokens[role]
    listed = api.client.get("/open311/v2/requests.json", params={"api_key": key})
    assert listed.status_code == 200, listed.text
    answers = [listed.text]
    for kind, o in orders.items():
        one = api.client.get(f"/open311/v2/requests/{o['number']}.json", params={"api_key": key})
        assert one.status_code == 200, one.text
        answers.append(one.text)
        got = one.json()[0]
        if o["confidential"]:
            assert got["description"] == "保密工单：内容与地点不公开" and got["address"] is None
        else:  # the number the citizen wrote into the content is masked
            masked = MASKED[KINDS[kind]["caller_phone"]][0]
            assert got["description"] == f"某路口夜市占道经营，我的电话 {masked}", got
    for text in answers:
        for fields in KINDS.values():
            assert fields["caller_phone"] not in text and fields["caller_name"] not in text
        assert "caller" not in text and "phone" not in text


def test_the_store_refuses_a_lookup_by_number_to_a_role_that_never_sees_one(api):
    from hotline.auth import Principal
    from workorder.errors import Forbidden

    for role in ("quality", "open311", "ivr"):
        with pytest.raises(Forbidden):
            api.store.list(Principal(f"x-{role}", role), phone="13900000001")

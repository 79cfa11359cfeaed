"""Caller numbers on the people's pages and their JSON routes, per role (workorder/privacy.py):
the agent desktop's screen pop, recent orders and save, the department portal, quality review."""

from __future__ import annotations

import pytest

from hotline.auth import Principal

CALLS = Principal("builtin:calls", "calls")
DISPATCHER = Principal("paidan", "dispatcher")
PHONE, NAME = "13700000009", "孙小红"
MASKED_PHONE, MASKED_NAME = "137****0009", "孙**"


def _call(site, linkedid: str, agent: str, confidential: bool) -> dict:
    """A call answered by ``agent`` (its draft), 保密 or not."""
    body = {"uniqueid": linkedid, "linkedid": linkedid, "caller": PHONE, "agent": agent}
    out, _ = site.store.call_answered(body, CALLS)
    o = out["order"]
    fields = {"caller_name": NAME, "confidential": confidential, "type": "report", "content": "举报占道经营"}
    return site.store.update(o["id"], fields, Principal(agent, "agent"))


@pytest.fixture
def calls(site):
    """An earlier ordinary order of the caller (accepted), and demo1002's 保密 call."""
    earlier = _call(site, "1700000001.1", "demo1002", False)
    site.store.transition(earlier["id"], "accept", {}, DISPATCHER)
    secret = _call(site, "1700000001.2", "demo1002", True)
    return {"earlier": earlier, "secret": secret}


def test_the_screen_pop_shows_the_caller_to_its_agent_only(site, calls):
    own = site.client("demo1002").get("/agent/pop", params={"linkedid": "1700000001.2"}).json()
    assert (own["order"]["caller_phone"], own["order"]["caller_name"]) == (PHONE, NAME)
    assert [x["id"] for x in own["earlier"]] == [calls["earlier"]["id"]]
    assert own["earlier"][0]["caller_phone"] == PHONE
    other = site.client("demo1001").get("/agent/pop", params={"linkedid": "1700000001.2"}).json()
    assert (other["order"]["caller_phone"], other["order"]["caller_name"]) == (MASKED_PHONE, MASKED_NAME)
    # the caller's earlier (ordinary) orders would tell the masked number: none
    assert other["earlier"] == []
    # the ordinary call's pop: every agent sees the caller, and not the 保密 order in its history
    pop = site.client("demo1001").get("/agent/pop", params={"linkedid": "1700000001.1"}).json()
    assert pop["order"]["caller_phone"] == PHONE and pop["earlier"] == []


def test_recent_orders_of_an_agent_are_in_clear(site, calls):
    items = site.client("demo1002").get("/agent/recent").json()["items"]
    assert {x["id"]: x["caller_phone"] for x in items} == {calls["earlier"]["id"]: PHONE, calls["secret"]["id"]: PHONE}
    assert site.client("demo1001").get("/agent/recent").json()["items"] == []


def test_saving_a_masked_order_keeps_its_caller(site, calls):
    c, csrf = site.client("demo1001"), {"X-CSRF-Token": site.csrf("demo1001")}
    url = f"/agent/orders/{calls['secret']['id']}/submit"
    # the form sends the caller back only when it changed (agent.js): a title edit is fine
    r = c.post(url, headers=csrf, json={"step": "save", "fields": {"title": "占道经营", "confidential": True}})
    assert r.status_code == 200, r.text
    assert (r.json()["caller_phone"], r.json()["caller_name"]) == (MASKED_PHONE, MASKED_NAME)
    r = c.post(url, headers=csrf, json={"step": "save", "fields": {"caller_phone": "13000000000"}})
    assert r.status_code == 403, r.text
    r = c.post(url, headers=csrf, json={"step": "save", "fields": {"confidential": False}})
    assert r.status_code == 403, r.text
    again = site.store.get(calls["secret"]["id"], CALLS)
    assert (again["caller_phone"], again["caller_name"], again["confidential"]) == (PHONE, NAME, True)


def test_the_department_portal_masks_a_confidential_caller(site, calls):
    secret = site.store.transition(calls["secret"]["id"], "accept", {}, DISPATCHER)
    for o in (calls["earlier"], secret):
        site.store.transition(o["id"], "dispatch", {"main_unit": "mzj"}, DISPATCHER)
    c = site.client("minzheng")
    plain = c.get(f"/dept/orders/{calls['earlier']['id']}").text
    assert PHONE in plain and NAME in plain
    hidden = c.get(f"/dept/orders/{calls['secret']['id']}").text
    assert PHONE not in hidden and NAME not in hidden and MASKED_PHONE in hidden
    r = c.get("/api/v1/orders", params={"phone": PHONE})
    assert [x["id"] for x in r.json()["items"]] == [calls["earlier"]["id"]]


def test_quality_reviewers_read_no_order_and_no_number(site, calls):
    c = site.client("zhijian")
    for path in ("/api/v1/orders", f"/api/v1/orders/{calls['secret']['id']}", "/agent/pop", "/agent/recent"):
        assert c.get(path, follow_redirects=False).status_code == 403, path
    assert PHONE not in c.get("/quality").text


def test_a_supervisor_sees_every_caller(site, calls):
    c = site.client("banzhang")
    got = c.get(f"/api/v1/orders/{calls['secret']['id']}").json()
    assert (got["caller_phone"], got["caller_name"]) == (PHONE, NAME)
    items = c.get("/api/v1/orders", params={"phone": PHONE}).json()["items"]
    assert {x["id"] for x in items} == {calls["earlier"]["id"], calls["secret"]["id"]}

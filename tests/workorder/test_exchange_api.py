"""The province's receiver of the two-level exchange (docs/province.md), on a real database.

The store's own outbox is pushed with the real push (workorder/outbox.py) into the same
app in the province role: the events are exactly those a city sends."""

from __future__ import annotations

from sqlalchemy import func, select, update

from workorder.models import Order, Outbox
from workorder.models_exchange import ExchangeEvent
from workorder.outbox import push_pending

URL = "/api/v1/exchange/events"


def _province(api):
    api.app.state.settings = api.app.state.settings.with_(role="province")
    return api


def _push(api) -> dict:
    return push_pending(api.store.db, URL, client=api.client, token=api.tokens["exchange"], source="handan")


def _order(api) -> dict:
    r = api.post("/api/v1/orders", json={"type": "consult", "title": "科技项目申报", "caller_phone": "13812345678"})
    assert r.status_code == 201, r.text
    return r.json()


def test_a_city_platform_does_not_receive(api):
    order = _order(api)
    push = _push(api)
    assert push["pushed"] == 0 and push["pending"] == 1 and push["error"] == "HTTP 404"  # kept for a retry
    ev = {"source": "handan", "event_id": "x", "seq": 1, "kind": "order.deleted", "at": "2026-12-02", "number": "1"}
    r = api.post(URL, as_="exchange", json=ev)
    assert r.status_code == 404 and "province platform receives" in r.json()["detail"]
    assert order["number"]


def test_only_the_exchange_role_pushes(api):
    _province(api)
    for role in ("agent", "calls", "admin"):
        assert api.post(URL, as_=role, json={}).status_code == 403


def test_every_event_once_in_order_and_a_repeat_changes_nothing(api):
    _province(api)
    order = _order(api)
    r = api.patch(f"/api/v1/orders/{order['id']}", json={"title": "科技项目申报（省）"})
    assert r.status_code == 200, r.text
    push = _push(api)
    assert push == {"pushed": 2, "pending": 0, "error": None}
    with api.store.db.write() as s:  # the city crashed between the province's 2xx and its mark
        s.execute(update(Outbox).values(pushed_at=None))
    assert _push(api)["pushed"] == 2  # acknowledged again (duplicate) ...
    mirror = api.get(f"/api/v1/exchange/orders/handan/{order['number']}").json()
    with api.store.db.read() as s:
        seqs = list(s.scalars(select(Outbox.id).order_by(Outbox.id)))
        stored = s.scalar(select(func.count(ExchangeEvent.id)))
    assert stored == 2 and [h["seq"] for h in mirror["history"]] == seqs  # ... and stored once
    assert (
        mirror["events"] == 2
        and mirror["title"] == "科技项目申报（省）"
        and mirror["status"] == "accepted"
        or (mirror["status"] == order["status"])
    )
    assert "13812345678" not in str(mirror)  # the caller stays with the city


def test_an_older_event_never_overwrites_a_newer_one(api):
    _province(api)
    number = "2026120299999"
    base = {"source": "handan", "at": "2026-12-02T14:00:00+00:00", "kind": "order.transition"}
    newer = {**base, "event_id": "b", "seq": 20, "order": {"number": number, "status": "dispatched"}}
    older = {**base, "event_id": "a", "seq": 10, "order": {"number": number, "status": "accepted"}}
    assert api.post(URL, as_="exchange", json=newer).json()["status"] == "applied"
    assert api.post(URL, as_="exchange", json=older).json()["status"] == "stale"
    assert api.post(URL, as_="exchange", json=older).json()["status"] == "duplicate"
    mirror = api.get(f"/api/v1/exchange/orders/handan/{number}", as_="exchange").json()
    assert mirror["status"] == "dispatched" and mirror["last_seq"] == 20 and mirror["events"] == 1
    assert [(h["seq"], h["outcome"]) for h in mirror["history"]] == [(10, "stale"), (20, "applied")]


def test_a_bad_event_is_refused_with_the_field(api):
    _province(api)
    r = api.post(URL, as_="exchange", json={"source": "handan", "event_id": "x", "seq": "1", "kind": "order.created"})
    assert r.status_code == 422
    fields = {tuple(d["loc"])[-1] for d in r.json()["detail"]}
    assert {"seq", "at"} <= fields
    with api.store.db.read() as s:
        assert s.scalar(select(func.count(ExchangeEvent.id))) == 0


def test_a_call_from_the_other_level_is_linked_to_its_order_not_a_new_draft(api):
    body = {"uniqueid": "p.2", "linkedid": "p.1", "caller": "13812345678", "origin": "12396", "agent": "1001"}
    linked = {**body, "peer_order": "2026120200001", "peer": "handan"}
    r = api.post("/api/v1/calls/answered", as_="calls", json=linked)
    assert r.status_code == 201, r.text
    assert r.json()["order"]["number"] == "2026120200001" and r.json()["order"]["mirrored"] is True
    assert api.post("/api/v1/calls/answered", as_="calls", json=linked).status_code == 200  # the hand-off retried
    with api.store.db.read() as s:
        assert s.scalar(select(func.count(Order.id))) == 0
    mirror = api.get("/api/v1/exchange/orders/handan/2026120200001").json()
    assert mirror["linkedid"] == "p.1" and mirror["events"] == 0
    r = api.post("/api/v1/calls/answered", as_="calls", json={**body, "peer_order": "2026-1", "peer": "handan"})
    assert r.status_code == 422  # what came over the trunk is checked again

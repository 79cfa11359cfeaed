"""The AMI hand-off service posts answered calls to the real API and stamps the order number."""

from __future__ import annotations

import asyncio
import json
import logging

from tests.loopback import json_app, serve_app
from tests.workorder.conftest import make_api
from workorder import handoff_service
from workorder.client import OrdersClient
from workorder.handoff_service import Handoff

EVENT = {
    "Event": "AgentConnect",
    "Channel": "PJSIP/pstn-00000001",
    "DestChannel": "PJSIP/1001-00000002",
    "Uniqueid": "ast1-1.1",
    "Linkedid": "ast1-1.1",
    "CallerIDNum": "13800138000",
    "Queue": "minzheng",
    "MemberName": "1001",
}
# what the agent's channel raises as it answers ([agent-connected]): the call's facts
ANSWERED = {
    "Event": "UserEvent",
    "UserEvent": "HotlineAnswered",
    "Channel": "PJSIP/1001-00000002",
    "Facts": "o=12349&m=merge&d=mzj&l=city&r=agi&f=&po=&p=&n=&c=ast1-1.1",
}


class _Recorder:
    """Records the AMI actions the service would send (the AMI side is tested end to end)."""

    def __init__(self):
        self.actions = []

    def send_action(self, action):
        self.actions.append(action)


def test_answered_call_becomes_one_draft_order(settings, tokens, sqlite_url, caplog):
    app, store, _ = make_api(settings, sqlite_url)
    caplog.set_level(logging.INFO, logger="workorder")

    async def go(base):
        ami = _Recorder()
        client = OrdersClient(base, tokens["calls"])
        h = Handoff(client, ami)
        h.on_user_event(ami, ANSWERED)  # before its AgentConnect, as Asterisk sends them
        first = await h.handle(EVENT)
        # a repeated event makes no second order; its facts come after it this time
        later = asyncio.get_running_loop().call_later(0.2, h.on_user_event, ami, ANSWERED)
        again = await h.handle(EVENT)
        later.cancel()
        bad = await h.handle({**EVENT, "Event": "AgentCalled"})
        await client.close()
        return first, again, bad, ami.actions

    with serve_app(app) as base:  # the real API on a loopback port
        first, again, bad, actions = asyncio.run(go(base))
    order = first["order"]
    assert order["origin"] == "12349" and order["mode"] == "merge"
    assert order["origin_department"] == "mzj"  # the map's code travels with the call
    assert again["order"]["number"] == order["number"]
    assert bad is None
    assert [(a["Channel"], a["Variable"], a["Value"]) for a in actions] == [
        ("PJSIP/pstn-00000001", "HOTLINE_ORDER", order["number"]),
        ("PJSIP/1001-00000002", "HOTLINE_ORDER", order["number"]),
    ] * 2
    # the log says which hand-off made the order and which found the call's order there
    handed = [r.fields for r in caplog.records if r.getMessage() == "call handed to a work order"]
    assert [(f["order"], f["new_order"]) for f in handed] == [(order["number"], True), (order["number"], False)]
    # the wait for the facts is its own part of the delay: none when they came first, 0.2 s after
    assert handed[0]["facts_ms"] < 100 and handed[1]["facts_ms"] >= 150, handed
    store.db.dispose()


def test_a_rejected_body_is_not_retried():
    calls = []

    def handler(request):
        calls.append(request)
        return 422, {"detail": "bad"}

    async def go(base):
        h = Handoff(OrdersClient(base, "t"))
        h.on_user_event(None, ANSWERED)
        return await h.handle(EVENT)

    with serve_app(json_app(handler)) as base:
        assert asyncio.run(go(base)) is None
    assert len(calls) == 1


def test_an_answer_whose_facts_never_come_is_handed_off_without_them_after_the_wait(monkeypatch, caplog):
    """No HotlineAnswered for the agent's channel (a dialplan without it, an event lost): the draft
    is made all the same after FACTS_WAIT, without origin, and the log says so."""
    bodies = []

    def handler(request):
        bodies.append(json.loads(request.content))
        return 201, {"order": {"number": "N1"}, "open_orders": []}

    monkeypatch.setattr(handoff_service, "FACTS_WAIT", 0.3)  # read as a Handoff is made
    caplog.set_level(logging.WARNING, logger="workorder")

    async def go(base):
        h = Handoff(OrdersClient(base, "t"))
        h.on_user_event(None, {**ANSWERED, "Channel": "PJSIP/1009-00000009"})  # another answer's
        out = await h.handle(EVENT)
        return out, h

    with serve_app(json_app(handler)) as base:
        out, h = asyncio.run(go(base))
    assert out["order"]["number"] == "N1" and h.answers.missing == 1 and not h.answers.waiting
    assert bodies[0]["origin"] == "" and bodies[0]["mode"] == "direct" and bodies[0]["caller"] == "13800138000"
    assert "PJSIP/1009-00000009" in h.answers.kept  # kept for its own AgentConnect
    assert [r.getMessage() for r in caplog.records] == ["answered call without its facts; draft made without origin"]

"""The AMI hand-off service posts answered calls to the real API and stamps the order number."""

from __future__ import annotations

import asyncio
import logging

from tests.loopback import json_app, serve_app
from tests.workorder.conftest import make_api
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
    "ChanVariable": ["HOTLINE_ORIGIN=12349", "HOTLINE_MODE=merge", "HOTLINE_DEPT=mzj", "HOTLINE_LEVEL=city"],
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
        first = await h.handle(EVENT)
        again = await h.handle(EVENT)  # a repeated event makes no second order
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
    store.db.dispose()


def test_a_rejected_body_is_not_retried():
    calls = []

    def handler(request):
        calls.append(request)
        return 422, {"detail": "bad"}

    async def go(base):
        return await Handoff(OrdersClient(base, "t")).handle(EVENT)

    with serve_app(json_app(handler)) as base:
        assert asyncio.run(go(base)) is None
    assert len(calls) == 1

"""The AMI hand-off service posts answered calls to the real API and stamps the order number."""

from __future__ import annotations

import asyncio
import json
import logging

from sqlalchemy import func, select

from tests.loopback import json_app, serve_app
from tests.workorder.conftest import make_api
from workorder import handoff_service
from workorder.client import AnsweredCalls, OrdersClient
from workorder.handoff_service import Handoff
from workorder.models import Order
from workorder.views import order_dict

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

    def fire(self, action):  # hotline.ami.LeanManager.fire: sent, its answer not awaited
        self.actions.append(action)
        return True


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
    with store.db.read() as s:
        row = s.scalars(select(Order).where(Order.linkedid == EVENT["Linkedid"])).one()
        order = order_dict(row)
    assert first["order"]["number"] == order["number"]
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
        bodies.extend(json.loads(request.content)["calls"])
        return 200, {"results": [{"linkedid": bodies[-1]["linkedid"], "status": 201, "order": {"number": "N1"}}]}

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


def _event(i: int) -> tuple[dict, dict]:
    """The AgentConnect of the ``i``-th call and its HotlineAnswered."""
    uid = f"ast1-{i}.{i}"
    agent = f"PJSIP/1001-{i:08x}"
    ev = {**EVENT, "Channel": f"PJSIP/pstn-{i:08x}", "DestChannel": agent, "Uniqueid": uid, "Linkedid": uid}
    return ev, {**ANSWERED, "Channel": agent, "Facts": ANSWERED["Facts"].replace("c=ast1-1.1", f"c={uid}")}


def test_answers_at_once_go_in_few_requests_and_each_gets_its_own_order(settings, tokens, sqlite_url, caplog):
    """30 answers at once: the first waits BATCH_LINGER for others and the 29 come meanwhile, so
    all go in one request, not 30; each call has one order, made with its own facts, and both its
    legs carry that order's number."""
    app, store, _ = make_api(settings, sqlite_url)
    caplog.set_level(logging.INFO, logger="workorder")
    calls = [_event(i) for i in range(1, 31)]

    async def go(base):
        ami = _Recorder()
        client = OrdersClient(base, tokens["calls"])
        h = Handoff(client, ami)
        for _ev, answered in calls:
            h.on_user_event(ami, answered)
        outs = await asyncio.gather(*(h.handle(ev) for ev, _ in calls))
        await client.close()
        return h, outs, ami.actions

    with serve_app(app) as base:
        h, outs, actions = asyncio.run(go(base))
    assert h.posts.batches == 1 and h.done == 30
    with store.db.read() as s:
        rows = {o.linkedid: o for o in s.scalars(select(Order).where(Order.linkedid.like("ast1-%")))}
        assert s.scalar(select(func.count()).select_from(Order)) == 30
    for (ev, _), out in zip(calls, outs, strict=True):
        number = rows[ev["Linkedid"]].number
        assert out["order"]["number"] == number and rows[ev["Linkedid"]].origin_department == "mzj"
        stamped = [(a["Channel"], a["Value"]) for a in actions if a["Value"] == number]
        assert stamped == [(ev["Channel"], number), (ev["DestChannel"], number)]
    handed = [r.fields for r in caplog.records if r.getMessage() == "call handed to a work order"]
    assert [f["batch"] for f in handed] == [30] * 30 and all(f["new_order"] for f in handed)


class _Timed:
    """A client whose batch request records when it was sent and answers after ``delay``."""

    def __init__(self, delay: float = 0.0):
        self.sent: list[tuple[float, int]] = []
        self.delay = delay

    async def calls_answered(self, bodies):
        self.sent.append((asyncio.get_running_loop().time(), len(bodies)))
        await asyncio.sleep(self.delay)
        return [{"status": 201, "order": {"number": "N" + b["linkedid"]}} for b in bodies]


def test_a_call_waits_at_most_the_linger_and_a_full_batch_not_at_all():
    async def go():
        loop = asyncio.get_running_loop()
        alone = _Timed()
        t0 = loop.time()
        await AnsweredCalls(alone, max_batch=4, in_flight=2, linger=0.2).post({"linkedid": "a"})
        waited_alone = alone.sent[0][0] - t0
        full = _Timed()
        t0 = loop.time()
        posts = AnsweredCalls(full, max_batch=4, in_flight=2, linger=0.3)
        outs = await asyncio.gather(*(posts.post({"linkedid": str(i)}) for i in range(9)))
        return waited_alone, full.sent, t0, outs

    waited_alone, sent, t0, outs = asyncio.run(go())
    assert 0.19 <= waited_alone < 0.6  # waited for company, then went alone
    # 9 calls, batches of 4: the two full batches go at once, the 9th waits its linger for company
    assert [n for _, n in sent] == [4, 4, 1] and sent[1][0] - t0 < 0.1 and 0.29 <= sent[2][0] - t0 < 0.8
    assert [o[0]["batch"] for o in outs] == [4] * 8 + [1]


def test_a_batch_refused_whole_is_posted_call_by_call_so_only_the_bad_call_fails():
    """The API refuses a batch as a whole when one call's body is bad (422): the calls of that
    batch are posted again one by one, and only the bad one is given up (a 4xx is not retried)."""
    paths = []

    def handler(request):
        path = request.url.split("/api/v1", 1)[1]
        body = json.loads(request.content)
        paths.append((path, [c["linkedid"] for c in body["calls"]] if "calls" in body else body["linkedid"]))
        calls = body.get("calls", [body])
        if any(c["caller"] == "bad number" for c in calls):
            return 422, {"detail": "caller: bad"}
        if "calls" in body:
            return 200, {
                "results": [
                    {"linkedid": c["linkedid"], "status": 201, "order": {"number": "N" + c["linkedid"]}} for c in calls
                ]
            }
        return 201, {"order": {"number": "N" + body["linkedid"]}, "open_orders": []}

    async def go(base):
        h = Handoff(OrdersClient(base, "t"))
        h.posts.in_flight, h.posts.linger = 1, 0.0  # a call alone goes at once: the batches' shape is known
        evs = [_event(i) for i in (1, 2, 3)]
        for _ev, answered in evs:
            h.on_user_event(None, answered)
        evs[1][0]["CallerIDNum"] = "bad number"
        return await asyncio.gather(*(h.handle(ev) for ev, _ in evs))

    with serve_app(json_app(handler)) as base:
        outs = asyncio.run(go(base))
    assert [o and o["order"]["number"] for o in outs] == ["Nast1-1.1", None, "Nast1-3.3"]
    assert paths[:2] + sorted(paths[2:]) == [  # the two single posts go at once, in either order
        ("/calls/answered/batch", ["ast1-1.1"]),
        ("/calls/answered/batch", ["ast1-2.2", "ast1-3.3"]),
        ("/calls/answered", "ast1-2.2"),
        ("/calls/answered", "ast1-3.3"),
    ]


def test_a_call_that_failed_in_its_batch_is_retried_alone():
    """One call of a batch failed in the store (its result 500, the others made): that call is
    retried after the back-off; the others are not posted again."""
    posted = []

    def handler(request):
        calls = json.loads(request.content)["calls"]
        posted.append([c["linkedid"] for c in calls])
        first = len(posted) <= 2
        return 200, {
            "results": [
                {"linkedid": c["linkedid"], "status": 500, "error": "OperationalError"}
                if first and c["linkedid"] == "ast1-2.2"
                else {"linkedid": c["linkedid"], "status": 201, "order": {"number": "N" + c["linkedid"]}}
                for c in calls
            ]
        }

    async def go(base):
        h = Handoff(OrdersClient(base, "t"))
        h.posts.in_flight, h.posts.linger = 1, 0.0  # a call alone goes at once: the batches' shape is known
        evs = [_event(i) for i in (1, 2, 3)]
        for _ev, answered in evs:
            h.on_user_event(None, answered)
        return h, await asyncio.gather(*(h.handle(ev) for ev, _ in evs))

    with serve_app(json_app(handler)) as base:
        h, outs = asyncio.run(go(base))
    assert [o["order"]["number"] for o in outs] == ["Nast1-1.1", "Nast1-2.2", "Nast1-3.3"]
    assert posted == [["ast1-1.1"], ["ast1-2.2", "ast1-3.3"], ["ast1-2.2"]] and h.retried == 1

"""AMI AgentConnect -> calls/answered body (pure)."""

import json
from urllib.parse import quote

import pytest

from hotline.http_pool import HttpStatusError
from hotline.names import call_facts_expression
from queues.queue_log import queue_log_events
from tests.loopback import json_app, serve_app
from workorder.client import OrdersClient
from workorder.handoff import (
    NotAnAgentConnect,
    answered_body,
    answered_facts,
    call_facts,
    channel_vars,
    facts_getvar,
    queue_log_answers,
)

EVENT = {
    "Event": "AgentConnect",
    "Channel": "PJSIP/trunk-00000001",
    "CallerIDNum": "13812345678",
    "Uniqueid": "1732400000.11",
    "Linkedid": "1732400000.10",
    "Queue": "general",
    "Interface": "PJSIP/1001",
    "MemberName": "Agent 1001",
    "DestUniqueid": "1732400000.12",
    # the facts the service added from the call's HotlineAnswered UserEvent
    "HOTLINE_ORIGIN": "12329",
    "HOTLINE_MODE": "dual",
    "HOTLINE_DEPT": "gjj",
    "HOTLINE_LEVEL": "city",
}


def test_the_calls_facts_make_the_body():
    assert answered_body(EVENT) == {
        "uniqueid": "1732400000.11",
        "linkedid": "1732400000.10",
        "caller": "13812345678",
        "origin": "12329",
        "mode": "dual",
        "department": "gjj",
        "agent": "Agent 1001",
        "queue": "general",
    }


def test_the_answered_user_event_carries_the_facts_and_getvar_reads_the_same_string():
    """HotlineAnswered (the agent's channel, [agent-connected]) and a resync's Getvar EVAL both
    carry hotline.names.CALL_FACTS, each value URIENCODEd; empty ones are unset variables."""
    dept = "住建局|物业,科=甲&乙 ~"
    facts = f"o=12315&m=&d={quote(dept, safe='')}&l=city&r=agi&f=&po=&p=&n=&c=ast1-1.9"
    ev = {"Event": "UserEvent", "UserEvent": "HotlineAnswered", "Channel": "PJSIP/1001-0000002a", "Facts": facts}
    channel, got = answered_facts(ev)
    assert channel == "PJSIP/1001-0000002a"
    assert got == {"HOTLINE_ORIGIN": "12315", "HOTLINE_DEPT": dept, "HOTLINE_LEVEL": "city", "HOTLINE_ROUTER": "agi"}
    body = answered_body({**EVENT, "HOTLINE_MODE": "", **got})
    assert body["origin"] == "12315" and body["mode"] == "direct" and body["department"] == dept
    assert answered_facts({**ev, "UserEvent": "HotlineLinkage"}) is None
    assert call_facts("") == {} and call_facts("x=1&o=") == {}
    action = facts_getvar("PJSIP/pstn-00000001")
    assert action == {
        "Action": "Getvar",
        "Channel": "PJSIP/pstn-00000001",
        "Variable": f"EVAL({call_facts_expression()})",
    }
    assert "o=${URIENCODE(${HOTLINE_ORIGIN})}&m=${URIENCODE(${HOTLINE_MODE})}" in action["Variable"]


def test_defaults_and_interface_fallback_and_unknown_caller():
    ev = {
        "Event": "AgentConnect",
        "Uniqueid": "1.1",
        "CallerIDNum": "<unknown>",
        "Interface": "Local/1002@agents/n",
        "Queue": "general",
    }
    body = answered_body(ev)
    # no HOTLINE_ORIGIN: the store takes the map's hotline number (whatever it is, not a literal 12345)
    assert body == {
        "uniqueid": "1.1",
        "linkedid": "1.1",
        "caller": "",
        "origin": "",
        "mode": "direct",
        "department": "",
        "agent": "1002",
        "queue": "general",
    }


def test_value_with_equals_sign_kept_whole():
    assert call_facts("n=" + quote("a=b", safe=""))["HOTLINE_ORDER"] == "a=b"
    assert channel_vars({"HOTLINE_ORDER": "a=b", "HOTLINE_MODE": "", "Other": "x"}) == {"HOTLINE_ORDER": "a=b"}


def test_refuses_other_events_and_missing_ids():
    with pytest.raises(NotAnAgentConnect):
        answered_body({"Event": "QueueCallerJoin", "Uniqueid": "1.1"})
    with pytest.raises(NotAnAgentConnect):
        answered_body({"Event": "AgentConnect"})


async def test_the_one_client_posts_answered_calls_to_the_contract_route():
    seen = {}

    def handler(request):
        seen.update(url=str(request.url), auth=request.headers["authorization"], body=json.loads(request.content))
        return 201, {"order": {"id": 2}, "open_orders": []}

    with serve_app(json_app(handler)) as base:
        client = OrdersClient(base, "tok")
        out, created = await client.call_answered(answered_body(EVENT))
        await client.close()
    assert seen["url"] == f"{base}/api/v1/calls/answered" and seen["auth"] == "Bearer tok"
    assert seen["body"]["linkedid"] == "1732400000.10" and out["order"]["id"] == 2 and created

    def refuse(request):
        return 422, {"detail": "bad"}

    with serve_app(json_app(refuse)) as base, pytest.raises(HttpStatusError):
        await OrdersClient(base, "t").call_answered(answered_body(EVENT))


def test_a_queue_log_answer_carries_the_route_facts_of_its_enterqueue():
    """The facts the dialplan writes into ENTERQUEUE (Queue()'s URL, each value URIENCODEd) come
    back whole, Chinese and separators included; empty ones are left out, as unset variables."""
    dept = "住建局|物业,科=甲&乙 ~"
    url = f"o=12349&m=merge&d={quote(dept, safe='')}&l=city&po=&p="
    lines = [
        f"1796252400|ast1-1.5|hotline|NONE|ENTERQUEUE|{url}|13800138000|1",
        "1796252403|ast1-1.5|hotline|PJSIP/1005|CONNECT|3|ast1-1.6|1",
        "1796252404|ast1-1.7|hotline|NONE|ENTERQUEUE||13900139000|1",  # no facts (an older dialplan)
        "1796252405|ast1-1.7|hotline|PJSIP/1006|CONNECT|1|ast1-1.8|1",
        # a callback: the Local ;2 that queues (ast1-1.10) is not the call's first channel
        "1796252406|ast1-1.10|hotline|NONE|ENTERQUEUE|o=&c=ast1-1.9|13700137000|1",
        "1796252407|ast1-1.10|hotline|PJSIP/1005|CONNECT|1|ast1-1.11|1",
    ]
    answers = queue_log_answers(queue_log_events(lines, after=0), since=1796252401)
    assert [a["Linkedid"] for a in answers] == ["ast1-1.5", "ast1-1.7", "ast1-1.9"]
    assert [answered_body(a)["uniqueid"] for a in answers] == ["ast1-1.5", "ast1-1.7", "ast1-1.10"]
    first, second, _ = (answered_body(a) for a in answers)
    assert (first["origin"], first["mode"], first["department"], first["caller"]) == (
        "12349",
        "merge",
        dept,
        "13800138000",
    )
    assert "peer" not in first and "peer_order" not in first
    assert (second["origin"], second["mode"], second["department"]) == ("", "direct", "")

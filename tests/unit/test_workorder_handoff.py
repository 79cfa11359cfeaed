"""AMI AgentConnect -> calls/answered body (pure)."""

import pytest

from workorder.handoff import NotAnAgentConnect, answered_body, channel_vars, post_answered

EVENT = {
    "Event": "AgentConnect", "Channel": "PJSIP/trunk-00000001", "CallerIDNum": "13812345678",
    "Uniqueid": "1732400000.11", "Linkedid": "1732400000.10", "Queue": "general",
    "Interface": "PJSIP/1001", "MemberName": "Agent 1001", "DestUniqueid": "1732400000.12",
    "ChanVariable": ["HOTLINE_ORIGIN=12329", "HOTLINE_MODE=dual", "HOTLINE_DEPT=gjj", "HOTLINE_LEVEL=city"],
    "DestChanVariable": ["HOTLINE_ORIGIN=12345", "HOTLINE_MODE=direct"],
}


def test_caller_leg_variables_win_over_agent_leg():
    assert answered_body(EVENT) == {
        "uniqueid": "1732400000.11", "linkedid": "1732400000.10", "caller": "13812345678", "origin": "12329",
        "mode": "dual", "department": "gjj", "agent": "Agent 1001", "queue": "general"}


def test_single_chanvariable_string_and_plain_keys():
    ev = {**EVENT, "ChanVariable": "HOTLINE_ORIGIN=12315", "DestChanVariable": None, "HOTLINE_DEPT": "scjg"}
    v = channel_vars(ev)
    assert v["HOTLINE_ORIGIN"] == "12315" and v["HOTLINE_DEPT"] == "scjg"
    body = answered_body(ev)
    assert body["origin"] == "12315" and body["mode"] == "direct" and body["department"] == "scjg"


def test_defaults_and_interface_fallback_and_unknown_caller():
    ev = {"Event": "AgentConnect", "Uniqueid": "1.1", "CallerIDNum": "<unknown>",
          "Interface": "Local/1002@agents/n", "Queue": "general"}
    body = answered_body(ev)
    assert body == {"uniqueid": "1.1", "linkedid": "1.1", "caller": "", "origin": "12345", "mode": "direct",
                    "department": "", "agent": "1002", "queue": "general"}


def test_value_with_equals_sign_kept_whole():
    assert channel_vars({"ChanVariable": ["HOTLINE_ORDER=a=b"]})["HOTLINE_ORDER"] == "a=b"


def test_refuses_other_events_and_missing_ids():
    with pytest.raises(NotAnAgentConnect):
        answered_body({"Event": "QueueCallerJoin", "Uniqueid": "1.1"})
    with pytest.raises(NotAnAgentConnect):
        answered_body({"Event": "AgentConnect"})


def test_post_answered_uses_the_contract_route():
    seen = {}

    class Resp:
        def raise_for_status(self):
            pass

        def json(self):
            return {"order": {"id": 1}, "open_orders": []}

    class Client:
        def post(self, url, json, headers):
            seen.update(url=url, json=json, headers=headers)
            return Resp()

    out = post_answered(Client(), EVENT, "tok", "http://127.0.0.1:8000")
    assert seen["url"] == "http://127.0.0.1:8000/api/v1/calls/answered"
    assert seen["headers"] == {"Authorization": "Bearer tok"} and seen["json"]["linkedid"] == "1732400000.10"
    assert out["order"]["id"] == 1


async def test_apost_answered_async_client():
    seen = {}

    class Resp:
        def raise_for_status(self):
            pass

        def json(self):
            return {"order": {"id": 2}, "open_orders": []}

    class Client:
        async def post(self, url, json, headers):
            seen.update(url=url, json=json)
            return Resp()

    from workorder.handoff import apost_answered
    out = await apost_answered(Client(), EVENT, "tok", "http://x")
    assert out["order"]["id"] == 2 and seen["json"]["origin"] == "12329"

"""The first 12345 call, end to end, through the real Asterisk.

SIPp citizen -> from-pstn -> FastAGI `route` -> Queue(hotline) -> SIPp agent.
"""

from __future__ import annotations

from hotline.log import mask_number
from tests.e2e.harness import metric, wait_metric

CALLER = "13800138000"


def _api_get(stack, path: str) -> dict:
    import httpx

    token = stack.secrets["api_tokens"]["admin"]
    r = httpx.get(
        f"http://{stack.settings.bind}:{stack.settings.api_port}{path}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    r.raise_for_status()
    return r.json()


def test_rendered_config_is_loaded_without_errors(stack):
    assert "hotline-inbound" in stack.cli("dialplan show hotline-inbound")
    assert "AGI(agi://127.0.0.1:" in stack.cli("dialplan show hotline-inbound")
    endpoints = stack.cli("pjsip show endpoints")
    assert "pstn" in endpoints and "1001" in endpoints
    queues = stack.ami({"Action": "QueueSummary", "Queue": "hotline"})
    assert any(e.get("Queue") == "hotline" for e in queues[1:])
    log = stack.asterisk_log()
    # one known non-configuration ERROR is let through: a browser softphone leaving the
    # agent desktop (page reload, tab closed) drops its WSS connection without a TLS
    # close_notify, and Asterisk's iostream.c logs its own failing SSL_shutdown() as ERROR
    # The same departure is also logged as "Error reading from web socket: Success" (the read
    # returned no error, the peer just went); with two test workers other files ran before this one.
    # And a test that restarts Asterisk on purpose (test_degrade, test_supervise) may have an AMI
    # client's action land in the shutdown: "Unable to process manager action ... shutting down".
    noise = (
        "iostream.c: SSL_shutdown() failed",
        "res_http_websocket.c: Error reading from web socket: Success",
        "Asterisk is shutting down.",
    )
    errors = [l for l in log.splitlines() if "ERROR[" in l and not any(n in l for n in noise)]
    assert errors == [], errors[:5]
    console = (stack.asterisk.log_dir / "console.log").read_text(errors="replace")
    assert "Unable to load config file" not in console
    assert "Error loading module" not in console


def test_12345_reaches_an_agent_through_fastagi(stack):
    waits = {"queue": "hotline", "outcome": "answered"}
    waited = metric(stack.settings.stats_metrics_port, "hotline_queue_wait_seconds_count", **waits)
    with stack.agent("1001", skills={"hotline": 0}) as agent:
        mark = stack.events.mark()
        result = stack.sipp_uac("citizen_call.xml", "12345", CALLER)
        assert result.ok, result.stdout + result.log
        connect = stack.events.wait_for(
            lambda e: e.get("Event") == "AgentConnect" and e.get("Queue") == "hotline", since=mark, timeout=15
        )
        assert connect["MemberName"] == "1001"
        assert connect["CallerIDNum"] == CALLER
        assert stack.events.facts(connect).get("HOTLINE_ROUTER") == "agi"
        assert stack.events.facts(connect).get("HOTLINE_ORIGIN") == "12345"
        # the wait is on the statistics consumer's /metrics (docs/operations.md "Metrics")
        port = stack.settings.stats_metrics_port
        assert wait_metric(port, "hotline_queue_wait_seconds_count", waited + 1, **waits) == waited + 1
        leave = stack.events.wait_for(
            lambda e: e.get("Event") == "QueueCallerLeave" and e.get("Uniqueid") == connect["Uniqueid"],
            since=mark,
            timeout=5,
        )
        assert leave["Queue"] == "hotline"
        stack.events.wait_for(
            lambda e: e.get("Event") == "AgentComplete" and e.get("MemberName") == "1001", since=mark, timeout=10
        )
        pops = agent.screen_pops()
        assert pops and "origin=12345" in pops[-1] and f"from={CALLER}" in pops[-1]
        # the hand-off made a draft work order for this call and stamped it on the channel
        varset = stack.events.wait_for(
            lambda e: (
                e.get("Event") == "VarSet"
                and e.get("Variable") == "HOTLINE_ORDER"
                and e.get("Linkedid") == connect["Linkedid"]
            ),
            since=mark,
            timeout=15,
        )
        number = varset["Value"]
        order = _api_get(stack, f"/api/v1/orders/by-number/{number}")
        assert order["linkedid"] == connect["Linkedid"]
        assert order["origin"] == "12345" and order["mode"] == "direct"
        assert order["status"] == "draft" and order["agent"] == "1001" and order["queue"] == "hotline"
        assert order["caller_phone"] == CALLER  # the admin role sees the number
        assert order["origin_department"] == "hotline"  # 市政务服务管理办公室, by name from the call
    # the handler saw the dialed number and the caller id (masked in its log)
    route_lines = [l for l in stack.service_log("agi").splitlines() if '"msg": "route"' in l]
    assert any('"dialed": "12345"' in l and f'"caller": "{mask_number(CALLER)}"' in l for l in route_lines), (
        route_lines[-3:]
    )
    assert CALLER not in stack.service_log("agi")


def test_calls_reach_an_agent_when_fastagi_is_down(stack):
    stack.platform.stop_service("agi")
    try:
        with stack.agent("1002", skills={"hotline": 0}):
            mark = stack.events.mark()
            result = stack.sipp_uac("citizen_call.xml", "12345", "13900139000")
            assert result.ok, result.stdout + result.log
            connect = stack.events.wait_for(
                lambda e: e.get("Event") == "AgentConnect" and e.get("MemberName") == "1002", since=mark, timeout=15
            )
            assert stack.events.facts(connect).get("HOTLINE_ROUTER") == "static"
            assert connect["Queue"] == "hotline"
    finally:
        stack.platform.start_service("agi")
        stack.platform.wait_port(stack.settings.agi_port)

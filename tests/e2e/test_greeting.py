"""12345 as shipped: the IVR greeting (1 progress, 2 hot answers, 0 or nothing = an agent)
and the survey after the agent call, on the session's real Asterisk, ARI app and API.

The session runs the map's queue-direct option (see ``harness.Stack``); this module puts
the shipped map back, verbatim, for its calls.  Observed through AMI (the queue, the agent
who answered), the session IVR app's log (``<home>/logs/ari.log``: which entries were
offered and read, which prompt played to its end) and the work-order API.
"""

from __future__ import annotations

import json
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from ari_apps.engine_text import hot_answer_text, say_name
from hotline.instance import read_instance_paths
from hotline.settings import PROJECT_ROOT
from tests.e2e.test_ivr import api, dtmf, joins, pause

SHIPPED_MAP = (PROJECT_ROOT / "transfer_map.yaml").read_text(encoding="utf-8")
LIVE = {
    "title": "住房公积金提取条件",
    "body": "职工购买、建造自住住房的，可以提取住房公积金。",
    "tags": ["公积金", "热点"],
    "department": "gjj",
}


@pytest.fixture(scope="module")
def greeting(stack):
    before = stack.settings.transfer_map.read_text(encoding="utf-8")
    stack.reload(transfer_map=SHIPPED_MAP)
    try:
        yield stack
    finally:
        stack.reload(transfer_map=before)


def ivr_log(stack, since: int = 0) -> list[dict]:
    out = []
    for line in stack.service_log("ari")[since:].splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


def msgs(stack, since: int, msg: str) -> list[dict]:
    return [entry for entry in ivr_log(stack, since) if entry.get("msg") == msg]


def call(stack, caller: str, actions: str, wait_ms: int, timeout: float = 120):
    scen = stack.sipp_file("ivr_dtmf.xml", {"<!-- IVR_ACTIONS -->": actions, "IVR_WAIT": str(wait_ms)})
    return stack.sipp_uac(scen, "12345", caller, timeout=timeout)


def publish(c, aid: int) -> None:
    assert c["admin"].post(f"/kb/articles/{aid}/transitions", json={"action": "review"}).status_code == 200
    r = c["admin"].post(f"/kb/articles/{aid}/transitions", json={"action": "publish"})
    assert r.status_code == 200, r.text


def test_2_reads_the_published_hot_answer_and_not_an_expired_one(greeting):
    stack = greeting
    c = {role: api(stack, role) for role in ("supervisor", "admin", "ivr")}
    live = c["supervisor"].post("/kb/articles", json=LIVE).json()
    publish(c, live["id"])
    # published after the live one, so it would be the first offered if expiry were ignored
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    expired = (
        c["supervisor"]
        .post("/kb/articles", json={**LIVE, "title": "2020年公积金缓缴政策", "expires_on": yesterday})
        .json()
    )
    publish(c, expired["id"])
    # a newer draft of the live entry: the IVR still reads the published version
    r = c["supervisor"].put(f"/kb/articles/{live['id']}", json={"body": "尚未发布的新口径。"})
    assert r.status_code == 200 and r.json()["version"] == 2
    assert c["supervisor"].get(f"/kb/articles/{expired['id']}").json()["status"] == "published"

    since = len(stack.service_log("ari"))
    mark = stack.events.mark()
    caller = "13700000021"
    # 2 during the greeting, 1 during the list of titles, then listen to the end
    r = call(stack, caller, dtmf("2", first_ms=1500) + pause(2500) + dtmf("1") + pause(500), wait_ms=60000)
    assert r.ok, r.stdout + r.log
    offered = msgs(stack, since, "hot questions offered")
    assert [o["ids"] for o in offered] == [str(live["id"])], offered
    read = msgs(stack, since, "hot answer read")
    text = hot_answer_text({"title": LIVE["title"], "body": LIVE["body"]})
    assert [(x["id"], x["version"], x["prompt"]) for x in read] == [(live["id"], 1, say_name(text))], read
    # played to its end by Asterisk (the PlaybackFinished of that playback moved the flow on)
    assert [x["id"] for x in msgs(stack, since, "hot answer played")] == [str(live["id"])]
    # generated once, from the entry's text, into the platform's sounds
    sounds = read_instance_paths(stack.settings).sounds_host
    assert list(Path(sounds).glob(say_name(text) + ".*")), sorted(p.name for p in Path(sounds).iterdir())[:20]
    # no agent: after the answer the caller hung up (after_hot, no key: goodbye), no queue
    assert joins(stack, mark, caller) == []
    for client in c.values():
        client.close()


def test_0_reaches_an_agent_and_the_survey_after_the_call_is_stored(greeting):
    stack = greeting
    caller = "13700000022"
    with stack.agent("1012", skills={"hotline": 0}):
        since = len(stack.service_log("ari"))
        mark = stack.events.mark()
        # 0 during the greeting; the 4s are ignored in the queue and rate the call afterwards
        actions = dtmf("0", first_ms=1500) + dtmf("4" * 40, gap_ms=700, first_ms=1000)
        th = stack.sipp_uac_async(
            stack.sipp_file("ivr_dtmf.xml", {"<!-- IVR_ACTIONS -->": actions, "IVR_WAIT": "8000"}),
            "12345",
            caller,
            timeout=90,
        )
        connect = stack.events.wait_for(
            lambda e: e.get("Event") == "AgentConnect" and e.get("CallerIDNum") == caller, since=mark, timeout=30
        )
        assert connect["Queue"] == "hotline"
        linkedid = connect["Linkedid"]
        with api(stack, "calls") as c:
            resp = c.post(
                "/calls/answered",
                json={
                    "uniqueid": connect["Uniqueid"],
                    "linkedid": linkedid,
                    "caller": caller,
                    "origin": "12345",
                    "mode": "direct",
                    "department": "",
                    "agent": "1012",
                    "queue": "hotline",
                },
            )
        assert resp.status_code in (200, 201), resp.text
        order_id = resp.json()["order"]["id"]
        th.join(100)
    left = [m for m in msgs(stack, since, "call leaves flow") if m.get("exten") == "q-hotline-0-survey"]
    assert left and left[0]["seconds"] < 5, left  # pressed 0: no wait for the end of the greeting
    surveys = [m for m in msgs(stack, since, "survey") if m.get("linkedid") == linkedid]
    assert [(s["score"], s["stored"]) for s in surveys] == [(4, True)], surveys
    with api(stack, "supervisor") as c:
        assert c.get(f"/orders/{order_id}").json()["call_satisfaction"] == 4


def test_no_input_reaches_an_agent_after_the_greeting(greeting):
    stack = greeting
    caller = "13700000023"
    with stack.agent("1013", skills={"hotline": 0}):
        since = len(stack.service_log("ari"))
        mark = stack.events.mark()
        t0 = time.monotonic()
        th = stack.sipp_uac_async(
            stack.sipp_file("ivr_dtmf.xml", {"<!-- IVR_ACTIONS -->": pause(30000), "IVR_WAIT": "500"}),
            "12345",
            caller,
            timeout=90,
        )
        connect = stack.events.wait_for(
            lambda e: e.get("Event") == "AgentConnect" and e.get("CallerIDNum") == caller, since=mark, timeout=45
        )
        waited = time.monotonic() - t0
        th.join(60)
    assert connect["Queue"] == "hotline"
    left = [m for m in msgs(stack, since, "call leaves flow") if m.get("exten") == "q-hotline-0-survey"]
    # the whole greeting, then its 2 s without a key
    assert left and left[0]["seconds"] >= 2 and waited >= left[0]["seconds"], (left, waited)
    assert [e["Queue"] for e in joins(stack, mark, caller)] == ["hotline"]

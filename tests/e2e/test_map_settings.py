"""The settings of transfer_map.yaml that change a call, each proven by a real call (issue #11 items 4 and 7).

* ``queues: {ziran: {name: ..., overflow_after: 3}}``: a caller nobody of the
  skill answers in 3 s goes on to the general 12345 queue, ahead of the
  callers already waiting there (queue_log EXITWITHTIMEOUT, AMI UserEvent
  HotlineQueueOverflow);
* ``expert_seats: true`` (12329): an agent in a 12329 call consults an expert
  of queue ``gongjijin-expert`` by attended transfer to ``*812329``;
* ``seats_until`` (retained_temporarily): the day after it, 12350 goes to the
  12345 agents of its skill, not to the department seats, through FastAGI and
  through the static fallback;
* ``transition.until``: the day after it, the cancelled number 12349 connects
  with no announcement.

The map is the one of test_modes.py (trunks pointed at SIPp peers), changed per test.
"""

from __future__ import annotations

import re
import time
import zoneinfo
from datetime import datetime, timedelta

from deploy.platform import startup_warnings
from tests.e2e import test_modes
from tests.e2e.test_modes import _ami_ok, _is, _ts, _wait, answered, modes_map_text

modes = test_modes.modes  # the fixture: the map with its trunks at SIPp peers

NOANSWER = "peer_noanswer.xml"  # a softphone that rings and never answers: the member is there but busy ringing
OVERFLOW_AFTER = 3


def _today():
    return datetime.now(zoneinfo.ZoneInfo("Asia/Shanghai")).date()


def _line(text: str, number: str, row: str) -> str:
    return re.search(rf'  - number: "{number}"\n(    .*\n)+?    row: {row}\n', text).group(0)


def _with(text: str, number: str, row: str, change) -> str:
    old = _line(text, number, row)
    return text.replace(old, change(old))


def test_skill_queue_overflows_to_12345_after_its_max_wait(stack, modes):
    waiting, caller = "13800000101", "13800000102"
    text = modes_map_text(modes.ports).replace(
        "  ziran: 自然资源和规划\n", f"  ziran: {{name: 自然资源和规划, overflow_after: {OVERFLOW_AFTER}}}\n"
    )
    assert "overflow_after" in text
    stack.reload(transfer_map=text)
    log = stack.asterisk.log_dir / "queue_log"
    log_size = log.stat().st_size if log.exists() else 0
    try:
        # a member of the 自然资源 skill is there, but its phone only rings
        with stack.agent("1001", skills={"ziran": 0}, scenario=NOANSWER):
            mark = stack.events.mark()
            first = stack.sipp_uac_async("citizen_call.xml", "12345", waiting, timeout=60)
            _wait(stack, mark, "QueueCallerJoin", CallerIDNum=waiting, Queue="hotline")
            th = stack.sipp_uac_async("citizen_call.xml", "12336", caller, timeout=60)
            join = _wait(stack, mark, "QueueCallerJoin", CallerIDNum=caller, Queue="ziran")
            over = _wait(stack, mark, "UserEvent", UserEvent="HotlineQueueOverflow", timeout=OVERFLOW_AFTER + 10)
            assert (over["Queue"], over["QueueStatus"], over["Next"], over["Wait"]) == (
                "ziran",
                "TIMEOUT",
                "hotline",
                str(OVERFLOW_AFTER),
            )
            joined = _wait(stack, mark, "QueueCallerJoin", CallerIDNum=caller, Queue="hotline")
            waited = _ts(joined) - _ts(join)
            assert OVERFLOW_AFTER - 0.5 <= waited <= OVERFLOW_AFTER + 4, waited
            # not put at the back: ahead of the caller who was already waiting for 12345
            assert joined["Position"] == "1", joined
            assert re.search(r"1\. PJSIP/pstn-\S+ \(wait: [0-9:]+, prio: 1\)", stack.cli("queue show hotline"))
        with stack.agent("1002", skills={"hotline": 0}):
            connect = _wait(stack, mark, "AgentConnect", MemberName="1002", timeout=20)
            assert connect["CallerIDNum"] == caller and connect["Queue"] == "hotline"
            assert stack.events.facts(connect).get("HOTLINE_ORIGIN") == "12336"
        # the earlier caller is still waiting for 12345: let it go (it is not what this test is about)
        for e in stack.ami({"Action": "Status"}, timeout=10):
            if e.get("Event") == "Status" and e.get("CallerIDNum") == waiting:
                stack.ami({"Action": "Hangup", "Channel": e["Channel"]})
        th.join(70)
        first.join(70)
        assert th.result.ok, th.result.stdout + th.result.log
        with log.open("rb") as fh:
            fh.seek(log_size)
            lines = fh.read().decode("utf-8", "replace").splitlines()
        # <time>|<call id>|ziran|NONE|EXITWITHTIMEOUT|<position>|<original position>|<wait>
        exits = [l.split("|") for l in lines if "|ziran|" in l and "|EXITWITHTIMEOUT|" in l]
        assert exits and int(exits[-1][-1]) >= OVERFLOW_AFTER - 1, lines[-20:]
        call_id = exits[-1][1]
        entered = [l.split("|") for l in lines if f"|{call_id}|" in l and "|ENTERQUEUE|" in l]
        assert [e[2] for e in entered] == ["ziran", "hotline"], "the same call entered the hotline's queue"
        assert entered[-1][-2] == caller
    finally:
        stack.reload(transfer_map=modes_map_text(modes.ports))


def test_agent_consults_an_expert_of_12329(stack, modes):
    """双号并行 1: 建立行业专家选派和管理长效机制 -- the expert queue and the consult."""
    caller = "13800000103"
    assert "gongjijin-expert" in stack.cli("queue show gongjijin-expert")
    long_talk = stack.sipp_file("agent_answer.xml", {'timeout="2000"': 'timeout="10000"'})
    with (
        stack.agent("1003", skills={"gongjijin": 0}, scenario=long_talk),
        stack.agent("1004", skills={"gongjijin-expert": 0}) as expert,
    ):
        mark = stack.events.mark()
        th = stack.sipp_uac_async("citizen_call.xml", "12329", caller, timeout=60)
        connect = _wait(stack, mark, "AgentConnect", CallerIDNum=caller, Queue="gongjijin")
        assert connect["MemberName"] == "1003"
        _ami_ok(stack, {"Action": "Atxfer", "Channel": connect["DestChannel"], "Exten": "*812329", "Context": "agents"})
        consult = _wait(stack, mark, "AgentConnect", Queue="gongjijin-expert", timeout=20)
        assert consult["MemberName"] == "1004"
        pops = expert.screen_pops()
        assert pops and "origin=12329" in pops[-1], pops  # the expert sees what the call is about
        th.join(70)
        assert th.result.ok, th.result.stdout + th.result.log


def test_seats_until_past_12350_goes_to_12345_not_the_seats(stack, modes):
    caller, caller2 = "13800000104", "13800000105"
    yesterday = _today() - timedelta(days=1)
    text = _with(
        modes_map_text(modes.ports),
        "12350",
        "双号并行 2",
        lambda old: old.replace("    row: ", f"    seats_until: {yesterday.isoformat()}\n    row: "),
    )
    stack.reload(transfer_map=text)
    try:
        warnings = startup_warnings(stack.settings)  # what `hotline up` / `hotline reload` print
        assert any("temporarily retained seats of 12350 ended" in w for w in warnings), warnings
        with modes.peer("seats-12350", "peer_answer.xml") as seats, stack.agent("1005", skills={"yingji": 0}):
            connect = answered(stack, "12350", caller)
            cv = stack.events.facts(connect)
            assert connect["Queue"] == "yingji" and cv.get("HOTLINE_ROUTER") == "agi"
            assert (cv.get("HOTLINE_ORIGIN"), cv.get("HOTLINE_MODE")) == ("12350", "dual")
            # FastAGI down: the static fallback says the same
            stack.platform.stop_service("agi")
            try:
                mark = stack.events.mark()
                result = stack.sipp_uac("citizen_call.xml", "12350", caller2)
                assert result.ok, result.stdout + result.log
                connect = _wait(stack, mark, "AgentConnect", CallerIDNum=caller2)
                assert connect["Queue"] == "yingji" and stack.events.facts(connect).get("HOTLINE_ROUTER") == "static"
            finally:
                stack.platform.start_service("agi")
                stack.platform.wait_port(stack.settings.agi_port)
            assert seats.invites() == [], "the seats ended yesterday: they are not rung"
        assert not [e for e in stack.events.since(mark) if _is(e, "UserEvent", UserEvent="HotlineOverflow")]
    finally:
        stack.reload(transfer_map=modes_map_text(modes.ports))


def test_seats_until_today_the_static_fallback_still_rings_the_seats_and_switches_by_the_date(stack, modes):
    """Seats that end today or later: the static dialplan compares the day of the call with seats_until."""
    caller = "13800000106"
    today = _today()
    text = _with(
        modes_map_text(modes.ports),
        "12350",
        "双号并行 2",
        lambda old: old.replace("    row: ", f"    seats_until: {today.isoformat()}\n    row: "),
    )
    stack.reload(transfer_map=text)
    try:
        shown = stack.cli("dialplan show 12350@hotline-static")
        assert f"%Y%m%d)}} > {today.strftime('%Y%m%d')}]?hotline-static-seats-ended" in shown, shown
        assert "HOTLINE_QUEUE=yingji," in stack.cli("dialplan show 12350@hotline-static-seats-ended")
        # the expression's day is the calendar's day, as Asterisk computes it
        got = stack.ami({"Action": "Getvar", "Variable": "STRFTIME(${EPOCH},Asia/Shanghai,%Y%m%d)"})[0]
        assert got.get("Value") == _today().strftime("%Y%m%d"), got
        stack.platform.stop_service("agi")
        try:
            with modes.peer("seats-12350", "peer_answer.xml") as seats:
                mark = stack.events.mark()
                result = stack.sipp_uac("citizen_call.xml", "12350", caller)
                assert result.ok, result.stdout + result.log
                end = _wait(stack, mark, "DialEnd", CallerIDNum=caller)
                assert end["DialStatus"] == "ANSWER" and end["DestChannel"].startswith("PJSIP/seats-12350-")
                assert seats.invites()
        finally:
            stack.platform.start_service("agi")
            stack.platform.wait_port(stack.settings.agi_port)
    finally:
        stack.reload(transfer_map=modes_map_text(modes.ports))


def test_cancelled_number_after_its_transition_connects_without_the_announcement(stack, modes):
    caller = "13800000107"
    yesterday = _today() - timedelta(days=1)
    text = modes_map_text(modes.ports)
    # the until: of 12349's transition (the first until: after its number: line)
    text = re.sub(r'(number: "12349"\n(?:    .*\n)*?      until: )\S+', rf"\g<1>{yesterday.isoformat()}", text, count=1)
    assert yesterday.isoformat() in text
    stack.reload(transfer_map=text)
    try:
        with stack.agent("1006", skills={"minzheng": 0}):
            mark = stack.events.mark()
            t0 = time.monotonic()
            result = stack.sipp_uac("citizen_call.xml", "12349", caller)
            assert result.ok, result.stdout + result.log
            connect = _wait(stack, mark, "AgentConnect", CallerIDNum=caller)
            assert connect["Queue"] == "minzheng" and stack.events.facts(connect).get("HOTLINE_ORIGIN") == "12349"
            assert not [
                e
                for e in stack.events.since(mark)
                if _is(e, "Newexten", Application="Playback") and "transition-12349" in e.get("AppData", "")
            ]
            assert time.monotonic() - t0 < 30
    finally:
        stack.reload(transfer_map=modes_map_text(modes.ports))

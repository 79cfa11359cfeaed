"""The three integration modes, each proven by a real SIPp call through Asterisk.

The default map (Handan's annex) is loaded with its trunks pointed at SIPp
peers on loopback: a peer stands for the province platform, the 12313
sub-center, or a department's own seats, and answers, rings without an
answer, or is busy.  Citizens are SIPp UACs on the PSTN side; 12345 agents
are registered SIPp softphones logged into their skill queues.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from hotline.settings import PROJECT_ROOT
from tests.e2e.harness import SIPP_DIR, media_port, metric, queue_direct, sip_port, wait_metric

# the session's map: the shipped one with its queue-direct option (see harness.Stack)
DEFAULT_MAP = queue_direct((PROJECT_ROOT / "transfer_map.yaml").read_text(encoding="utf-8"))
TRUNKS = {  # default contact -> trunk name
    "sip:127.0.0.1:5190": "province",
    "sip:127.0.0.1:5191": "subcenter-12313",
    "sip:127.0.0.1:5192": "seats-12350",
    "sip:127.0.0.1:5193": "seats-12320",
    "sip:127.0.0.1:5194": "seats-12348",
}
SEATS_TIMEOUT = 5  # overflow timeouts shortened for the test (the map says 20 / 25)
SUBCENTER_TIMEOUT = 6


def modes_map_text(ports: dict[str, int], text: str = DEFAULT_MAP) -> str:
    for contact, name in TRUNKS.items():
        assert f"contact: {contact}\n" in text, contact
        # qualify: 0 -- the SIPp stand-ins start and stop with each test, and a SIP OPTIONS
        # still in flight from the last one would mark the next one unreachable (test_demo.py
        # runs the shipped qualify against peers that stay up)
        text = text.replace(f"contact: {contact}\n", f"contact: sip:127.0.0.1:{ports[name]}\n    qualify: 0\n")
    text = text.replace("timeout: 20}", f"timeout: {SEATS_TIMEOUT}}}").replace(
        "timeout: 25,", f"timeout: {SUBCENTER_TIMEOUT},"
    )
    # keep one transition announcement (12349's); the others would only slow the tests
    entries = re.split(r"(?m)^(?=  - number: )", text)
    return "".join(
        e
        if e.startswith('  - number: "12349"')
        else re.sub(r"    transition:\n      text: .*\n      until: .*\n", "", e)
        for e in entries
    )


@dataclass
class Peer:
    name: str
    port: int
    log: Path
    proc: subprocess.Popen

    def invites(self) -> list[str]:
        if not self.log.exists():
            return []
        return [l for l in self.log.read_text(errors="replace").splitlines() if l.startswith("INVITE")]


@contextlib.contextmanager
def sipp_peer(stack, trunk: str, port: int, scenario: str | Path):
    """A SIPp stand-in for the peer behind ``trunk``, listening on loopback ``port``."""
    log = stack.root / f"peer-{trunk}-{time.monotonic_ns()}.log"
    path = scenario if isinstance(scenario, Path) else SIPP_DIR / scenario
    proc = subprocess.Popen(
        ["sipp", "-sf", str(path), "-i", "127.0.0.1", "-p", str(port), "-mp", str(media_port())]
        + ["-nostdin", "-trace_logs", "-log_file", str(log)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=stack.root,
    )
    stack.sipps.append(proc)
    time.sleep(0.3)
    assert proc.poll() is None, f"SIPp peer {scenario} did not start"
    try:
        yield Peer(trunk, port, log, proc)
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def modes(stack):
    ports = {name: sip_port() for name in TRUNKS.values()}
    stack.reload(transfer_map=modes_map_text(ports))
    assert "seats-12350" in stack.cli("pjsip show endpoints")

    def peer(trunk: str, scenario: str | Path):
        return sipp_peer(stack, trunk, ports[trunk], scenario)

    class Modes:
        pass

    m = Modes()
    m.ports, m.peer = ports, peer
    yield m
    stack.reload(transfer_map=DEFAULT_MAP)


def _is(event: dict, name: str, **fields) -> bool:
    return event.get("Event") == name and all(event.get(k) == v for k, v in fields.items())


def _ts(event: dict) -> float:
    return float(event["Timestamp"])


def answered(stack, number: str, caller: str) -> dict:
    """A SIPp citizen calls ``number``; the AgentConnect of that caller."""
    mark = stack.events.mark()
    result = stack.sipp_uac("citizen_call.xml", number, caller)
    assert result.ok, result.stdout + result.log
    return _wait(stack, mark, "AgentConnect", CallerIDNum=caller)


def _wait(stack, mark, name, timeout=20, **fields):
    return stack.events.wait_for(lambda e: _is(e, name, **fields), since=mark, timeout=timeout)


# --- 整体并入 ---------------------------------------------------------------------------


def test_merge_12349_announcement_then_the_department_skill(stack, modes):
    caller = "13800000001"
    sounds = stack.asterisk.sounds
    assert (sounds / "transition-12349.wav").exists(), "the 过渡期 prompt is generated at render"
    with stack.agent("1001", skills={"minzheng": 0}) as agent:
        mark = stack.events.mark()
        log_mark = stack.asterisk_log_size()
        result = stack.sipp_uac("citizen_call.xml", "12349", caller, timeout=45)
        assert result.ok, result.stdout + result.log
        play = _wait(stack, mark, "Newexten", Application="Playback", CallerIDNum=caller)
        assert play["AppData"].endswith("/transition-12349")
        played = _wait(stack, mark, "VarSet", Variable="PLAYBACKSTATUS", Uniqueid=play["Uniqueid"])
        assert played["Value"] == "SUCCESS"
        connect = _wait(stack, mark, "AgentConnect", CallerIDNum=caller)
        # the caller heard the whole announcement (about 5.4 s, under 6 s) before the queue
        join = _wait(stack, mark, "QueueCallerJoin", CallerIDNum=caller)
        assert 4 <= _ts(join) - _ts(play) < 7
        assert connect["Queue"] == "minzheng" and connect["MemberName"] == "1001"
        cv = stack.events.facts(connect)
        assert (cv.get("HOTLINE_ORIGIN"), cv.get("HOTLINE_MODE"), cv.get("HOTLINE_DEPT")) == ("12349", "merge", "mzj")
        assert play["Uniqueid"] == connect["Uniqueid"]
        pops = agent.screen_pops()
        assert pops and "origin=12349" in pops[-1] and "mode=merge" in pops[-1]
    # the announcement file was found and played (no "does not exist" warning)
    assert "transition-12349" not in stack.asterisk_log(log_mark)


# --- 双号并行 ---------------------------------------------------------------------------


def test_dual_seats_cancelled_12329_is_answered_by_12345_agents_of_the_skill(stack, modes):
    caller = "13800000002"
    with stack.agent("1002", skills={"gongjijin": 0}) as agent:
        connect = answered(stack, "12329", caller)
        assert connect["Queue"] == "gongjijin"
        assert stack.events.facts(connect).get("HOTLINE_MODE") == "dual"
        assert stack.events.facts(connect).get("HOTLINE_DEPT") == "gjj"
        assert "origin=12329" in agent.screen_pops()[-1]


def test_dual_seats_kept_12350_rings_the_department_seats_first(stack, modes):
    caller = "13800000003"
    with modes.peer("seats-12350", "peer_answer.xml") as seats:
        mark = stack.events.mark()
        result = stack.sipp_uac("citizen_call.xml", "12350", caller)
        assert result.ok, result.stdout + result.log
        end = _wait(stack, mark, "DialEnd", CallerIDNum=caller)
        assert end["DialStatus"] == "ANSWER" and end["DestChannel"].startswith("PJSIP/seats-12350-")
        assert stack.events.facts(end).get("HOTLINE_MODE") == "dual"
        invites = seats.invites()
        assert invites and "ruri=INVITE sip:12350" in invites[-1] and "origin=12350" in invites[-1]
    assert not [e for e in stack.events.since(mark) if _is(e, "AgentConnect", CallerIDNum=caller)]


def test_dual_seats_kept_overflow_to_12345_after_the_timeout(stack, modes):
    caller = "13800000004"
    with modes.peer("seats-12350", "peer_noanswer.xml") as seats, stack.agent("1003", skills={"yingji": 0}):
        mark = stack.events.mark()
        t0 = time.monotonic()
        result = stack.sipp_uac("citizen_call.xml", "12350", caller)
        assert result.ok, result.stdout + result.log
        over = _wait(stack, mark, "UserEvent", UserEvent="HotlineOverflow")
        assert over["DialStatus"] == "NOANSWER" and over["Origin"] == "12350"
        connect = _wait(stack, mark, "AgentConnect", CallerIDNum=caller)
        assert time.monotonic() - t0 >= SEATS_TIMEOUT
        assert connect["Queue"] == "yingji"
        assert stack.events.facts(connect).get("HOTLINE_FLAG") == "seats_noanswer"
        assert stack.events.facts(connect).get("HOTLINE_ORIGIN") == "12350"
        assert seats.invites(), "the seats were tried first"


def test_dual_seats_kept_overflow_at_once_when_no_seat_is_free(stack, modes):
    caller = "13800000005"
    with modes.peer("seats-12350", "peer_busy.xml") as seats, stack.agent("1004", skills={"yingji": 0}):
        mark = stack.events.mark()
        t0 = time.monotonic()
        th = stack.sipp_uac_async("citizen_call.xml", "12350", caller)
        over = _wait(stack, mark, "UserEvent", UserEvent="HotlineOverflow")
        assert over["DialStatus"] == "BUSY"
        connect = _wait(stack, mark, "AgentConnect", CallerIDNum=caller)
        assert time.monotonic() - t0 < SEATS_TIMEOUT + 2  # no waiting out the ring timeout
        assert connect["Queue"] == "yingji" and stack.events.facts(connect).get("HOTLINE_FLAG") == "seats_noanswer"
        th.join(40)
        assert th.result.ok, th.result.stdout + th.result.log
        assert seats.invites()


# --- 设分中心 ---------------------------------------------------------------------------


def test_subcenter_12313_answers_its_calls(stack, modes):
    caller = "13800000006"
    with modes.peer("subcenter-12313", "peer_answer.xml") as sub:
        mark = stack.events.mark()
        result = stack.sipp_uac("citizen_call.xml", "12313", caller)
        assert result.ok, result.stdout + result.log
        end = _wait(stack, mark, "DialEnd", CallerIDNum=caller)
        assert end["DialStatus"] == "ANSWER" and end["DestChannel"].startswith("PJSIP/subcenter-12313-")
        assert "ruri=INVITE sip:12313" in sub.invites()[-1] and "mode=subcenter" in sub.invites()[-1]
        # the sub-center's call record reaches the platform (设分中心 1: 数据实时向12345热线平台归集)
        cdr = stack.events.wait_for(
            lambda e: (
                _is(e, "Cdr", Source=caller) and e.get("DestinationChannel", "").startswith("PJSIP/subcenter-12313-")
            ),
            since=mark,
            timeout=15,
        )
        assert cdr["Disposition"] == "ANSWERED" and cdr.get("HotlineOrigin") == "12313"
        assert cdr.get("HotlineMode") == "subcenter"


def test_subcenter_no_answer_comes_back_to_12345_first_and_flagged(stack, modes):
    waiting, caller = "13800000007", "13800000008"
    with modes.peer("subcenter-12313", "peer_noanswer.xml"):
        mark = stack.events.mark()
        # a citizen already waits for 12345 (nobody logged in yet)
        first = stack.sipp_uac_async("citizen_call.xml", "12345", waiting, timeout=60)
        _wait(stack, mark, "QueueCallerJoin", CallerIDNum=waiting)
        second = stack.sipp_uac_async("citizen_call.xml", "12313", caller, timeout=60)
        over = _wait(stack, mark, "UserEvent", UserEvent="HotlineOverflow", timeout=SUBCENTER_TIMEOUT + 10)
        assert (over["DialStatus"], over["Flag"], over["QueuePriority"]) == ("NOANSWER", "subcenter_noanswer", "10")
        joined = [_wait(stack, mark, "QueueCallerJoin", CallerIDNum=caller)]
        # nobody of the 烟草 skill is there: the call went on to the 12345 queue, ahead of the earlier caller
        if joined[0]["Queue"] != "hotline":
            joined.append(_wait(stack, mark, "QueueCallerJoin", CallerIDNum=caller, Queue="hotline"))
        assert joined[-1]["Position"] == "1", joined[-1]
        shown = stack.cli("queue show hotline")
        assert re.search(r"1\. PJSIP/pstn-\S+ \(wait: [0-9:]+, prio: 10\)", shown), shown
        with stack.agent("1005", skills={"hotline": 0}):
            connect = _wait(stack, mark, "AgentConnect", MemberName="1005")
            assert connect["CallerIDNum"] == caller, "the flagged call is answered first"
            assert stack.events.facts(connect).get("HOTLINE_FLAG") == "subcenter_noanswer"
            assert stack.events.facts(connect).get("HOTLINE_ORIGIN") == "12313"
            _wait(stack, mark, "AgentConnect", CallerIDNum=waiting, timeout=30)
        second.join(70)
        first.join(70)
        assert second.result.ok and first.result.ok


# --- transfers between 12345 agents and department seats -----------------------------------


def test_agent_blind_transfer_to_department_seats(stack, modes):
    caller = "13800000013"
    refer = stack.sipp_file(
        "uas_refer.xml", {"REFER_TO_URI": f"sip:12350@{stack.settings.bind}:{stack.settings.sip_agent_port}"}
    )
    with (
        modes.peer("seats-12350", "peer_answer.xml") as seats,
        stack.agent("1007", skills={"renshe": 0}, scenario=refer) as agent,
    ):
        mark = stack.events.mark()
        result = stack.sipp_uac("citizen_call.xml", "12333", caller)
        assert result.ok, result.stdout + result.log
        connect = _wait(stack, mark, "AgentConnect", CallerIDNum=caller)
        assert connect["Queue"] == "renshe"
        blind = _wait(stack, mark, "BlindTransfer")
        assert blind["Extension"] == "12350" and blind["Result"] == "Success"
        end = stack.events.wait_for(
            lambda e: (
                _is(e, "DialEnd", CallerIDNum=caller) and e.get("DestChannel", "").startswith("PJSIP/seats-12350-")
            ),
            since=mark,
            timeout=20,
        )
        assert end["DialStatus"] == "ANSWER"
        invite = seats.invites()[-1]
        assert "ruri=INVITE sip:12350" in invite and "origin=12333" in invite  # the seats see where it came from
        assert "REFER accepted" in agent.log_file.read_text(errors="replace")  # 202 from Asterisk


def test_department_seats_transfer_back_to_12345(stack, modes):
    caller = "13800000014"
    refer = stack.sipp_file(
        "uas_refer.xml", {"REFER_TO_URI": f"sip:12345@{stack.settings.bind}:{stack.settings.sip_trunk_port}"}
    )
    with modes.peer("seats-12350", refer), stack.agent("1008", skills={"yingji": 0}) as agent:
        mark = stack.events.mark()
        result = stack.sipp_uac("citizen_call.xml", "12350", caller)
        assert result.ok, result.stdout + result.log
        _wait(stack, mark, "DialEnd", CallerIDNum=caller, DialStatus="ANSWER")
        blind = _wait(stack, mark, "BlindTransfer")
        assert blind["Extension"] == "12345" and blind["Context"] == "from-trunk-seats-12350"
        connect = _wait(stack, mark, "AgentConnect", CallerIDNum=caller)
        assert connect["Queue"] == "yingji"  # back to 12345 agents of the department's skill
        cv = stack.events.facts(connect)
        assert cv.get("HOTLINE_FLAG") == "transfer_from_seats-12350" and cv.get("HOTLINE_ORIGIN") == "12350"
        assert "origin=12350" in agent.screen_pops()[-1]


def _ami_ok(stack, action: dict) -> dict:
    resp = stack.ami(action)[0]
    assert resp.get("Response") == "Success", resp
    return resp


def test_agent_attended_transfer_to_the_subcenter_completed(stack, modes):
    """Consult the sub-center, then complete: the citizen talks to 12313."""
    caller = "13800000016"
    with modes.peer("subcenter-12313", "peer_answer.xml") as sub, stack.agent("1009", skills={"hotline": 0}):
        mark = stack.events.mark()
        th = stack.sipp_uac_async("citizen_call.xml", "12345", caller)
        connect = _wait(stack, mark, "AgentConnect", CallerIDNum=caller)
        _ami_ok(stack, {"Action": "Atxfer", "Channel": connect["DestChannel"], "Exten": "12313", "Context": "agents"})
        consult = stack.events.wait_for(
            lambda e: _is(e, "DialEnd") and e.get("DestChannel", "").startswith("PJSIP/subcenter-12313-"),
            since=mark,
            timeout=15,
        )
        assert consult["DialStatus"] == "ANSWER"
        # the agent hangs up (its scenario ends the call after 2 s): the transfer completes
        done = _wait(stack, mark, "AttendedTransfer", timeout=15)
        assert done["Result"] == "Success"
        th.join(40)
        assert th.result.ok, th.result.stdout + th.result.log
        assert "ruri=INVITE sip:12313" in sub.invites()[-1]


def test_agent_attended_transfer_to_the_subcenter_cancelled(stack, modes):
    """Consult the sub-center, then cancel: the agent is back with the citizen."""
    caller = "13800000017"
    long_talk = stack.sipp_file("agent_answer.xml", {'timeout="2000"': 'timeout="8000"'})
    long_peer = stack.sipp_file("peer_answer.xml", {'timeout="2000"': 'timeout="20000"'})
    with modes.peer("subcenter-12313", long_peer), stack.agent("1010", skills={"hotline": 0}, scenario=long_talk):
        mark = stack.events.mark()
        th = stack.sipp_uac_async("citizen_call.xml", "12345", caller)
        connect = _wait(stack, mark, "AgentConnect", CallerIDNum=caller)
        _ami_ok(stack, {"Action": "Atxfer", "Channel": connect["DestChannel"], "Exten": "12313", "Context": "agents"})
        consult = stack.events.wait_for(
            lambda e: _is(e, "DialEnd") and e.get("DestChannel", "").startswith("PJSIP/subcenter-12313-"),
            since=mark,
            timeout=15,
        )
        assert consult["DialStatus"] == "ANSWER"
        _ami_ok(stack, {"Action": "CancelAtxfer", "Channel": connect["DestChannel"]})
        stack.events.wait_for(
            lambda e: _is(e, "Hangup") and e.get("Channel") == consult["DestChannel"], since=mark, timeout=10
        )
        complete = _wait(stack, mark, "AgentComplete", CallerIDNum=caller, timeout=20)
        assert int(complete["TalkTime"]) >= 6  # the agent kept talking to the citizen
        assert not [e for e in stack.events.since(mark) if _is(e, "AttendedTransfer", Result="Success")]
        th.join(40)
        assert th.result.ok, th.result.stdout + th.result.log


# --- province -------------------------------------------------------------------------------


def test_province_row_12366_goes_over_the_province_trunk(stack, modes):
    caller = "13800000009"
    with modes.peer("province", "peer_answer.xml") as prov:
        mark = stack.events.mark()
        result = stack.sipp_uac("citizen_call.xml", "12366", caller)
        assert result.ok, result.stdout + result.log
        end = _wait(stack, mark, "DialEnd", CallerIDNum=caller)
        assert end["DialStatus"] == "ANSWER" and end["DestChannel"].startswith("PJSIP/province-")
        assert stack.events.facts(end).get("HOTLINE_LEVEL") == "province"
        assert "ruri=INVITE sip:12366" in prov.invites()[-1]


def test_emergency_numbers_are_not_queued(stack, modes):
    caller = "13800000010"
    mark = stack.events.mark()
    stack.sipp_uac("citizen_call.xml", "110", caller, timeout=20)
    assert not [e for e in stack.events.since(mark) if _is(e, "QueueCallerJoin", CallerIDNum=caller)]
    assert any(
        _is(e, "Newexten", Application="Playback") and e.get("AppData", "").endswith("/emergency-110")
        for e in stack.events.since(mark)
    )


# --- reload ----------------------------------------------------------------------------------


def test_reload_keeps_the_call_in_progress_and_new_calls_follow_the_new_map(stack, modes):
    caller1, caller2 = "13800000011", "13800000012"
    long_talk = stack.sipp_file("agent_answer.xml", {'timeout="2000"': 'timeout="9000"'})
    with (
        stack.agent("1006", skills={"ziran": 0}, scenario=long_talk),
        modes.peer("seats-12350", "peer_answer.xml") as seats,
    ):
        mark = stack.events.mark()
        call1 = stack.sipp_uac_async("citizen_call.xml", "12336", caller1, timeout=40)
        connect = _wait(stack, mark, "AgentConnect", CallerIDNum=caller1)
        assert connect["Queue"] == "ziran"
        # the admin turns 12336 into a 双号并行 line ringing department seats
        text = modes_map_text(modes.ports)
        old = re.search(r'  - number: "12336"\n(    .*\n)+?    row: 整体并入 3\n', text).group(0)
        new = old.replace("mode: 整体并入", "mode: 双号并行").replace(
            "seats: cancelled", "seats: retained\n    target: seats-12350"
        )
        stack.reload(transfer_map=text.replace(old, new))
        # the call in progress is still talking
        time.sleep(1)
        assert not [e for e in stack.events.since(mark) if _is(e, "Hangup", Uniqueid=connect["Uniqueid"])]
        # a new call to 12336 follows the new map
        mark2 = stack.events.mark()
        result = stack.sipp_uac("citizen_call.xml", "12336", caller2)
        assert result.ok, result.stdout + result.log
        end = _wait(stack, mark2, "DialEnd", CallerIDNum=caller2)
        assert end["DialStatus"] == "ANSWER" and end["DestChannel"].startswith("PJSIP/seats-12350-")
        assert stack.events.facts(end).get("HOTLINE_MODE") == "dual"
        assert "ruri=INVITE sip:12336" in seats.invites()[-1]
        # the first call ends normally: the agent hangs up after its 9 s of talk
        complete = _wait(stack, mark, "AgentComplete", Uniqueid=connect["Uniqueid"], timeout=20)
        assert int(complete["TalkTime"]) >= 8 and complete["Reason"] == "agent"
        call1.join(30)
        assert call1.result.ok, call1.result.stdout + call1.result.log
    stack.reload(transfer_map=modes_map_text(modes.ports))


def test_a_bad_map_is_refused_and_calls_follow_the_last_good_one(stack, modes):
    from hotline.yamlsrc import ConfigError

    caller = "13800000018"
    good = modes_map_text(modes.ports)
    bad = good.replace(
        "    mode: 整体并入\n    seats: cancelled\n    row: 整体并入 3", "    mode: 合并\n    row: 整体并入 3"
    )
    assert bad != good
    before = stack.cli("dialplan show 12336@hotline-static")
    with pytest.raises(ConfigError) as exc:
        stack.reload(transfer_map=bad)
    assert any("unknown mode '合并'" in p.message for p in exc.value.problems)
    time.sleep(2.5)  # the FastAGI server notices the file change, refuses it, keeps its map
    assert "transfer map rejected, keeping the last good one" in stack.service_log("agi")
    assert stack.cli("dialplan show 12336@hotline-static") == before
    try:
        with stack.agent("1001", skills={"ziran": 0}):
            connect = answered(stack, "12336", caller)
            assert connect["Queue"] == "ziran" and stack.events.facts(connect).get("HOTLINE_ROUTER") == "agi"
    finally:
        stack.reload(transfer_map=good)


def test_fastagi_down_the_static_fallback_still_rings_the_seats(stack, modes):
    caller = "13800000019"
    fallbacks = metric(stack.settings.stats_metrics_port, "hotline_fallbacks_total", kind="routing")
    stack.platform.stop_service("agi")
    try:
        with modes.peer("seats-12350", "peer_answer.xml") as seats:
            mark = stack.events.mark()
            result = stack.sipp_uac("citizen_call.xml", "12350", caller)
            assert result.ok, result.stdout + result.log
            end = stack.events.wait_for(
                lambda e: (
                    _is(e, "DialEnd", CallerIDNum=caller) and e.get("DestChannel", "").startswith("PJSIP/seats-12350-")
                ),
                since=mark,
                timeout=20,
            )
            assert end["DialStatus"] == "ANSWER"
            assert stack.events.facts(end).get("HOTLINE_ROUTER") == "static"
            assert "ruri=INVITE sip:12350" in seats.invites()[-1]
            # counted: hotline_fallbacks_total (docs/operations.md "Metrics")
            port = stack.settings.stats_metrics_port
            assert wait_metric(port, "hotline_fallbacks_total", fallbacks + 1, kind="routing") == fallbacks + 1
            assert metric(port, "hotline_calls_routed_total", line="12350", mode="dual", router="static") >= 1
    finally:
        stack.platform.start_service("agi")
        stack.platform.wait_port(stack.settings.agi_port)


def test_department_seats_closed_on_a_holiday_12345_answers_at_once(stack, modes):
    """Opening hours and the platform's one calendar (holidays/<year>.yaml), as Beijing time, through FastAGI."""
    import zoneinfo
    from datetime import datetime

    caller = "13800000020"
    today = datetime.now(zoneinfo.ZoneInfo("Asia/Shanghai")).date()
    year_file = stack.settings.holidays_dir / f"{today.year}.yaml"
    saved = year_file.read_text(encoding="utf-8") if year_file.exists() else None
    holidays = (saved or f"year: {today.year}\nsource: test\nholidays:\n").replace("holidays:\n", "holidays:\n", 1)
    if today.isoformat() not in holidays:
        holidays = holidays.replace("holidays:\n", f"holidays:\n  - {{name: 测试, from: {today}, to: {today}}}\n", 1)
        holidays = "\n".join(l for l in holidays.splitlines() if l.strip() != f"- {today.isoformat()}") + "\n"
    year_file.write_text(holidays, encoding="utf-8")
    text = modes_map_text(modes.ports)
    old = re.search(r'  - number: "12350"\n(    .*\n)+?    row: 双号并行 2\n', text).group(0)
    text = text.replace(
        old, old.replace("    row: 双号并行 2\n", '    hours: ["mon-sun 00:00-24:00"]\n    row: 双号并行 2\n')
    )
    stack.reload(transfer_map=text)
    try:
        with modes.peer("seats-12350", "peer_answer.xml") as seats, stack.agent("1002", skills={"yingji": 0}):
            mark = stack.events.mark()
            result = stack.sipp_uac("citizen_call.xml", "12350", caller)
            assert result.ok, result.stdout + result.log
            connect = _wait(stack, mark, "AgentConnect", CallerIDNum=caller)
            assert connect["Queue"] == "yingji" and stack.events.facts(connect).get("HOTLINE_ORIGIN") == "12350"
            assert seats.invites() == [], "closed seats are not rung"
            assert not [e for e in stack.events.since(mark) if _is(e, "UserEvent", UserEvent="HotlineOverflow")]
        routes = [l for l in stack.service_log("agi").splitlines() if '"dialed": "12350"' in l]
        assert "closed (hours)" in routes[-1]
    finally:
        if saved is None:
            year_file.unlink()
        else:
            year_file.write_text(saved, encoding="utf-8")
        stack.reload(transfer_map=modes_map_text(modes.ports))


def test_a_number_delivered_with_the_area_code(stack, modes):
    caller = "13800000021"
    with stack.agent("1003", skills={"gongjijin": 0}):
        connect = answered(stack, "031012329", caller)
        assert connect["Queue"] == "gongjijin" and stack.events.facts(connect).get("HOTLINE_ORIGIN") == "12329"


def test_province_platform_unreachable_12345_answers_flagged(stack, modes):
    caller = "13800000022"
    # nothing listens on the province trunk's address
    with stack.agent("1004", skills={"nongye": 0}):
        mark = stack.events.mark()
        result = stack.sipp_uac("citizen_call.xml", "12316", caller, timeout=60)
        assert result.ok, result.stdout + result.log
        over = _wait(stack, mark, "UserEvent", UserEvent="HotlineOverflow", timeout=SEATS_TIMEOUT + 15)
        assert over["Origin"] == "12316" and over["Flag"] == "province_noanswer"
        assert over["DialStatus"] in ("NOANSWER", "CHANUNAVAIL", "CONGESTION")
        connect = _wait(stack, mark, "AgentConnect", CallerIDNum=caller)
        cv = stack.events.facts(connect)
        assert connect["Queue"] == "nongye"
        assert (cv.get("HOTLINE_LEVEL"), cv.get("HOTLINE_FLAG"), cv.get("HOTLINE_DEPT")) == (
            "province",
            "province_noanswer",
            "nyj",
        )


def test_overflow_to_another_number_keeps_the_origin(stack, modes):
    """12350's seats do not answer; its overflow is 12320, whose seats do."""
    caller = "13800000023"
    text = modes_map_text(modes.ports)
    old = re.search(r'  - number: "12350"\n(    .*\n)+?    row: 双号并行 2\n', text).group(0)
    stack.reload(transfer_map=text.replace(old, old.replace('overflow: {to: "12345"', 'overflow: {to: "12320"')))
    try:
        with modes.peer("seats-12350", "peer_noanswer.xml"), modes.peer("seats-12320", "peer_answer.xml") as other:
            mark = stack.events.mark()
            result = stack.sipp_uac("citizen_call.xml", "12350", caller)
            assert result.ok, result.stdout + result.log
            end = stack.events.wait_for(
                lambda e: (
                    _is(e, "DialEnd", CallerIDNum=caller) and e.get("DestChannel", "").startswith("PJSIP/seats-12320-")
                ),
                since=mark,
                timeout=20,
            )
            assert end["DialStatus"] == "ANSWER"
            assert stack.events.facts(end).get("HOTLINE_ORIGIN") == "12350"  # what the citizen dialed
            invite = other.invites()[-1]
            assert "ruri=INVITE sip:12320" in invite and "origin=12350" in invite
    finally:
        stack.reload(transfer_map=modes_map_text(modes.ports))

"""One home per fact, proven through the real Asterisk: the hotline's number comes from
the map, a restarted FastAGI keeps the last accepted map, rendered text is escaped.
"""

from __future__ import annotations

import re
import subprocess
import sys

from deploy.platform import settings_env
from tests.e2e.harness import free_port, sip_port
from tests.e2e.test_modes import DEFAULT_MAP, TRUNKS, _is, _wait, modes_map_text


def _ports() -> dict[str, int]:
    return {name: sip_port() for name in TRUNKS.values()}


def _hotline_12346(text: str) -> str:
    text = text.replace('  number: "12345"\n', '  number: "12346"\n', 1)
    # overflows that named 12345 now take the default: the hotline, whatever its number
    return re.sub(r'to: "12345", ', "", text)


def test_a_map_for_12346_reaches_an_agent(stack):
    caller = "13800000301"
    stack.reload(transfer_map=_hotline_12346(modes_map_text(_ports())))
    try:
        assert "12346" in stack.cli("dialplan show 12346@hotline-static")
        with stack.agent("1007", skills={"hotline": 0}) as agent:
            mark = stack.events.mark()
            result = stack.sipp_uac("citizen_call.xml", "12346", caller)
            assert result.ok, result.stdout + result.log
            connect = _wait(stack, mark, "AgentConnect", CallerIDNum=caller)
            assert connect["Queue"] == "hotline"
            pops = agent.screen_pops()
            assert pops and "origin=12346" in pops[-1]
        routes = [line for line in stack.service_log("agi").splitlines() if '"dialed": "12346"' in line]
        assert routes and '"kind": "queue"' in routes[-1]
    finally:
        stack.reload(transfer_map=DEFAULT_MAP)


def test_a_restarted_fastagi_serves_the_last_accepted_map(stack):
    """Bad map on disk, FastAGI restarted: 110 is still refused, 12349 still announced."""
    caller = "13800000302"
    good = modes_map_text(_ports())
    stack.reload(transfer_map=good)  # accepted: kept as the last accepted map
    assert stack.settings.accepted_map.read_text(encoding="utf-8") == good
    bad = (
        good.replace('  - number: "12336"', '  - number: "12349"', 1)
        + '  - {number: "110", name: 报警, department: others, mode: merge}\n'
    )
    stack.settings.transfer_map.write_text(bad, encoding="utf-8")
    mark_log = len(stack.service_log("agi"))
    stack.platform.stop_service("agi")
    stack.platform.start_service("agi")
    stack.platform.wait_port(stack.settings.agi_port)
    try:
        log = stack.service_log("agi")[mark_log:]
        assert "transfer map refused at start" in log and "duplicate number 12349" in log
        assert "serving the last accepted transfer map" in log
        mark = stack.events.mark()
        stack.sipp_uac("citizen_call.xml", "110", caller, timeout=20)
        assert not [e for e in stack.events.since(mark) if _is(e, "QueueCallerJoin", CallerIDNum=caller)]
        assert any(
            _is(e, "Newexten", Application="Playback") and e.get("AppData", "").endswith("/emergency-110")
            for e in stack.events.since(mark)
        )
        routes = [line for line in stack.service_log("agi")[mark_log:].splitlines() if '"dialed": "110"' in line]
        assert routes and '"kind": "hangup"' in routes[-1], "FastAGI answered with the accepted map"
        with stack.agent("1008", skills={"minzheng": 0}):
            mark = stack.events.mark()
            result = stack.sipp_uac("citizen_call.xml", "12349", "13800000303", timeout=45)
            assert result.ok, result.stdout + result.log
            play = _wait(stack, mark, "Newexten", Application="Playback", CallerIDNum="13800000303")
            assert play["AppData"].endswith("/transition-12349")
            _wait(stack, mark, "AgentConnect", CallerIDNum="13800000303")
    finally:
        stack.reload(transfer_map=DEFAULT_MAP)
        stack.platform.stop_service("agi")
        stack.platform.start_service("agi")
        stack.platform.wait_port(stack.settings.agi_port)


def test_a_fastagi_without_any_good_map_does_not_answer(stack, tmp_path):
    """Neither the file nor an accepted copy: the service exits, the static dialplan routes."""
    settings = stack.settings.with_(transfer_map=tmp_path / "bad.yaml", home=tmp_path, agi_port=free_port())
    settings.transfer_map.write_text("version: 1\nlines: [\n", encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "deploy.cli", "agi"],
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "static dialplan takes the calls" in run.stderr


def test_rendered_text_is_escaped_for_the_dialplan(stack):
    """A name with ';', ',' and a newline cannot cut or end a dialplan line."""
    text = modes_map_text(_ports())
    old = re.search(r'  - number: "12350"\n    name: (.*)\n', text)
    assert old
    text = text.replace(old.group(0), '  - number: "12350"\n    name: "安全;生产,热线\\n第二行"\n', 1)
    log_mark = stack.asterisk_log_size()
    stack.reload(transfer_map=text)
    try:
        transfer = stack.cli("dialplan show 12350@hotline-transfer")
        assert "Dial(PJSIP/12350@seats-12350" in transfer, transfer
        inbound = stack.cli("dialplan show hotline-inbound")
        assert "static route for ${EXTEN}" in inbound, inbound
        assert "第二行" not in stack.cli("dialplan show hotline-static")
        errors = [line for line in stack.asterisk_log(log_mark).splitlines() if "ERROR" in line]
        assert not errors, errors
    finally:
        stack.reload(transfer_map=DEFAULT_MAP)

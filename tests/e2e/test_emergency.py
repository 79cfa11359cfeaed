"""Emergency linkage (紧急热线联动) on the real Asterisk: the IVR without a linkage
trunk, and an agent's *0110 three-way call with a SIPp stand-in for 110."""

from __future__ import annotations

import subprocess
import time

from tests.e2e.harness import SIPP_DIR, media_port, queue_direct, sip_port
from tests.e2e.test_ivr import dtmf, pause

LINKAGE = """  linkage-110:
    kind: emergency
    numbers: ["110"]
    contact: sip:127.0.0.1:{port}
    qualify: 0
"""


def _is(e: dict, name: str, **fields) -> bool:
    return e.get("Event") == name and all(e.get(k) == v for k, v in fields.items())


def test_ivr_without_a_linkage_trunk_tells_the_caller_to_dial_110(stack):
    base = stack.settings.transfer_map.read_text(encoding="utf-8")
    stack.reload(transfer_map=queue_direct(base, "linkage"))
    try:
        caller = "13700000110"
        mark = stack.events.mark()
        scen = stack.sipp_file("ivr_dtmf.xml", {"<!-- IVR_ACTIONS -->": dtmf("1", first_ms=2000), "IVR_WAIT": "15000"})
        r = stack.sipp_uac(scen, "12345", caller, timeout=60)
        assert r.ok, r.stdout + r.log
        evs = stack.events.since(mark)
        plays = [e.get("AppData", "") for e in evs if _is(e, "Newexten", Application="Playback")]
        assert any(p.endswith("/linkage-110") for p in plays), plays
        assert not any("ivr-linkage-police" in p for p in plays), plays  # never 正在为您转接110
        assert not [e for e in evs if _is(e, "QueueCallerJoin", CallerIDNum=caller)]
        assert (stack.asterisk.sounds / "linkage-110.wav").exists()
    finally:
        stack.reload(transfer_map=base)


def test_agent_star0110_makes_a_three_way_call_the_agent_can_leave(stack):
    base = stack.settings.transfer_map.read_text(encoding="utf-8")
    port = sip_port()
    stack.reload(transfer_map=base.replace("\ntrunks:\n", "\ntrunks:\n" + LINKAGE.format(port=port), 1))
    log = stack.root / f"peer-110-{time.monotonic_ns()}.log"
    peer_scen = stack.sipp_file(
        "peer_answer.xml", {'timeout="2000" ontimeout="agent_bye"': 'timeout="12000" ontimeout="agent_bye"'}
    )
    peer = subprocess.Popen(
        ["sipp", "-sf", str(peer_scen), "-i", "127.0.0.1", "-p", str(port), "-mp", str(media_port()),
         "-nostdin", "-trace_logs", "-log_file", str(log), "-m", "1"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=stack.root,
    )  # fmt: skip
    stack.sipps.append(peer)
    agent_scen = stack.sipp_file(
        "agent_answer.xml",
        {
            "<!-- talk time; if the caller hangs up first, answer Asterisk's BYE -->": dtmf(
                "*0110", gap_ms=250, first_ms=1500
            ),
            'timeout="2000" ontimeout="agent_bye"': 'timeout="4000" ontimeout="agent_bye"',
        },
    )
    try:
        with stack.agent("1011", skills={"hotline": 0}, scenario=agent_scen):
            mark = stack.events.mark()
            caller = "13700001110"
            scen = stack.sipp_file("ivr_dtmf.xml", {"<!-- IVR_ACTIONS -->": pause(25000), "IVR_WAIT": "500"})
            citizen = stack.sipp_uac_async(scen, "12345", caller, timeout=60)
            ev = stack.events.wait_for(
                lambda e: _is(e, "UserEvent", UserEvent="HotlineLinkage"), since=mark, timeout=30
            )
            assert ev["Number"] == "110" and ev["Caller"] == "137****1110", ev
            conf = ev["Conference"]
            joined = []
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and len(joined) < 3:
                joined = [e for e in stack.events.since(mark) if _is(e, "ConfbridgeJoin", Conference=conf)]
                time.sleep(0.2)
            assert len(joined) == 3, stack.cli(f"confbridge list {conf}")
            # the agent hangs up (its scenario's BYE); caller and 110 stay
            stack.events.wait_for(lambda e: _is(e, "ConfbridgeLeave", Conference=conf), since=mark, timeout=15)
            time.sleep(3)
            listing = stack.cli(f"confbridge list {conf}")
            assert "PJSIP/pstn" in listing and "PJSIP/linkage-110" in listing and "PJSIP/1011" not in listing, listing
        citizen.join(70)
        assert citizen.result.ok, citizen.result.stdout + citizen.result.log
    finally:
        peer.kill()
        peer.wait()
        stack.reload(transfer_map=base)
    assert SIPP_DIR.exists()

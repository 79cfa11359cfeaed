"""A fresh install answers every one of the 28 legacy numbers (issue 13, "a demo that is whole").

The shipped map's trunks point at loopback placeholders; the demo peers (deploy/demo_peers.py,
`hotline up --demo-peers`, which ./scripts/run passes) answer them with a second, minimal real
Asterisk.  Here the placeholders are moved to free ports, as test_modes does, and:

* each of the 28 numbers is dialed at once: the 16 that go to a peer (province rows, the 12313
  sub-center, the seats kept by 12350/12320/12348) are answered by that trunk's demo peer, the
  other 12 join a 12345 queue, each with its origin;
* with the demo peers stopped, the trunks' SIP OPTIONS go unanswered: a 12366 caller hears why
  (unreachable-province) and comes back to 12345, and `hotline status` says UNREACHABLE.
"""

from __future__ import annotations

import time

import pytest

from agi.routing import decide
from deploy.commands_status import contact_states, trunk_lines
from deploy.demo_peers import DemoPeers, placeholders
from hotline.transfer_map import load_map_for
from tests.e2e.harness import sip_port, worker_rtp_range
from tests.e2e.test_modes import DEFAULT_MAP, TRUNKS, _is, _wait

GENERAL = "hotline"
PEERS_RTP = (28000, 2000)  # the demo peers' RTP ports, 28000-29999, below the stacks' own


@pytest.fixture(scope="module")
def demo(stack):
    text = DEFAULT_MAP
    for contact in TRUNKS:
        text = text.replace(contact, f"sip:127.0.0.1:{sip_port()}")
    stack.reload(transfer_map=text)
    tmap = load_map_for(stack.settings)
    peers = DemoPeers(stack.settings, rtp=worker_rtp_range(*PEERS_RTP))
    try:
        found = peers.start(tmap)
        assert {p.trunk for p in found} == set(TRUNKS.values())
        for p in found:
            stack.wait_reachable(p.trunk)
        yield tmap, peers
    finally:
        peers.stop()
        stack.reload(transfer_map=DEFAULT_MAP)


def test_each_of_the_28_numbers_is_answered_by_its_peer_or_a_12345_queue(stack, demo):
    tmap, _ = demo
    lines = sorted(tmap.lines, key=lambda ln: ln.number)
    assert len(lines) == 28
    scen = stack.sipp_file(
        "citizen_call.xml", {'timeout="30000" ontimeout="citizen_bye"': 'timeout="15000" ontimeout="citizen_bye"'}
    )
    callers = {ln.number: f"1390000{i:04d}" for i, ln in enumerate(lines)}
    mark = stack.events.mark()
    threads = {n: stack.sipp_uac_async(scen, n, c, timeout=90) for n, c in callers.items()}
    for th in threads.values():
        th.join(100)
    evs = stack.events.since(mark)
    to_peer = to_queue = 0
    for ln in lines:
        caller, route = callers[ln.number], decide(ln.number, None, tmap)
        result = threads[ln.number].result
        assert result.ok, f"{ln.number}: {result.stdout[-800:]} {result.log[-800:]}"
        target = route.channel_vars().get("HOTLINE_TARGET", "")
        if target:  # PJSIP/<number>@<trunk>: answered by that trunk's demo peer
            trunk = target.rsplit("@", 1)[1]
            ends = [
                e
                for e in evs
                if _is(e, "DialEnd", CallerIDNum=caller) and e.get("DestChannel", "").startswith(f"PJSIP/{trunk}-")
            ]
            assert [e["DialStatus"] for e in ends] == ["ANSWER"], (ln.number, trunk, ends)
            to_peer += 1
        else:  # a 12345 queue: the line's skill, or the general queue when nobody of it is logged in
            joins = [e for e in evs if _is(e, "QueueCallerJoin", CallerIDNum=caller)]
            assert joins, (ln.number, "never queued")
            assert joins[0]["Queue"] in (route.channel_vars()["HOTLINE_QUEUE"], GENERAL), (ln.number, joins[0])
            assert stack.events.facts(joins[0]).get("HOTLINE_ORIGIN") == ln.number, joins[0]
            to_queue += 1
    assert (to_peer, to_queue) == (16, 12)
    assert not [e for e in evs if _is(e, "UserEvent", UserEvent="HotlinePeerUnreachable")]


def test_a_peer_that_is_down_is_said_to_the_caller_and_shown_by_status(stack, demo):
    tmap, peers = demo
    peers.stop()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        stack.ami({"Action": "PJSIPQualify", "Endpoint": "province"})
        time.sleep(0.5)
        if contact_states(stack.cli("pjsip show contacts")).get("province", ("",))[0] == "Unavail":
            break
    shown = trunk_lines(tmap, contact_states(stack.cli("pjsip show contacts")))
    province = [l for l in shown if l.split()[0] == "province"]
    assert province and "UNREACHABLE" in province[0] and "loopback placeholder" in province[0], shown
    assert {p.trunk for p in placeholders(tmap)} == set(TRUNKS.values())

    mark = stack.events.mark()
    caller = "13900009999"
    t0 = time.monotonic()
    th = stack.sipp_uac_async(
        stack.sipp_file(
            "citizen_call.xml", {'timeout="30000" ontimeout="citizen_bye"': 'timeout="20000" ontimeout="citizen_bye"'}
        ),
        "12366",
        caller,
        timeout=60,
    )
    said = _wait(stack, mark, "UserEvent", UserEvent="HotlinePeerUnreachable", timeout=15)
    assert (said["Trunk"], said["DialStatus"], said["Origin"]) == ("province", "CHANUNAVAIL", "12366"), said
    assert time.monotonic() - t0 < 5, "an unreachable peer is not rung for the line's timeout"
    join = _wait(stack, mark, "QueueCallerJoin", CallerIDNum=caller, timeout=20)
    plays = [e.get("AppData", "") for e in stack.events.since(mark) if _is(e, "Newexten", Application="Playback")]
    assert any(p.endswith("/unreachable-province") for p in plays), plays
    assert (stack.asterisk.sounds / "unreachable-province.wav").exists()
    assert stack.events.facts(join).get("HOTLINE_FLAG") == "province_noanswer", join
    th.join(60)
    assert th.result.ok, th.result.stdout[-800:]

"""Bad input from outside, on the real platform: toll fraud, FastAGI garbage, DTMF garbage, JSON logs, metrics.

Short on purpose (the whole file well under a minute): the logic is unit-tested
(tests/unit/test_agi_fuzz.py, tests/unit/test_metrics.py); these prove the wiring.
"""

from __future__ import annotations

import json
import os
import re
import socket
import struct
import time
import urllib.request

import pytest

from hotline.names import parse_call_facts
from tests.e2e.harness import metric, queue_direct, wait_metric
from tests.e2e.test_ivr import _PCAPS, _RTP, _pcap, dtmf, pause

STRANGER = "127.0.0.2"  # on Linux all of 127/8 is this host: an address no endpoint is identified by


def stranger_invite(stack, port: int, dialed: str, from_user: str) -> tuple[int, str]:
    """One INVITE from STRANGER; (SIPp's exit status, the SIP messages it saw)."""
    msgs = stack.root / f"stranger-{time.monotonic_ns()}.msg"
    r = stack.sipp_once(
        "stranger_invite.xml",
        port,
        dialed,
        local=STRANGER,
        args=["-key", "from", from_user, "-trace_msg", "-message_file", str(msgs)],
        timeout=10,
    )
    return r.returncode, (msgs.read_text(errors="replace") if msgs.exists() else "") + r.stdout[-1500:]


def test_invites_from_unknown_addresses_are_refused_and_reach_no_trunk_or_agent(stack):
    s = stack.settings
    mark = stack.events.mark()
    attempts = [
        # to the trunk transport: an agent's extension, a number that dials a trunk (12350's seats),
        # an outbound (long-distance) number, as a caller and pretending to be the PSTN or a trunk by name
        (s.sip_trunk_port, "1001", "13900000001"),
        (s.sip_trunk_port, "12350", "13900000002"),
        (s.sip_trunk_port, "013800138000", "13900000003"),
        (s.sip_trunk_port, "013800138000", "pstn"),
        (s.sip_trunk_port, "12345", "province"),
        (s.sip_trunk_port, "12345", "seats-12350"),
        # to the agents' transport: an agent's extension without its password, and an outbound number
        (s.sip_agent_port, "1002", "1001"),
        (s.sip_agent_port, "013800138000", "pstn"),
    ]
    for port, dialed, from_user in attempts:
        code, text = stranger_invite(stack, port, dialed, from_user)
        assert code == 0, f"{dialed} from {from_user}@{STRANGER}: not refused\n{text[-2500:]}"
        assert re.search(r"SIP/2\.0 (401|403|404) ", text), text[-2500:]
    time.sleep(0.5)
    evs = stack.events.since(mark)
    users = {a[2] for a in attempts}
    # the stranger got no channel at all: nothing dialed a trunk or an agent for it
    assert not [e for e in evs if e.get("Event") == "Newchannel" and e.get("CallerIDNum") in users], evs[-5:]
    assert not [e for e in evs if e.get("Event") == "DialBegin" and e.get("CallerIDNum") in users]


def agi_garbage(port: int) -> list[socket.socket]:
    """Open FastAGI connections that misbehave: random bytes, 1 MB of environment, cut short, silent."""
    out = []
    for payload in (os.urandom(4000), b"agi_x: " + b"A" * (1 << 20), b"agi_network: yes\nagi_netw", b""):
        c = socket.create_connection(("127.0.0.1", port), timeout=5)
        try:
            c.sendall(payload)
        except OSError:
            pass  # the server cut the oversized one off
        out.append(c)
    return out


def test_a_call_is_routed_by_fastagi_while_others_send_it_garbage(stack):
    socks = agi_garbage(stack.settings.agi_port)
    try:
        mark = stack.events.mark()
        scen = stack.sipp_file("ivr_dtmf.xml", {"<!-- IVR_ACTIONS -->": pause(1500), "IVR_WAIT": "100"})
        r = stack.sipp_uac(scen, "12349", "13900000010", timeout=20)
        evs = stack.events.since(mark)
    finally:
        for c in socks:
            c.close()
    # the route's facts of the call's channel(s) (HotlineRouted: AMI events carry no channel variables)
    mine = {e["Uniqueid"] for e in evs if e.get("CallerIDNum") == "13900000010"}
    routed = [e for e in evs if e.get("UserEvent") == "HotlineRouted" and e.get("Uniqueid") in mine]
    routers = {parse_call_facts(e["Facts"]).get("HOTLINE_ROUTER") for e in routed}
    assert r.ok, r.stdout[-800:]
    assert "agi" in routers and "static" not in routers, routers
    assert stack.platform.procs["agi"].poll() is None


def garbage_dtmf_pcap() -> str:
    """RFC 2833 events that are no key at all (A-D, flash, out-of-range codes), then actions."""
    packets, t = [], 0.0
    for code in (12, 13, 14, 15, 16, 99, 200, 255):
        ts = _RTP["ts"]
        for i in range(4):
            payload = struct.pack("!BBH", code, 10, 160 * (i + 1))
            first = 0x80 if i == 0 else 0
            packets.append(
                (t + 0.02 * i, struct.pack("!BBHII", 0x80, first | 101, _RTP["seq"] & 0xFFFF, ts, 7) + payload)
            )
            _RTP["seq"] += 1
        payload = struct.pack("!BBH", code, 0x80 | 10, 160 * 4)
        packets.append((t + 0.1, struct.pack("!BBHII", 0x80, 101, _RTP["seq"] & 0xFFFF, ts, 7) + payload))
        _RTP["seq"] += 1
        _RTP["ts"] += 1600
        t += 0.2
    _PCAPS.mkdir(parents=True, exist_ok=True)
    out = _PCAPS / f"garbage-{time.monotonic_ns()}.pcap"
    _pcap(packets, out)
    return f'<nop><action><exec play_pcap_audio="{out}"/></action></nop><pause milliseconds="{int(t * 1000) + 200}"/>'


def test_oversized_and_garbage_dtmf_to_the_ivr_is_handled(stack):
    map_text = stack.settings.transfer_map.read_text(encoding="utf-8")
    stack.reload(transfer_map=queue_direct(map_text, "12345"))  # 12345 greets with the IVR
    log0 = len(stack.service_log("ari"))
    caller = "13900000020"
    mark = stack.events.mark()
    try:
        # 1 = progress query, then 30 digits into a read of at most 20, keys that are no key, * and #
        actions = (
            dtmf("1", first_ms=1500)
            + dtmf("9" * 30, gap_ms=200)
            + garbage_dtmf_pcap()
            + dtmf("*#*#", gap_ms=200)
            + pause(2000)
        )
        scen = stack.sipp_file("ivr_dtmf.xml", {"<!-- IVR_ACTIONS -->": actions, "IVR_WAIT": "1000"})
        r = stack.sipp_uac(scen, "12345", caller, timeout=40)
    finally:
        stack.reload(transfer_map=map_text)
    assert r.ok, r.stdout[-1500:] + r.log[-1500:]
    assert stack.platform.procs["ari"].poll() is None  # the IVR app is still up
    assert "hotline-ivr" in stack.cli("ari show apps")
    lines = [json.loads(l) for l in stack.service_log("ari")[log0:].splitlines() if l.strip()]
    assert not [l for l in lines if l.get("level") in ("ERROR", "CRITICAL") or "exc" in l], lines[-5:]
    evs = stack.events.since(mark)
    uids = {e["Uniqueid"] for e in evs if e.get("Event") == "Newchannel" and e.get("CallerIDNum") == caller}
    assert uids
    # the read of at most 20 digits (no # was sent) ended at its limit and the flow went on to the lookup
    assert [l for l in lines if l.get("msg") == "progress query"], [l.get("msg") for l in lines][-15:]
    assert [e for e in evs if e.get("Event") == "Hangup" and e.get("Uniqueid") in uids]


def test_metrics_of_the_calls_this_session_made(stack):
    s = stack.settings
    assert metric(s.agi_metrics_port, "hotline_agi_sessions_total", outcome="ok") >= 1
    assert metric(s.agi_metrics_port, "hotline_agi_sessions_total", outcome="bad_env") >= 1  # the garbage test
    assert metric(s.agi_metrics_port, "hotline_agi_decision_seconds_count", script="route") >= 1
    labels = {"line": "12349", "mode": "merge", "router": "agi"}
    assert wait_metric(s.stats_metrics_port, "hotline_calls_routed_total", 1, **labels) >= 1
    text = urllib.request.urlopen(f"http://127.0.0.1:{s.stats_metrics_port}/metrics", timeout=5).read().decode()
    assert "# TYPE hotline_queue_wait_seconds histogram" in text


@pytest.mark.parametrize("name", ["agi", "api", "ari", "stats", "handoff", "jobs"])
def test_every_line_of_every_service_log_is_json(stack, name):
    """The services' own logs (Asterisk's are its own format) after this session's calls."""
    text = stack.service_log(name)
    assert text or name in ("api",), f"{name}.log is empty"
    bad = []
    for i, line in enumerate(text.splitlines(), 1):
        try:
            assert isinstance(json.loads(line), dict)
        except (ValueError, AssertionError):
            bad.append(f"{name}.log:{i}: {line[:200]}")
    assert not bad, "\n".join(bad[:10])

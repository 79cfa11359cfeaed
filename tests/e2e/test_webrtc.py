"""The agent's softphone in the browser, end to end, against the session's real Asterisk.

Debian's Chromium (fake microphone) opens web/static/softphone/test.html,
registers the WebRTC endpoint webrtc-1001 over WSS with JsSIP, logs into the
12345 queue with the feature code, and a SIPp citizen dials 12345: the page
rings with the X-Hotline-* screen pop, answers, and Asterisk bridges the
citizen to PJSIP/webrtc-1001 with DTLS-SRTP opus audio flowing; hold, mute,
DTMF and hang-up change what Asterisk sees.
"""

from __future__ import annotations

import contextlib
import re
import socket
import ssl
import stat
import threading
import time
from dataclasses import dataclass

import pytest

from deploy import softphone, tls
from hotline.secrets import ensure_sip_password
from hotline.settings import PROJECT_ROOT
from queues.config import FEATURE_CODES
from tests.e2e.browser import Browser, SoftphonePage, StaticServer
from tests.e2e.harness import sip_port

CALLER = "13800138000"
AGENT = "1001"
ENDPOINT = f"webrtc-{AGENT}"
PAGE_DIR = PROJECT_ROOT / "web" / "static" / "softphone"
# a citizen who speaks: about 7 s of G.711 A-law audio once the call is answered, then waits for the BYE
SPEECH = {
    "<!-- IVR_ACTIONS -->": '<nop><action><exec play_pcap_audio="/usr/share/sip-tester/g711a.pcap"/></action></nop>',
    "IVR_WAIT": "30000",
    "RTP/AVP 0 101": "RTP/AVP 8 101",
    "a=rtpmap:0 PCMU/8000": "a=rtpmap:8 PCMA/8000",
}


def TALKING_CITIZEN(stack):  # noqa: N802 - reads as the scenario's name
    return stack.sipp_file("ivr_dtmf.xml", SPEECH)


def LONG_TALK(stack):  # noqa: N802 - a colleague's desk phone that talks 6 s, not 2
    return stack.sipp_file("agent_answer.xml", {'timeout="2000"': 'timeout="6000"'})


@pytest.fixture(scope="module")
def browser():
    softphone.ensure_built()
    with StaticServer(PAGE_DIR) as base_url, Browser() as b:
        b.base_url = base_url
        yield b


@pytest.fixture
def page(browser, stack):
    p = SoftphonePage(browser, f"{browser.base_url}/test.html")
    yield p
    p.call("stop")


def _ws_url(stack) -> str:
    return f"wss://{stack.settings.bind}:{stack.settings.wss_port}/ws"


def _register(page: SoftphonePage, stack, password: str | None = None) -> dict:
    mark = page.mark()
    page.ok(
        "start",
        {
            "wsUrl": _ws_url(stack),
            "uri": f"sip:{ENDPOINT}@{stack.settings.bind}",
            "password": password or ensure_sip_password(stack.settings.secrets_file, AGENT),
            "displayName": "坐席 1001",
        },
    )
    return page.wait_for("registered" if password is None else "unregistered", since=mark)


def _getvar(stack, channel: str, name: str) -> str:
    resp = stack.ami({"Action": "Getvar", "Channel": channel, "Variable": name})[0]
    assert resp.get("Response") == "Success", resp
    return resp.get("Value") or ""


def _rx_packets(stack, channel: str) -> int:
    return int(_getvar(stack, channel, "CHANNEL(rtcp,rxcount,audio)"))


def _feature_code(page: SoftphonePage, stack, code: str, event: str) -> dict:
    """Dial a feature code from the page; the AMI event it causes for the browser's member."""
    mark, page_mark = stack.events.mark(), page.mark()
    page.ok("call", code)
    ev = stack.events.wait_for(
        lambda e: e.get("Event") == event and e.get("Interface") == f"PJSIP/{ENDPOINT}", since=mark, timeout=15
    )
    page.wait_for("ended", since=page_mark, timeout=15)
    return ev


def test_the_wss_certificate_is_from_the_installations_ca_and_its_keys_are_private(stack):
    files = tls.TLSFiles(tls.state_dir(stack.settings.home))
    for key in (files.ca_key, files.server_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
    keys = stack.asterisk.host_path(stack.asterisk.paths.lib) / tls.ASTERISK_KEYS
    assert stat.S_IMODE((keys / tls.ASTERISK_KEY).stat().st_mode) == 0o600
    # a client that trusts only the generated CA accepts Asterisk's HTTPS server as 127.0.0.1
    ctx = ssl.create_default_context(cafile=str(files.ca_cert))
    with socket.create_connection((stack.settings.bind, stack.settings.wss_port), timeout=5) as raw:
        conn = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        assert conn.version() in ("TLSv1.2", "TLSv1.3")
        assert conn.getpeercert(binary_form=True) == ssl.PEM_cert_to_DER_cert(files.server_cert.read_text())
        conn.unwrap()  # close_notify: a clean close, no error in Asterisk's log


def test_a_wrong_password_does_not_register(page, stack):
    ev = _register(page, stack, password="not-the-password")
    assert ev["detail"]["cause"]
    assert page.state["registration"] == "failed"
    assert ENDPOINT not in stack.cli(f"pjsip show contacts like {ENDPOINT}").replace("Objects found: 0", "")


def test_the_browser_and_the_desk_phone_are_two_endpoints_of_one_agent(page, stack):
    _register(page, stack)
    endpoints = stack.cli("pjsip show endpoints")
    assert f" {AGENT} " in endpoints or f" {AGENT}\n" in endpoints
    contacts = [e for e in stack.ami({"Action": "PJSIPShowContacts"})[1:] if e.get("Event") == "ContactList"]
    mine = [c for c in contacts if c.get("ObjectName", "").startswith(f"{ENDPOINT};@")]
    assert len(mine) == 1 and "transport=ws" in mine[0]["Uri"], [sorted(c.items()) for c in contacts]
    detail = stack.cli(f"pjsip show endpoint {ENDPOINT}")
    for want in ("media_encryption", "dtls", "ice_support", "true", "opus"):
        assert want in detail, want
    # opus is there for browser-to-browser calls: Asterisk can translate it
    assert "1 modules loaded" in stack.cli("module show like codec_opus")
    # the desk phone keeps registering and ringing as before (tests/e2e/test_first_call.py)
    stack.register(AGENT, port=sip_port())


@contextlib.contextmanager
def _in_the_queue(page: SoftphonePage, stack):
    """The page registered and logged into the 12345 queue with the feature code; out again after."""
    _register(page, stack)
    added = _feature_code(page, stack, FEATURE_CODES["login"], "QueueMemberAdded")
    assert added["Queue"] == "hotline" and added["MemberName"] == AGENT
    try:
        yield
    finally:
        if page.state["call"] != "idle":
            page.call("hangup")
            page.wait_for("ended", timeout=10)
        removed = _feature_code(page, stack, FEATURE_CODES["logout"], "QueueMemberRemoved")
        assert removed["MemberName"] == AGENT


@dataclass
class Call:
    citizen: threading.Thread  # the SIPp citizen; .result once it is over
    ring: dict  # softphone:incoming's detail
    connect: dict  # AMI AgentConnect
    channel: str  # the browser's channel, PJSIP/webrtc-1001-...
    mark: int
    page_mark: int


def _answer_a_citizen(page: SoftphonePage, stack) -> Call:
    """A SIPp citizen dials 12345; the page rings with the screen pop and answers."""
    mark, page_mark = stack.events.mark(), page.mark()
    citizen = stack.sipp_uac_async(TALKING_CITIZEN(stack), "12345", CALLER, timeout=60)
    ring = page.wait_for("incoming", since=page_mark, timeout=20)["detail"]
    assert ring["caller"] == CALLER and ring["origin"] == "12345" and ring["mode"] == "direct"
    assert ring["linkedid"] and ring["callId"]
    assert ring["headers"]["X-Hotline-Origin"] == "12345"
    assert page.state["call"] == "ringing"

    page.ok("answer")
    answered = page.wait_for("answered", since=page_mark)["detail"]
    assert answered["linkedid"] == ring["linkedid"]
    connect = stack.events.wait_for(
        lambda e: e.get("Event") == "AgentConnect" and e.get("MemberName") == AGENT, since=mark, timeout=15
    )
    assert connect["Interface"] == f"PJSIP/{ENDPOINT}" and connect["Linkedid"] == ring["linkedid"]
    channel = connect["DestChannel"]
    assert channel.startswith(f"PJSIP/{ENDPOINT}-")
    return Call(citizen, ring, connect, channel, mark, page_mark)


def _citizen_done(call: Call) -> None:
    call.citizen.join(timeout=40)
    assert call.citizen.result.ok, call.citizen.result.stdout + call.citizen.result.log


def test_a_citizen_call_rings_the_page_and_is_bridged_to_the_browser(page, stack):
    with _in_the_queue(page, stack):
        call = _answer_a_citizen(page, stack)
        _talk_hold_mute_hang_up(page, stack, call)


def _talk_hold_mute_hang_up(page: SoftphonePage, stack, call: Call) -> None:
    channel = call.channel
    # Asterisk bridged the citizen to the browser's endpoint, with encrypted media
    bridge = stack.events.wait_for(
        lambda e: e.get("Event") == "BridgeEnter" and e.get("Channel") == channel, since=call.mark, timeout=10
    )
    shown = stack.cli(f"bridge show {bridge['BridgeUniqueid']}")
    assert channel in shown and call.connect["Channel"] in shown, shown
    assert channel in stack.cli("core show channels")
    assert _getvar(stack, channel, "CHANNEL(rtp,secure,audio)") == "1"

    # audio flows both ways: the fake microphone into Asterisk, the citizen's voice into the page,
    # over loopback only (no STUN/TURN, no other interface)
    first, heard = _rx_packets(stack, channel), page.rtp_stats()
    time.sleep(1.5)
    talking, stats = _rx_packets(stack, channel) - first, page.rtp_stats()
    assert talking > 30, f"only {talking} RTP packets from the browser in 1.5 s; the page: {stats}"
    assert stats["packetsReceived"] - heard["packetsReceived"] > 30, (heard, stats)
    # the browser is offered the citizen's codec (here A-law) first: no transcoding on a PSTN call
    assert stats["codec"] == "audio/PCMA"
    assert _getvar(stack, channel, "CHANNEL(audionativeformat)") == "(alaw)"
    assert stats["localAddress"].startswith("127.0.0.1:"), stats
    assert _getvar(stack, channel, "CHANNEL(rtp,src,audio)").startswith("127.0.0.1:")
    assert _getvar(stack, channel, "CHANNEL(rtp,dest,audio)") == stats["localAddress"]

    # mute: the browser stops sending, Asterisk receives (almost) nothing
    page.ok("mute", True)
    time.sleep(0.5)
    before = _rx_packets(stack, channel)
    time.sleep(1.5)
    assert _rx_packets(stack, channel) - before <= 3
    assert page.state["muted"] is True
    page.ok("mute", False)
    time.sleep(0.5)
    before = _rx_packets(stack, channel)
    time.sleep(1.0)
    assert _rx_packets(stack, channel) - before > 20

    # hold and resume: Asterisk sees the re-INVITE as a hold of the browser's channel
    hold_mark = stack.events.mark()
    page.ok("hold", True)
    stack.events.wait_for(
        lambda e: e.get("Event") == "Hold" and e.get("Channel") == channel, since=hold_mark, timeout=10
    )
    page.ok("hold", False)
    stack.events.wait_for(
        lambda e: e.get("Event") == "Unhold" and e.get("Channel") == channel, since=hold_mark, timeout=10
    )
    assert page.state["held"] is False

    # a DTMF digit from the page (RFC 4733 over SRTP)
    page.ok("dtmf", "5")
    stack.events.wait_for(
        lambda e: (
            e.get("Event") == "DTMFEnd"
            and e.get("Channel") == channel
            and e.get("Digit") == "5"
            and e.get("Direction") == "Received"
        ),
        since=hold_mark,
        timeout=10,
    )

    # the agent hangs up in the page: the browser's channel goes, the citizen gets a BYE
    page.ok("hangup")
    ended = page.wait_for("ended", since=call.page_mark)["detail"]
    assert ended["linkedid"] == call.ring["linkedid"]
    stack.events.wait_for(
        lambda e: e.get("Event") == "Hangup" and e.get("Channel") == channel, since=call.mark, timeout=10
    )
    _citizen_done(call)
    assert page.state["call"] == "idle"


def test_the_page_transfers_the_caller_blind_to_a_colleague(page, stack):
    with _in_the_queue(page, stack), stack.agent("1002", skills={}, scenario=LONG_TALK(stack)):
        call = _answer_a_citizen(page, stack)
        mark = stack.events.mark()
        page.ok("transfer", "1002", {"attended": False})
        blind = stack.events.wait_for(lambda e: e.get("Event") == "BlindTransfer", since=mark, timeout=15)
        assert blind["Result"] == "Success" and blind["Extension"] == "1002"
        assert blind["TransfererChannel"] == call.channel and blind["TransfereeChannel"] == call.connect["Channel"]
        _the_colleague_has_the_citizen(stack, call, mark)
        page.wait_for("transferred", since=call.page_mark)
        page.wait_for("ended", since=call.page_mark)
        _citizen_done(call)


def test_the_page_transfers_the_caller_attended_after_consulting_a_colleague(page, stack):
    with _in_the_queue(page, stack), stack.agent("1002", skills={}, scenario=LONG_TALK(stack)):
        call = _answer_a_citizen(page, stack)
        mark = stack.events.mark()
        page.ok("transfer", "1002", {"attended": True})
        # the citizen waits on hold while the agent talks to the colleague
        stack.events.wait_for(
            lambda e: e.get("Event") == "Hold" and e.get("Channel") == call.channel, since=mark, timeout=10
        )
        deadline = time.monotonic() + 15
        while page.state["consult"] != "active":
            assert time.monotonic() < deadline, page.state
            time.sleep(0.1)
        with pytest.raises(AssertionError, match="already in progress"):
            page.ok("transfer", "1003", {"attended": True})
        page.ok("completeTransfer")
        attended = stack.events.wait_for(lambda e: e.get("Event") == "AttendedTransfer", since=mark, timeout=15)
        assert attended["Result"] == "Success", attended
        assert attended["TransfereeChannel"] == call.connect["Channel"], attended
        assert attended["TransferTargetChannel"].startswith("PJSIP/1002-"), attended
        _the_colleague_has_the_citizen(stack, call, mark)
        page.wait_for("transferred", since=call.page_mark)
        page.wait_for("ended", since=call.page_mark)
        _citizen_done(call)


def _the_colleague_has_the_citizen(stack, call: Call, mark: int) -> None:
    """Asterisk shows the citizen's channel in one bridge with a channel of the colleague's endpoint 1002."""
    citizen = call.connect["Channel"]
    deadline = time.monotonic() + 10
    while True:
        listing = stack.cli("bridge show all")
        for bridge_id in re.findall(r"^([0-9a-f-]{36})", listing, re.M):
            shown = stack.cli(f"bridge show {bridge_id}")
            if citizen in shown and "PJSIP/1002-" in shown:
                return
        assert time.monotonic() < deadline, f"no bridge of {citizen} with 1002: {listing}"
        time.sleep(0.2)

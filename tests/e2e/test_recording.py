"""Agent calls are recorded, end to end, through the real Asterisk.

A SIPp citizen and a SIPp agent both send A-law audio (play_pcap_audio of SIPp's
g711a.pcap); the queue connects them, [agent-connected] starts MixMonitor on the
agent's channel.  Then: the file is <linkedid>.wav in the instance's recordings
directory, as long as the talk (soxi), not silent (sox stat), linked to the order
of the call; the agent of the call, not another agent nor a department, may
download it; each access is in the audit log.  With the disk guard's AstDB key
off, the next call is answered and not recorded.

    ./scripts/test tests/e2e/test_recording.py
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import time

import httpx
import pytest
from sqlalchemy import select

from hotline.instance import read_instance_paths
from web.accounts import Accounts
from workorder.db import Database
from workorder.models import AuditLog
from workorder.recordings import Recordings, guard, recording_on
from workorder.service import Store

EXT, AGENT = "1011", "rec1011"
CALLER = "13700137011"
TALK = 6  # seconds the agent talks before it hangs up
PCAP = '<nop><action><exec play_pcap_audio="/usr/share/sip-tester/g711a.pcap"/></action></nop>'
ALAW = {"RTP/AVP 0 101": "RTP/AVP 8 101", "a=rtpmap:0 PCMU/8000": "a=rtpmap:8 PCMA/8000"}


def _scenarios(stack):
    citizen = stack.sipp_file(
        "citizen_call.xml", {"<!-- wait for the far end to hang up; else hang up ourselves -->": PCAP, **ALAW}
    )
    agent = stack.sipp_file(
        "agent_answer.xml",
        {'<recv request="BYE" timeout="2000"': f'{PCAP}\n  <recv request="BYE" timeout="{TALK * 1000}"', **ALAW},
    )
    return citizen, agent


@contextlib.contextmanager
def _agent(stack, scenario):
    """SIPp softphone 1011, in the 12345 queue as the agent rec1011 (the name its orders carry)."""
    with stack.agent(EXT, skills={}, scenario=scenario, login=False) as phone:
        r = stack.ami({"Action": "QueueAdd", "Queue": "hotline", "Interface": f"PJSIP/{EXT}", "MemberName": AGENT})[0]
        assert r.get("Response") == "Success", r
        try:
            yield phone
        finally:
            stack.ami({"Action": "QueueRemove", "Queue": "hotline", "Interface": f"PJSIP/{EXT}"})


def _call(stack, scenario_citizen, mark):
    result = stack.sipp_uac(scenario_citizen, "12345", CALLER, timeout=60)
    assert result.ok, result.stdout + result.log
    connect = stack.events.wait_for(
        lambda e: e.get("Event") == "AgentConnect" and e.get("MemberName") == AGENT, since=mark, timeout=15
    )
    complete = stack.events.wait_for(
        lambda e: e.get("Event") == "AgentComplete" and e.get("MemberName") == AGENT, since=mark, timeout=15
    )
    return connect, complete


def _sox(*args: str) -> str:
    r = subprocess.run(args, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout + r.stderr


@pytest.fixture(scope="module")
def store(stack):
    s = Store(Database(stack.settings.database_url, group_commit=False))
    yield s
    s.db.dispose()


def _get(stack, path: str, token: str) -> httpx.Response:
    return httpx.get(
        f"http://{stack.settings.bind}:{stack.settings.api_port}{path}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_an_agent_call_is_recorded_linked_and_listened_to_by_who_may(stack, store):
    calls_dir = read_instance_paths(stack.settings).calls_host
    citizen, phone = _scenarios(stack)
    with _agent(stack, phone):
        mark = stack.events.mark()
        connect, complete = _call(stack, citizen, mark)
    linkedid = connect["Linkedid"]
    wav = calls_dir / f"{linkedid}.wav"
    deadline = time.monotonic() + 5
    while not wav.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert wav.exists(), sorted(p.name for p in calls_dir.iterdir())
    time.sleep(0.5)  # MixMonitor closes the file once the agent's channel is gone
    duration = float(_sox("soxi", "-D", str(wav)).strip())
    talk = int(complete["TalkTime"])
    assert abs(duration - talk) <= 1, (duration, talk)
    assert abs(duration - TALK) <= 1.5, (duration, TALK)
    rms = float(re.search(r"RMS\s+amplitude:\s+([0-9.]+)", _sox("sox", str(wav), "-n", "stat")).group(1))
    assert rms > 0.01, f"recording is silent: RMS {rms}"
    print(f"recording {wav.name}: {duration:.2f} s for a talk of {talk} s, RMS amplitude {rms:.4f}")
    # the order of the call points at it
    varset = stack.events.wait_for(
        lambda e: e.get("Event") == "VarSet" and e.get("Variable") == "HOTLINE_ORDER" and e.get("Linkedid") == linkedid,
        since=mark,
        timeout=15,
    )
    admin = stack.secrets["api_tokens"]["admin"]
    order = _get(stack, f"/api/v1/orders/by-number/{varset['Value']}", admin).json()
    assert order["agent"] == AGENT and order["linkedid"] == linkedid
    own = store.issue_token(AGENT, "agent", None)
    listing = _get(stack, f"/api/v1/orders/{order['id']}/recordings", own)
    assert listing.status_code == 200, listing.text
    assert [r["name"] for r in listing.json()["recordings"]] == [wav.name]
    got = _get(stack, f"/api/v1/orders/{order['id']}/recording?download=1", own)
    assert got.status_code == 200 and got.content == wav.read_bytes()
    assert got.headers["content-type"] == "audio/wav"
    other = store.issue_token("rec1012", "agent", None)
    assert _get(stack, f"/api/v1/orders/{order['id']}/recording", other).status_code == 403
    dept = stack.secrets["api_tokens"]["department"]
    assert _get(stack, f"/api/v1/orders/{order['id']}/recording", dept).status_code == 403
    with store.db.read() as s:
        audit = s.scalars(select(AuditLog).where(AuditLog.path == f"/api/v1/orders/{order['id']}/recording")).all()
    assert {(a.subject, a.status_code) for a in audit} >= {(AGENT, 200), ("rec1012", 403)}

    # a quality reviewer (质检员) signs in to the pages: the recording is listed with its order and plays
    accounts = Accounts(store.db, stack.settings.database_url)
    if accounts.get("e2e-zhijian") is None:
        accounts.add("e2e-zhijian", "quality", "e2e-quality-password")
    with httpx.Client(base_url=f"http://{stack.settings.bind}:{stack.settings.api_port}", timeout=15) as c:
        token = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)
        r = c.post("/login", data={"name": "e2e-zhijian", "password": "e2e-quality-password", "csrf": token})
        assert r.status_code == 303 and r.headers["location"] == "/quality", r.text
        page = c.get("/quality")
        assert page.status_code == 200 and wav.name in page.text and order["number"] in page.text
        audio = c.get(f"/api/v1/orders/{order['id']}/recording?name={wav.name}")
        assert audio.status_code == 200 and audio.content == wav.read_bytes()
        assert c.get("/admin").status_code == 403  # and nothing else


def test_the_disk_guard_stops_recording_and_calls_are_still_answered(stack, store):
    calls_dir = read_instance_paths(stack.settings).calls_host
    rec = Recordings(store.db, calls_dir)
    citizen, phone = _scenarios(stack)
    conn = stack._ami
    try:
        assert guard(rec, 10**9, conn) is False  # far less free than asked: recording off
        assert not recording_on(conn)
        with _agent(stack, phone):
            mark = stack.events.mark()
            connect, complete = _call(stack, citizen, mark)
        assert int(complete["TalkTime"]) >= TALK - 1  # answered and talked
        time.sleep(0.5)
        assert not list(calls_dir.glob(f"{connect['Linkedid']}*.wav"))
        assert "recording is off (disk guard)" in stack.asterisk_log(0)
    finally:
        assert guard(rec, 0, conn) is True  # space is back: on again
    assert recording_on(conn)

"""Listen, whisper and barge (监听 / 耳语 / 强插) on the real platform.

A SIPp citizen calls 12345, a SIPp agent (1010) answers and talks; a SIPp phone
registered as 1009, the extension the supervisor's account is bound to, answers
each spy call.  The route is the session's real
`hotline api`: listen is pressed in Chromium on the wallboard, whisper and barge
are posted with the page's session and CSRF token.  Asterisk itself says what
happened: a ChanSpyStart on the agent's channel for each mode, from the
supervisor's phone channel; the citizen's call stays up while spied on and ends
normally.
"""

from __future__ import annotations

import re

import httpx
import pytest
from selenium.webdriver.common.by import By
from sqlalchemy import select

from queues.models import Registry
from tests.web.browser import sign_in, start_browser, text_of, wait_for
from web.accounts import Accounts
from workorder.db import Database
from workorder.models import AuditLog

PASSWORD = "e2e-spy-password"
AGENT_EXT, AGENT_NAME = "1010", "spy1010"
PHONE_EXT, PHONE_NAME = "1009", "sup1009"
SUPERVISOR = "e2e-spy-sup"
AGENT_TALKS, SUPERVISOR_TALKS = 30, 3
# a citizen who keeps talking (A-law audio, SIPp's sample looped) until the agent's BYE.
# Real phones send RTP all the time; a spyee channel with no audio keeps the spyer's channel
# from hanging up until it has some (Asterisk issue #978), so both talk: the citizen streams
# the sample, the agent's SIPp phone echoes what it hears (-rtp_echo).  A sample played once
# (7 s, or four times over) ran out on a loaded machine before the barge, and the spy channel
# then stayed up.
TALKING = {
    "IVR_WAIT": str((AGENT_TALKS + 15) * 1000),
    "RTP/AVP 0 101": "RTP/AVP 8 101",
    "a=rtpmap:0 PCMU/8000": "a=rtpmap:8 PCMA/8000",
}


@pytest.fixture(scope="module")
def base(stack):
    db = Database(stack.settings.database_url, group_commit=False)
    registry = Registry(stack.settings.database_url)
    for name, ext in ((AGENT_NAME, AGENT_EXT), (PHONE_NAME, PHONE_EXT)):
        if registry.get(name) is None:
            registry.add(name, ext, {"hotline": 0})
    accounts = Accounts(db, stack.settings.database_url)
    if accounts.get(SUPERVISOR) is None:
        accounts.add(SUPERVISOR, "supervisor", PASSWORD, extension=PHONE_EXT)
    yield f"http://{stack.settings.bind}:{stack.settings.api_port}"
    db.dispose()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = start_browser(tmp_path_factory.mktemp("e2e-spy-chromium"))
    yield driver
    driver.quit()


def _session(base: str) -> tuple[httpx.Client, str]:
    """A signed-in supervisor's session on the real `hotline api`, and its CSRF token."""
    c = httpx.Client(base_url=base, timeout=15)
    form = c.get("/login").text
    token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    r = c.post("/login", data={"name": SUPERVISOR, "password": PASSWORD, "csrf": token})
    assert r.status_code == 303 and r.headers["location"] == "/wallboard", r.text
    page = c.get("/wallboard").text
    return c, re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def _talking(client: httpx.Client) -> bool:
    agents = client.get("/api/v1/queues/agents").json()["agents"]
    return any(a["name"] == AGENT_NAME and a["state"] == "talking" for a in agents)


def _spied(stack, mark: int) -> dict:
    """The ChanSpyStart on the agent's channel after ``mark``."""
    try:
        return stack.events.wait_for(
            lambda e: e.get("Event") == "ChanSpyStart" and e.get("SpyeeChannel", "").startswith(f"PJSIP/{AGENT_EXT}-"),
            since=mark,
            timeout=15,
        )
    except TimeoutError:
        seen = [
            (e.get("Event"), e.get("Channel"), e.get("Application"), e.get("AppData"), e.get("Response"))
            for e in stack.events.since(mark)
            if e.get("Event") in ("Newchannel", "Newexten", "OriginateResponse", "Hangup")
        ]
        raise AssertionError(
            f"no spy on {AGENT_EXT}: {seen}\n{stack.asterisk_log(stack.console_mark)[-3000:]}"
        ) from None


def _up(stack, linkedid: str) -> list[str]:
    channels = stack.ami({"Action": "CoreShowChannels"})
    return [e["Channel"] for e in channels if e.get("Event") == "CoreShowChannel" and e.get("Linkedid") == linkedid]


def _the_supervisor_hangs_up_and_the_call_stays(stack, start: dict, mark: int, linkedid: str) -> None:
    """The phone hangs up after SUPERVISOR_TALKS s: ChanSpy stops, the spy channel is gone,
    and the citizen and the agent are still talking on their own call."""
    spyer = start["SpyerChannel"]
    try:
        stack.events.wait_for(
            lambda e: e.get("Event") == "ChanSpyStop" and e.get("SpyerChannel") == spyer, since=mark, timeout=15
        )
        stack.events.wait_for(
            lambda e: e.get("Event") == "Hangup" and e.get("Channel") == spyer, since=mark, timeout=10
        )
    except TimeoutError:
        seen = [
            (e.get("Event"), e.get("Channel") or e.get("SpyerChannel"), e.get("Cause"))
            for e in stack.events.since(mark)
            if "Spy" in e.get("Event", "") or "Hangup" in e.get("Event", "")
        ]
        raise AssertionError(f"{spyer} did not end: {seen}; {stack.cli('core show channels')}") from None
    up = _up(stack, linkedid)
    assert any(ch.startswith(f"PJSIP/{AGENT_EXT}-") for ch in up), up
    assert len(up) >= 2, up  # the citizen's trunk channel and the agent's
    assert not any(ch.startswith(f"PJSIP/{PHONE_EXT}-") for ch in up)


def test_listen_whisper_and_barge_spy_on_the_agents_call_and_leave_it_up(stack, base, browser):
    client, csrf = _session(base)
    with (
        stack.agent(PHONE_EXT, skills={}, scenario=stack.talking_agent(SUPERVISOR_TALKS), login=False) as phone,
        stack.agent(AGENT_EXT, skills={}, scenario=stack.talking_agent(AGENT_TALKS), echo=True),
    ):
        resp = stack.ami(
            {
                "Action": "QueueAdd",
                "Queue": "hotline",
                "Interface": f"PJSIP/{AGENT_EXT}",
                "MemberName": AGENT_NAME,
                "Penalty": "0",
                "Paused": "false",
            }
        )[0]
        assert resp.get("Response") == "Success", resp
        try:
            sign_in(browser, base, SUPERVISOR, password=PASSWORD)
            assert "呼叫您的分机 1009" in text_of(browser, "spy-phone")
            # not on a call yet: refused, and Asterisk is not asked
            mark = stack.events.mark()
            r = client.post(
                "/wallboard/spy", json={"agent": AGENT_NAME, "mode": "listen"}, headers={"X-CSRF-Token": csrf}
            )
            assert r.status_code == 404 and "不在通话中" in r.json()["detail"], r.text

            call = stack.sipp_uac_async(
                stack.sipp_file("ivr_dtmf.xml", {"<!-- IVR_ACTIONS -->": stack.endless_audio(), **TALKING}),
                "12345",
                "13900139007",
                timeout=AGENT_TALKS + 20,
            )
            connect = stack.events.wait_for(
                lambda e: e.get("Event") == "AgentConnect" and e.get("MemberName") == AGENT_NAME, since=mark, timeout=15
            )
            wait_for(lambda: _talking(client), timeout=10, what="the agent talking in the live statistics")

            # 监听: pressed on the wallboard
            mark = stack.events.mark()
            button = wait_for(
                lambda: browser.find_elements(
                    By.CSS_SELECTOR, f'tr[data-agent="{AGENT_NAME}"] button[data-spy="listen"]'
                ),
                timeout=10,
                what="the listen button on the talking agent",
            )[0]
            assert button.text == "监听"
            button.click()
            result = wait_for(lambda: text_of(browser, "spy-result"), what="the spy result")
            wait_for(
                lambda: "正在呼叫您的分机 1009" in text_of(browser, "spy-result"), what=f"the call ringing ({result})"
            )
            starts = {"listen": _spied(stack, mark)}
            assert "失败" not in text_of(browser, "spy-result")
            _the_supervisor_hangs_up_and_the_call_stays(stack, starts["listen"], mark, connect["Linkedid"])

            # 耳语 and 强插: the same route with the session and its CSRF token
            for mode in ("whisper", "barge"):
                mark = stack.events.mark()
                r = client.post(
                    "/wallboard/spy", json={"agent": AGENT_NAME, "mode": mode}, headers={"X-CSRF-Token": csrf}
                )
                assert r.status_code == 200, r.text
                assert r.json()["interface"] == f"PJSIP/{AGENT_EXT}"
                starts[mode] = _spied(stack, mark)
                _the_supervisor_hangs_up_and_the_call_stays(stack, starts[mode], mark, connect["Linkedid"])

            for mode, start in starts.items():
                assert start["SpyeeChannel"].startswith(f"PJSIP/{AGENT_EXT}-"), (mode, start)
                assert start["SpyerChannel"].startswith(f"PJSIP/{PHONE_EXT}-"), (mode, start)
                assert start["SpyerExten"] == mode, (mode, start)
            assert len({s["SpyerChannel"] for s in starts.values()}) == 3  # three calls to the phone
            assert len(phone.screen_pops()) == 3  # the supervisor's SIPp phone answered each one

            call.join(AGENT_TALKS + 30)
            assert call.result.ok, call.result.stdout + call.result.log

            # the audit log names who spied on whom, and how
            db = Database(stack.settings.database_url, group_commit=False)
            with db.read() as s:
                paths = set(s.scalars(select(AuditLog.path).where(AuditLog.subject == SUPERVISOR)))
            db.dispose()
            for mode in starts:
                assert f"/wallboard/spy?agent={AGENT_NAME}&mode={mode}" in paths, paths
        finally:
            stack.ami({"Action": "QueueRemove", "Queue": "hotline", "Interface": f"PJSIP/{AGENT_EXT}"})
            client.close()

"""The agent desktop, whole, on the real platform: the page the session's `hotline
api` serves, in Debian's Chromium with a fake microphone, registers its own
browser softphone (webrtc-<extension>) with the real Asterisk; the agent logs in
from the page, a SIPp citizen dials 12345, the page rings, the agent presses
接听, sees the screen pop, fills in and dispatches the order, and hangs up.  The
store holds the order under the call's ids; Asterisk bridged the citizen to the
WebRTC endpoint; a supervisor's wallboard in a second browser shows the agent
talking, then in wrap-up.

    ./scripts/test tests/e2e/test_desk.py
"""

from __future__ import annotations

import contextlib
import os
import time

import pytest
from selenium.webdriver.support.ui import Select
from sqlalchemy import select

from hotline.names import agent_endpoint
from queues.models import Registry
from tests.web.browser import SHOTS, by_id, console, sign_in, start_browser, text_of, wait_for
from web.accounts import Accounts
from workorder.db import Database
from workorder.models import Order, Transition

PASSWORD = "e2e-desk-password"
EXT, AGENT = "1007", "desk1007"
SUP_EXT, SUPERVISOR = "1008", "e2e-desk-sup"  # the supervisor's desk phone is a SIPp softphone
ENDPOINT = agent_endpoint(EXT, "browser")
CALLER = "13900139123"
WRAPUP = 6
# a citizen who talks (A-law audio) and waits up to 60 s for the agent's BYE
TALKING = {
    "<!-- IVR_ACTIONS -->": '<nop><action><exec play_pcap_audio="/usr/share/sip-tester/g711a.pcap"/></action></nop>',
    "IVR_WAIT": "60000",
    "RTP/AVP 0 101": "RTP/AVP 8 101",
    "a=rtpmap:0 PCMU/8000": "a=rtpmap:8 PCMA/8000",
}


@pytest.fixture(scope="module")
def site(stack):
    db = Database(stack.settings.database_url, group_commit=False)
    registry = Registry(stack.settings.database_url)
    for name, ext, display in ((AGENT, EXT, "王小明"), ("phone1008", SUP_EXT, "班长席")):
        if registry.get(name) is None:
            registry.add(name, ext, {"hotline": 0}, display=display)
    accounts = Accounts(db, stack.settings.database_url)
    for name, role, ext, display in ((AGENT, "agent", EXT, "王小明"), (SUPERVISOR, "supervisor", SUP_EXT, "张班长")):
        if accounts.get(name) is None:
            accounts.add(name, role, PASSWORD, extension=ext, display=display)
    os.environ["HOTLINE_QUEUE_WRAPUPTIME"] = str(WRAPUP)
    stack.reload()
    try:
        yield db, f"http://{stack.settings.bind}:{stack.settings.api_port}"
    finally:
        os.environ.pop("HOTLINE_QUEUE_WRAPUPTIME", None)
        stack.reload()
        db.dispose()


@pytest.fixture(scope="module")
def agent_browser(tmp_path_factory):
    driver = start_browser(tmp_path_factory.mktemp("desk-chromium"), media=True)
    yield driver
    # unregister and close the WSS connection cleanly: a browser killed mid-TLS makes
    # Asterisk log an SSL_shutdown ERROR (and the later no-ERROR checks would see it)
    with contextlib.suppress(Exception):
        driver.execute_script("window.HotlineSoftphone && window.HotlineSoftphone.stop()")
        wait_for(
            lambda: driver.execute_script("return window.HotlineSoftphone.state.registration") == "stopped",
            timeout=5,
        )
        time.sleep(1.5)  # JsSIP's un-REGISTER and the WebSocket close go out
        driver.get("about:blank")
    driver.quit()


@pytest.fixture(scope="module")
def wallboard_browser(tmp_path_factory):
    driver = start_browser(tmp_path_factory.mktemp("desk-wallboard"))
    yield driver
    driver.quit()


def _click(driver, element_id: str) -> None:
    button = by_id(driver, element_id)
    wait_for(button.is_enabled, timeout=10, what=f"#{element_id} enabled")
    button.click()


def _row(driver, name: str) -> str:
    return next((r for r in text_of(driver, "agents").splitlines() if r.startswith(name + " ")), "")


def _member_event(stack, event: str, since: int, timeout: float = 15) -> dict:
    return stack.events.wait_for(
        lambda e: e.get("Event") == event and e.get("Interface") == f"PJSIP/{ENDPOINT}", since=since, timeout=timeout
    )


def _sign_in_with_the_softphone(stack, page, base: str) -> None:
    sign_in(page, base, AGENT, password=PASSWORD)
    assert page.current_url.endswith("/agent")
    wait_for(
        lambda: by_id(page, "sp-reg").get_attribute("data-state") == "registered",
        timeout=20,
        what=f"the page's softphone registered ({text_of(page, 'sp-reg')}; {console(page)[-5:]})",
    )


def _ring_and_answer(stack, page, mark: int):
    """A talking SIPp citizen dials 12345, the page rings and the agent presses 接听: (citizen, AgentConnect)."""
    citizen = stack.sipp_uac_async(stack.sipp_file("ivr_dtmf.xml", TALKING), "12345", CALLER, timeout=90)
    wait_for(lambda: by_id(page, "sp-call").get_attribute("data-state") == "ringing", timeout=20, what="the ring")
    _click(page, "sp-answer")
    connect = stack.events.wait_for(
        lambda e: e.get("Event") == "AgentConnect" and e.get("MemberName") == AGENT, since=mark, timeout=15
    )
    return citizen, connect


def test_the_agent_answers_in_the_page_and_saves_the_order_of_the_call(stack, site, agent_browser, wallboard_browser):
    db, base = site
    page = agent_browser
    _sign_in_with_the_softphone(stack, page, base)
    contacts = [e for e in stack.ami({"Action": "PJSIPShowContacts"})[1:] if e.get("Event") == "ContactList"]
    mine = [c for c in contacts if c.get("ObjectName", "").startswith(f"{ENDPOINT};@")]
    assert len(mine) == 1 and "transport=ws" in mine[0]["Uri"], [sorted(c.items()) for c in contacts]

    # log in from the page, with the browser softphone: the queue member is the WebRTC endpoint
    mark = stack.events.mark()
    assert Select(by_id(page, "login-device")).first_selected_option.get_attribute("value") == "browser"
    _click(page, "btn-login")
    added = _member_event(stack, "QueueMemberAdded", mark)
    assert (added["Queue"], added["MemberName"]) == ("hotline", AGENT)
    wait_for(lambda: "浏览器软电话" in text_of(page, "my-reason"), timeout=15, what="the desk showing the phone")
    # pause and ready from the page act on the phone the agent logged in with
    mark = stack.events.mark()
    Select(by_id(page, "pause-reason")).select_by_value("training")
    _click(page, "btn-pause")
    paused = _member_event(stack, "QueueMemberPause", mark)
    assert paused["Paused"] == "1" and paused.get("PausedReason", paused.get("Reason")) == "training", paused
    mark = stack.events.mark()
    _click(page, "btn-ready")
    assert _member_event(stack, "QueueMemberPause", mark)["Paused"] == "0"

    sign_in(wallboard_browser, base, SUPERVISOR, password=PASSWORD)
    wait_for(lambda: "空闲" in _row(wallboard_browser, AGENT), timeout=15, what="the wallboard: the agent idle")

    try:
        mark = stack.events.mark()
        citizen = stack.sipp_uac_async(stack.sipp_file("ivr_dtmf.xml", TALKING), "12345", CALLER, timeout=90)
        wait_for(
            lambda: by_id(page, "sp-call").get_attribute("data-state") == "ringing", timeout=20, what="the page ringing"
        )
        assert text_of(page, "pop-call") == "振铃" and text_of(page, "pop-origin") == "12345"
        assert text_of(page, "pop-mode") == "12345 直接拨打"
        _click(page, "sp-answer")
        connect = stack.events.wait_for(
            lambda e: e.get("Event") == "AgentConnect" and e.get("MemberName") == AGENT, since=mark, timeout=15
        )
        linkedid, channel = connect["Linkedid"], connect["DestChannel"]
        assert connect["Interface"] == f"PJSIP/{ENDPOINT}" and channel.startswith(f"PJSIP/{ENDPOINT}-")
        # Asterisk bridged the citizen's channel to the WebRTC endpoint's, media encrypted
        bridge = stack.events.wait_for(
            lambda e: e.get("Event") == "BridgeEnter" and e.get("Channel") == channel, since=mark, timeout=10
        )
        shown = stack.cli(f"bridge show {bridge['BridgeUniqueid']}")
        assert channel in shown and connect["Channel"] in shown, shown
        secure = stack.ami({"Action": "Getvar", "Channel": channel, "Variable": "CHANNEL(rtp,secure,audio)"})[0]
        assert secure.get("Value") == "1", secure

        # the screen pop: the draft the hand-off made for this call, and the call's state
        wait_for(lambda: text_of(page, "pop-call") == "通话中", timeout=10, what="the pop: talking")
        number = wait_for(lambda: text_of(page, "form-number").strip("（未选择）"), timeout=30, what="the draft")
        assert number in text_of(page, "pop-order") and text_of(page, "pop-caller") == CALLER
        wait_for(lambda: "通话中" in _row(wallboard_browser, AGENT), timeout=15, what="the wallboard: talking")

        # hold and mute from the page's buttons, then back
        _click(page, "sp-hold")
        wait_for(lambda: "保持" in text_of(page, "sp-call"), timeout=10, what="held")
        _click(page, "sp-hold")
        wait_for(lambda: "保持" not in text_of(page, "sp-call"), timeout=10, what="unheld")
        # a quick double click: the second comes while the hold's re-INVITE is in flight, when
        # JsSIP takes no re-offer (and a failed one ends the call: "WebRTC Error"); the page
        # disables 保持 until the last one is done, so the call stays up, held, then comes back
        page.execute_script("var b = document.getElementById('sp-hold'); b.click(); b.click();")
        wait_for(lambda: "保持" in text_of(page, "sp-call"), timeout=10, what="held after a double click")
        _click(page, "sp-hold")  # enabled again once the re-INVITE is done
        wait_for(lambda: "保持" not in text_of(page, "sp-call"), timeout=10, what="unheld after it")
        assert text_of(page, "sp-call").startswith("通话中"), text_of(page, "sp-call")
        _click(page, "sp-mute")
        wait_for(lambda: "静音" in text_of(page, "sp-call"), timeout=5, what="muted")
        _click(page, "sp-mute")

        # the order form: fill in, dispatch to the civil-affairs bureau, submit
        by_id(page, "f-caller_name").send_keys("李女士")
        Select(by_id(page, "f-type")).select_by_value("help")
        by_id(page, "f-title").send_keys("小区路灯不亮")
        by_id(page, "f-content").send_keys("来电人反映小区路灯连续一周不亮，请尽快维修。")
        by_id(page, "f-address").send_keys("丛台区中华大街 8 号")
        page.find_element("css selector", 'input[name="step"][value="dispatch"]').click()
        Select(by_id(page, "f-main_unit")).select_by_value("mzj")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.save_screenshot(str(SHOTS / "agent-call.png"))
        by_id(page, "submit").click()
        notice = wait_for(
            lambda: text_of(page, "form-notice"), timeout=15, what=f"the submit ({text_of(page, 'form-error')})"
        )
        assert number in notice, notice

        mark = stack.events.mark()
        _click(page, "sp-hangup")
        citizen.join(30)
        assert citizen.result.ok, citizen.result.stdout + citizen.result.log
        wait_for(lambda: text_of(page, "pop-call") == "已挂断", timeout=10, what="the pop: hung up")
        wait_for(lambda: "话后整理" in _row(wallboard_browser, AGENT), timeout=WRAPUP, what="the wallboard: wrap-up")
    finally:
        mark = stack.events.mark()
        with contextlib.suppress(Exception):
            _click(page, "btn-logout")
            _member_event(stack, "QueueMemberRemoved", mark)

    # the store holds the order of this call: its ids, the agent, the fields, dispatched
    with db.read() as s:
        order = s.scalars(select(Order).where(Order.linkedid == linkedid)).one()
        steps = [t.action for t in s.scalars(select(Transition).where(Transition.order_id == order.id))]
    assert order.number == number and order.agent == AGENT and order.caller_phone == CALLER
    assert order.uniqueid, "the order carries the answered channel's uniqueid"
    assert (order.title, order.caller_name, order.type, order.main_unit) == ("小区路灯不亮", "李女士", "help", "mzj")
    assert order.status == "dispatched" and steps[:3] == ["create", "accept", "dispatch"], (order.status, steps)


def test_the_desktop_consults_a_supervisor_and_hands_the_caller_over(stack, site, agent_browser):
    _, base = site
    page = agent_browser
    _sign_in_with_the_softphone(stack, page, base)
    # the targets: the map's department seats, sub-centers and province lines, and the supervisor's phone
    options = {o.get_attribute("value"): o.text for o in Select(by_id(page, "sp-target")).options}
    assert "部门坐席" in options["12350"] and "分中心" in options["12313"] and "省平台" in options["12366"], options
    assert options[SUP_EXT] == f"班长 · 张班长（{SUP_EXT}）"
    mark = stack.events.mark()
    _click(page, "btn-login")
    _member_event(stack, "QueueMemberAdded", mark)
    supervisor_talks = stack.talking_agent(8)
    try:
        with stack.agent(SUP_EXT, skills={}, scenario=supervisor_talks, login=False):
            mark = stack.events.mark()
            citizen, connect = _ring_and_answer(stack, page, mark)
            Select(by_id(page, "sp-target")).select_by_value(SUP_EXT)
            _click(page, "sp-consult")
            # the caller waits on hold while the agent talks to the supervisor
            stack.events.wait_for(
                lambda e: e.get("Event") == "Hold" and e.get("Channel") == connect["DestChannel"],
                since=mark,
                timeout=10,
            )
            assert by_id(page, "sp-hold").is_enabled() is False
            _click(page, "sp-complete")
            attended = stack.events.wait_for(lambda e: e.get("Event") == "AttendedTransfer", since=mark, timeout=15)
            assert attended["Result"] == "Success", attended
            assert attended["TransfereeChannel"] == connect["Channel"], attended
            assert attended["TransferTargetChannel"].startswith(f"PJSIP/{SUP_EXT}-"), attended
            # the page's call is over; the citizen talks to the supervisor until the supervisor hangs up
            wait_for(lambda: by_id(page, "sp-call").get_attribute("data-state") == "idle", timeout=10, what="idle")
            citizen.join(40)
            assert citizen.result.ok, citizen.result.stdout + citizen.result.log
    finally:
        mark = stack.events.mark()
        with contextlib.suppress(Exception):
            _click(page, "btn-logout")
            _member_event(stack, "QueueMemberRemoved", mark)

"""The people's pages on the real platform: the session's `hotline api` serves them,
the browser is Debian's Chromium, the calls are SIPp citizens answered by a SIPp
softphone through the real Asterisk (the browser softphone is tested by its own
suite once it exists).

* the wallboard counts a real call and shows the agent talking, then in wrap-up;
* an admin saves a good map in the page: the real `hotline reload` runs and a call
  in progress stays up.
"""

from __future__ import annotations

import os
import re

import pytest

from queues.models import Registry
from tests.web.browser import by_id, sign_in, start_browser, text_of, wait_for
from web.accounts import Accounts
from workorder.db import Database

PASSWORD = "e2e-pages-password"
AGENT_EXT, AGENT_NAME = "1005", "web1005"
WRAPUP = 8


@pytest.fixture(scope="module")
def people(stack):
    db = Database(stack.settings.database_url, group_commit=False)
    accounts = Accounts(db, stack.settings.database_url)
    for name, role in (("e2e-sup", "supervisor"), ("e2e-admin", "admin")):
        if accounts.get(name) is None:
            accounts.add(name, role, PASSWORD)
    registry = Registry(stack.settings.database_url)
    if registry.get(AGENT_NAME) is None:
        registry.add(AGENT_NAME, AGENT_EXT, {"hotline": 0}, display="网页测试坐席")
    yield f"http://{stack.settings.bind}:{stack.settings.api_port}"
    db.dispose()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = start_browser(tmp_path_factory.mktemp("e2e-chromium"))
    yield driver
    driver.quit()


@pytest.fixture
def wrapup(stack):
    os.environ["HOTLINE_QUEUE_WRAPUPTIME"] = str(WRAPUP)
    try:
        stack.reload()
        yield WRAPUP
    finally:
        os.environ.pop("HOTLINE_QUEUE_WRAPUPTIME", None)
        stack.reload()


def _offered(driver) -> int:
    m = re.match(r"(\d+) / ", text_of(driver, "kpi-today"))
    return int(m.group(1)) if m else -1


def _state_of(driver, name: str) -> str:
    for row in text_of(driver, "agents").splitlines():
        if row.startswith(name + " "):
            return row
    return ""


def test_wallboard_counts_a_real_call_and_shows_the_agent_busy_then_in_wrapup(stack, people, browser, wrapup):
    with stack.agent(AGENT_EXT, skills={}, scenario=stack.talking_agent(6)):
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
            sign_in(browser, people, "e2e-sup", password=PASSWORD)
            assert browser.current_url.endswith("/wallboard")
            wait_for(lambda: "空闲" in _state_of(browser, AGENT_NAME), timeout=15, what="the agent, idle")
            # the agents' table is read at load, the figures come with the stream's first event:
            # before that the KPI reads no number (-1), and "before + 1" could never match
            wait_for(lambda: _offered(browser) >= 0, timeout=15, what="the figures from the stream")
            before = _offered(browser)
            call = stack.sipp_uac_async("citizen_call.xml", "12345", "13900139000")
            wait_for(lambda: "通话中" in _state_of(browser, AGENT_NAME), timeout=15, what="the agent talking")
            wait_for(lambda: _offered(browser) == before + 1, timeout=5, what="the call counted")
            call.join(30)
            assert call.result.ok, call.result.stdout + call.result.log
            wait_for(lambda: "话后整理" in _state_of(browser, AGENT_NAME), timeout=WRAPUP, what="the agent in wrap-up")
        finally:
            stack.ami({"Action": "QueueRemove", "Queue": "hotline", "Interface": f"PJSIP/{AGENT_EXT}"})


def test_a_good_map_saved_in_the_page_reloads_with_a_call_up(stack, people, browser):
    path = stack.settings.transfer_map
    before = path.read_text(encoding="utf-8")
    try:
        with stack.agent("1006", skills={"hotline": 0}, scenario=stack.talking_agent(12)):
            mark = stack.events.mark()
            call = stack.sipp_uac_async("citizen_call.xml", "12345", "13900139001")
            connect = stack.events.wait_for(
                lambda e: e.get("Event") == "AgentConnect" and e.get("MemberName") == "1006", since=mark, timeout=15
            )
            sign_in(browser, people, "e2e-admin", "/admin/map", password=PASSWORD)
            broken = before.replace("    mode: 整体并入", "    mode: 整体并入吧", 1)
            browser.execute_script("arguments[0].value = arguments[1];", by_id(browser, "map-text"), broken)
            by_id(browser, "save").click()
            assert "transfer_map.yaml:" in wait_for(lambda: text_of(browser, "problems"), what="the problems")
            assert path.read_text(encoding="utf-8") == before
            good = before + "\n# saved from the admin page during a call\n"
            browser.execute_script("arguments[0].value = arguments[1];", by_id(browser, "map-text"), good)
            by_id(browser, "save").click()
            result = wait_for(lambda: text_of(browser, "reload-result"), timeout=60, what="the reload")
            assert result == "重新加载成功", text_of(browser, "reload-output")
            assert "Success" in text_of(browser, "reload-output")
            assert path.read_text(encoding="utf-8") == good
            # the call answered before the reload is still up, and ends normally
            channels = stack.ami({"Action": "CoreShowChannels"})
            assert any(
                e.get("Linkedid") == connect["Linkedid"] for e in channels if e.get("Event") == "CoreShowChannel"
            )
            call.join(40)
            assert call.result.ok, call.result.stdout + call.result.log
    finally:
        for backup in path.parent.glob(f"{path.name}.*.bak"):
            backup.unlink()
        stack.reload(transfer_map=before)

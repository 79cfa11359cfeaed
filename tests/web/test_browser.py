"""The pages in a real browser: Debian's Chromium driven by Selenium through
/usr/bin/chromedriver (never a downloaded browser), against the app served by
uvicorn on a loopback port.  Each test leaves a screenshot in docs/img/<role>.png.

No Asterisk here: the queue figures come from a statistics view the real
aggregator computed (queues.stats), served as the statistics consumer would
leave it in Redis; the softphone's DOM events are dispatched as the rtc
softphone dispatches them.  The tests with real calls are in tests/e2e."""

from __future__ import annotations

import json
import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from hotline.auth import Principal
from queues.service import keys
from queues.stats import Aggregator
from tests.web.browser import by_id, no_alert, serve, shot, start_browser, text_of, wait_for
from tests.web.browser import sign_in as _sign_in
from tests.web.conftest import make_site

EVIL = "<script>alert(1)</script>"
AGENT = Principal(subject="demo1001", role="agent")
T0 = time.time()


class FakeRedis:
    """What ``hotline stats`` leaves in Redis, for the API's read-only queue routes."""

    def __init__(self, data: dict):
        self.data = data

    async def get(self, key):
        return self.data.get(key)


def queue_figures(waiting: int) -> dict:
    agg = Aggregator()
    for i in range(40):
        u = f"u{i}"
        # the call reached the platform (the platform's figures count it from here), then the queue
        agg.apply({"Event": "Newchannel", "Timestamp": T0 - 3003 + i * 60, "Uniqueid": u, "Context": "from-pstn"})
        agg.apply({"Event": "QueueCallerJoin", "Timestamp": T0 - 3000 + i * 60, "Queue": "hotline", "Uniqueid": u})
        if i % 13 == 5:
            agg.apply(
                {
                    "Event": "QueueCallerAbandon",
                    "Timestamp": T0 - 2990 + i * 60,
                    "Queue": "hotline",
                    "Uniqueid": u,
                    "HoldTime": "10",
                }
            )
            agg.apply({"Event": "Hangup", "Timestamp": T0 - 2990 + i * 60, "Uniqueid": u, "Context": "route-queue"})
        else:
            agg.apply(
                {
                    "Event": "AgentConnect",
                    "Timestamp": T0 - 2995 + i * 60,
                    "Queue": "hotline",
                    "Uniqueid": u,
                    "HoldTime": str(5 + i % 20),
                    "Interface": "PJSIP/1001",
                }
            )
    for i in range(waiting):
        agg.apply({"Event": "QueueCallerJoin", "Timestamp": T0 - 20 - i, "Queue": "hotline", "Uniqueid": f"w{i}"})
    for ext, name, paused in (("1001", "demo1001", "0"), ("1002", "demo1002", "1")):
        agg.apply(
            {
                "Event": "QueueMemberAdded",
                "Timestamp": T0 - 4000,
                "Queue": "hotline",
                "Interface": f"PJSIP/{ext}",
                "MemberName": name,
                "Status": "1",
                "Paused": paused,
                "PausedReason": "lunch" if paused == "1" else "",
            }
        )
    k = keys("hotline")
    return {
        k["view"]: json.dumps(agg.view(T0 + waiting)).encode(),
        k["agents"]: json.dumps(agg.agents_view(T0)).encode(),
    }


@pytest.fixture(scope="module")
def live(tmp_path_factory, db_template):
    site = make_site(tmp_path_factory.mktemp("live") / "home", db_template)
    site.app.state.queues_redis = FakeRedis(queue_figures(waiting=1))
    with serve(site):
        yield site


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = start_browser(tmp_path_factory.mktemp("chromium-profile"))
    yield driver
    driver.quit()


def sign_in(driver, live, name: str, next_path: str = "") -> None:
    _sign_in(driver, live.url, name, next_path)


def dispatched(live, unit: str) -> dict:
    o = live.store.create(
        {
            "type": "complaint",
            "title": "夜间施工噪音",
            "content": "小区旁工地夜间施工，影响休息。",
            "caller_name": EVIL,
            "caller_phone": "13800138000",
            "address": "丛台区人民路 1 号",
        },
        AGENT,
        "accepted",
    )
    live.store.transition(o["id"], "dispatch", {"main_unit": unit, "co_units": []}, AGENT)
    return o


def test_every_page_redirects_to_the_login_without_a_session(live, browser):
    browser.delete_all_cookies()
    for path in (
        "/agent",
        "/wallboard",
        "/dept",
        "/admin",
        "/admin/map",
        "/admin/users",
        "/admin/sizing",
        "/admin/stats",
        "/account/password",
    ):
        browser.get(live.url + path)
        assert browser.current_url.startswith(live.url + "/login?next="), path
        assert by_id(browser, "login-form")
    shot(browser, "login")


def test_department_replies_to_its_own_order_and_cannot_open_another(live, browser):
    ours, theirs = dispatched(live, "mzj"), dispatched(live, "gjj")
    sign_in(browser, live, "minzheng")
    assert browser.current_url.endswith("/dept")
    assert ours["number"] in text_of(browser, "orders") and theirs["number"] not in text_of(browser, "orders")
    browser.get(f"{live.url}/dept/orders/{ours['id']}")
    assert EVIL in text_of(browser, "caller") and no_alert(browser)  # the markup shows as text
    by_id(browser, "sign").click()
    wait_for(lambda: "已签收" in text_of(browser, "notice"), what="signed")
    by_id(browser, "reply-content").send_keys("已责令施工单位夜间停工，并安排执法人员巡查。")
    by_id(browser, "reply").click()
    wait_for(lambda: "已答复" in text_of(browser, "notice"), what="replied")
    assert live.store.get(ours["id"], AGENT)["status"] == "replied"
    shot(browser, "department")
    browser.get(f"{live.url}/dept/orders/{theirs['id']}")
    assert "无权" in text_of(browser, "forbidden")
    assert theirs["number"] not in browser.page_source
    status = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        f"fetch('/api/v1/orders/{theirs['id']}').then(r => done(r.status));"
    )
    assert status == 404  # the API refuses the unit too (the order is not visible to it)
    assert live.store.get(theirs["id"], AGENT)["status"] == "dispatched"


def test_admin_broken_map_shows_file_line_and_a_good_one_reloads(live, browser):
    path = live.settings.transfer_map
    before = path.read_text(encoding="utf-8")
    sign_in(browser, live, "guanli", "/admin/map")
    assert browser.current_url.endswith("/admin/map") and by_id(browser, "file-ok")
    area = by_id(browser, "map-text")
    broken = before.replace("    mode: 整体并入", "    mode: 整体并入吧", 1)
    browser.execute_script("arguments[0].value = arguments[1];", area, broken)
    by_id(browser, "save").click()
    problems = wait_for(lambda: text_of(browser, "problems"), what="the problems")
    assert "transfer_map.yaml:" in problems and "整体并入吧" in problems
    line = int(problems.split("transfer_map.yaml:", 1)[1].split(":", 1)[0])
    assert broken.splitlines()[line - 1].strip().startswith("mode: 整体并入吧")
    assert path.read_text(encoding="utf-8") == before and live.reloads == []
    shot(browser, "admin")
    good = before + "\n# checked and saved from the admin page\n"
    browser.execute_script("arguments[0].value = arguments[1];", by_id(browser, "map-text"), good)
    by_id(browser, "save").click()
    wait_for(lambda: "重新加载成功" in text_of(browser, "reload-result"), what="the reload")
    assert path.read_text(encoding="utf-8") == good and live.reloads == [good]
    assert [b.read_text(encoding="utf-8") for b in path.parent.glob("*.bak")] == [before]
    path.write_text(before, encoding="utf-8")


def test_agent_gets_the_screen_pop_and_dispatches_the_order(live, browser):
    earlier = dispatched(live, "mzj")
    sign_in(browser, live, "demo1001")
    assert browser.current_url.endswith("/agent") and by_id(browser, "phone")
    wait_for(lambda: text_of(browser, "my-state") not in ("", "—"), what="the agent's state")
    # the hand-off service's call for the answered call, then the softphone's event
    linkedid = f"{int(T0)}.77"
    out = live.store.call_answered(
        {
            "uniqueid": linkedid,
            "linkedid": linkedid,
            "caller": "13800138000",
            "origin": "12349",
            "mode": "merge",
            "department": "mzj",
            "agent": "demo1001",
            "queue": "hotline",
        },
        Principal(subject="builtin:calls", role="calls"),
    )[0]
    browser.execute_script(
        "document.dispatchEvent(new CustomEvent('softphone:answered', {detail: arguments[0]}));",
        {
            "callId": "c1",
            "linkedid": linkedid,
            "caller": "13800138000",
            "origin": "12349",
            "headers": {"X-Hotline-Mode": "merge", "X-Hotline-Dept": "mzj"},
        },
    )
    wait_for(lambda: out["order"]["number"] in text_of(browser, "pop-order"), what="the screen pop")
    assert text_of(browser, "pop-mode") == "整体并入" and text_of(browser, "pop-dept") == "市民政局"
    assert earlier["number"] in text_of(browser, "pop-earlier")
    assert text_of(browser, "form-number") == out["order"]["number"]
    by_id(browser, "f-caller_name").send_keys(EVIL)
    Select(by_id(browser, "f-type")).select_by_value("help")
    Select(by_id(browser, "f-category_code")).select_by_value("300400")
    by_id(browser, "f-address").send_keys("丛台区中华大街 8 号")
    by_id(browser, "f-title").send_keys("低保申请进度")
    by_id(browser, "f-content").send_keys("来电人咨询低保申请的审批进度，希望尽快答复。")
    browser.find_element(By.CSS_SELECTOR, 'input[name="step"][value="dispatch"]').click()
    Select(by_id(browser, "f-main_unit")).select_by_value("mzj")
    shot(browser, "agent")
    by_id(browser, "submit").click()
    wait_for(lambda: "已提交" in text_of(browser, "form-notice") or text_of(browser, "form-error"), what="submit")
    assert not text_of(browser, "form-error")
    got = live.store.get(out["order"]["id"], AGENT)
    assert (got["status"], got["main_unit"], got["linkedid"], got["caller_name"]) == (
        "dispatched",
        "mzj",
        linkedid,
        EVIL,
    )
    assert no_alert(browser)


def test_wallboard_shows_the_queues_and_updates_live(live, browser):
    sign_in(browser, live, "banzhang")
    assert browser.current_url.endswith("/wallboard")
    wait_for(lambda: text_of(browser, "kpi-waiting") == "1", what="the first view")
    assert text_of(browser, "kpi-answer").endswith("%") and "demo1002" in text_of(browser, "agents")
    # the headline is the platform's figure (every call that reached it), per line and mode below
    calls = json.loads(queue_figures(waiting=1)[keys("hotline")["view"]])["calls"]["total"]["last_24h"]
    assert text_of(browser, "kpi-answer") == f"{calls['answer_rate'] * 100:.1f}%" and calls["offered"] == 40
    assert text_of(browser, "lines").splitlines()[1].startswith(f"全部 {calls['offered']} {calls['answered']}")
    assert "无告警" in text_of(browser, "alerts")
    assert "暂停" in text_of(browser, "agents") and "用餐" in text_of(browser, "agents")
    live.app.state.queues_redis.data.update(queue_figures(waiting=3))  # the consumer saw two more callers
    started = time.monotonic()
    wait_for(lambda: text_of(browser, "kpi-waiting") == "3", timeout=5, what="the live update")
    assert time.monotonic() - started < 2.5
    # the trend chart is uPlot's (frontend/wallboard): a canvas, the three series and points from the stream
    assert browser.find_elements(By.CSS_SELECTOR, "#trend .uplot canvas")
    legend = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#trend .u-legend .u-series .u-label")]
    assert legend[1:] == ["24 小时接通率", "15 秒服务水平", "95% 目标"], legend
    wait_for(lambda: int(browser.find_element(By.CSS_SELECTOR, "#trend .uplot").get_attribute("data-points") or 0) >= 2)
    shot(browser, "supervisor")


def test_the_desk_suggests_the_unit_as_the_agent_types_and_never_dispatches_by_itself(live, browser):
    sign_in(browser, live, "demo1001")
    by_id(browser, "new-order").click()
    wait_for(lambda: "新工单" in text_of(browser, "form-notice"), what="a new order")
    number = text_of(browser, "form-number")
    before = live.store.get_by_number(number, AGENT)
    by_id(browser, "f-content").send_keys("我想提取住房公积金，请问需要带哪些材料，多久能到账？")
    wait_for(lambda: by_id(browser, "suggest").is_displayed(), what="the suggestions")
    chips = browser.find_elements(By.CSS_SELECTOR, "#suggest-units .chip")
    assert chips and chips[0].get_attribute("data-code") == "gjj", [c.text for c in chips]
    assert "住房公积金" in chips[0].text and chips[0].get_attribute("title"), "a chip names the unit and says why"
    assert browser.find_elements(By.CSS_SELECTOR, "#suggest-cats .chip"), "categories are suggested too"
    chips[0].click()
    assert Select(by_id(browser, "f-main_unit")).first_selected_option.get_attribute("value") == "gjj"
    assert browser.find_element(By.CSS_SELECTOR, 'input[name="step"][value="dispatch"]').is_selected()
    # nothing is dispatched by a suggestion: the order is untouched until the agent submits
    after = live.store.get_by_number(number, AGENT)
    assert (after["status"], after["version"], after["main_unit"]) == (before["status"], before["version"], None)
    Select(by_id(browser, "f-type")).select_by_value("consult")
    by_id(browser, "f-title").send_keys("公积金提取")
    by_id(browser, "submit").click()
    wait_for(lambda: "已提交" in text_of(browser, "form-notice") or text_of(browser, "form-error"), what="submit")
    assert not text_of(browser, "form-error")
    got = live.store.get_by_number(number, AGENT)
    assert (got["status"], got["main_unit"]) == ("dispatched", "gjj")
    assert no_alert(browser)

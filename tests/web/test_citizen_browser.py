"""The citizens' web channel in Debian's Chromium (Selenium, /usr/bin/chromedriver) on a phone's
viewport, against the app served by uvicorn on a loopback port: a citizen files an appeal with a
photo, reads the order number, checks the progress with the last 4 digits of the phone; the
hotline and the department take the order to 待评价 through the work-order API; the citizen
rates it.  The page has no script at all: every step is a plain form post.  Screenshot:
docs/img/citizen.png."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.web.browser import by_id, serve, shot, start_browser, text_of, wait_for
from tests.web.citizen_util import FORM, PHONE, csrf_of_form, png, to_evaluation
from tests.web.conftest import make_site
from web.models import OrderPhoto
from workorder.models import Order

PHONE_VIEW = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}


@pytest.fixture(scope="module")
def live(tmp_path_factory, db_template):
    site = make_site(tmp_path_factory.mktemp("citizen-live") / "home", db_template)
    with serve(site):
        yield site


@pytest.fixture(scope="module")
def phone_browser(tmp_path_factory):
    driver = start_browser(tmp_path_factory.mktemp("citizen-profile"))
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE_VIEW)
    yield driver
    driver.quit()


def _fits_the_phone(driver) -> bool:
    return driver.execute_script("return document.documentElement.scrollWidth") <= PHONE_VIEW["width"]


def test_a_citizen_files_an_appeal_with_a_photo_checks_it_and_rates_it(live, phone_browser, tmp_path):
    d = phone_browser
    photo = tmp_path / "垃圾.png"
    photo.write_bytes(png(8, 8))
    d.get(live.url + "/citizen")
    assert d.find_elements(By.TAG_NAME, "script") == []  # a plain form: works without JavaScript
    assert _fits_the_phone(d), "the form is wider than the phone"
    Select(by_id(d, "type")).select_by_visible_text("投诉")
    Select(by_id(d, "category")).select_by_visible_text("市容环卫")
    by_id(d, "address").send_keys("邯郸市丛台区中华北大街 1 号")
    by_id(d, "content").send_keys("小区门口垃圾三天没有清运，气味很大")
    by_id(d, "name").send_keys("张三")
    by_id(d, "phone").send_keys(PHONE)
    by_id(d, "photo").send_keys(str(photo))
    by_id(d, "submit").click()
    number = wait_for(lambda: text_of(d, "order-number"), what="the order number")
    with live.store.db.read() as s:
        order = s.query(Order).filter_by(number=number).one()
        photos = s.query(OrderPhoto).filter_by(order_id=order.id).all()
    assert (order.channel, order.status, order.caller_phone) == ("web", "draft", PHONE)
    assert [p.content_type for p in photos] == ["image/png"]

    by_id(d, "to-progress").click()
    wait_for(lambda: by_id(d, "number").get_attribute("value") == number, what="the progress form")
    by_id(d, "last4").send_keys(PHONE[-4:])
    by_id(d, "query").click()
    assert wait_for(lambda: text_of(d, "progress-status"), what="the progress") == "已提交，待受理"
    assert d.find_elements(By.ID, "rate-form") == []

    to_evaluation(live.app, order.id)  # the hotline 受理 and 派单, the department 签收 and 答复, 回访
    by_id(d, "last4").send_keys(PHONE[-4:])
    by_id(d, "query").click()
    assert wait_for(lambda: text_of(d, "progress-status"), what="the progress") == "待评价"
    assert "已安排环卫公司清运" in text_of(d, "progress-reply")
    by_id(d, "rate-2").click()
    by_id(d, "rate").click()
    assert wait_for(lambda: text_of(d, "notice"), what="the thanks") == "感谢您的评价！"
    assert text_of(d, "progress-rated") == "满意" and text_of(d, "progress-status") == "已办结"
    assert _fits_the_phone(d)
    shot(d, "citizen")
    with live.store.db.read() as s:
        order = s.get(Order, order.id)
    assert (order.status, order.satisfaction) == ("closed", 2)


def test_behind_a_local_reverse_proxy_each_citizen_is_counted_by_their_own_address(live):
    """uvicorn takes X-Forwarded-For from a proxy on 127.0.0.1 (its default trusted address), so
    the per-address limit counts each citizen, not the proxy."""
    live.app.state.settings = dataclasses.replace(live.app.state.settings, citizen_address_per_hour=1)

    def post(address: str, phone: str) -> int:
        with httpx.Client(base_url=live.url, headers={"X-Forwarded-For": address}) as c:
            token = csrf_of_form(c.get("/citizen").text)
            files = {"photo": ("", b"", "application/octet-stream")}
            return c.post("/citizen/appeals", data={**FORM, "phone": phone, "csrf": token}, files=files).status_code

    assert post("198.18.0.7", "13900000011") == 201
    assert post("198.18.0.7", "13900000012") == 429
    assert post("198.18.0.8", "13900000013") == 201

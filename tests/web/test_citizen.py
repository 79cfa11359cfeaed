"""The citizens' web channel (web/pages_citizen.py) through its pages: an appeal becomes a web
order in the same store as phone orders, its photo reaches the handling department, progress by
number and last 4 digits, the rating is the store's ``evaluate``; and every guard of the abuse
protection: per address, per phone, oversized upload, wrong type, bad phone, no CSRF token, a
wrong last 4 answered exactly like an unknown number, lookups per address."""

from __future__ import annotations

import dataclasses
from zoneinfo import ZoneInfo

from sqlalchemy import select

from hotline.auth import Principal
from hotline.secrets import load_secrets
from tests.web.citizen_util import FORM, PHONE, csrf_of_form, number_of, png, post_appeal, to_evaluation
from web.models import CitizenHit, OrderPhoto
from workorder.models import Order, Transition

EVIL = "<script>alert(1)</script>"
JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01"


def tune(site, **changes):
    site.app.state.settings = dataclasses.replace(site.app.state.settings, **changes)


def orders(site) -> list[Order]:
    with site.store.db.read() as s:
        return list(s.scalars(select(Order).order_by(Order.id)))


def test_the_form_is_a_chinese_mobile_page_with_its_own_csrf_cookie(site):
    r = site.anonymous().get("/citizen")
    assert r.status_code == 200
    assert '<html lang="zh-CN">' in r.text and 'name="viewport"' in r.text
    assert 'enctype="multipart/form-data"' in r.text and 'accept="image/jpeg,image/png"' in r.text
    assert '<option value="400201">市容环卫</option>' in r.text  # the store's categories
    assert "http://" not in r.text and "https://" not in r.text  # nothing loaded from elsewhere
    cookie = r.headers["set-cookie"].lower()
    assert "hotline_citizen_csrf=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    assert "script-src 'self'" in r.headers["content-security-policy"]


def test_an_appeal_with_a_photo_is_a_web_order_the_department_sees(site):
    c = site.anonymous()
    image = png()
    r = post_appeal(c, ("垃圾.png", image, "image/png"), content="垃圾没人清运 " + EVIL)
    assert r.status_code == 201, r.text
    number = number_of(r.text)
    [o] = orders(site)
    assert (o.number, o.channel, o.status, o.caller_phone) == (number, "web", "draft", PHONE)
    assert (o.type, o.category_code, o.address, o.caller_name) == ("complaint", "400201", FORM["address"], "张三")
    assert o.created_by == "citizen:138****8000" and o.origin == "12345"
    with site.store.db.read() as s:
        [ph] = s.scalars(select(OrderPhoto))
        history = [(t.action, t.role, t.actor) for t in s.scalars(select(Transition))]
    assert history == [("create", "citizen", "citizen:138****8000")]
    assert (ph.order_id, ph.content_type, ph.size) == (o.id, "image/png", len(image))
    assert (site.settings.citizen_photos / ph.name).read_bytes() == image
    assert "垃圾" not in ph.name  # the platform names the file, never the upload
    # the hotline takes it on like a phone order; the department sees the photo
    to_evaluation(site.app, o.id)
    page = site.client("minzheng").get(f"/dept/orders/{o.id}")
    assert page.status_code == 200 and f'src="/dept/orders/{o.id}/photos/{ph.id}"' in page.text
    assert EVIL not in page.text and "&lt;script&gt;" in page.text
    got = site.client("minzheng").get(f"/dept/orders/{o.id}/photos/{ph.id}")
    assert got.status_code == 200 and got.content == image and got.headers["content-type"] == "image/png"
    assert site.client("gongjijin").get(f"/dept/orders/{o.id}/photos/{ph.id}").status_code == 403
    assert site.client("minzheng").get(f"/dept/orders/{o.id}/photos/{ph.id + 1}").status_code == 403
    assert site.anonymous().get(f"/dept/orders/{o.id}/photos/{ph.id}").status_code == 303


def test_a_confidential_appeal_shows_the_department_a_masked_caller(site):
    r = post_appeal(site.anonymous(), confidential="1", type="report")
    assert r.status_code == 201
    [o] = orders(site)
    assert o.confidential and o.caller_phone == PHONE
    to_evaluation(site.app, o.id)
    page = site.client("minzheng").get(f"/dept/orders/{o.id}").text
    assert "138****8000" in page and PHONE not in page and "张*" in page
    plain = post_appeal(site.anonymous(), phone="13700000000")
    assert plain.status_code == 201 and not orders(site)[-1].confidential


def test_too_many_appeals_from_one_address(site):
    tune(site, citizen_address_per_hour=2)
    c = site.anonymous()
    assert post_appeal(c, phone="13900000001").status_code == 201
    assert post_appeal(c, phone="13900000002").status_code == 201
    r = post_appeal(c, phone="13900000003")
    assert r.status_code == 429 and "一小时后再试" in r.text
    assert len(orders(site)) == 2
    with site.store.db.read() as s:
        keys = set(s.scalars(select(CitizenHit.key)))
    assert "testclient" not in keys and "13900000001" not in keys  # hashes only


def test_too_many_appeals_for_one_phone(site):
    tune(site, citizen_phone_per_day=2)
    c = site.anonymous()
    assert post_appeal(c).status_code == 201
    assert post_appeal(c, phone="138-0013-8000").status_code == 201  # the same number, written otherwise
    r = post_appeal(c)
    assert r.status_code == 429 and "已达上限" in r.text
    assert FORM["content"] in r.text  # what the citizen wrote is kept
    assert post_appeal(c, phone="13700000000").status_code == 201
    assert len(orders(site)) == 3


def test_an_oversized_photo_is_refused_and_nothing_is_made(site):
    tune(site, citizen_photo_max_kb=16)
    c = site.anonymous()
    r = post_appeal(c, ("big.jpg", JPEG_HEAD + b"\0" * 17 * 1024, "image/jpeg"))
    assert r.status_code == 413 and "16 KB" in r.text
    assert FORM["content"] in r.text
    # a body far over the limit is refused from its Content-Length, before it is read
    r = post_appeal(c, ("huge.jpg", JPEG_HEAD + b"\0" * 200 * 1024, "image/jpeg"))
    assert r.status_code == 413
    assert orders(site) == [] and not site.settings.citizen_photos.exists()


def test_a_photo_must_really_be_a_jpeg_or_png(site):
    c = site.anonymous()
    for upload in (
        ("a.png", b"GIF89a\x01\x00\x01\x00", "image/png"),  # the bytes are a GIF
        ("a.jpg", png(), "image/jpeg"),  # the declared type and the bytes disagree
        ("a.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><script>1</script></svg>", "image/svg+xml"),
        ("a.html", b"<html></html>", "text/html"),
    ):
        r = post_appeal(c, upload)
        assert r.status_code == 415, upload[0]
        assert "JPEG 或 PNG" in r.text
    assert orders(site) == []


def test_a_bad_phone_and_missing_fields_get_their_messages_and_keep_the_text(site):
    c = site.anonymous()
    r = post_appeal(c, phone="12345", category="", content=EVIL + " 路灯不亮")
    assert r.status_code == 422
    assert 'id="error-phone"' in r.text and "手机号码" in r.text and 'id="error-category"' in r.text
    assert EVIL not in r.text and "&lt;script&gt;alert(1)&lt;/script&gt; 路灯不亮" in r.text
    assert orders(site) == []


def test_a_post_without_the_form_token_is_refused(site):
    c = site.anonymous()
    c.get("/citizen")
    for token in ("", "forged"):
        r = c.post("/citizen/appeals", data={**FORM, "csrf": token}, files={"photo": ("", b"", "text/plain")})
        assert r.status_code == 403 and "过期" in r.text
    assert orders(site) == []


def _query(c, number: str, last4: str):
    token = csrf_of_form(c.get("/citizen/progress").text)
    return c.post("/citizen/progress", data={"number": number, "last4": last4, "csrf": token})


def test_progress_needs_the_last_4_digits_and_a_wrong_one_looks_like_no_order(site):
    c = site.anonymous()
    number = number_of(post_appeal(c).text)
    r = _query(c, number, "8000")
    assert r.status_code == 200 and 'id="progress-status">已提交，待受理<' in r.text
    [o] = orders(site)
    assert o.received_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M") in r.text  # Beijing time
    wrong = _query(c, number, "1234")
    unknown = _query(c, "2099010100001", "1234")
    malformed = _query(c, number, "12x4")
    assert wrong.status_code == unknown.status_code == malformed.status_code == 404
    assert wrong.text.replace(number, "N") == unknown.text.replace("2099010100001", "N")
    assert malformed.text == wrong.text
    assert "progress-status" not in wrong.text
    # the citizen's read of the order is in the audit log, under the masked phone
    token = load_secrets(site.settings.secrets_file)["api_tokens"]["admin"]
    rows = (
        site.anonymous()
        .get(f"/api/v1/audit?order_id={o.id}", headers={"Authorization": f"Bearer {token}"})
        .json()["items"]
    )
    assert {(r["subject"], r["role"], r["method"], r["path"]) for r in rows} >= {
        ("citizen:138****8000", "citizen", "POST", "/citizen/appeals"),
        ("citizen:138****8000", "citizen", "POST", "/citizen/progress"),
    }


def test_too_many_lookups_from_one_address(site):
    tune(site, citizen_lookups_per_hour=3)
    c = site.anonymous()
    for _ in range(3):
        assert _query(c, "2099010100001", "0000").status_code == 404
    r = _query(c, "2099010100001", "0000")
    assert r.status_code == 429 and "查询过于频繁" in r.text


def _rate(c, number: str, last4: str, score: str):
    token = csrf_of_form(c.get("/citizen/progress").text)
    return c.post("/citizen/rate", data={"number": number, "last4": last4, "satisfaction": score, "csrf": token})


def test_the_citizen_rates_the_result_once(site):
    c = site.anonymous()
    number = number_of(post_appeal(c).text)
    [o] = orders(site)
    assert _rate(c, number, "8000", "2").status_code == 409  # not waiting for a rating yet
    to_evaluation(site.app, o.id)
    r = _query(c, number, "8000")
    assert 'id="rate-form"' in r.text and "已安排环卫公司清运" in r.text
    assert _rate(c, number, "1234", "2").status_code == 404  # wrong last 4: nothing changes
    assert _rate(c, number, "8000", "9").status_code == 422
    r = _rate(c, number, "8000", "2")
    assert r.status_code == 200 and "感谢您的评价" in r.text and 'id="progress-rated">满意<' in r.text
    [o] = orders(site)
    assert (o.status, o.satisfaction) == ("closed", 2)
    assert _rate(c, number, "8000", "1").status_code == 409


def test_dissatisfied_reopens_as_the_revisit_survey_does(site):
    c = site.anonymous()
    number = number_of(post_appeal(c).text)
    [o] = orders(site)
    to_evaluation(site.app, o.id)
    r = _rate(c, number, "8000", "5")
    assert r.status_code == 200
    [o] = orders(site)
    assert (o.status, o.round, o.main_unit) == ("dispatched", 2, "mzj")  # 重办, the unit counted at fault


def test_a_spam_draft_with_a_photo_can_still_be_deleted_by_the_hotline(site):
    assert post_appeal(site.anonymous(), ("a.png", png(), "image/png")).status_code == 201
    [o] = orders(site)
    site.store.delete(o.id, Principal(subject="demo1001", role="agent"))
    assert orders(site) == []
    with site.store.db.read() as s:
        assert list(s.scalars(select(OrderPhoto))) == []  # the row goes with its order (the file stays)

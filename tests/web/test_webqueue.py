"""网上诉求待受理 (/appeals, web/pages_webqueue.py): the web drafts oldest first, escaped and
masked per role, each step through the store's transitions (受理, 受理并派单, 不予受理 with its
code, 并单), refusals answered 409 with nothing changed; the photos' files deleted with their
draft and purged by the jobs' pass after HOTLINE_CITIZEN_PHOTO_RETENTION_DAYS."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

from sqlalchemy import select

from hotline.auth import Principal
from hotline.secrets import load_secrets
from tests.web.citizen_util import number_of, png, post_appeal, to_evaluation
from workorder.jobs_cli import photos_pass
from workorder.models import Order, Transition
from workorder.photos import OrderPhoto

EVIL = "<script>alert(1)</script>"
AGENT = Principal(subject="demo1001", role="agent")


def appeal(site, phone: str, photo: bool = False, **fields) -> Order:
    r = post_appeal(site.anonymous(), ("a.png", png(), "image/png") if photo else None, phone=phone, **fields)
    assert r.status_code == 201, r.text
    with site.store.db.read() as s:
        return s.scalars(select(Order).where(Order.number == number_of(r.text))).one()


def order(site, order_id: int) -> Order:
    with site.store.db.read() as s:
        return s.get(Order, order_id)


def post(site, who: str, order_id: int, action: str, **form):
    o = order(site, order_id)
    data = {"csrf": site.csrf(who), "version": str(o.version), **form}
    return site.client(who).post(f"/appeals/{order_id}/{action}", data=data)


def rows(html: str) -> list[str]:
    return re.findall(r'<td class="number">(\d+)</td>', html)


def photo_files(site) -> list[str]:
    d = site.settings.citizen_photos
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def test_the_queue_lists_web_drafts_oldest_first_escaped_and_masked(site):
    first = appeal(site, "13800138001", photo=True)
    second = appeal(site, "13800138002", content=EVIL + " 路灯不亮" * 40, confidential="1")
    phone = site.store.create({"content": "电话诉求", "caller_phone": "13900139000"}, AGENT, "draft")
    r = site.client("demo1002").get("/appeals")
    assert r.status_code == 200
    assert rows(r.text) == [first.number, second.number]  # oldest first; the phone draft is not here
    assert phone["number"] not in r.text
    assert 'id="queue-total">共 2 件' in r.text
    assert EVIL not in r.text and "&lt;script&gt;" in r.text  # escaped
    assert "…" in r.text  # the long content cut to an excerpt
    assert "市容环卫" in r.text and "中华北大街" in r.text  # category name, place
    assert "13800138001" in r.text  # an ordinary order: the agent calls back
    assert "13800138002" not in r.text and "138****8002" in r.text  # confidential: masked for an agent
    assert "13800138002" in site.client("banzhang").get("/appeals").text  # a supervisor sees it
    [ph] = re.findall(rf'href="/dept/orders/{first.id}/photos/(\d+)"', r.text)
    img = site.client("demo1002").get(f"/dept/orders/{first.id}/photos/{ph}")
    assert img.status_code == 200 and img.content == png()
    assert "不到1分钟" in r.text
    for label in (
        'class="accept">受理<',
        "受理并派单",
        'class="reject">不予受理<',
        'class="merge">并单<',
        'name="csrf"',
    ):
        assert label in r.text
    assert 'href="/appeals"' in r.text  # in the menu
    site.store.now = (lambda real: lambda: real() + timedelta(hours=2, minutes=5))(site.store.now)
    assert "2小时5分" in site.client("demo1002").get("/appeals").text


def test_accept_then_dispatch_goes_on_to_the_department(site):
    o = appeal(site, "13800138003")
    r = post(site, "demo1001", o.id, "accept")
    assert r.status_code == 303 and r.headers["location"] == f"/appeals?done=accept&number={o.number}"
    assert order(site, o.id).status == "accepted"
    page = site.client("demo1001").get(r.headers["location"]).text
    assert f"工单 {o.number} 已受理" in page and rows(page) == [o.number]  # still waits for its dispatch
    assert 'class="accept"' not in page and 'class="dispatch">派单</button>' in page
    assert post(site, "paidan", o.id, "dispatch", main_unit="").status_code == 409  # no unit: refused
    assert post(site, "paidan", o.id, "dispatch", main_unit="mzj").status_code == 303
    got = order(site, o.id)
    assert (got.status, got.main_unit) == ("dispatched", "mzj")
    assert rows(site.client("paidan").get("/appeals").text) == []
    assert o.number in site.client("minzheng").get("/dept").text  # the normal flow from here
    with site.store.db.read() as s:
        acts = [(t.action, t.actor) for t in s.scalars(select(Transition).where(Transition.order_id == o.id))]
    assert acts[1:] == [("accept", "demo1001"), ("dispatch", "paidan")]


def test_accept_and_dispatch_in_one_step_from_the_draft(site):
    o = appeal(site, "13800138004")
    assert post(site, "demo1001", o.id, "dispatch", main_unit="gjj").status_code == 303
    assert (order(site, o.id).status, order(site, o.id).main_unit) == ("dispatched", "gjj")


def test_reject_needs_its_disposition_code_and_its_details(site):
    o = appeal(site, "13800138005")
    earlier = appeal(site, "13800138006")
    bad = post(site, "demo1001", o.id, "reject", disposition="nonsense")
    assert bad.status_code == 409 and "请选择不予受理的情形" in bad.text
    r = post(site, "demo1001", o.id, "reject", disposition="emergency")
    assert r.status_code == 409 and "110" in r.text
    r = post(site, "demo1001", o.id, "reject", disposition="unreasonable_repeat", parent_number="999")
    assert r.status_code == 409 and "没有工单号为 999 的工单" in r.text
    assert order(site, o.id).status == "draft"  # nothing changed by the refusals
    r = post(site, "demo1001", o.id, "reject", disposition="unreasonable_repeat", parent_number=earlier.number)
    assert r.status_code == 303
    got = order(site, o.id)
    assert (got.status, got.disposition, got.parent_id) == ("rejected", "unreasonable_repeat", earlier.id)
    e = appeal(site, "13800138007")
    assert post(site, "demo1001", e.id, "reject", disposition="emergency", transfer_to="119").status_code == 303
    assert (order(site, e.id).status, order(site, e.id).disposition) == ("rejected", "emergency")


def test_merge_into_an_earlier_order_by_its_number(site):
    parent = site.store.create(
        {"type": "complaint", "content": "同一路段路灯不亮", "caller_phone": "13900139001"}, AGENT, "accepted"
    )
    o = appeal(site, "13800138008")
    assert post(site, "demo1001", o.id, "merge", parent_number="").status_code == 409
    assert post(site, "demo1001", o.id, "merge", parent_number=parent["number"]).status_code == 303
    assert (order(site, o.id).status, order(site, o.id).parent_id) == ("merged", parent["id"])
    again = post(site, "demo1001", o.id, "accept")  # the state machine decides: a merged order is done
    assert again.status_code == 409


def test_a_stale_form_an_unknown_step_and_a_phone_order_are_refused(site):
    o = appeal(site, "13800138009")
    stale = order(site, o.id).version
    assert post(site, "demo1001", o.id, "accept").status_code == 303
    r = site.client("demo1002").post(
        f"/appeals/{o.id}/merge", data={"csrf": site.csrf("demo1002"), "version": str(stale), "parent_number": "1"}
    )
    assert r.status_code == 409  # another agent took it meanwhile
    assert order(site, o.id).status == "accepted"
    assert post(site, "demo1001", o.id, "sign").status_code == 404
    phone = site.store.create({"content": "电话诉求", "caller_phone": "13900139002"}, AGENT, "draft")
    r = post(site, "demo1001", phone["id"], "accept")
    assert r.status_code == 409 and "不是网上诉求" in r.text
    assert order(site, phone["id"]).status == "draft"
    assert site.client("zhijian").get("/appeals").status_code == 403
    assert site.client("minzheng").get("/appeals").status_code == 403


def test_deleting_a_spam_draft_removes_its_photo_file(site):
    o = appeal(site, "13800138010", photo=True)
    keep = appeal(site, "13800138011", photo=True)
    assert len(photo_files(site)) == 2
    token = load_secrets(site.settings.secrets_file)["api_tokens"]["agent"]
    r = site.anonymous().delete(f"/api/v1/orders/{o.id}", headers={"Authorization": "Bearer " + token})
    assert r.status_code == 204
    with site.store.db.read() as s:
        assert [p.order_id for p in s.scalars(select(OrderPhoto))] == [keep.id]
        [name] = list(s.scalars(select(OrderPhoto.name)))
    assert photo_files(site) == [name]  # the other appeal's photo stays


def _closed(site, phone: str) -> Order:
    o = appeal(site, phone, photo=True)
    to_evaluation(site.app, o.id)
    site.store.transition(o.id, "evaluate", {"satisfaction": 1}, AGENT)
    assert order(site, o.id).status == "closed"
    return o


def test_the_jobs_pass_purges_photos_of_orders_closed_longer_than_the_retention(site):
    closed = _closed(site, "13800138012")
    waiting = appeal(site, "13800138013", photo=True)
    settings = dataclasses.replace(site.settings, citizen_photo_retention_days=30)
    assert photos_pass(settings, site.store) == 0  # closed just now: kept
    assert len(photo_files(site)) == 2
    real = site.store.now
    site.store.now = lambda: real() + timedelta(days=31)
    assert photos_pass(dataclasses.replace(settings, citizen_photo_retention_days=0), site.store) == 0  # for ever
    assert len(photo_files(site)) == 2
    assert photos_pass(settings, site.store) == 1
    with site.store.db.read() as s:
        left = list(s.scalars(select(OrderPhoto)))
    assert [p.order_id for p in left] == [waiting.id]  # an open order keeps its photo, however old
    assert photo_files(site) == [left[0].name]
    assert order(site, closed.id).status == "closed"  # the order itself stays
    assert photos_pass(settings, site.store) == 0

"""What each role does in its pages: department handling, the agent's order form,
the admin's map, users, sizing and exports; escaping everywhere; audit under the user."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta

from openpyxl import load_workbook

from hotline.auth import Principal
from hotline.secrets import load_secrets
from queues.service import keys
from tests.web.conftest import login

EVIL = "<script>alert(1)</script>"
AGENT = Principal(subject="demo1001", role="agent")


def dispatched(site, unit="mzj", **fields):
    data = {
        "type": "complaint",
        "title": "噪音扰民",
        "content": "夜间施工 " + EVIL,
        "caller_name": EVIL,
        "caller_phone": "13800138000",
        **fields,
    }
    o = site.store.create(data, AGENT, "accepted")
    site.store.transition(o["id"], "dispatch", {"main_unit": unit, "co_units": []}, AGENT)
    return o


def admin_headers(site):
    return {"Authorization": "Bearer " + load_secrets(site.settings.secrets_file)["api_tokens"]["admin"]}


def audit_rows(site):
    return site.anonymous().get("/api/v1/audit?limit=1000", headers=admin_headers(site)).json()["items"]


# -- department portal ---------------------------------------------------------------


def test_department_sees_signs_and_replies_to_its_own_order(site):
    o = dispatched(site)
    c = site.client("minzheng")
    home = c.get("/dept")
    assert home.status_code == 200 and o["number"] in home.text
    page = c.get(f"/dept/orders/{o['id']}")
    assert page.status_code == 200 and 'id="sign"' in page.text
    csrf = site.csrf("minzheng")
    version = int(re.search(r'name="version" value="(\d+)"', page.text).group(1))
    r = c.post(f"/dept/orders/{o['id']}/sign", data={"csrf": csrf, "version": version})
    assert r.status_code == 303 and r.headers["location"].endswith("done=sign")
    page = c.get(r.headers["location"])
    assert "已签收" in page.text and 'id="reply"' in page.text and "办理中" in page.text
    r = c.post(f"/dept/orders/{o['id']}/reply", data={"csrf": csrf, "content": "已责令停工"})
    assert r.status_code == 303
    got = site.store.get(o["id"], AGENT)
    assert got["status"] == "replied"
    paths = {(a["subject"], a["method"], a["path"]) for a in audit_rows(site)}
    assert ("minzheng", "POST", f"/dept/orders/{o['id']}/reply") in paths
    assert ("minzheng", "POST", f"/dept/orders/{o['id']}/sign") in paths


def test_department_asks_for_an_extension_and_a_return_with_a_reason(site):
    o = dispatched(site)
    c, csrf = site.client("minzheng"), site.csrf("minzheng")
    r = c.post(f"/dept/orders/{o['id']}/request_extension", data={"csrf": csrf, "reason": "", "amount": 3})
    assert r.status_code == 409 and "reason" in r.text
    r = c.post(
        f"/dept/orders/{o['id']}/request_extension",
        data={"csrf": csrf, "reason": "需现场勘验", "amount": 3, "unit": "working_days"},
    )
    assert r.status_code == 303 and site.store.get(o["id"], AGENT)["extension_pending"] is True
    r = c.post(
        f"/dept/orders/{o['id']}/request_extension",
        data={"csrf": csrf, "reason": "x", "amount": 3, "unit": "fortnights"},
    )
    assert r.status_code == 422
    r = c.post(f"/dept/orders/{o['id']}/return", data={"csrf": csrf, "reason": "不属本单位职责"})
    assert r.status_code == 303 and site.store.get(o["id"], AGENT)["status"] == "return_review"


def test_another_department_is_refused_by_page_and_api(site):
    o = dispatched(site, unit="mzj")
    c = site.client("gongjijin")
    assert o["number"] not in c.get("/dept").text
    page = c.get(f"/dept/orders/{o['id']}")
    assert page.status_code == 403 and "无权" in page.text and o["number"] not in page.text
    r = c.post(f"/dept/orders/{o['id']}/reply", data={"csrf": site.csrf("gongjijin"), "content": "x"})
    assert r.status_code == 403
    assert c.get(f"/api/v1/orders/{o['id']}").status_code == 404  # the API: not visible to this unit
    assert site.store.get(o["id"], AGENT)["status"] == "dispatched"


def test_overdue_orders_are_flagged(site):
    o = dispatched(site)
    real = site.store.now
    site.store.now = lambda: real() + timedelta(days=60)
    page = site.client("minzheng").get("/dept")
    assert "已超过办理时限" in page.text and 'class="overdue"' in page.text
    assert o["number"] in page.text


def test_a_caller_name_with_markup_shows_as_text(site):
    o = dispatched(site, title=EVIL)
    c = site.client("minzheng")
    for url in ("/dept", f"/dept/orders/{o['id']}"):
        html = c.get(url).text
        assert EVIL not in html, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url
    # the admin's user list and the agent's embedded config escape too
    site.app.state.accounts.add("evil", "admin", "long-enough-pw", display=EVIL)
    assert EVIL not in site.client("guanli").get("/admin/users").text
    desk = site.client("demo1001").get("/agent").text
    config = re.search(r'<script type="application/json" id="desk-config">(.*?)</script>', desk, re.S).group(1)
    assert "<" not in config and json.loads(config)["agent"] == "demo1001"


# -- agent desktop ---------------------------------------------------------------------


def _answered(site, linkedid="1790000000.42", caller="13800138000"):
    tokens = load_secrets(site.settings.secrets_file)["api_tokens"]
    r = site.anonymous().post(
        "/api/v1/calls/answered",
        headers={"Authorization": f"Bearer {tokens['calls']}"},
        json={
            "uniqueid": linkedid,
            "linkedid": linkedid,
            "caller": caller,
            "origin": "12349",
            "mode": "merge",
            "department": "mzj",
            "agent": "demo1001",
            "queue": "hotline",
        },
    )
    assert r.status_code == 201, r.text
    return r.json()["order"]


def test_screen_pop_finds_the_calls_draft_and_the_callers_earlier_orders(site):
    earlier = dispatched(site)
    c = site.client("demo1001")
    assert c.get("/agent/pop?linkedid=1790000000.42").json() == {"pending": True, "order": None}
    draft = _answered(site)
    pop = c.get("/agent/pop?linkedid=1790000000.42").json()
    assert pop["order"]["id"] == draft["id"] and pop["order"]["mode"] == "merge"
    assert pop["department_name"] == "市民政局"
    assert [e["number"] for e in pop["earlier"]] == [earlier["number"]]
    assert c.get("/agent/pop").json()["order"]["id"] == draft["id"]  # desk phone: the newest own draft
    assert site.client("demo1002").get("/agent/pop").json()["order"] is None
    assert c.get("/agent/pop?linkedid=bad id").status_code == 422


def test_agent_fills_in_and_dispatches_the_order(site):
    draft = _answered(site)
    c, csrf = site.client("demo1001"), {"X-CSRF-Token": site.csrf("demo1001")}
    url = f"/agent/orders/{draft['id']}/submit"
    assert c.post(url, json={"step": "save"}).status_code == 403  # no CSRF header
    r = c.post(url, headers=csrf, json={"step": "dispatch", "fields": {"type": "help"}, "main_unit": "mzj"})
    assert r.status_code == 409 and "content" in r.json()["detail"]
    body = {
        "step": "dispatch",
        "version": None,
        "main_unit": "mzj",
        "co_units": ["gjj"],
        "fields": {
            "type": "complaint",
            "category_code": "300400",
            "urgency": "urgent",
            "address": "丛台区",
            "title": "低保",
            "content": "咨询低保办理进度",
            "no_callback": True,
        },
    }
    r = c.post(url, headers=csrf, json=body)
    assert r.status_code == 200, r.text
    o = r.json()
    assert (o["status"], o["main_unit"], o["co_units"], o["linkedid"]) == (
        "dispatched",
        "mzj",
        ["gjj"],
        "1790000000.42",
    )
    assert o["no_callback"] is True  # 不需要回访, the form's checkbox
    assert draft["number"] in c.get("/agent/recent").text
    assert c.post(url, headers=csrf, json={"step": "nope"}).status_code == 422
    assert c.post(url, headers=csrf, json={"step": "save", "fields": {"type": "x"}}).status_code == 422
    subjects = {(a["subject"], a["path"]) for a in audit_rows(site)}
    assert ("demo1001", url) in subjects


def test_direct_answer_and_acceptance_exclusions(site):
    c, csrf = site.client("demo1001"), {"X-CSRF-Token": site.csrf("demo1001")}
    a = _answered(site, "1790000000.50")
    fields = {"type": "consult", "content": "公积金怎么提取"}
    r = c.post(
        f"/agent/orders/{a['id']}/submit",
        headers=csrf,
        json={"step": "direct_answer", "fields": fields, "answer": "携带身份证到中心办理"},
    )
    assert r.status_code == 200 and r.json()["status"] == "evaluation"
    b = _answered(site, "1790000000.51")
    url = f"/agent/orders/{b['id']}/submit"
    r = c.post(url, headers=csrf, json={"step": "reject", "fields": fields, "disposition": "emergency"})
    assert r.status_code == 409 and "transfer_to" in r.json()["detail"]
    r = c.post(
        url, headers=csrf, json={"step": "reject", "fields": fields, "disposition": "emergency", "transfer_to": "119"}
    )
    assert r.status_code == 200 and (r.json()["status"], r.json()["transfer_to"]) == ("rejected", "119")


def test_an_agent_changes_only_its_own_queue_state(site):
    c, csrf = site.client("demo1001"), {"X-CSRF-Token": site.csrf("demo1001")}
    r = c.post("/api/v1/queues/agents/demo1002/pause", headers=csrf, json={"reason": "lunch"})
    assert r.status_code == 403 and "only its own" in r.json()["detail"]
    # its own: allowed, and refused only because no Asterisk listens here
    site.app.state.settings = site.settings.with_(ami_port=1)
    r = c.post("/api/v1/queues/agents/demo1001/pause", headers=csrf, json={"reason": "lunch"})
    assert r.status_code == 503, r.text
    assert c.post("/api/v1/queues/agents/demo1001/pause", json={}).status_code == 403  # CSRF
    # the desktop logs in its browser softphone; a phone that is not one is refused before AMI
    r = c.post("/api/v1/queues/agents/demo1001/login", headers=csrf, json={"device": "browser"})
    assert r.status_code == 503, r.text
    r = c.post("/api/v1/queues/agents/demo1001/login", headers=csrf, json={"device": "fax"})
    assert r.status_code == 422 and "desk" in r.text
    r = c.post("/api/v1/queues/agents/demo1001/pause", headers=csrf, json={"reason": "lunch", "x": 1})
    assert r.status_code == 422


# -- wallboard ---------------------------------------------------------------------------


class FakeRedis:
    def __init__(self, data):
        self.data = data

    async def get(self, key):
        return self.data.get(key)


def test_wallboard_stream_through_the_session(site):
    view = {"at": 1.0, "queues": [], "total": {"queue": "*", "waiting": 2}}
    site.app.state.queues_redis = FakeRedis({keys("hotline")["view"]: json.dumps(view).encode()})
    site.app.state.sse_max_events = 1
    c = site.client("banzhang")
    assert 'id="wallboard-config"' in c.get("/wallboard").text
    with c.stream("GET", "/api/v1/queues/stream") as r:
        assert r.status_code == 200
        body = "".join(r.iter_text())
    assert '"waiting": 2' in body
    assert site.client("minzheng").get("/api/v1/queues/stream").status_code == 403


# -- admin ---------------------------------------------------------------------------------


def test_broken_map_changes_nothing_and_shows_file_line(site):
    path = site.settings.transfer_map
    before = path.read_text(encoding="utf-8")
    c, csrf = site.client("guanli"), site.csrf("guanli")
    page = c.get("/admin/map")
    assert page.status_code == 200 and 'id="file-ok"' in page.text
    broken = before.replace("    mode: 整体并入", "    mode: 整体并入吧", 1)
    r = c.post("/admin/map", data={"csrf": csrf, "text": broken, "action": "save"})
    assert r.status_code == 422
    assert re.search(r"transfer_map\.yaml:\d+:\d+: ", r.text), r.text[:2000]
    assert path.read_text(encoding="utf-8") == before and not list(path.parent.glob("*.bak"))
    assert site.reloads == []
    r = c.post("/admin/map", data={"csrf": csrf, "text": "lines: [\n", "action": "check"})
    assert r.status_code == 422 and path.read_text(encoding="utf-8") == before


def test_good_map_is_saved_with_a_backup_and_reloaded(site):
    path = site.settings.transfer_map
    before = path.read_text(encoding="utf-8")
    edited = before + "\n# edited in the page\n"
    c, csrf = site.client("guanli"), site.csrf("guanli")
    r = c.post("/admin/map", data={"csrf": csrf, "text": edited, "action": "check"})
    assert r.status_code == 200 and "检查通过" in r.text and path.read_text(encoding="utf-8") == before
    r = c.post("/admin/map", data={"csrf": csrf, "text": edited, "action": "save"})
    assert r.status_code == 200 and "重新加载成功" in r.text
    assert path.read_text(encoding="utf-8") == edited and site.reloads == [edited]
    (backup,) = path.parent.glob("transfer_map.yaml.*.bak")
    assert backup.read_text(encoding="utf-8") == before
    r = c.post("/admin/map/reload", data={"csrf": csrf})
    assert r.status_code == 200 and len(site.reloads) == 2
    assert ("guanli", "POST", "/admin/map") in {(a["subject"], a["method"], a["path"]) for a in audit_rows(site)}


def test_admin_adds_disables_and_resets_users(site):
    c, csrf = site.client("guanli"), site.csrf("guanli")
    r = c.post("/admin/users", data={"csrf": csrf, "name": "lisi", "role": "department", "department": "gjj"})
    assert r.status_code == 201
    password = re.search(r'id="new-password">([^<]+)<', r.text).group(1)
    assert login(site.anonymous(), "lisi", password).status_code == 303
    r = c.post("/admin/users", data={"csrf": csrf, "name": "lisi2", "role": "department", "department": "nope"})
    assert r.status_code == 422 and "not a unit" in r.text
    assert c.post("/admin/users/lisi/disable", data={"csrf": csrf}).status_code == 200
    assert login(site.anonymous(), "lisi", password).status_code == 401
    assert c.post("/admin/users/guanli/disable", data={"csrf": csrf}).status_code == 422
    r = c.post("/admin/users/lisi/password", data={"csrf": csrf})
    assert r.status_code == 200 and re.search(r'id="new-password">([^<]+)<', r.text).group(1) != password


def test_sizing_plot_marks_the_rule_and_the_target(site):
    r = site.client("guanli").get("/admin/sizing?population=9410000&calls_per_day=30000&aht=240&patience=90")
    assert r.status_code == 200
    assert 'id="sizing-plot"' in r.text and "1 坐席/10 万人：95" in r.text and "95% 目标" in r.text
    assert r.text.count("<polyline") == 2
    assert site.client("guanli").get("/admin/sizing?population=0").status_code == 422


def test_statistics_export_csv_and_xlsx(site):
    o = dispatched(site)
    mzj = Principal(subject="minzheng", role="department", department="mzj")
    site.store.transition(o["id"], "sign", {}, mzj)
    c = site.client("guanli")
    page = c.get("/admin/stats")
    assert page.status_code == 200 and "市民政局" in page.text
    csv_ = c.get("/admin/stats.csv")
    assert csv_.headers["content-type"].startswith("text/csv")
    text = csv_.content.decode("utf-8-sig")
    assert "名次" in text and "市民政局" in text
    x = c.get("/admin/stats.xlsx")
    wb = load_workbook(io.BytesIO(x.content))
    assert wb.sheetnames == ["总体", "单位排名"]
    assert [cell.value for cell in wb["单位排名"][2]][2] == "市民政局"
    assert c.get("/admin/stats.pdf").status_code == 404

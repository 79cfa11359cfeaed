"""The knowledge base over the API, on SQLite and PostgreSQL: versions, the lifecycle
(多方校核), departments' own entries (共建共享), expiry, clear refusals, the audit."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from tests.workorder.test_workorder_api import dept_token
from workorder.models import AuditLog

GJJ = {
    "title": "住房公积金提取条件",
    "body": "职工购买、建造、翻建、大修自住住房的，可以提取住房公积金账户存储余额。",
    "tags": ["公积金", "提取"],
    "department": "gjj",
}


def titles(r):
    assert r.status_code == 200, r.text
    return [x["title"] for x in r.json()["items"]]


def step(api, aid, action, as_, **kw):
    return api.post(f"/api/v1/kb/articles/{aid}/transitions", as_=as_, json={"action": action, **kw})


def publish(api, aid, author_is="supervisor"):
    reviewer = "admin" if author_is == "supervisor" else "supervisor"
    assert step(api, aid, "review", reviewer).status_code == 200
    r = step(api, aid, "publish", "admin")
    assert r.status_code == 200, r.text
    return r.json()


def test_kb_versions_and_chinese_search(api):
    gjj = dept_token(api, "gjj")
    r = api.post("/api/v1/kb/articles", as_=gjj, json=GJJ)
    assert r.status_code == 201, r.text
    a = r.json()
    assert a["status"] == "draft" and a["version"] == 1 and not a["live"]
    search = lambda q, as_="agent", **kw: api.get("/api/v1/kb/search", as_=as_, params={"q": q, **kw})  # noqa: E731
    assert titles(search("公积金怎么提取")) == []  # a draft answers nobody
    assert api.get(f"/api/v1/kb/articles/{a['id']}", as_="agent").status_code == 404

    # 多方校核: the author does not review their own version; only the hotline publishes
    r = step(api, a["id"], "review", gjj)
    assert r.status_code == 409 and r.json()["reason"] == "same_person"
    assert step(api, a["id"], "publish", "admin").json()["reason"] == "invalid_state"
    assert step(api, a["id"], "review", "supervisor").json()["status"] == "reviewed"
    r = step(api, a["id"], "publish", gjj)
    assert r.status_code == 403 and r.json()["reason"] == "role_not_allowed"
    assert step(api, a["id"], "publish", "admin", version=1).json()["status"] == "published"
    assert titles(search("公积金怎么提取")) == ["住房公积金提取条件"]
    assert titles(search("提取住房公积金", "ivr")) == ["住房公积金提取条件"]

    # every edit is a new version in draft; the published one answers until the next is published
    r = api.put(f"/api/v1/kb/articles/{a['id']}", as_=gjj, json={"body": "新口径：提取住房公积金需提供购房合同。"})
    assert r.status_code == 200 and r.json()["version"] == 2 and r.json()["status"] == "draft"
    assert titles(search("购房合同")) == []
    agent_view = api.get(f"/api/v1/kb/articles/{a['id']}", as_="agent").json()
    assert agent_view["version"] == 1 and "购房合同" not in agent_view["body"]
    publish(api, a["id"], author_is="department")
    assert titles(search("购房合同")) == ["住房公积金提取条件"]
    full = api.get(f"/api/v1/kb/articles/{a['id']}", as_="supervisor").json()
    assert [(v["version"], v["editor"], v["status"]) for v in full["versions"]] == [
        (1, "unit-gjj", "published"),
        (2, "unit-gjj", "published"),
    ]
    assert full["versions"][1]["reviewed_by"] == "builtin:supervisor"
    v1 = api.get(f"/api/v1/kb/articles/{a['id']}/versions/1", as_=gjj).json()
    assert "购房合同" not in v1["body"] and v1["published_by"] == "builtin:admin"
    assert api.get(f"/api/v1/kb/articles/{a['id']}/versions/9", as_=gjj).status_code == 404
    r = api.put(f"/api/v1/kb/articles/{a['id']}", as_=gjj, json={"title": "x", "version": 1})
    assert r.status_code == 409 and r.json()["reason"] == "version_conflict"

    # 共建共享: a department edits only its own entries; agents write nothing
    rsj = dept_token(api, "rsj")
    r = api.put(f"/api/v1/kb/articles/{a['id']}", as_=rsj, json={"title": "x"})
    assert r.status_code == 403 and r.json()["reason"] == "not_owner"
    assert api.post("/api/v1/kb/articles", as_=rsj, json={**GJJ, "department": "gjj"}).status_code == 403
    assert api.post("/api/v1/kb/articles", as_=rsj, json={**GJJ, "department": "rsj"}).status_code == 201
    assert api.post("/api/v1/kb/articles", as_="agent", json=GJJ).status_code == 403
    assert api.post("/api/v1/kb/articles", as_="dispatcher", json=GJJ).status_code == 403
    assert api.put(f"/api/v1/kb/articles/{a['id']}", as_="supervisor", json={"tags": ["公积金"]}).status_code == 200

    # archived: gone from every search
    assert step(api, a["id"], "archive", "supervisor").json()["status"] == "archived"
    assert titles(search("公积金")) == []
    assert step(api, a["id"], "archive", "supervisor").json()["reason"] == "invalid_state"


def test_expired_entries_leave_the_search_and_are_flagged_to_editors(api):
    today = date.today()
    old = api.post(
        "/api/v1/kb/articles",
        as_="supervisor",
        json={**GJJ, "title": "2020年公积金阶段性缓缴政策", "expires_on": (today - timedelta(days=1)).isoformat()},
    ).json()
    new = api.post("/api/v1/kb/articles", as_="supervisor", json=GJJ).json()
    for e in (old, new):
        publish(api, e["id"])
    search = lambda q, as_="agent", **kw: api.get("/api/v1/kb/search", as_=as_, params={"q": q, **kw})  # noqa: E731
    assert titles(search("公积金")) == ["住房公积金提取条件"]
    assert titles(search("公积金", "ivr")) == ["住房公积金提取条件"]
    assert api.get(f"/api/v1/kb/articles/{old['id']}", as_="ivr").status_code == 404
    assert search("公积金", include_expired=True).status_code == 403  # agents see live entries only
    items = search("公积金", "supervisor", include_expired=True).json()["items"]
    assert {(x["title"], x["expired"]) for x in items} == {
        ("2020年公积金阶段性缓缴政策", True),
        ("住房公积金提取条件", False),
    }
    flagged = api.get("/api/v1/kb/articles", as_="supervisor", params={"expired": True}).json()["items"]
    assert [(x["id"], x["expired"], x["live"]) for x in flagged] == [(old["id"], True, False)]
    assert api.get("/api/v1/kb/articles", as_="agent").status_code == 403


def test_bad_bodies_get_clear_errors_and_changes_are_audited(api):
    r = api.post("/api/v1/kb/articles", as_="supervisor", json={**GJJ, "valid_to": "2020-01-01T00:00:00+08:00"})
    assert r.status_code == 422 and "expires_on" in r.text
    r = api.post("/api/v1/kb/articles", as_="supervisor", json={**GJJ, "department": "nosuch"})
    assert r.status_code == 422 and "nosuch" in r.text
    r = api.post("/api/v1/kb/articles", as_="supervisor", json={k: v for k, v in GJJ.items() if k != "department"})
    assert r.status_code == 422
    assert api.post("/api/v1/kb/articles", as_="supervisor", json={**GJJ, "expires_on": "明天"}).status_code == 422
    assert step(api, 1, "delete", "supervisor").status_code == 422
    assert step(api, 999, "review", "supervisor").status_code == 404
    a = api.post("/api/v1/kb/articles", as_="supervisor", json=GJJ).json()
    publish(api, a["id"])
    with api.store.db.read() as s:
        rows = s.execute(select(AuditLog.path, AuditLog.what, AuditLog.status_code).order_by(AuditLog.id)).all()
    kb_rows = [r for r in rows if r.path.startswith("/api/v1/kb/articles")]
    assert ("/api/v1/kb/articles", "change", 201) in kb_rows
    assert (f"/api/v1/kb/articles/{a['id']}/transitions", "change", 200) in kb_rows
    assert ("/api/v1/kb/articles", "change", 422) in kb_rows


def test_hot_questions_are_the_live_published_entries_tagged_hot(api):
    today = date.today()
    hot = {**GJJ, "tags": ["公积金", "热点"]}
    expired = api.post(
        "/api/v1/kb/articles",
        as_="supervisor",
        json={**hot, "title": "2020年公积金阶段性缓缴政策", "expires_on": (today - timedelta(days=1)).isoformat()},
    ).json()
    live = api.post("/api/v1/kb/articles", as_="supervisor", json=hot).json()
    untagged = api.post("/api/v1/kb/articles", as_="supervisor", json={**GJJ, "title": "公积金贷款额度"}).json()
    draft = api.post("/api/v1/kb/articles", as_="supervisor", json={**hot, "title": "尚未发布的热点"}).json()
    for e in (expired, live, untagged):
        publish(api, e["id"])
    # a newer draft of the live entry (tag removed, body changed): the published version still counts
    r = api.put(f"/api/v1/kb/articles/{live['id']}", as_="supervisor", json={"tags": [], "body": "草稿"})
    assert r.status_code == 200
    r = api.get("/api/v1/kb/hot", as_="ivr")
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [(x["id"], x["version"]) for x in items] == [(live["id"], 1)]
    assert items[0]["body"] == GJJ["body"] and draft["id"] not in [x["id"] for x in items]
    assert api.get("/api/v1/kb/hot", as_="ivr", params={"limit": 10}).status_code == 422
    assert api.get("/api/v1/kb/hot", as_="agent").status_code == 200

"""Admin's agents page (/admin/agents): the registry through the page, with a reload of
Asterisk after each change (the conftest's reloader records it)."""

from __future__ import annotations

from queues.models import Registry


def _form(site, **data):
    return {"csrf": site.csrf("guanli"), **data}


def test_the_admin_lists_adds_changes_and_removes_agents(site):
    c = site.client("guanli")
    page = c.get("/admin/agents")
    assert page.status_code == 200 and "demo1001" in page.text and "hotline" in page.text
    before = len(site.reloads)
    r = c.post("/admin/agents", data=_form(site, name="wang", extension="1020", skills="hotline:0，gongjijin:2"))
    assert r.status_code == 201, r.text
    assert "已新增坐席 wang" in r.text and "Asterisk 已重新加载" in r.text and len(site.reloads) == before + 1
    registry = Registry(site.settings.database_url)
    assert registry.get("wang")["skills"] == {"hotline": 0, "gongjijin": 2}
    r = c.post("/admin/agents/wang/skills", data=_form(site, skills="gongjijin:1"))
    assert r.status_code == 200 and registry.get("wang")["skills"] == {"gongjijin": 1}
    r = c.post("/admin/agents/wang/remove", data=_form(site))
    assert r.status_code == 200 and registry.get("wang") is None and len(site.reloads) == before + 3


def test_bad_agents_are_refused_with_the_reason_and_change_nothing(site):
    c = site.client("guanli")
    registry = Registry(site.settings.database_url)
    before, reloads = registry.all(), len(site.reloads)
    for data, reason in (
        ({"name": "x1", "extension": "1001", "skills": ""}, "extension already used"),
        ({"name": "li", "extension": "1021", "skills": "nosuchqueue:0"}, "不是转接表中的队列"),
        ({"name": "li", "extension": "1021", "skills": "hotline:x"}, "not a whole number"),
        ({"name": "Li Si", "extension": "1021", "skills": ""}, "name"),
    ):
        r = c.post("/admin/agents", data=_form(site, **data))
        assert r.status_code == 422 and reason in r.text, (data, r.text[-500:])
    assert c.post("/admin/agents/nobody/remove", data=_form(site)).status_code == 404
    assert registry.all() == before and len(site.reloads) == reloads
    # a failed reload is shown, with what it printed
    site.app.state.map_reloader = lambda: (False, "res_pjsip.so: Error")
    r = c.post("/admin/agents", data=_form(site, name="zhao", extension="1022"))
    assert r.status_code == 502 and "重新加载失败" in r.text and "res_pjsip.so: Error" in r.text


def test_only_an_admin_with_the_csrf_token_changes_agents(site):
    assert site.client("demo1001").get("/admin/agents").status_code == 403
    r = site.client("banzhang").post("/admin/agents", data=_form(site, name="a", extension="1030"))
    assert r.status_code == 403
    r = site.client("guanli").post("/admin/agents", data={"name": "a", "extension": "1030"})
    assert r.status_code == 403
    assert Registry(site.settings.database_url).get("a") is None

"""Every page route: no session -> the login page; a wrong role -> 403; a form post
without the CSRF token -> 403.  The route list comes from the routers, so a new
route without a rule here fails the test."""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

import web
from tests.web.conftest import PEOPLE, login

ROLES_OF = {name: role for name, (role, _, _) in PEOPLE.items()}
EVERYONE = {"agent", "supervisor", "dispatcher", "admin", "department", "quality"}
# (method, path) -> roles that may use it; None = open (the login page)
RULES = {
    ("GET", "/"): None,
    ("GET", "/login"): None,
    ("POST", "/login"): None,
    ("POST", "/logout"): EVERYONE,
    ("GET", "/account/password"): EVERYONE,
    ("POST", "/account/password"): EVERYONE,
    ("GET", "/agent"): {"agent"},
    ("GET", "/agent/pop"): {"agent"},
    ("GET", "/agent/recent"): {"agent"},
    ("GET", "/agent/softphone"): {"agent"},
    ("POST", "/agent/orders/{order_id}/submit"): {"agent"},
    ("GET", "/wallboard"): {"supervisor", "dispatcher", "admin"},
    ("POST", "/wallboard/spy"): {"supervisor", "admin"},
    ("GET", "/dept"): {"department"},
    ("GET", "/dept/orders/{order_id}"): {"department"},
    ("POST", "/dept/orders/{order_id}/{action}"): {"department"},
    ("GET", "/admin"): {"admin"},
    ("GET", "/admin/users"): {"admin"},
    ("POST", "/admin/users"): {"admin"},
    ("POST", "/admin/users/{name}/{action}"): {"admin"},
    ("GET", "/admin/sizing"): {"admin"},
    ("GET", "/admin/stats"): {"admin"},
    ("GET", "/admin/stats.{fmt}"): {"admin"},
    ("GET", "/admin/assessment"): {"admin", "supervisor"},
    ("GET", "/admin/assessment.{fmt}"): {"admin", "supervisor"},
    ("GET", "/public/ranking"): None,
    ("GET", "/admin/map"): {"admin"},
    ("POST", "/admin/map"): {"admin"},
    ("POST", "/admin/map/reload"): {"admin"},
    ("GET", "/admin/agents"): {"admin"},
    ("GET", "/quality"): {"quality", "supervisor", "admin"},
    ("GET", "/analysis"): {"supervisor", "admin"},
    ("GET", "/analysis.{fmt}"): {"supervisor", "admin"},
    ("POST", "/admin/agents"): {"admin"},
    ("POST", "/admin/agents/{name}/skills"): {"admin"},
    ("POST", "/admin/agents/{name}/remove"): {"admin"},
    # the citizens' web channel: open, with its own form token and throttles (tests/web/test_citizen.py)
    ("GET", "/citizen"): None,
    ("POST", "/citizen/appeals"): None,
    ("GET", "/citizen/progress"): None,
    ("POST", "/citizen/progress"): None,
    ("POST", "/citizen/rate"): None,
    ("GET", "/dept/orders/{order_id}/photos/{photo_id}"): {"department", "agent", "dispatcher", "supervisor", "admin"},
    ("GET", "/orders"): {"agent", "dispatcher", "supervisor", "admin"},
    ("GET", "/orders/{order_id}"): {"agent", "dispatcher", "supervisor", "admin"},
    ("POST", "/orders/{order_id}/joint-meeting"): {"dispatcher", "supervisor", "admin"},
    ("POST", "/orders/{order_id}/designate-lead"): {"dispatcher", "supervisor", "admin"},
    # 网上诉求待受理 (tests/web/test_webqueue.py)
    ("GET", "/appeals"): {"agent", "dispatcher", "supervisor", "admin"},
    ("POST", "/appeals/{order_id}/{action}"): {"agent", "dispatcher", "supervisor", "admin"},
}
PARAMS = {"order_id": "1", "action": "sign", "name": "nobody", "fmt": "csv", "photo_id": "1"}


def _routes():
    out = []
    # every page module of web/ (web/pages_*.py): a new one cannot slip past this table
    for info in pkgutil.iter_modules(web.__path__):
        if not info.name.startswith("pages_"):
            continue
        for r in importlib.import_module(f"web.{info.name}").router.routes:
            for m in r.methods:
                out.append((m, r.path))
    return sorted(out)


def _url(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PARAMS[m.group(1)], path)


def test_every_page_route_has_a_rule():
    assert set(_routes()) == set(RULES)


@pytest.mark.parametrize("method,path", [r for r in _routes() if RULES[r] is not None])
def test_no_session_goes_to_the_login_page(site, method, path):
    r = site.anonymous().request(method, _url(path), data={"csrf": "x"})
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith("/login?next=/")


def test_a_stale_or_forged_cookie_is_no_session(site):
    c = site.anonymous()
    c.cookies.set("hotline_session", "forged")
    assert c.get("/admin").status_code == 303
    assert c.get("/api/v1/orders").status_code == 401


@pytest.mark.parametrize("name", sorted(PEOPLE))
def test_each_role_opens_only_its_pages(site, name):
    c = site.client(name)
    role = ROLES_OF[name]
    for (method, path), roles in RULES.items():
        if method != "GET" or roles is None or path == "/agent/pop" and role != "agent":
            continue
        r = c.get(_url(path))
        if role in roles:
            assert r.status_code in (200, 403 if "{order_id}" in path else 200), (path, r.status_code, r.text[:300])
        else:
            assert r.status_code == 403, (name, path, r.status_code)
            assert "无权" in r.text


@pytest.mark.parametrize("method,path", [r for r in _routes() if r[0] == "POST" and RULES[r] not in (None,)])
def test_a_form_post_without_the_csrf_token_is_refused(site, method, path):
    roles = RULES[(method, path)]
    name = next(n for n in sorted(PEOPLE) if ROLES_OF[n] in roles)
    c = site.client(name)
    for data in ({}, {"csrf": "wrong"}):
        r = c.post(_url(path), data={**data, "text": "x", "role": "admin", "content": "x"})
        assert r.status_code == 403, (path, r.status_code)
        assert "CSRF" in r.text
    assert c.get("/").status_code == 303  # still logged in: the refusal ended nothing


def test_the_login_form_needs_its_own_token(site):
    c = site.anonymous()
    r = c.post("/login", data={"name": "guanli", "password": "correct-horse-battery", "csrf": "x"})
    assert r.status_code == 403 and "hotline_session" not in r.cookies


def test_api_with_a_session_needs_the_csrf_header_for_changes(site):
    c = site.client("demo1001")
    assert c.get("/api/v1/orders").status_code == 200  # reads need no token
    assert c.post("/api/v1/orders", json={}).status_code == 403
    assert c.post("/api/v1/orders", json={}, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    r = c.post("/api/v1/orders", json={}, headers={"X-CSRF-Token": site.csrf("demo1001")})
    assert r.status_code == 201, r.text
    # the API's own role checks still hold for session users
    assert (
        site.client("minzheng")
        .post("/api/v1/orders", json={}, headers={"X-CSRF-Token": site.csrf("minzheng")})
        .status_code
        == 403
    )
    assert site.anonymous().get("/api/v1/orders").status_code == 401


def test_session_cookie_is_httponly_and_samesite_strict(site):
    r = login(site.anonymous(), "guanli")
    assert r.status_code == 303 and r.headers["location"] == "/admin"
    cookie = r.headers["set-cookie"].lower()
    assert "hotline_session=" in cookie and "httponly" in cookie and "samesite=strict" in cookie


def test_login_goes_back_to_a_local_page_only(site):
    c = site.anonymous()
    assert c.get("/admin/users").headers["location"] == "/login?next=/admin/users"
    form = c.get("/login?next=/admin/users").text
    assert 'name="next" value="/admin/users"' in form
    token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    r = c.post(
        "/login",
        data={"name": "guanli", "password": "correct-horse-battery", "csrf": token, "next": "//evil.example/x"},
    )
    assert r.headers["location"] == "/admin"


def test_pages_send_a_strict_content_security_policy(site):
    r = site.client("guanli").get("/admin")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"

"""The wallboard's listen / whisper / barge route (``POST /wallboard/spy``) and what the
page offers for it, with a TestClient: every refusal before Asterisk is asked (no
session, no CSRF, a role that may not spy, a supervisor with no phone, a bad mode, an
agent not on a call) and the answer when Redis or AMI cannot be reached.  The spy call
itself, against the real Asterisk, is tests/e2e/test_spy.py."""

from __future__ import annotations

import dataclasses
import json
import socket

import pytest
from sqlalchemy import select

from queues.models import Registry
from queues.service import keys
from tests.web.conftest import PASSWORD
from workorder.models import AuditLog

SUPERVISOR, PHONE = "jianting", "1009"


class FakeRedis:
    """The live agents view as ``hotline stats`` leaves it in Redis."""

    def __init__(self, agents: list[dict]):
        self.data = {keys("hotline")["agents"]: json.dumps(agents).encode()}

    async def get(self, key):
        return self.data.get(key)


def _agent(name: str, state: str, interface: str = "PJSIP/1001") -> dict:
    return {"interface": interface, "name": name, "queues": {}, "state": state, "paused": False, "reason": ""}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


@pytest.fixture
def spy_site(site):
    """The site plus a supervisor bound to the registry's extension 1009."""
    Registry(site.settings.database_url).add("jiankong", PHONE, {"hotline": 0}, display="班长话机")
    site.app.state.accounts.add(SUPERVISOR, "supervisor", PASSWORD, extension=PHONE)
    site.app.state.queues_redis = FakeRedis([_agent("demo1001", "talking"), _agent("demo1002", "paused", "PJSIP/1002")])
    site.app.state.settings = dataclasses.replace(site.settings, ami_port=_closed_port())
    return site


def _post(site, name: str | None, body: dict, csrf: bool = True):
    c = site.client(name) if name else site.anonymous()
    headers = {"X-CSRF-Token": site.csrf(name)} if name and csrf else {}
    return c.post("/wallboard/spy", json=body, headers=headers)


def _audit(site) -> list[tuple[str, str, int]]:
    with site.store.db.read() as s:
        return [(a.subject, a.path, a.status_code) for a in s.scalars(select(AuditLog))]


def test_without_a_session_the_route_sends_to_the_login_page(spy_site):
    r = _post(spy_site, None, {"agent": "demo1001", "mode": "listen"})
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/wallboard/spy"


def test_without_the_csrf_token_it_is_refused(spy_site):
    r = _post(spy_site, SUPERVISOR, {"agent": "demo1001", "mode": "listen"}, csrf=False)
    assert r.status_code == 403 and "CSRF" in r.text
    c = spy_site.client(SUPERVISOR)
    r = c.post("/wallboard/spy", json={"agent": "demo1001", "mode": "listen"}, headers={"X-CSRF-Token": "forged"})
    assert r.status_code == 403 and "CSRF" in r.text


@pytest.mark.parametrize("name", ["paidan", "demo1001", "minzheng"])  # dispatcher, agent, department
def test_only_supervisors_and_admins_may_spy(spy_site, name):
    r = _post(spy_site, name, {"agent": "demo1001", "mode": "listen"})
    assert r.status_code == 403, r.text
    assert "无权" in r.text


def test_a_supervisor_without_a_phone_gets_a_clear_409(spy_site):
    r = _post(spy_site, "banzhang", {"agent": "demo1001", "mode": "barge"})
    assert r.status_code == 409, r.text
    assert "未绑定分机" in r.json()["detail"] and "强插" in r.json()["detail"]
    assert "--extension" in r.json()["detail"]


@pytest.mark.parametrize("mode", ["spy", "LISTEN", "", "listen,B"])
def test_a_bad_mode_is_refused_with_the_choices(spy_site, mode):
    r = _post(spy_site, SUPERVISOR, {"agent": "demo1001", "mode": mode})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert "listen（监听）" in detail and "whisper（耳语）" in detail and "barge（强插）" in detail


@pytest.mark.parametrize("body", [{"agent": "demo1001"}, {"agent": "x/../y", "mode": "listen"}, {"mode": "listen"}])
def test_a_malformed_body_is_refused(spy_site, body):
    assert _post(spy_site, SUPERVISOR, body).status_code == 422


@pytest.mark.parametrize("agent", ["demo1002", "nobody"])  # paused, not a queue member at all
def test_an_agent_not_on_a_call_is_404(spy_site, agent):
    r = _post(spy_site, SUPERVISOR, {"agent": agent, "mode": "listen"})
    assert r.status_code == 404, r.text
    assert r.json()["detail"] == f"坐席 {agent} 当前不在通话中，无法监听"


def test_asterisk_unreachable_is_503_with_a_message(spy_site):
    r = _post(spy_site, SUPERVISOR, {"agent": "demo1001", "mode": "whisper"})
    assert r.status_code == 503, r.text
    assert "无法连接 Asterisk AMI" in r.json()["detail"] and "耳语" in r.json()["detail"]
    # refused requests are audited under the user's name too (by the audit middleware)
    assert (SUPERVISOR, "/wallboard/spy", 503) in _audit(spy_site)


def test_redis_unreachable_is_503_with_a_message(spy_site):
    spy_site.app.state.queues_redis = None
    spy_site.app.state.settings = dataclasses.replace(spy_site.app.state.settings, redis_port=_closed_port())
    r = _post(spy_site, SUPERVISOR, {"agent": "demo1001", "mode": "listen"})
    assert r.status_code == 503, r.text
    assert "实时坐席状态不可用" in r.json()["detail"]


def test_the_page_offers_the_buttons_to_supervisors_and_admins_only(spy_site):
    def spy_config(name):
        html = spy_site.client(name).get("/wallboard").text
        raw = html.split('id="wallboard-config">', 1)[1].split("</script>", 1)[0]
        return json.loads(raw)["spy"]

    assert spy_config(SUPERVISOR) == {
        "url": "/wallboard/spy",
        "allowed": True,
        "extension": PHONE,
        "modes": {"listen": "监听", "whisper": "耳语", "barge": "强插"},
    }
    assert spy_config("banzhang")["allowed"] and spy_config("banzhang")["extension"] is None
    assert spy_config("guanli")["allowed"]
    assert not spy_config("paidan")["allowed"]
    html = spy_site.client("banzhang").get("/wallboard").text
    assert "未绑定分机" in html
    assert "呼叫您的分机 1009" in spy_site.client(SUPERVISOR).get("/wallboard").text

"""Queues API: role checks on every route, stats from the store, SSE, sizing."""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from hotline.auth import Principal, builtin_resolver
from hotline.settings import Settings
from queues.api import router
from queues.service import keys
from queues.stats import Aggregator
from tests.dbutil import migrated

TOKENS = {"supervisor": "tok-sup", "admin": "tok-adm", "ivr": "tok-ivr", "agent": "tok-agent"}
T0 = 1_790_000_000.0


class FakeRedis:
    def __init__(self, data):
        self.data = data

    async def get(self, key):
        return self.data.get(key)


@pytest.fixture
def client(tmp_path):
    agg = Aggregator()
    agg.apply({"Event": "QueueCallerJoin", "Timestamp": T0, "Queue": "general", "Uniqueid": "u1"})
    agg.apply(
        {
            "Event": "AgentConnect",
            "Timestamp": T0 + 4,
            "Queue": "general",
            "Uniqueid": "u1",
            "HoldTime": "4",
            "Interface": "PJSIP/1001",
        }
    )
    agg.apply(
        {
            "Event": "QueueMemberAdded",
            "Timestamp": T0,
            "Queue": "general",
            "Interface": "PJSIP/1001",
            "MemberName": "alice",
            "Status": "1",
            "Paused": "1",
            "PausedReason": "lunch",
        }
    )
    k = keys("hotline")
    app = FastAPI()
    app.include_router(router)
    # an agent's own token (as issued by the store, or a session) carries the agent's name
    named = {"tok-alice": Principal(subject="alice", role="agent"), "tok-bob": Principal(subject="bob", role="agent")}
    app.state.token_resolvers = [builtin_resolver(TOKENS), named.get]
    app.state.settings = migrated(Settings(home=tmp_path))
    app.state.queues_redis = FakeRedis(
        {k["view"]: json.dumps(agg.view(T0 + 10)).encode(), k["agents"]: json.dumps(agg.agents_view(T0 + 10)).encode()}
    )
    app.state.sse_max_events = 1
    return TestClient(app)


def h(role):
    return {"Authorization": f"Bearer {TOKENS.get(role, 'tok-' + role)}"}


def test_every_route_checks_roles(client):
    for route in router.routes:
        deps = [d.call.__qualname__ for d in route.dependant.dependencies]
        assert any("require_roles" in q for q in deps), route.path


def test_auth(client):
    assert client.get("/api/v1/queues/stats").status_code == 401
    assert client.get("/api/v1/queues/stats", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/api/v1/queues/stats", headers=h("ivr")).status_code == 403
    assert client.get("/api/v1/queues/sizing?population=1", headers=h("agent")).status_code == 403


def test_stats(client):
    r = client.get("/api/v1/queues/stats", headers=h("supervisor"))
    assert r.status_code == 200
    assert r.json()["queues"][0]["queue"] == "general"
    g = client.get("/api/v1/queues/stats/general", headers=h("agent")).json()
    assert (g["today"]["offered"], g["today"]["answered"]) == (1, 1)
    assert client.get("/api/v1/queues/stats/all", headers=h("agent")).json()["queue"] == "*"
    assert client.get("/api/v1/queues/stats/nope", headers=h("agent")).status_code == 404


def test_stream_sends_the_view(client):
    with client.stream("GET", "/api/v1/queues/stream", headers=h("supervisor")) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        body = "".join(r.iter_text())
    event = [b for b in body.split("\n\n") if b.startswith("event: stats")][0]
    data = json.loads(event.split("data: ", 1)[1])
    assert data["total"]["today"]["answered"] == 1


def test_agents_registry_and_live_state(client):
    r = client.post(
        "/api/v1/queues/agents",
        headers=h("admin"),
        json={"name": "alice", "extension": "1001", "skills": {"hotline": 0}, "display": "张三"},
    )
    assert r.status_code == 201, r.text
    assert (
        client.post("/api/v1/queues/agents", headers=h("admin"), json={"name": "bob", "extension": "1001"}).status_code
        == 422
    )
    assert (
        client.post(
            "/api/v1/queues/agents", headers=h("supervisor"), json={"name": "bob", "extension": "1002"}
        ).status_code
        == 403
    )
    a = client.get("/api/v1/queues/agents", headers=h("supervisor")).json()["agents"]
    assert a[0]["name"] == "alice" and a[0]["state"] == "paused" and a[0]["reason"] == "lunch"
    assert client.post("/api/v1/queues/agents/nobody/login", headers=h("agent")).status_code == 404


def test_sizing(client):
    r = client.get("/api/v1/queues/sizing?population=9410000", headers=h("admin")).json()
    assert (r["seats"], r["operators"]) == (95, 190)
    r = client.get(
        "/api/v1/queues/sizing?population=9410000&calls_per_day=30000&patience=90", headers=h("supervisor")
    ).json()
    assert r["verdict"]["meets"] is False and r["verdict"]["seats_needed"] > 95


def test_login_pause_over_ami(client):
    """POST login/pause turn into QueueAdd/QueuePause on the AMI (a loopback stand-in records them)."""
    import asyncio
    import threading

    from tests.fakes.amifeed import FeedServer

    loop = asyncio.new_event_loop()
    ready, box = threading.Event(), {}

    async def main():
        async with FeedServer() as srv:
            box["srv"] = srv
            ready.set()
            while not box.get("stop"):
                await asyncio.sleep(0.02)

    t = threading.Thread(target=loop.run_until_complete, args=(main(),))
    t.start()
    try:
        assert ready.wait(5)
        app = client.app
        app.state.settings = app.state.settings.with_(ami_port=box["srv"].port)
        assert (
            client.post(
                "/api/v1/queues/agents",
                headers=h("admin"),
                json={"name": "alice", "extension": "1001", "skills": {"hotline": 0, "tax": 3}},
            ).status_code
            == 201
        )
        # an agent changes only its own queue state: neither the shared agent token nor bob may log alice in
        for other in ("agent", "bob"):
            r = client.post("/api/v1/queues/agents/alice/login", headers=h(other))
            assert r.status_code == 403 and "only its own" in r.json()["detail"], r.text
        assert client.post("/api/v1/queues/agents/1001/pause", headers=h("bob")).status_code == 403  # by extension
        r = client.post("/api/v1/queues/agents/alice/login", headers=h("alice"))
        assert r.status_code == 200, r.text
        assert r.json()["done"] == [
            {"action": "QueueAdd", "queue": q, "interface": "PJSIP/1001"} for q in ("hotline", "tax")
        ]
        r = client.post("/api/v1/queues/agents/alice/pause", headers=h("supervisor"), json={"reason": "lunch"})
        assert r.status_code == 200, r.text
        sent = [a for a in box["srv"].actions if a.get("Action") != "Login"]
        assert [(a["Action"], a.get("Penalty"), a.get("Reason")) for a in sent] == [
            ("QueueAdd", "0", None),
            ("QueueAdd", "3", None),
            ("QueuePause", None, "lunch"),
        ]
        assert client.post("/api/v1/queues/agents/alice/login", headers=h("ivr")).status_code == 403
    finally:
        box["stop"] = True
        t.join(5)
        loop.close()

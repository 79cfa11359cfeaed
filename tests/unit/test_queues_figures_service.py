"""The call figures' adapters: alerts (log line, webhook to a local HTTP server, the SSE feed)
and the sub-center's records (API: roles, collect_records, idempotence)."""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from hotline.auth import Principal, builtin_resolver
from hotline.settings import PROJECT_ROOT, Settings
from queues.api import new_alerts, router
from queues.service import Consumer, MemoryStore, keys
from queues.stats_calls import CallFigures
from queues.stats_settings import alert_settings_problem

T0 = 1_790_002_800.0


def ev(name, t, uid, **kw):
    return {"Event": name, "Timestamp": str(t), "Uniqueid": uid, **kw}


def abandoned_in_ivr(consumer, n, t):
    for i in range(n):
        uid = f"u{t}.{i}"
        consumer.agg.apply(ev("Newchannel", t + i, uid, Context="from-pstn", Exten="12345"))
        consumer.agg.apply(ev("UserEvent", t + i, uid, UserEvent="HotlineRouted", Facts="o=12345&m=direct"))
        consumer.agg.apply(ev("Hangup", t + i + 1, uid, Context="route-ivr"))
    consumer.dirty = True


class Hook(BaseHTTPRequestHandler):
    got: list = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.got.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *a):
        pass


@pytest.fixture
def hook_url():
    server = HTTPServer(("127.0.0.1", 0), Hook)
    Hook.got = []
    th = threading.Thread(target=server.serve_forever, daemon=True)
    th.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/alerts"
    server.shutdown()


async def test_an_alert_is_a_log_line_a_webhook_post_and_in_the_view(hook_url, caplog):
    clock = [T0 + 100]
    store = MemoryStore()
    consumer = Consumer(
        store, clock=lambda: clock[0], figures=lambda: CallFigures(window=600, min_calls=3), webhook=hook_url
    )
    abandoned_in_ivr(consumer, 2, T0)
    with caplog.at_level(logging.INFO, logger="hotline.queues"):
        await consumer.flush()
        assert store.view["calls"]["alerts"]["active"] == []  # 2 calls: fewer than min_calls
        abandoned_in_ivr(consumer, 1, T0 + 10)
        await consumer.flush()
        await consumer.stop()  # waits for the webhook posts
    active = store.view["calls"]["alerts"]["active"]
    assert {(a["scope"], a["figure"]) for a in active} == {("*", "answer_rate"), ("*", "service_level")} | {
        ("line:12345", "answer_rate"),
        ("line:12345", "service_level"),
        ("mode:direct", "answer_rate"),
        ("mode:direct", "service_level"),
    }
    lines = [r for r in caplog.records if r.getMessage() == "call figures under target"]
    assert len(lines) == 6 and lines[0].levelno == logging.WARNING
    assert {p["alert"]["scope"] for p in Hook.got} == {"*", "line:12345", "mode:direct"}
    assert all(p["alert"]["value"] == 0.0 and p["alert"]["target"] == 0.95 for p in Hook.got)
    # 10 minutes later the window has no calls: cleared, logged, posted again
    clock[0] = T0 + 100 + 600
    Hook.got = []
    await consumer.flush()
    await consumer.stop()
    assert store.view["calls"]["alerts"]["active"] == []
    assert {p["alert"]["state"] for p in Hook.got} == {"cleared"} and len(Hook.got) == 6


async def test_a_dead_webhook_is_logged_and_does_not_hold_up_the_consumer(caplog):
    store = MemoryStore()
    consumer = Consumer(
        store, clock=lambda: T0 + 50, figures=lambda: CallFigures(min_calls=1), webhook="http://127.0.0.1:9/x"
    )
    abandoned_in_ivr(consumer, 1, T0)
    with caplog.at_level(logging.INFO, logger="hotline.queues"):
        t = time.monotonic()
        await consumer.flush()
        assert time.monotonic() - t < 0.5  # the post runs in the background
        await consumer.stop()
    assert any(r.getMessage() == "alert webhook failed" for r in caplog.records)


async def test_records_taken_from_the_store_are_counted():
    store = MemoryStore()
    store.records = [{"arrived": T0, "line": "12313", "mode": "subcenter", "answered": True, "wait": 4}]
    consumer = Consumer(store, clock=lambda: T0 + 10)
    await consumer.flush()
    lines = {ln["line"]: ln["last_24h"] for ln in store.view["calls"]["lines"]}
    assert lines["12313"]["answered_by"]["subcenter"] == 1 and lines["12313"]["service_level"] == 1.0


def test_alert_settings_are_checked():
    assert alert_settings_problem(Settings()) is None
    assert "HOTLINE_STATS_ALERT_WEBHOOK" in alert_settings_problem(Settings(stats_alert_webhook="ftp://x"))
    assert "HOTLINE_STATS_ALERT_WINDOW" in alert_settings_problem(Settings(stats_alert_window=0))
    assert "HOTLINE_STATS_ALERT_MIN_CALLS" in alert_settings_problem(Settings(stats_alert_min_calls=0))


def test_the_stream_says_each_new_alert_once():
    seen: set[str] = set()
    a = {"state": "raised", "scope": "*", "figure": "answer_rate", "at": 1.0}
    view = json.dumps({"calls": {"alerts": {"recent": [a]}}})
    assert new_alerts(view, seen) == [a]
    assert new_alerts(view, seen) == []


# --- the sub-center's records -------------------------------------------------------


class FakeRedis:
    def __init__(self):
        self.kv: dict = {}
        self.lists: dict = {}

    async def get(self, key):
        return self.kv.get(key)

    async def set(self, key, value, nx=False, ex=None):
        if nx and key in self.kv:
            return None
        self.kv[key] = value
        return True

    async def rpush(self, key, value):
        self.lists.setdefault(key, []).append(value)


TOKENS = {"admin": "tok-adm", "supervisor": "tok-sup"}


@pytest.fixture
def api(tmp_path):
    app = FastAPI()
    app.include_router(router)
    named = {
        "tok-ycj": Principal(subject="ycj", role="department", department="ycj"),
        "tok-mzj": Principal(subject="mzj", role="department", department="mzj"),
    }
    app.state.token_resolvers = [builtin_resolver(TOKENS), named.get]
    app.state.settings = Settings(home=tmp_path, transfer_map=PROJECT_ROOT / "transfer_map.yaml")
    app.state.queues_redis = FakeRedis()
    return TestClient(app), app.state.queues_redis


def rec(id_, answered=True, wait=5.0, linkedid="", ago=60):
    arrived = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() - ago))
    return {"id": id_, "arrived": arrived, "answered": answered, "wait": wait, "linkedid": linkedid}


def test_the_subcenter_posts_its_records_once_each(api):
    client, r = api
    url = "/api/v1/queues/lines/12313/records"
    body = {"records": [rec("a1"), rec("a2", answered=False, wait=30), rec("a3", linkedid="1790.55")]}
    got = client.post(url, json=body, headers={"Authorization": "Bearer tok-ycj"})
    assert got.status_code == 200, got.text
    assert got.json() == {"accepted": 3, "duplicates": 0, "counted": 2}  # a3 came through the platform
    again = client.post(url, json=body, headers={"Authorization": "Bearer tok-ycj"})
    assert again.json() == {"accepted": 0, "duplicates": 3, "counted": 0}
    queued = [json.loads(x) for x in r.lists[keys("hotline")["records"]]]
    assert [(q["line"], q["answered"], q["wait"]) for q in queued] == [("12313", True, 5.0), ("12313", False, 30.0)]


def test_records_are_refused_where_they_are_not_collected(api):
    client, _ = api
    ycj = {"Authorization": "Bearer tok-ycj"}
    body = {"records": [rec("b1")]}
    assert (
        client.post(
            "/api/v1/queues/lines/12313/records", json=body, headers={"Authorization": "Bearer tok-mzj"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/api/v1/queues/lines/12313/records", json=body, headers={"Authorization": "Bearer tok-sup"}
        ).status_code
        == 403
    )
    no = client.post("/api/v1/queues/lines/12360/records", json=body, headers={"Authorization": "Bearer tok-adm"})
    assert no.status_code == 409 and "collect_records: false" in no.json()["detail"]
    assert client.post("/api/v1/queues/lines/12349/records", json=body, headers=ycj).status_code == 409
    assert client.post("/api/v1/queues/lines/99999/records", json=body, headers=ycj).status_code == 404
    old = client.post("/api/v1/queues/lines/12313/records", json={"records": [rec("b2", ago=50 * 3600)]}, headers=ycj)
    assert old.status_code == 422 and "48 h" in old.text
    naive = {"records": [{**rec("b3"), "arrived": "2026-12-02T09:00:00"}]}
    assert client.post("/api/v1/queues/lines/12313/records", json=naive, headers=ycj).status_code == 422
    assert (
        client.post("/api/v1/queues/lines/12313/records", json={"records": [{"id": "x"}]}, headers=ycj).status_code
        == 422
    )

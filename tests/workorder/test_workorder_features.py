"""Knowledge base, statistics, Open311 face and the upstream push, on a real database."""

from __future__ import annotations

import json
import threading
from datetime import UTC
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import redis

from hotline.secrets import load_secrets
from tests.loopback import free_port, redis_server
from workorder.api.app import queue_answer_rate
from workorder.outbox import push_pending

from .conftest import make_api
from .test_workorder_api import act, dept_token, new_order

# the knowledge base's tests are in tests/kb/ (search, lifecycle, API)


# -- statistics -----------------------------------------------------------------------------


def run_loop(api, unit, unit_tok, score, late=False, ret=False):
    o = new_order(api)
    act(api, o["id"], "dispatch", "dispatcher", {"main_unit": unit})
    if ret:
        act(api, o["id"], "return", unit_tok, {"reason": "非本单位"})
        act(api, o["id"], "review_return", "dispatcher", {"decision": "refuse"})
    act(api, o["id"], "sign", unit_tok)
    act(api, o["id"], "reply", unit_tok, {"content": "答复"})
    act(api, o["id"], "review_reply", "dispatcher", {"decision": "accept"})
    act(api, o["id"], "callback", "agent", {"reached": True, "resolved": score <= 3})
    r = act(api, o["id"], "evaluate", "agent", {"satisfaction": score, "unit_at_fault": score >= 4})
    return r.json()


def test_statistics_and_ranking(api):
    good, bad = dept_token(api, "mzj"), dept_token(api, "wjw")
    run_loop(api, "mzj", good, 1)
    run_loop(api, "mzj", good, 2)
    reopened = run_loop(api, "wjw", bad, 5, ret=True)
    assert reopened["status"] == "dispatched" and reopened["round"] == 2
    o = new_order(api, type="consult")
    act(api, o["id"], "direct_answer", "agent", {"answer": "按知识库答复"})
    st = api.get("/api/v1/stats", as_="supervisor").json()
    ov = st["overall"]
    assert ov["received"] == 4
    assert ov["direct_answer_rate"] == pytest.approx(1 / 4)
    m, w = st["departments"]["mzj"], st["departments"]["wjw"]
    assert m["timely_sign_rate"] == 1.0 and m["on_time_rate"] == 1.0 and m["satisfaction_rate"] == 1.0
    assert m["return_rate"] == 0.0 and m["resolution_rate"] == 1.0 and m["callback_rate"] == 1.0
    assert w["return_rate"] == pytest.approx(0.5)  # one return over two main dispatches (round 1 and 2)
    assert w["satisfaction_rate"] == 0.0 and w["reopen_rate"] == pytest.approx(0.5)
    rank = api.get("/api/v1/stats/ranking", as_="supervisor").json()["ranking"]
    assert [r["department"] for r in rank][:2] == ["mzj", "wjw"] and rank[0]["rank"] == 1
    # a department sees only its own figures
    mine = api.get("/api/v1/stats", as_=good).json()
    assert set(mine["departments"]) == {"mzj"} and mine["overall"] is None
    assert api.get("/api/v1/stats/ranking", as_=good).status_code == 403


# -- Open311 ------------------------------------------------------------------------------------


def test_open311_never_shows_a_confidential_orders_content(api):
    key = api.post("/api/v1/tokens", as_="admin", json={"subject": "city-app", "role": "open311"}).json()["token"]
    form = {"api_key": key, "service_code": "400201", "description": "举报某商户夜间非法排污", "lat": "36.6"}
    form |= {"long": "114.5", "address_string": "复兴区某路 3 号"}
    sid = api.client.post("/open311/v2/requests.json", data=form).json()[0]["service_request_id"]
    order = api.get(f"/api/v1/orders/by-number/{sid}").json()
    r = api.patch(
        f"/api/v1/orders/{order['id']}", as_="agent", json={"confidential": True, "version": order["version"]}
    )
    assert r.status_code == 200 and r.json()["confidential"] is True, r.text
    one = api.client.get(f"/open311/v2/requests/{sid}.json", params={"api_key": key}).json()[0]
    listed = [x for x in api.client.get("/open311/v2/requests.json", params={"api_key": key}).json()]
    for got in [one] + [x for x in listed if x["service_request_id"] == sid]:
        assert got["description"] == "保密工单：内容与地点不公开" and "排污" not in str(got), got
        assert (got["address"], got["lat"], got["long"]) == (None, None, None)
        assert got["status"] == "open" and got["service_code"] == "400201"
    assert any(x["service_request_id"] == sid for x in listed)


def test_open311_face(api):
    r = api.post("/api/v1/tokens", as_="admin", json={"subject": "city-app", "role": "open311"})
    key = r.json()["token"]
    services = api.client.get("/open311/v2/services.json", params={"api_key": key}).json()
    assert any(s["service_code"] == "400201" and s["group"] == "公共服务" for s in services)
    d = api.client.get("/open311/v2/services/400201.json", params={"api_key": key}).json()
    assert d["service_code"] == "400201" and d["attributes"][0]["code"] == "type"
    assert api.client.get("/open311/v2/services/123456.json", params={"api_key": key}).status_code == 404
    form = {
        "api_key": key,
        "service_code": "400201",
        "description": "小区门口垃圾堆积多日无人清理",
        "lat": "36.61",
        "long": "114.49",
        "address_string": "丛台区人民路",
        "phone": "13812345678",
        "first_name": "三",
        "last_name": "张",
        "device_id": "dev-1",
    }
    r = api.client.post("/open311/v2/requests.json", data=form)
    assert r.status_code == 201, r.text
    sid = r.json()[0]["service_request_id"]
    got = api.client.get(f"/open311/v2/requests/{sid}.json", params={"api_key": key}).json()[0]
    assert got["status"] == "open" and got["service_code"] == "400201" and got["lat"] == pytest.approx(36.61)
    assert got["status_notes"] == "已提交，待受理"
    order = api.get(f"/api/v1/orders/by-number/{sid}").json()
    assert order["channel"] == "app" and order["status"] == "draft" and order["caller_name"] == "张 三"
    assert act(api, order["id"], "accept", "agent").status_code == 200  # the hotline does the 受理
    got = api.client.get(f"/open311/v2/requests/{sid}.json", params={"api_key": key}).json()[0]
    assert got["status"] == "open" and got["status_notes"] == "已受理"
    lst = api.client.get("/open311/v2/requests.json", params={"api_key": key, "service_code": "400201"}).json()
    assert [x["service_request_id"] for x in lst] == [sid]
    assert api.client.get(f"/open311/v2/tokens/{sid}.json", headers=api.h("admin")).json() == [
        {"token": sid, "service_request_id": sid}
    ]
    r = api.client.post("/open311/v2/requests.json", data={"api_key": key, "description": "x"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "service_code"]
    r = api.client.post(
        "/open311/v2/requests.json", data={"api_key": key, "service_code": "400201", "description": "x", "lat": "abc"}
    )
    assert r.status_code == 422
    assert api.client.get("/open311/v2/services.json").status_code == 401
    assert api.client.get("/open311/v2/services.json", params={"api_key": api.tokens["ivr"]}).status_code == 403


# -- upstream push ---------------------------------------------------------------------------------


class Upstream:
    """A small local HTTP server standing in for the province platform."""

    def __init__(self):
        self.received: list[dict] = []
        self.fail_next = 0
        self.seen_ids: set[str] = set()
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if outer.fail_next:
                    outer.fail_next -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                assert self.headers["Idempotency-Key"] == body["event_id"]
                if body["event_id"] not in outer.seen_ids:  # idempotent by event id
                    outer.seen_ids.add(body["event_id"])
                    outer.received.append(body)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_port}/events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def upstream():
    u = Upstream()
    yield u
    u.close()


def test_outbox_push_in_order_retried_idempotent(api, upstream):
    o = new_order(api)
    act(api, o["id"], "dispatch", "dispatcher", {"main_unit": "mzj"})
    new_order(api, title="第二单")
    upstream.fail_next = 1
    r = push_pending(api.store.db, upstream.url)
    assert r["pushed"] == 0 and r["pending"] == 3 and "503" in r["error"]
    r = push_pending(api.store.db, upstream.url, batch=2)
    assert r == {"pushed": 2, "pending": 1, "error": None}
    r = push_pending(api.store.db, upstream.url)
    assert r["pushed"] == 1 and r["pending"] == 0
    seqs = [e["seq"] for e in upstream.received]
    assert seqs == sorted(seqs) and len(seqs) == 3
    assert [e["kind"] for e in upstream.received] == ["order.created", "order.transition", "order.created"]
    assert upstream.received[1]["order"]["status"] == "dispatched"
    assert upstream.received[0]["order"]["caller_phone"] == "13812345678"  # full data upstream (信息共享)
    # a replay (e.g. crash between the upstream's 2xx and our mark) is dropped by event id
    from sqlalchemy import update

    from workorder.models import Outbox

    with api.store.db.write() as s:
        s.execute(update(Outbox).values(pushed_at=None))
    assert push_pending(api.store.db, upstream.url)["pushed"] == 3
    assert len(upstream.received) == 3
    # an unreachable upstream is an error, not an exception, and loses nothing
    upstream_url = upstream.url
    upstream.close()
    new_order(api)
    r = push_pending(api.store.db, upstream_url)
    assert r["pushed"] == 0 and r["pending"] == 1 and r["error"]


def test_jobs_pass_archives_and_pushes(api, upstream):
    from datetime import datetime, timedelta

    from workorder.jobs_cli import one_pass

    clock = {"now": datetime(2026, 11, 23, 2, 0, tzinfo=UTC)}
    api.store.now = lambda: clock["now"]
    o = new_order(api, type="consult")
    act(api, o["id"], "direct_answer", "agent", {"answer": "按知识库答复"})
    assert act(api, o["id"], "evaluate", "agent", {"satisfaction": 1}).json()["status"] == "closed"
    out = one_pass(api.store, upstream.url, archive_after_days=30)
    assert out["archived"] == 0 and out["push"]["pending"] == 0 and len(upstream.received) == 3
    clock["now"] += timedelta(days=31)
    out = one_pass(api.store, upstream.url, archive_after_days=30)
    assert out["archived"] == 1 and out["push"]["pushed"] == 1
    assert upstream.received[-1]["order"]["status"] == "archived"
    h = api.get(f"/api/v1/orders/{o['id']}/history", as_="admin").json()["history"]
    assert h[-1]["action"] == "archive" and h[-1]["role"] == "system"


def test_call_answer_rate_comes_from_the_queues_view(settings, sqlite_url, tmp_path):
    port = free_port()
    st = settings.with_(redis_port=port, instance="wotest")
    assert queue_answer_rate(st)() is None  # no Redis yet: unknown, not an error
    with redis_server(port, tmp_path), redis.Redis(port=port) as r:
        view = {"total": {"today": {"answer_rate": 0.96, "offered": 250}, "last_24h": {"answer_rate": 0.95}}}
        r.set("wotest:queues:view", json.dumps(view))
        assert queue_answer_rate(st)() == {"today": 0.96, "last_24h": 0.95, "offered_today": 250}
        app, store, client = make_api(st, sqlite_url)
        tok = load_secrets(st.secrets_file)["api_tokens"]["supervisor"]
        with client:
            out = client.get("/api/v1/stats", headers={"Authorization": f"Bearer {tok}"}).json()
        assert out["overall"]["call_answer_rate"]["today"] == 0.96

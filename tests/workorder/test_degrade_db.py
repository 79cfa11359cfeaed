"""The database locked or down (issue #15 item 2): the API answers 503 with a JSON body, and
the hand-off of an answered call is retried until it goes through, made once.

The lock is a real one (a second SQLite connection holds the write lock, ``BEGIN IMMEDIATE``)
on the real API served by uvicorn on a loopback port: the hand-off's requests time out while
the lock is held and are retried; once it is released the order is there once.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time

from sqlalchemy import func, select

from tests.loopback import json_app, serve_app
from tests.workorder.conftest import make_api
from workorder.client import OrdersClient
from workorder.handoff_service import Handoff
from workorder.models import Order

EVENT = {
    "Event": "AgentConnect",
    "Channel": "PJSIP/pstn-00000011",
    "DestChannel": "PJSIP/1001-00000012",
    "Uniqueid": "lock-1.11",
    "Linkedid": "lock-1.11",
    "CallerIDNum": "13800138011",
    "Queue": "hotline",
    "MemberName": "1001",
}
FACTS = {"HOTLINE_ORIGIN": "12345", "HOTLINE_MODE": "direct"}  # its HotlineAnswered UserEvent's


def test_database_down_is_a_503_with_a_json_body(settings, tokens, tmp_path, caplog):
    # the database "file" is a directory: SQLite cannot open it, every query fails
    app, store, client = make_api(settings, f"sqlite:///{tmp_path}")
    with caplog.at_level(logging.ERROR, logger="workorder.api"):
        for _ in range(3):
            r = client.get("/api/v1/orders", headers={"Authorization": f"Bearer {tokens['agent']}"})
            assert r.status_code == 503, r.text
            assert r.headers["content-type"] == "application/json"
            body = r.json()
            assert body["reason"] == "database_unavailable" and body["dependency"] == "database"
            assert "retry later" in body["detail"] and r.headers["Retry-After"] == "2"
    outage_lines = [rec for rec in caplog.records if rec.getMessage().startswith("database")]
    assert [rec.getMessage() for rec in outage_lines] == ["database unavailable"]  # once, not per request
    store.db.dispose()


def test_a_locked_database_delays_the_handoff_which_is_retried_and_made_once(settings, tokens, sqlite_url):
    app, store, _ = make_api(settings, sqlite_url)
    lock = sqlite3.connect(sqlite_url.split("///", 1)[1], isolation_level=None, timeout=5, check_same_thread=False)
    lock.execute("BEGIN IMMEDIATE")  # the write lock: every writer of the API waits
    held = 2.5

    def release():
        time.sleep(held)
        lock.execute("ROLLBACK")
        lock.close()

    with serve_app(app) as base:  # the real API, served by uvicorn on a loopback port

        async def go():
            ami = _Recorder()
            client = OrdersClient(base, tokens["calls"], timeout=0.6)
            h = Handoff(client, ami, retry_for=30)
            h.answers.put(EVENT["DestChannel"], FACTS)
            threading.Thread(target=release, daemon=True).start()
            t0 = time.monotonic()
            out = await h.handle(EVENT)
            took = time.monotonic() - t0
            await client.close()
            return out, h, ami.actions, took

        out, h, actions, took = asyncio.run(go())

    assert out is not None, "the hand-off was given up while the database was locked"
    number = out["order"]["number"]
    assert h.retried >= 2 and h.done == 1, (h.retried, h.done)  # timed out under the lock, tried again
    assert took >= held
    with store.db.read() as s:
        n = s.scalar(select(func.count()).select_from(Order).where(Order.linkedid == EVENT["Linkedid"]))
    assert n == 1  # the first (timed-out) request and the retries made one order
    assert [a["Value"] for a in actions] == [number, number]
    store.db.dispose()


def test_a_hand_off_is_given_up_only_after_retry_for():
    calls = []

    def handler(request):
        calls.append(time.monotonic())
        return 503, {"reason": "database_unavailable"}

    async def go(base):
        h = Handoff(OrdersClient(base, "t"), retry_for=1.0)
        h.answers.put(EVENT["DestChannel"], FACTS)
        t0 = time.monotonic()
        out = await h.handle(EVENT)
        return out, time.monotonic() - t0, h

    with serve_app(json_app(handler)) as base:
        out, took, h = asyncio.run(go(base))
    assert out is None and len(calls) >= 3  # 0.25 + 0.5 s of back-off, then the next would pass the second
    assert 0.7 <= took <= 1.5 and h.api.is_down


class _Recorder:
    def __init__(self):
        self.actions = []

    def fire(self, action):  # hotline.ami.LeanManager.fire: sent, its answer not awaited
        self.actions.append(action)
        return True

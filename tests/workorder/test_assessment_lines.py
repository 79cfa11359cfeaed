"""The assessment's 接通率 comes from the call figures' per-line view in a real Redis (written by
``hotline stats``), for the units whose lines keep seats only."""

from __future__ import annotations

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import redis

from hotline.secrets import load_secrets
from tests.loopback import free_port, redis_server
from tests.web.test_assessment import Clock, through_the_loop
from workorder.line_days import days_pass, month_calls

from .conftest import make_api


def test_answer_rate_of_the_units_own_lines_for_the_month(settings, sqlite_url, tmp_path):
    """The jobs' step keeps the call figures' complete days (from the consumer's state in a real Redis);
    the month's report sums them for the units whose lines keep seats."""
    port = free_port()
    st = settings.with_(redis_port=port, instance="astest")
    tz = ZoneInfo("Asia/Shanghai")
    app, store, client = make_api(st, sqlite_url)
    now = datetime(2026, 11, 20, 10, 30, tzinfo=tz).timestamp()
    assert "error" in days_pass(st, store.db, tz, now)  # no Redis: nothing kept, not a crash
    h = int(now // 3600)
    buckets = {
        "line:12313": {
            str(h): {"offered": 5, "answered": 4},  # today
            str(h - 12): {"offered": 30, "answered": 29},  # yesterday 22:xx
            str(h - 40): {"offered": 7, "answered": 1},  # the 18th: partly pruned already, not kept
        },
        "line:12349": {str(h): {"offered": 10, "answered": 5}},
        "*": {str(h): {"offered": 15, "answered": 9}},
    }
    with redis_server(port, tmp_path):
        r = redis.Redis(port=port)
        r.set("astest:queues:state", json.dumps({"v": 1, "figures": {"buckets": buckets}}))
        r.close()
        assert days_pass(st, store.db, tz, now) == {"days": 3}
        # a later pass the same day: today's figures grew and replace the row
        buckets["line:12313"][str(h + 1)] = {"offered": 5, "answered": 5}
        r = redis.Redis(port=port)
        r.set("astest:queues:state", json.dumps({"v": 1, "figures": {"buckets": buckets}}))
        r.close()
        assert days_pass(st, store.db, tz, now + 3600) == {"days": 3}
        assert month_calls(store.db, date(2026, 11, 1), date(2026, 12, 1)) == {"12313": (40, 38), "12349": (10, 5)}
        assert month_calls(store.db, date(2026, 10, 1), date(2026, 11, 1)) == {}
        tok = load_secrets(st.secrets_file)["api_tokens"]["supervisor"]
        with client:
            out = client.get("/api/v1/assessment?month=2026-11", headers={"Authorization": f"Bearer {tok}"})
        assert out.status_code == 200, out.text
        rows = {x["unit"]: x for x in out.json()["rows"]}
        assert rows["ycj"]["answer_rate"] == 0.95  # 设分中心 12313: (30 + 5 + 5) calls, 38 answered
        assert rows["ycj"]["counts"]["calls_offered"] == 40
        assert rows["mzj"]["answer_rate"] is None  # 12349 is 整体并入: 12345 answers it, not the unit
        assert rows["ycj"]["rank"] == 1  # its only indicator this month
        store.db.dispose()


def test_the_month_on_each_database(api):
    """The same figures on SQLite and PostgreSQL (the two classes' ratings are a join of the roll-up)."""
    api.store.now = Clock()
    through_the_loop(api.store, "mzj", "300400", 2)
    through_the_loop(api.store, "cgzf", "400202", 4)  # 执法办案类
    through_the_loop(api.store, "cgzf", "400200", 1)  # 城市管理 itself: an ordinary matter
    r = api.get("/api/v1/assessment?month=2026-11", as_="dispatcher")
    assert r.status_code == 200, r.text
    rows = {x["unit"]: x for x in r.json()["rows"]}
    assert rows["cgzf"]["counts"]["rated"] == 2 and rows["cgzf"]["counts"]["rated_special"] == 1
    assert rows["cgzf"]["satisfaction_rate"] == 1.0 and rows["cgzf"]["special_satisfaction_rate"] == 0.0
    assert (rows["mzj"]["score"], rows["cgzf"]["score"]) == (100.0, 100.0)
    assert rows["cgzf"]["rank"] == rows["mzj"]["rank"] == 1
    assert [x["unit"] for x in r.json()["rows"][:2]] == ["cgzf", "mzj"]  # a tie: more dispatches first
    assert api.get("/api/v1/assessment?month=2026-11", as_="agent").status_code == 403
    assert api.get("/api/v1/assessment?month=11-2026", as_="admin").status_code == 422

"""The analysis over the store (workorder/analysis_service.py) and its route, on a generated
corpus of ~2,000 orders with a planted spike (tests/workorder/analysis_corpus.py): the report
must rank 停水 in 临漳县 first and flag it, and flag none of the controls."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import insert

from hotline.settings import PROJECT_ROOT, Settings
from hotline.transfer_map import load_map_for
from tests.workorder import analysis_corpus as gen
from workorder import analysis
from workorder.analysis_service import HotTopics
from workorder.db import Database
from workorder.models import Order
from workorder.suggest import units_of_map

UNITS = units_of_map(load_map_for(Settings(transfer_map=PROJECT_ROOT / "transfer_map.yaml")))
DISTRICTS = [u for u in UNITS if u.kind == "district"]
UNTIL_Q = "until=2026-12-01T00:00:00%2B08:00"


@pytest.fixture(scope="module")
def rows():
    return gen.corpus(DISTRICTS)


@pytest.fixture
def loaded(db_url, rows):
    db = Database(db_url)
    gen.load(db, rows)
    yield db
    db.dispose()


def test_the_planted_spike_is_ranked_first_and_flagged_the_controls_are_not(loaded, rows):
    h = HotTopics(loaded, UNITS)
    t0 = time.perf_counter()
    r = h.report(gen.UNTIL, 7)
    first_s = time.perf_counter() - t0
    assert r["sample"] == 1 and r["orders"]["current"] + r["orders"]["previous"] == len(rows) >= 2000
    top = r["rising"][0]
    assert (top["term"], top["area"], top["spike"]) == (gen.SPIKE_TERM, gen.SPIKE_AREA, True)
    assert top["current"] >= gen.SPIKE_ORDERS and top["previous"] <= 4 and top["ratio"] > 5
    assert top["p_value"] < analysis.ALPHA and any(gen.SPIKE_TERM in p for p in top["phrases"])
    flagged = {(t["term"], t["area"]) for t in r["rising"]}
    for control in [(gen.CONTROL_TERM, gen.SPIKE_AREA), (gen.CITY_CONTROL, analysis.ALL), (gen.FEW_TERM, gen.FEW_AREA)]:
        assert control not in flagged
    assert len(r["rising"]) <= 3, r["rising"]  # the spike's own words at most, nothing from the noise
    # the control rose city-wide, but by a quarter
    lamp = next(t for t in r["terms"] if t["term"] == gen.CITY_CONTROL)
    assert 1.05 < lamp["ratio"] < 1.6 and not lamp["spike"]
    # the county's own report: the spike first, the steady word beside it not flagged
    county = h.report(gen.UNTIL, 7, gen.SPIKE_AREA)
    assert county["rising"][0]["term"] == gen.SPIKE_TERM
    assert gen.SPIKE_TERM in [t["term"] for t in county["terms"][:3]]
    heat = next(t for t in county["terms"] if t["term"] == gen.CONTROL_TERM)
    assert heat["current"] >= gen.CONTROL_ORDERS and heat["previous"] >= gen.CONTROL_ORDERS and not heat["spike"]
    few = next(t for t in h.report(gen.UNTIL, 7, gen.FEW_AREA)["terms"] if t["term"] == gen.FEW_TERM)
    assert (few["current"], few["previous"], few["spike"]) == (7, 3, False)
    # the county's orders are the most of any area now (the spike)
    assert r["areas"][0]["area"] == gen.SPIKE_AREA
    # segmented once: the second report reads the cache
    t0 = time.perf_counter()
    assert h.report(gen.UNTIL, 7)["rising"][0]["term"] == gen.SPIKE_TERM
    assert time.perf_counter() - t0 < first_s and len(h._cache) == len(rows)


def test_a_busy_window_is_sampled_by_id_and_says_so(loaded, rows):
    h = HotTopics(loaded, UNITS, max_orders=500)
    r = h.report(gen.UNTIL, 7)
    step = r["sample"]
    assert step == -(-len(rows) // 500) and 400 <= r["orders"]["current"] + r["orders"]["previous"] <= 500


def test_drafts_and_other_periods_are_not_counted(loaded):
    h = HotTopics(loaded, UNITS)
    before = h.report(gen.UNTIL, 7)["orders"]
    with loaded.write() as s:
        s.execute(
            insert(Order.__table__),
            [{"number": "D0000000000001", "origin": "12345", "status": "draft", "content": "停水", "version": 1}],
        )
    assert h.report(gen.UNTIL, 7)["orders"] == before
    assert h.report(gen.UNTIL - timedelta(days=30), 7)["orders"] == {"current": 0, "previous": 0}


def test_the_route_is_for_supervisors_and_admins(sqlite_api, rows):
    gen.load(sqlite_api.store.db, rows)
    for role in ("supervisor", "admin"):
        r = sqlite_api.get(f"/api/v1/analysis/hot-topics?days=7&{UNTIL_Q}", as_=role)
        assert r.status_code == 200
        assert r.json()["rising"][0]["term"] == gen.SPIKE_TERM and r.json()["area_names"][gen.SPIKE_AREA] == "临漳县"
    for role in ("agent", "dispatcher", "department", "ivr"):
        assert sqlite_api.get("/api/v1/analysis/hot-topics", as_=role).status_code == 403
    assert sqlite_api.client.get("/api/v1/analysis/hot-topics").status_code == 401
    r = sqlite_api.get(f"/api/v1/analysis/hot-topics?area={gen.SPIKE_AREA}&{UNTIL_Q}", as_="supervisor")
    assert r.json()["area"] == gen.SPIKE_AREA and r.json()["rising"][0]["area"] == gen.SPIKE_AREA
    # bad queries: a clear 422 naming the field, nothing else happens
    bad = sqlite_api.get("/api/v1/analysis/hot-topics?area=mzj", as_="admin")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "area"]
    assert "mzj" in bad.json()["detail"][0]["msg"]
    r = sqlite_api.get("/api/v1/analysis/hot-topics?days=30&until=0001-01-02T00:00:00Z", as_="admin")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "until"]
    for q in ("days=0", f"days={analysis.MAX_DAYS + 1}", "area=Bad!", "until=yesterday"):
        r = sqlite_api.get(f"/api/v1/analysis/hot-topics?{q}", as_="admin")
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][0] == "query", q

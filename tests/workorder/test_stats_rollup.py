"""The statistics from the roll-up (SQL over stats_facts) equal the figures computed the old way
(every record of the period decoded and looped over in Python: ``compute_from_records``), on
orders driven through the real store with a moving clock, on SQLite and PostgreSQL, for
periods that start and end while orders are open; and on the bench seeder's store."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from hotline.auth import Principal
from workorder import stats
from workorder.db import Database
from workorder.models import StatsFact
from workorder.service import Store

UNITS = ["mzj", "wjw", "gjj", "jtj", "zjj"]
HOTLINE = Principal("agent7", "agent")
DISPATCHER = Principal("paidan", "dispatcher")
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


class Clock:
    def __init__(self, rnd: random.Random):
        self.t, self.rnd = T0, rnd

    def __call__(self) -> datetime:
        self.t += timedelta(minutes=self.rnd.randint(1, 600))
        return self.t


def _act(store, oid, action, p, payload=None) -> dict | None:
    try:
        return store.transition(oid, action, payload or {}, p)
    except Exception:  # a step the rules refuse now: the loop goes on
        return None


def drive(store: Store, rnd: random.Random, n: int) -> None:
    """``n`` orders through the loop, interleaved, every branch that writes a counted record."""
    live: list[int] = []
    for _ in range(n):
        o = store.create(
            {"type": rnd.choice(["complaint", "consult", "help"]), "title": "噪音", "content": "扰民"}, HOTLINE
        )
        if rnd.random() < 0.15:
            _act(store, o["id"], "direct_answer", HOTLINE, {"answer": "按知识库答复"})
            continue
        _act(store, o["id"], "accept", HOTLINE)
        co = rnd.sample(UNITS, rnd.choice([0, 0, 1]))
        main = rnd.choice([u for u in UNITS if u not in co])
        _act(store, o["id"], "dispatch", DISPATCHER, {"main_unit": main, "co_units": co})
        live.append(o["id"])
        for oid in rnd.sample(live, min(len(live), 3)):  # others move on meanwhile
            step(store, rnd, oid)
    for _ in range(12):
        for oid in live:
            step(store, rnd, oid)


def step(store: Store, rnd: random.Random, oid: int) -> None:
    o = store.get(oid, DISPATCHER)
    unit = Principal(f"unit-{o['main_unit']}", "department", o["main_unit"])
    st, r = o["status"], rnd.random()
    if st == "dispatched":
        if r < 0.1:
            _act(store, oid, "return", unit, {"reason": "非本单位"})
        elif r < 0.9:
            _act(store, oid, "sign", unit)
    elif st == "return_review":
        if r < 0.5:
            _act(store, oid, "review_return", DISPATCHER, {"decision": "refuse"})
        else:
            other = rnd.choice([u for u in UNITS if u != o["main_unit"]])
            _act(store, oid, "review_return", DISPATCHER, {"decision": "redispatch", "main_unit": other})
    elif st == "handling":
        if r < 0.15 and not o.get("extension_pending"):
            _act(store, oid, "request_extension", unit, {"reason": "需协调", "extra": "3 working_days"})
        elif r < 0.3:
            d = "approve" if rnd.random() < 0.7 else "refuse"
            _act(store, oid, "decide_extension", DISPATCHER, {"decision": d})
        elif r < 0.4:
            _act(store, oid, "return", unit, {"reason": "非本单位"})
        else:
            _act(store, oid, "reply", unit, {"content": "已处理"})
    elif st == "replied":
        d = "accept" if r < 0.8 else "send_back"
        _act(store, oid, "review_reply", DISPATCHER, {"decision": d})
    elif st == "callback":
        resolved = rnd.choice([True, False, None])
        _act(store, oid, "callback", HOTLINE, {"reached": r < 0.8, "resolved": resolved})
    elif st == "evaluation":
        score = rnd.randint(1, 5)
        _act(store, oid, "evaluate", HOTLINE, {"satisfaction": score, "unit_at_fault": score >= 4})


def periods(db: Database, rnd: random.Random) -> list[tuple[datetime, datetime, datetime]]:
    with db.read() as s:
        ats = sorted(s.scalars(select(StatsFact.at)))
    lo, hi = ats[0], ats[-1]
    out = [(lo - timedelta(days=1), hi + timedelta(days=1), hi + timedelta(days=2))]
    for _ in range(14):  # boundaries inside the run: rounds open at since and at until
        a, b = sorted(rnd.sample(ats, 2))
        now = b + timedelta(hours=rnd.choice([0, 5, 48, 400]))
        out.append(
            (a + timedelta(microseconds=rnd.choice([0, 1])), b + timedelta(microseconds=rnd.choice([0, 1])), now)
        )
    return out


def assert_same(db: Database, rnd: random.Random) -> int:
    checked = 0
    for since, until, now in periods(db, rnd):
        old = stats.compute_from_records(db, since, until, now)
        new = stats.compute(db, since, until, now)
        assert new == old, (since, until, now)
        assert stats.ranking(new) == stats.ranking(old)
        checked += bool(old["departments"])
    return checked


def _facts(db: Database) -> list[tuple]:
    with db.read() as s:
        return [tuple(r) for r in s.execute(select(StatsFact.__table__).order_by(StatsFact.record_id))]


def test_rollup_equals_records_through_the_store(db_url):
    rnd = random.Random(7)
    store = Store(Database(db_url))
    store.now = Clock(rnd)
    try:
        drive(store, rnd, 160)
        kept = _facts(store.db)
        kinds = {k for _r, _o, _n, k, *_ in kept}
        assert {"md", "ret", "rev", "cb", "eval", "reo"} <= kinds  # every kind of contribution is exercised
        assert assert_same(store.db, rnd) >= 10
        # the facts the writes kept are the ones a rebuild makes
        with store.db.write() as s:
            stats.rebuild(s.connection())
        assert _facts(store.db) == kept
    finally:
        store.db.dispose()


def test_rollup_equals_records_on_the_bench_store(tmp_path):
    from bench.seed_orders import generate
    from workorder.migrate import upgrade

    path = tmp_path / "bench.db"
    upgrade(f"sqlite:///{path}")
    generate(path, 3000, now=datetime.now(UTC).replace(microsecond=0))
    db = Database(f"sqlite:///{path}")
    try:
        with db.write() as s:
            assert stats.rebuild(s.connection()) > 3000
        assert assert_same(db, random.Random(3)) >= 10
        now = datetime.now(UTC)
        since, until = now - timedelta(days=30), now  # the page's default period
        assert stats.compute(db, since, until, now) == stats.compute_from_records(db, since, until, now)
    finally:
        db.dispose()


@pytest.mark.parametrize("kind", ["sign", "reply"])
def test_a_round_open_at_the_end_of_the_period_is_settled_from_its_records(db_url, kind):
    rnd = random.Random(1)
    store = Store(Database(db_url))
    store.now = Clock(rnd)
    try:
        o = store.create({"type": "complaint", "title": "噪音", "content": "扰民"}, HOTLINE)
        store.transition(o["id"], "accept", {}, HOTLINE)
        store.transition(o["id"], "dispatch", {"main_unit": "mzj", "co_units": []}, DISPATCHER)
        unit = Principal("unit-mzj", "department", "mzj")
        cut = store.now()
        store.transition(o["id"], "sign", {}, unit)
        if kind == "reply":
            cut = store.now()
            store.transition(o["id"], "reply", {"content": "已处理"}, unit)
        for now in (cut, cut + timedelta(days=60)):
            new = stats.compute(store.db, T0, cut, now)
            assert new == stats.compute_from_records(store.db, T0, cut, now)
            assert new["departments"]["mzj"]["received"] == 1
    finally:
        store.db.dispose()

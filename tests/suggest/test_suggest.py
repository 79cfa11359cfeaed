"""Dispatch suggestions: the ranking (pure), its accuracy floor on the held-out complaints,
the bounded roll-up of past orders, and the API route (which never dispatches)."""

from __future__ import annotations

from sqlalchemy import func, insert, select

from tests.suggest import evalset
from workorder import suggest
from workorder.models import Order

UNITS = evalset.units()
CATS, KEYWORDS = evalset.categories()


def rank(text, rollup=None):
    us = suggest.rank_units(text, UNITS, (), rollup)
    return us, suggest.rank_categories(text, CATS, KEYWORDS, us, rollup)


def test_every_handling_unit_has_duties_and_every_district_places():
    for u in UNITS:
        if u.code != "others":
            assert u.duties, u.code
        if u.kind == "district":
            assert u.places, u.code


def test_the_held_out_complaints_cover_every_unit_and_keep_the_accuracy_floor():
    held = evalset.complaints("heldout")
    assert len(held) >= 100
    assert {u.code for u in UNITS} - {c["unit"] for c in held} == {"others"}
    units, cats = evalset.evaluate(held, rank)
    top1, top3 = units.rates()
    # measured 0.926 / 0.959 (duties + places, no KB, no past orders): a regression fails here
    assert top1 >= 0.85, units.misses
    assert top3 >= 0.90, units.misses
    assert cats.rates()[1] >= 0.6


def test_a_place_names_the_district_only_for_a_local_matter():
    assert rank("永年区临洺关镇我们村的路灯坏了一个月没人修")[0][0].code == "yongnian"
    # a department matter from a caller who says where he lives: the place weighs as much as
    # the duties (weights chosen on the tuning split), so both are offered for the agent to pick
    assert "gjj" in [u.code for u in rank("我在永年区上班，单位的公积金想提出来付房租")[0][:3]]
    top = rank("小区门口的垃圾堆了好几天没人清")[0][0]
    assert top.code == "cgzf"  # no place: no district guessed first


def test_the_longer_place_holds_its_spot():
    found = suggest.places_in("冀南新区马头镇的路", UNITS)
    assert found == {"jinan": ["冀南新区", "马头镇"]}


def test_each_suggestion_says_why():
    (u, *_), (c, *_) = rank("单位一直不给我们交公积金")
    assert u.code == "gjj" and any(w.startswith("职责：") for w in u.why)
    assert c.code == "400100"


def test_past_orders_teach_a_unit_new_words():
    text = "小区的二次供水水箱好久没清洗了"
    roll = suggest.Rollup.of([("二次供水水箱脏了没人清洗", "fuxing", "400400")] * 3)
    got = suggest.rank_units(text, UNITS, (), roll, weights={"duties": 0, "kb": 0, "past": 1, "place": 0})
    assert got and got[0].code == "fuxing" and any("历史工单" in w for w in got[0].why)


def test_the_roll_up_reads_a_bounded_window(sqlite_api):
    db = sqlite_api.store.db
    with db.write() as s:
        rows = [
            dict(
                number=f"T{i:06d}", origin="12345", content="二次供水水箱脏", main_unit="fuxing", category_code="400400"
            )
            for i in range(30)
        ]
        s.execute(insert(Order), rows)
    sg = suggest.Suggester(db, UNITS, CATS, KEYWORDS, window=10)
    r = sg.rollup()
    assert r is not None and r.orders == 10 and r.unit_orders["fuxing"] == 10


def test_the_route_suggests_and_never_dispatches(sqlite_api):
    def count():
        with sqlite_api.store.db.read() as s:
            return s.scalar(select(func.count()).select_from(Order))

    before = count()
    r = sqlite_api.post("/api/v1/orders/suggest", json={"content": "出租车司机绕路还不打表"}, as_="agent")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["units"][0]["code"] == "jtj" and 1 <= len(body["units"]) <= 3
    assert body["categories"][0]["code"] == "400300"
    assert count() == before
    assert sqlite_api.post("/api/v1/orders/suggest", json={"content": "x"}, as_="department").status_code == 403
    assert sqlite_api.post("/api/v1/orders/suggest", json={"content": ""}, as_="agent").status_code == 422
    assert sqlite_api.post("/api/v1/orders/suggest", json={"text": "公积金"}, as_="agent").status_code == 422

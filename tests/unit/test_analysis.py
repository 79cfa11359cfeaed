"""The analysis method (workorder/analysis.py): words and phrases, the area, the periods, the
comparison and the spike rule with its numbers, the report over hand-made orders."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest

from workorder import analysis as an
from workorder.analysis import Doc, Places
from workorder.suggest import Unit

LINZHANG = Unit("linzhang", "临漳县人民政府", "district", places=("临漳县", "临漳", "柳园镇"))
DAMING = Unit("daming", "大名县人民政府", "district", places=("大名县", "大名", "大名镇"))
PLACES = Places([LINZHANG, DAMING])
UNTIL = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)


def test_words_and_phrases_of_an_order():
    terms, phrases = an.extract("临漳县柳园镇幸福小区停水三天了，暖气也不热，反映了好几次没人管！停水", PLACES)
    assert "停水" in terms and "供暖" in terms  # 暖气 is read as 供暖 (kb_synonyms.txt)
    assert "三天" in terms and "幸福" in terms and "小区" in terms
    assert not {"临漳县", "临漳", "柳园镇", "柳园"} & terms  # the area is its own dimension
    assert not {"反映", "没人管", "好几"} & terms  # how a complaint is told
    assert all(len(t) >= 2 for t in terms)
    assert "小区 停水" in phrases and "停水 三天" in phrases
    assert not any(p.startswith("三天 ") and p.endswith(" 供暖") for p in phrases)  # a comma ends a clause


def test_numbers_and_single_characters_are_no_words():
    terms, _ = an.extract("电话13800138000，2026年，住在3号楼")
    assert not any(t.isdigit() for t in terms) and all(len(t) >= 2 for t in terms)


def test_area_main_unit_then_district_field_then_address_then_content():
    text = "大名县大名镇的路灯坏了"
    assert an.area_of("linzhang", None, None, text, PLACES) == "linzhang"  # dispatched to the county
    assert an.area_of("mzj", None, None, text, PLACES) == "daming"  # a city department: the place
    assert an.area_of(None, "临漳县", "大名县", text, PLACES) == "linzhang"
    assert an.area_of(None, None, "大名县大名镇", "临漳的亲戚", PLACES) == "daming"
    assert an.area_of(None, None, None, "临漳县柳园镇和大名县的路", PLACES) == "linzhang"  # names more
    assert an.area_of(None, None, None, "公积金提取要什么材料", PLACES) is None


def test_periods_are_back_to_back_and_bounded():
    cur, prev = an.periods(UNTIL, 7)
    assert cur.until == UNTIL and cur.since == UNTIL - timedelta(days=7) == prev.until
    assert prev.since == UNTIL - timedelta(days=14)
    assert UNTIL - timedelta(days=7) in cur and UNTIL not in cur
    for bad in (0, an.MAX_DAYS + 1):
        with pytest.raises(ValueError):
            an.periods(UNTIL, bad)
    with pytest.raises(ValueError, match="no room"):
        an.periods(datetime(1, 1, 2, tzinfo=UTC), 7)
    with pytest.raises(ValueError, match="no room"):  # UTC, as the store keeps it, is past year 9999
        an.periods(datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-14))), 1)


def test_binomial_tail():
    assert an.log10_tail(0, 5, 0.5) == 0.0
    assert an.log10_tail(3, 3, 0.5) == pytest.approx(math.log10(1 / 8))
    assert an.log10_tail(2, 3, 0.5) == pytest.approx(math.log10(4 / 8))
    assert an.log10_tail(4, 3, 0.5) == -math.inf
    assert an.log10_tail(600, 1000, 0.5) < -9  # large counts stay finite (log space)


def test_the_spike_rule_and_its_numbers():
    assert (an.MIN_COUNT, an.MIN_RATIO, an.ALPHA) == (8, 2.0, 1e-4)
    t = an.judge(26, 2, 1070, 1020)
    assert t.spike and t.ratio == pytest.approx(12.39, abs=0.01) and t.log10_p < math.log10(an.ALPHA)
    # a new word at equal volumes: all c in the current period, p = 2^-c; 14 orders pass, 13 do not
    assert an.judge(14, 0, 1000, 1000).spike and not an.judge(13, 0, 1000, 1000).spike
    # too few: a quiet current period (a share of 0.23) lets 7 orders pass the test, not the count
    assert an.judge(7, 0, 300, 1000).log10_p < math.log10(an.ALPHA)
    assert not an.judge(7, 0, 300, 1000).spike and an.judge(8, 0, 300, 1000).spike
    # significant but less than double: a common word up by half
    t = an.judge(300, 200, 1000, 1000)
    assert t.log10_p < -5 and t.ratio == pytest.approx(1.5) and not t.spike
    # doubled but not significant
    t = an.judge(10, 5, 1000, 1000)
    assert t.ratio == pytest.approx(2.0) and t.log10_p > math.log10(an.ALPHA) and not t.spike
    # a busier period is no rise: twice the orders, twice the word
    assert not an.judge(40, 20, 2000, 1000).spike and an.judge(40, 20, 2000, 1000).ratio == pytest.approx(1.0)
    # no baseline: nothing compared
    assert an.judge(30, 0, 500, 0) == an.Trend(None, None, False)


def docs(term: str, area: str | None, n: int, since: datetime, days: int = 7) -> list[Doc]:
    step = timedelta(days=days) / n
    return [Doc(since + i * step, area, frozenset({term, "小区"}), frozenset({f"小区 {term}"})) for i in range(n)]


def corpus() -> list[Doc]:
    cur, prev = an.periods(UNTIL, 7)
    out = []
    for since, water, heat in ((prev.since, 2, 15), (cur.since, 26, 15)):
        out += docs("停水", "linzhang", water, since)
        out += docs("供暖", "linzhang", heat, since)  # steady
        out += docs("路灯", None, 100, since)
        out += docs("电梯", "daming", 3 if since == prev.since else 7, since)
    out += docs("停水", "linzhang", 50, prev.since - timedelta(days=7))  # before both periods: not counted
    return out


def test_report_ranks_the_spike_first_and_flags_nothing_else():
    r = an.report(corpus(), UNTIL, 7)
    assert r["orders"] == {"current": 15 + 26 + 100 + 7, "previous": 2 + 15 + 100 + 3}
    first = r["rising"][0]
    assert (first["term"], first["area"], first["current"], first["previous"]) == ("停水", "linzhang", 26, 2)
    assert first["spike"] and first["phrases"] == ["小区 停水"]
    flagged = {(t["term"], t["area"]) for t in r["rising"]}
    assert ("停水", an.ALL) in flagged  # the city's count is the county's here: listed after it
    assert not {("供暖", "linzhang"), ("电梯", "daming"), ("路灯", an.ALL)} & flagged
    assert r["terms"][0]["term"] == "小区" and r["terms"][0]["current"] == 148
    assert {a["area"]: (a["current"], a["previous"]) for a in r["areas"]} == {"linzhang": (41, 17), "daming": (7, 3)}
    # the chart: a bin per day over both weeks, the spike's orders all in the second
    assert len(r["bins"]) == 14 and r["series"][0]["term"] == "停水"
    assert sum(r["series"][0]["counts"][7:]) == 26 and sum(r["series"][0]["counts"][:7]) == 2


def test_report_of_one_area():
    r = an.report(corpus(), UNTIL, 7, "linzhang")
    assert r["orders"] == {"current": 41, "previous": 17}
    assert [(t["term"], t["area"]) for t in r["rising"]] == [("停水", "linzhang")]
    heat = next(t for t in r["terms"] if t["term"] == "供暖")
    assert (heat["current"], heat["previous"], heat["spike"]) == (15, 15, False)
    assert an.report(corpus(), UNTIL, 7, "nowhere")["orders"] == {"current": 0, "previous": 0}


def test_below_a_week_twelve_bins_a_period():
    cur, prev = an.periods(UNTIL, 1)
    assert an.bins(cur, prev, 1) == [prev.since + timedelta(hours=2 * i) for i in range(24)]
    cur, prev = an.periods(UNTIL, 3)
    assert an.bins(cur, prev, 3)[1] - an.bins(cur, prev, 3)[0] == timedelta(hours=6)
    assert len(an.bins(cur, prev, 3)) == 24

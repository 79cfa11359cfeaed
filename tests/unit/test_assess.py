"""The monthly assessment's indicators and ranking (workorder/assess.py): a worked example, figure by figure.

docs/workorder.md "Assessment" carries the same example."""

from __future__ import annotations

from datetime import date

import pytest

from hotline.settings import PROJECT_ROOT
from hotline.transfer_map import load_map
from workorder.assess import INDICATORS, UnitCounts, indicators, month_of, next_month, public_rows, rank, score
from workorder.assess_data import seat_lines, unit_counts

# A: a unit with its own seats (接通率); 2 of its 6 ratings are 行政调解类/执法办案类 matters
A = UnitCounts(
    "a",
    main_dispatches=10,
    signed_on_time=8,
    due=8,
    on_time=6,
    returns=1,
    reopened=1,
    resolution_known=5,
    resolved=4,
    rated=6,
    satisfied=5,
    rated_special=2,
    satisfied_special=1,
    calls_offered=200,
    calls_answered=190,
    keeps_seats=True,
)
B = UnitCounts(
    "b", main_dispatches=4, signed_on_time=4, due=4, on_time=4, resolution_known=2, resolved=1, rated=4, satisfied=2
)
# C handles only enforcement matters: every rating dissatisfied, but it is not ranked on them
C = UnitCounts("c", main_dispatches=2, signed_on_time=2, due=2, on_time=2, rated=3, rated_special=3)
D = UnitCounts("d")  # nothing this month
E = UnitCounts(**{**B.__dict__, "unit": "e"})  # the same figures as B


def test_each_indicator_by_its_formula():
    assert indicators(A) == {
        "answer_rate": 0.95,  # 190 / 200
        "timely_sign_rate": 0.8,  # 8 / 10
        "on_time_rate": 0.75,  # 6 / 8
        "resolution_rate": 0.8,  # 4 / 5
        "satisfaction_rate": 1.0,  # (5 - 1) / (6 - 2): the two classes left out
        "return_rate": 0.1,  # 1 / 10
        "reopen_rate": 0.1,  # 1 / 10
        "special_satisfaction_rate": 0.5,  # 1 / 2, shown apart
    }
    b = indicators(B)
    assert b["answer_rate"] is None  # no line of its own
    assert (b["satisfaction_rate"], b["resolution_rate"], b["return_rate"]) == (0.5, 0.5, 0.0)
    c = indicators(C)
    assert c["satisfaction_rate"] is None and c["special_satisfaction_rate"] == 0.0
    assert all(v is None for v in indicators(D).values())


def test_the_score_is_100_times_the_mean_of_the_higher_is_better_terms():
    # A: (0.95 + 0.8 + 0.75 + 0.8 + 1.0 + (1 - 0.1) + (1 - 0.1)) / 7 = 6.1 / 7
    assert score(indicators(A)) == 87.14
    # B: (1 + 1 + 0.5 + 0.5 + 1 + 1) / 6
    assert score(indicators(B)) == 83.33
    # C: (1 + 1 + 1 + 1) / 4 -- with its enforcement ratings it would be (4 + 0) / 5 = 80
    assert score(indicators(C)) == 100.0
    assert score(indicators(D)) is None


def test_ranked_by_score_ties_share_a_rank_units_without_figures_last():
    rows = rank([D, E, B, A, C], {"a": "市甲局", "c": "市丙局"})
    assert [(r["unit"], r["rank"], r["score"]) for r in rows] == [
        ("c", 1, 100.0),
        ("a", 2, 87.14),
        ("b", 3, 83.33),
        ("e", 3, 83.33),
        ("d", None, None),
    ]
    assert rows[0]["name"] == "市丙局" and rows[2]["name"] == "b"
    assert rows[1]["counts"]["calls_offered"] == 200
    pub = public_rows(rows)
    assert set(pub[0]) == {"rank", "name", "score", *(i.key for i in INDICATORS)}  # no counts, no codes


def test_months():
    assert month_of("2026-11") == date(2026, 11, 1)
    assert next_month(date(2026, 12, 1)) == date(2027, 1, 1)
    for bad in ("2026-13", "2026-1", "11-2026", "x"):
        with pytest.raises(ValueError, match="YYYY-MM"):
            month_of(bad)


def test_units_with_their_own_seats_are_those_of_the_map():
    lines = seat_lines(load_map(PROJECT_ROOT / "transfer_map.yaml"), date(2026, 11, 1))
    assert lines["ycj"] == ["12313"]  # 设分中心
    assert "12350" in lines["yjj"]  # 双号并行, seats kept for now
    assert "gjj" not in lines  # 12329: 双号并行 with the seats cancelled


def test_unit_counts_from_the_statistics():
    figures = {"departments": {"yjj": {"counts": {"main_dispatches": 3, "signed_on_time": 2, "rated": 2}}}}
    rows = unit_counts(figures, {"yjj": (1, 1)}, {"yjj": ["12350"]}, {"12350": (10, 9)}, ["mzj", "yjj"])
    assert [r.unit for r in rows] == ["mzj", "yjj"]
    yjj = rows[1]
    assert (yjj.main_dispatches, yjj.signed_on_time, yjj.rated, yjj.rated_special, yjj.satisfied_special) == (
        3,
        2,
        2,
        1,
        1,
    )
    assert (yjj.calls_offered, yjj.calls_answered, yjj.keeps_seats) == (10, 9, True)
    assert rows[0] == UnitCounts("mzj")

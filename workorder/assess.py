"""绩效管理: the monthly assessment of the handling units, pure (Shanxi plan 三(六), Handan plan 二(二)6).

One plain row of counts per unit and month (:class:`UnitCounts`, from the statistics' roll-up,
workorder/stats.py, and the line figures, queues/stats_calls.py) gives each indicator by its
formula (``INDICATORS``; docs/workorder.md "Assessment"):

* 接通率 ``answer_rate`` = calls answered / calls offered on the unit's own lines that keep seats
  (双号并行 with seats kept, 设分中心); units without such a line have none;
* 按时签收率 ``timely_sign_rate`` = main dispatches signed by the sign-in deadline / main dispatches;
* 按时办结率 ``on_time_rate`` = main dispatches replied by the handling deadline (after approved
  extensions) / main dispatches replied or past their deadline;
* 问题解决率 ``resolution_rate`` = callbacks that found the matter resolved / callbacks that say;
* 满意率 ``satisfaction_rate`` = ratings 1-3 (非常满意/满意/基本满意) / ratings, **without** the ratings
  of 行政调解类 and 执法办案类 matters (categories.yaml ``assessment:``): those are shown apart
  (``special_satisfaction_rate``) and do not count in the score ("不片面追求满意率");
* 退单率 ``return_rate`` = returns requested / main dispatches;
* 重办率 ``reopen_rate`` = rounds reopened (dissatisfied, unit at fault) / main dispatches.

Score (综合得分) = the mean of the indicators the unit has, each as "higher is better"
(v, or 1 - v for 退单率 and 重办率), times 100, to 2 decimals.  Ranked by score (ties share a
rank), then by main dispatches; units with no indicator are listed last, unranked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True)
class Indicator:
    key: str
    label: str
    formula: str
    higher_is_better: bool = True


INDICATORS: tuple[Indicator, ...] = (
    Indicator("answer_rate", "接通率", "保留坐席的本单位热线：接通的来电 ÷ 呼入的来电"),
    Indicator("timely_sign_rate", "按时签收率", "签收时限内签收的主办派单 ÷ 主办派单"),
    Indicator("on_time_rate", "按时办结率", "办理时限内（含批准的延期）答复的主办派单 ÷ 已答复或已超期的主办派单"),
    Indicator("resolution_rate", "问题解决率", "回访核实已解决的 ÷ 回访中说明是否解决的"),
    Indicator(
        "satisfaction_rate", "满意率", "非常满意、满意、基本满意的评价 ÷ 全部评价（行政调解类、执法办案类事项除外）"
    ),
    Indicator("return_rate", "退单率", "申请退单 ÷ 主办派单", higher_is_better=False),
    Indicator("reopen_rate", "重办率", "不满意且责任在单位而重办的轮次 ÷ 主办派单", higher_is_better=False),
)
SPECIAL = Indicator(
    "special_satisfaction_rate",
    "行政调解类/执法办案类满意率",
    "这两类事项的满意评价 ÷ 这两类事项的评价（仅列示，不计入得分）",
)


@dataclass(frozen=True)
class UnitCounts:
    """One unit's counts for one month (plain data)."""

    unit: str
    main_dispatches: int = 0
    signed_on_time: int = 0
    due: int = 0  # main dispatches replied or past their handling deadline
    on_time: int = 0
    returns: int = 0
    reopened: int = 0
    resolution_known: int = 0
    resolved: int = 0
    rated: int = 0  # every rating of the unit's orders (the two classes included)
    satisfied: int = 0
    rated_special: int = 0  # ratings of 行政调解类 / 执法办案类 matters
    satisfied_special: int = 0
    calls_offered: int = 0  # on its lines that keep seats
    calls_answered: int = 0
    keeps_seats: bool = False


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b > 0 else None


def indicators(c: UnitCounts) -> dict[str, float | None]:
    """Each indicator of ``c`` by its formula (None: nothing to measure)."""
    return {
        "answer_rate": _ratio(c.calls_answered, c.calls_offered) if c.keeps_seats else None,
        "timely_sign_rate": _ratio(c.signed_on_time, c.main_dispatches),
        "on_time_rate": _ratio(c.on_time, c.due),
        "resolution_rate": _ratio(c.resolved, c.resolution_known),
        "satisfaction_rate": _ratio(c.satisfied - c.satisfied_special, c.rated - c.rated_special),
        "return_rate": _ratio(c.returns, c.main_dispatches),
        "reopen_rate": _ratio(c.reopened, c.main_dispatches),
        "special_satisfaction_rate": _ratio(c.satisfied_special, c.rated_special),
    }


def score(values: dict[str, float | None]) -> float | None:
    """综合得分: 100 x the mean of the unit's indicators, each as higher-is-better."""
    terms = [v if ind.higher_is_better else 1 - v for ind in INDICATORS if (v := values.get(ind.key)) is not None]
    return round(100 * sum(terms) / len(terms), 2) if terms else None


Row = dict[str, Any]


def rank(units: Iterable[UnitCounts], names: dict[str, str] | None = None) -> list[Row]:
    """The ranked rows: unit, name, rank (None: unranked), score, every indicator and the counts."""
    names = names or {}
    scored: list[tuple[float | None, UnitCounts, dict[str, float | None]]] = []
    for c in units:
        values = indicators(c)
        scored.append((score(values), c, values))
    scored.sort(key=lambda t: (t[0] is None, -(t[0] or 0), -t[1].main_dispatches, t[1].unit))
    rows: list[Row] = []
    prev: float | None = None
    place = 0
    for i, (sc, c, values) in enumerate(scored, 1):
        if sc is not None and sc != prev:
            place, prev = i, sc
        rows.append(
            {
                "unit": c.unit,
                "name": names.get(c.unit, c.unit),
                "rank": place if sc is not None else None,
                "score": sc,
                **values,
                "counts": asdict(c),
            }
        )
    return rows


def month_of(text: str) -> date:
    """``YYYY-MM`` -> the month's first day; ValueError otherwise."""
    try:
        y, m = text.split("-")
        if len(y) != 4 or len(m) != 2:
            raise ValueError
        return date(int(y), int(m), 1)
    except ValueError:
        raise ValueError(f"month {text!r}: write YYYY-MM, e.g. 2026-11") from None


def next_month(d: date) -> date:
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


def public_rows(rows: list[Row]) -> list[Row]:
    """The ranking for the public page: unit names, ranks, scores and indicators only."""
    keys = ("rank", "name", "score", *(i.key for i in INDICATORS))
    return [{k: r[k] for k in keys} for r in rows]

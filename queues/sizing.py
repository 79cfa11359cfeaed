"""Seat sizing: the Handan rule, checked with Erlang C and Erlang A.  Pure, no I/O.

The rule (Handan plan, 002, section 二(二)1 健全热线管理体系): "可按照1坐席服务10万人的标准配备话务坐席,
并按照1:2(每个坐席配备2个话务员)的比例配备话务员; 按照24小时接通率不低于95%的工作要求".

* :func:`rule` — seats = ceil(population / 100,000), operators = 2 x seats.
* :func:`erlang_c` — M/M/c, callers never hang up: probability of waiting,
  service level within T, ASA, occupancy.  Closed forms.
* :func:`erlang_a` — M/M/c+M (Palm), callers hang up after an exponential
  patience: answer rate (answered / offered), service level, ASA, occupancy.
  Computed exactly from the birth-death chain of the number in system, and the
  tagged-caller chain (callers ahead) for the waiting-time distribution.
* :func:`verdict` — given calls per hour for each hour of the day, AHT and
  patience: does the rule's seat count meet the 95% 24-hour answer rate, and
  how many seats would.

Definitions used everywhere in this package (the live statistics use the same):

* answer rate = calls answered by a person / calls offered (abandoned calls count
  against it, whenever they hang up);
* service level (T=15 s) = calls answered by a person within T seconds / calls
  offered.  Abandoned calls count against it (app_queue's own SL does not count
  calls abandoned, it divides by answered+abandoned with a different numerator);
* ASA = mean wait of the calls that were answered;
* occupancy = carried load / staffed agents.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from queues.erlang import (
    SERVICE_LEVEL_SECONDS,
    Prediction,
    agents_for_service_level,
    erlang_a,
    erlang_b,
    erlang_c,
    erlang_c_pw,
    predict,
)

__all__ = [
    "SERVICE_LEVEL_SECONDS",
    "Prediction",
    "erlang_b",
    "erlang_c_pw",
    "erlang_c",
    "agents_for_service_level",
    "erlang_a",
    "predict",
]

PEOPLE_PER_SEAT = 100_000
OPERATORS_PER_SEAT = 2
TARGET_ANSWER_RATE = 0.95


# --------------------------------------------------------------------------- the rule
@dataclass(frozen=True)
class RuleSizing:
    area: str
    population: int
    seats: int
    operators: int


def rule_seats(population: int, people_per_seat: int = PEOPLE_PER_SEAT) -> int:
    if population < 0:
        raise ValueError("population must be >= 0")
    if people_per_seat <= 0:
        raise ValueError("people_per_seat must be > 0")
    return -(-int(population) // int(people_per_seat))  # ceil without float error


def rule(
    population: int,
    area: str = "",
    people_per_seat: int = PEOPLE_PER_SEAT,
    operators_per_seat: int = OPERATORS_PER_SEAT,
) -> RuleSizing:
    """1 seat per 100,000 residents (rounded up), 2 operators per seat."""
    seats = rule_seats(population, people_per_seat)
    return RuleSizing(area=area, population=int(population), seats=seats, operators=operators_per_seat * seats)


def rule_by_area(populations: dict[str, int], **kw: Any) -> list[RuleSizing]:
    """Per area, in the order given, plus nothing else: sum them yourself if the
    areas share one platform (ceil per area can give more seats than ceil of the sum)."""
    return [rule(pop, area=name, **kw) for name, pop in populations.items()]


# --------------------------------------------------------------------------- Erlang C
@dataclass(frozen=True)
class HourLine:
    hour: int
    calls: float
    agents: int
    prediction: Prediction


@dataclass
class Verdict:
    population: int
    rule: RuleSizing
    aht: float
    patience: float | None
    target: float
    hours: list[HourLine]  # the rule's seats, all staffed, every hour
    answer_rate_24h: float
    service_level_24h: float
    meets: bool
    seats_needed: int  # fewest seats, all staffed every hour, meeting the 24-hour target
    hourly_needed: list[int] = field(default_factory=list)  # fewest agents per hour meeting the target in every hour
    agent_hours_per_day: int = 0
    operators_needed: int = 0  # to staff hourly_needed, at hours_per_operator_week
    hours_per_operator_week: float = 40.0


def day_totals(lines: list[HourLine]) -> tuple[float, float]:
    offered = sum(h.calls for h in lines)
    if offered == 0:
        return 1.0, 1.0
    answered = sum(h.calls * h.prediction.answer_rate for h in lines)
    within = sum(h.calls * h.prediction.service_level for h in lines)
    return answered / offered, within / offered


def _day(
    calls_by_hour: list[float],
    agents: list[int],
    aht: float,
    patience: float | None,
    sl_seconds: float,
    with_sl: bool = False,
) -> list[HourLine]:
    return [
        HourLine(h, c, n, predict(n, c, aht, patience, sl_seconds, with_sl=with_sl))
        for h, (c, n) in enumerate(zip(calls_by_hour, agents, strict=False))
    ]


def _fewest_for_hour(
    calls: float, aht: float, patience: float | None, target: float, sl_seconds: float, cap: int
) -> int:
    if calls <= 0:
        return 0
    # carried load <= agents, so answer rate <= agents / offered erlangs
    n = max(1, math.floor(target * calls / 3600.0 * aht))
    while n < cap:
        p = predict(n, calls, aht, patience, sl_seconds, with_sl=False)
        if p.answer_rate >= target and (patience is not None or p.stable):
            return n
        n += 1
    return cap


def verdict(
    population: int,
    calls_by_hour: list[float],
    aht: float,
    patience: float | None,
    target: float = TARGET_ANSWER_RATE,
    sl_seconds: float = SERVICE_LEVEL_SECONDS,
    hours_per_operator_week: float = 40.0,
) -> Verdict:
    """Does ``rule(population)`` meet ``target`` over 24 hours?

    ``calls_by_hour`` has 24 values (calls offered in each hour of the day).
    With ``patience=None`` the model is Erlang C: nobody hangs up, so the answer
    rate is 1 whenever the queue is stable and 0 when it is not (load >= seats);
    give a patience for a meaningful answer rate.
    """
    if len(calls_by_hour) != 24:
        raise ValueError("calls_by_hour needs 24 values, one per hour of the day")
    if any(c < 0 for c in calls_by_hour):
        raise ValueError("calls per hour must be >= 0")
    if aht <= 0:
        raise ValueError("aht must be > 0 seconds")
    r = rule(population)
    lines = _day(calls_by_hour, [r.seats] * 24, aht, patience, sl_seconds, with_sl=True)
    ar, sl = day_totals(lines)
    # fewest seats, all staffed all day, that meet the 24-hour target
    peak = max(calls_by_hour)
    lo, hi = 0, max(1, math.ceil(peak / 3600.0 * aht) + 1)
    while day_totals(_day(calls_by_hour, [hi] * 24, aht, patience, sl_seconds))[0] < target:
        lo, hi = hi, hi * 2
        if hi > 1_000_000:
            raise ValueError("target not reachable")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if day_totals(_day(calls_by_hour, [mid] * 24, aht, patience, sl_seconds))[0] >= target:
            hi = mid
        else:
            lo = mid
    seats_needed = hi if peak > 0 else 0
    hourly = [
        _fewest_for_hour(c, aht, patience, target, sl_seconds, cap=max(seats_needed, 1) * 4 + 10) for c in calls_by_hour
    ]
    agent_hours = sum(hourly)
    ops = math.ceil(agent_hours * 7 / hours_per_operator_week) if agent_hours else 0
    return Verdict(
        population=population,
        rule=r,
        aht=aht,
        patience=patience,
        target=target,
        hours=lines,
        answer_rate_24h=ar,
        service_level_24h=sl,
        meets=ar >= target,
        seats_needed=seats_needed,
        hourly_needed=hourly,
        agent_hours_per_day=agent_hours,
        operators_needed=ops,
        hours_per_operator_week=hours_per_operator_week,
    )


# A typical 12345 day, share of the day's calls in each hour (sums to 1).  Shape
# after published 12345 centres' reports: quiet at night, a morning peak at 9-11,
# a second one at 14-16.  Used only when the admin gives calls per day.
DAY_SHAPE = [
    0.008,
    0.005,
    0.004,
    0.003,
    0.004,
    0.007,
    0.015,
    0.035,
    0.068,
    0.085,
    0.083,
    0.072,
    0.052,
    0.060,
    0.075,
    0.078,
    0.073,
    0.062,
    0.048,
    0.040,
    0.036,
    0.032,
    0.024,
    0.015,
]


def calls_by_hour_from_day(calls_per_day: float, shape: list[float] = DAY_SHAPE) -> list[float]:
    s = sum(shape)
    return [calls_per_day * x / s for x in shape]

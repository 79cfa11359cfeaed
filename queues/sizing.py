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

PEOPLE_PER_SEAT = 100_000
OPERATORS_PER_SEAT = 2
TARGET_ANSWER_RATE = 0.95
SERVICE_LEVEL_SECONDS = 15


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


def rule(population: int, area: str = "", people_per_seat: int = PEOPLE_PER_SEAT,
         operators_per_seat: int = OPERATORS_PER_SEAT) -> RuleSizing:
    """1 seat per 100,000 residents (rounded up), 2 operators per seat."""
    seats = rule_seats(population, people_per_seat)
    return RuleSizing(area=area, population=int(population), seats=seats, operators=operators_per_seat * seats)


def rule_by_area(populations: dict[str, int], **kw: Any) -> list[RuleSizing]:
    """Per area, in the order given, plus nothing else: sum them yourself if the
    areas share one platform (ceil per area can give more seats than ceil of the sum)."""
    return [rule(pop, area=name, **kw) for name, pop in populations.items()]


# --------------------------------------------------------------------------- Erlang C
@dataclass(frozen=True)
class Prediction:
    agents: int
    calls_per_hour: float
    aht: float  # seconds
    patience: float | None  # mean seconds; None = Erlang C (nobody hangs up)
    offered_erlangs: float
    p_wait: float  # probability a caller has to wait at all
    answer_rate: float  # answered by a person / offered
    service_level: float  # answered within T / offered
    sl_seconds: float
    asa: float  # mean wait of answered calls, seconds
    occupancy: float  # carried erlangs / agents
    stable: bool = True  # Erlang C only: False when load >= agents (the queue grows forever)


def erlang_b(agents: int, erlangs: float) -> float:
    """Blocking probability of M/M/c/c, by the stable recurrence."""
    b = 1.0
    for k in range(1, agents + 1):
        b = erlangs * b / (k + erlangs * b)
    return b


def erlang_c_pw(agents: int, erlangs: float) -> float:
    """Probability of waiting in M/M/c (Erlang C formula)."""
    if agents <= 0:
        return 1.0
    if erlangs >= agents:
        return 1.0
    b = erlang_b(agents, erlangs)
    rho = erlangs / agents
    return b / (1 - rho + rho * b)


def erlang_c(agents: int, calls_per_hour: float, aht: float, sl_seconds: float = SERVICE_LEVEL_SECONDS) -> Prediction:
    lam = calls_per_hour / 3600.0
    a = lam * aht
    if agents <= 0 or a >= agents:
        return Prediction(agents, calls_per_hour, aht, None, a, 1.0, 0.0 if agents <= 0 else 1.0, 0.0, sl_seconds,
                          math.inf, 1.0 if agents > 0 else 0.0, stable=False)
    pw = erlang_c_pw(agents, a)
    rate = (agents - a) / aht  # decay rate of the waiting time tail
    sl = 1.0 - pw * math.exp(-rate * sl_seconds)
    # ASA over answered calls; in Erlang C every call is answered
    asa = pw * aht / (agents - a)
    return Prediction(agents, calls_per_hour, aht, None, a, pw, 1.0, sl, sl_seconds, asa, a / agents)


def agents_for_service_level(calls_per_hour: float, aht: float, target: float, sl_seconds: float = SERVICE_LEVEL_SECONDS,
                             patience: float | None = None, max_agents: int = 100_000) -> int:
    """Fewest agents whose service level reaches ``target`` (Erlang C, or A with patience)."""
    a = calls_per_hour / 3600.0 * aht
    n = max(1, math.floor(a) + (1 if patience is None else 0))
    while n <= max_agents:
        p = predict(n, calls_per_hour, aht, patience, sl_seconds)
        if p.service_level >= target:
            return n
        n += 1
    raise ValueError("target not reachable")


# --------------------------------------------------------------------------- Erlang A
def _tail_cut(agents: int, lam: float, mu: float, theta: float) -> int:
    """How many waiting positions to model: until the chain's mass is negligible."""
    # in the queue the death rate grows by theta per caller; the mass beyond
    # the point where c*mu + j*theta >> lam decays faster than geometrically
    j = 0
    ratio = 1.0
    while True:
        j += 1
        ratio *= lam / (agents * mu + j * theta)
        if (ratio < 1e-16 and agents * mu + j * theta > lam) or j > 200_000:
            return j


def erlang_a(agents: int, calls_per_hour: float, aht: float, patience: float,
             sl_seconds: float = SERVICE_LEVEL_SECONDS, with_sl: bool = True) -> Prediction:
    """M/M/c+M: Poisson calls, exponential handling (mean ``aht``) and patience
    (mean ``patience`` seconds).  Exact, up to a truncation of 1e-16 in the tail."""
    if patience is None or patience <= 0 or math.isinf(patience):
        raise ValueError("patience must be a positive finite number of seconds")
    lam = calls_per_hour / 3600.0
    mu = 1.0 / aht
    theta = 1.0 / patience
    a = lam / mu
    if lam == 0:
        return Prediction(agents, calls_per_hour, aht, patience, 0.0, 0.0, 1.0, 1.0, sl_seconds, 0.0, 0.0)
    if agents <= 0:
        return Prediction(agents, calls_per_hour, aht, patience, a, 1.0, 0.0, 0.0, sl_seconds, math.inf, 0.0)
    c = agents
    # unnormalised stationary probabilities, in logs to stay finite for big c
    # p_n / p_0 = a^n / n!  for n <= c;  p_{c+j} = p_c * prod_{i=1..j} lam / (c mu + i theta)
    log_p = [0.0] * (c + 1)
    for n in range(1, c + 1):
        log_p[n] = log_p[n - 1] + math.log(a) - math.log(n)
    jmax = _tail_cut(c, lam, mu, theta)
    log_q = [0.0] * (jmax + 1)  # relative to p_c
    for j in range(1, jmax + 1):
        log_q[j] = log_q[j - 1] + math.log(lam) - math.log(c * mu + j * theta)
    top = max(max(log_p), log_p[c] + max(log_q))
    p = [math.exp(x - top) for x in log_p]
    q = [math.exp(log_p[c] + x - top) for x in log_q]  # q[j] = p_{c+j}
    total = sum(p[:c]) + sum(q)
    p = [x / total for x in p]
    q = [x / total for x in q]
    # an arrival (PASTA) finding n < c is served at once; finding c + j waits
    # with j callers ahead of it
    p_wait = sum(q)
    # tagged caller with i callers ahead: it moves one place at rate
    # adv_i = c mu + i theta (a service ends, or someone ahead hangs up),
    # is served from place 0 at rate c mu, hangs up itself at rate theta.
    served_given = [0.0] * (jmax + 1)  # P(served | j ahead)
    wait_served = [0.0] * (jmax + 1)  # E[wait * 1{served} | j ahead]
    s_prev, h_prev = 1.0, 0.0
    for i in range(jmax + 1):
        adv = c * mu + i * theta
        r = adv + theta
        s_i = (adv / r) * s_prev
        h_i = s_i / r + (adv / r) * h_prev
        served_given[i], wait_served[i] = s_i, h_i
        s_prev, h_prev = s_i, h_i
    p_served_wait = sum(q[j] * served_given[j] for j in range(jmax + 1))
    answer_rate = (1.0 - p_wait) + p_served_wait
    asa = sum(q[j] * wait_served[j] for j in range(jmax + 1)) / answer_rate if answer_rate > 0 else math.inf
    sl = (1.0 - p_wait) + _served_within(q, c * mu, theta, sl_seconds) if with_sl else math.nan
    carried = lam * answer_rate / mu
    return Prediction(agents, calls_per_hour, aht, patience, a, p_wait, answer_rate, sl, sl_seconds, asa, carried / c)


def _served_within(q: list[float], cmu: float, theta: float, t: float) -> float:
    """sum_j q_j * P(caller with j ahead is served within t), by uniformization
    of the tagged-caller chain (states: j ahead ... 0 ahead, served, hung up)."""
    jmax = len(q) - 1
    # only keep the places that carry mass
    while jmax > 0 and q[jmax] < 1e-18:
        jmax -= 1
    if t <= 0:
        return 0.0
    big = cmu + jmax * theta + theta  # fastest total rate out of any state
    x = q[: jmax + 1]  # mass in "i ahead"
    served = 0.0
    lt = big * t
    # Poisson weights of the number of uniformized jumps
    log_weight = -lt
    k = 0
    acc = 0.0
    kmax = int(lt + 10 * math.sqrt(lt) + 50)
    while k <= kmax:
        w = math.exp(log_weight)
        acc += w * served
        # one jump of the uniformized chain
        new = [0.0] * (jmax + 1)
        served_gain = 0.0
        for i in range(jmax + 1):
            m = x[i]
            if m == 0.0:
                continue
            adv = cmu + i * theta
            stay = 1.0 - (adv + theta) / big
            new[i] += m * stay
            if i == 0:
                served_gain += m * adv / big
            else:
                new[i - 1] += m * adv / big
        x = new
        served += served_gain
        k += 1
        log_weight += math.log(lt) - math.log(k)
    # P(absorbed in served by t) = sum_k Pois(k; lt) * served_after_k_jumps
    return acc


def predict(agents: int, calls_per_hour: float, aht: float, patience: float | None = None,
            sl_seconds: float = SERVICE_LEVEL_SECONDS, with_sl: bool = True) -> Prediction:
    if patience is None:
        return erlang_c(agents, calls_per_hour, aht, sl_seconds)
    return erlang_a(agents, calls_per_hour, aht, patience, sl_seconds, with_sl=with_sl)


# --------------------------------------------------------------------------- the verdict
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


def _day(calls_by_hour: list[float], agents: list[int], aht: float, patience: float | None, sl_seconds: float,
         with_sl: bool = False) -> list[HourLine]:
    return [HourLine(h, c, n, predict(n, c, aht, patience, sl_seconds, with_sl=with_sl))
            for h, (c, n) in enumerate(zip(calls_by_hour, agents))]


def _fewest_for_hour(calls: float, aht: float, patience: float | None, target: float, sl_seconds: float, cap: int) -> int:
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


def verdict(population: int, calls_by_hour: list[float], aht: float, patience: float | None,
            target: float = TARGET_ANSWER_RATE, sl_seconds: float = SERVICE_LEVEL_SECONDS,
            hours_per_operator_week: float = 40.0) -> Verdict:
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
    hourly = [_fewest_for_hour(c, aht, patience, target, sl_seconds, cap=max(seats_needed, 1) * 4 + 10) for c in calls_by_hour]
    agent_hours = sum(hourly)
    ops = math.ceil(agent_hours * 7 / hours_per_operator_week) if agent_hours else 0
    return Verdict(population=population, rule=r, aht=aht, patience=patience, target=target, hours=lines,
                   answer_rate_24h=ar, service_level_24h=sl, meets=ar >= target, seats_needed=seats_needed,
                   hourly_needed=hourly, agent_hours_per_day=agent_hours, operators_needed=ops,
                   hours_per_operator_week=hours_per_operator_week)


# A typical 12345 day, share of the day's calls in each hour (sums to 1).  Shape
# after published 12345 centres' reports: quiet at night, a morning peak at 9-11,
# a second one at 14-16.  Used only when the admin gives calls per day.
DAY_SHAPE = [
    0.008, 0.005, 0.004, 0.003, 0.004, 0.007, 0.015, 0.035, 0.068, 0.085, 0.083, 0.072,
    0.052, 0.060, 0.075, 0.078, 0.073, 0.062, 0.048, 0.040, 0.036, 0.032, 0.024, 0.015,
]


def calls_by_hour_from_day(calls_per_day: float, shape: list[float] = DAY_SHAPE) -> list[float]:
    s = sum(shape)
    return [calls_per_day * x / s for x in shape]

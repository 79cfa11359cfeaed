"""Queueing mathematics for seat sizing: Erlang B, C and A (with abandonment), pure."""

from __future__ import annotations

import math
from dataclasses import dataclass

SERVICE_LEVEL_SECONDS = 15  # GB/T 33358: answer within 15 s


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
        return Prediction(
            agents,
            calls_per_hour,
            aht,
            None,
            a,
            1.0,
            0.0 if agents <= 0 else 1.0,
            0.0,
            sl_seconds,
            math.inf,
            1.0 if agents > 0 else 0.0,
            stable=False,
        )
    pw = erlang_c_pw(agents, a)
    rate = (agents - a) / aht  # decay rate of the waiting time tail
    sl = 1.0 - pw * math.exp(-rate * sl_seconds)
    # ASA over answered calls; in Erlang C every call is answered
    asa = pw * aht / (agents - a)
    return Prediction(agents, calls_per_hour, aht, None, a, pw, 1.0, sl, sl_seconds, asa, a / agents)


def agents_for_service_level(
    calls_per_hour: float,
    aht: float,
    target: float,
    sl_seconds: float = SERVICE_LEVEL_SECONDS,
    patience: float | None = None,
    max_agents: int = 100_000,
) -> int:
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


def erlang_a(
    agents: int,
    calls_per_hour: float,
    aht: float,
    patience: float,
    sl_seconds: float = SERVICE_LEVEL_SECONDS,
    with_sl: bool = True,
) -> Prediction:
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


def predict(
    agents: int,
    calls_per_hour: float,
    aht: float,
    patience: float | None = None,
    sl_seconds: float = SERVICE_LEVEL_SECONDS,
    with_sl: bool = True,
) -> Prediction:
    if patience is None:
        return erlang_c(agents, calls_per_hour, aht, sl_seconds)
    return erlang_a(agents, calls_per_hour, aht, patience, sl_seconds, with_sl=with_sl)


# --------------------------------------------------------------------------- the verdict

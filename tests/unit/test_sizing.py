"""Seat sizing: the Handan rule and the Erlang C / Erlang A checks."""

from __future__ import annotations

import argparse
import heapq
import io
import math
import random

import pytest

from queues import sizing, sizing_cli


# --- the rule ---------------------------------------------------------------
def test_handan_population_gives_95_seats_190_operators():
    r = sizing.rule(9_410_000)
    assert (r.seats, r.operators) == (95, 190)


@pytest.mark.parametrize("pop,seats", [(0, 0), (1, 1), (100_000, 1), (100_001, 2), (9_400_000, 94), (9_400_001, 95)])
def test_rule_rounds_up(pop, seats):
    assert sizing.rule_seats(pop) == seats
    assert sizing.rule(pop).operators == 2 * seats


def test_rule_rejects_negative():
    with pytest.raises(ValueError):
        sizing.rule(-1)


def test_per_area():
    rows = sizing.rule_by_area({"邯山区": 150_000, "丛台区": 250_001})
    assert [(r.area, r.seats, r.operators) for r in rows] == [("邯山区", 2, 4), ("丛台区", 3, 6)]


# --- Erlang C: the published example -----------------------------------------
def test_erlang_c_published_example():
    # 100 calls per 30 minutes, AHT 180 s, T = 20 s, target 80%  ->  14 agents,
    # SL 88.8%, ASA 7.84 s (the widely quoted call-centre helper example)
    assert sizing.agents_for_service_level(200, 180, 0.80, sl_seconds=20) == 14
    p = sizing.erlang_c(14, 200, 180, sl_seconds=20)
    assert p.offered_erlangs == pytest.approx(10.0)
    assert p.p_wait == pytest.approx(0.1741, abs=1e-4)
    assert p.service_level == pytest.approx(0.888, abs=5e-4)
    assert p.asa == pytest.approx(7.84, abs=0.005)
    assert p.occupancy == pytest.approx(10 / 14)
    # 13 agents miss the 80% target
    assert sizing.erlang_c(13, 200, 180, sl_seconds=20).service_level < 0.80


def test_erlang_c_unstable_when_load_reaches_agents():
    p = sizing.erlang_c(10, 200, 180)
    assert not p.stable and p.p_wait == 1.0 and p.asa == math.inf


def test_erlang_b_known_value():
    # Erlang B table: 10 erlangs on 10 lines block 21.46%
    assert sizing.erlang_b(10, 10.0) == pytest.approx(0.2146, abs=1e-4)


# --- Erlang A -----------------------------------------------------------------
def test_erlang_a_tends_to_erlang_c_with_infinite_patience():
    a = sizing.erlang_a(14, 200, 180, patience=1e8, sl_seconds=20)
    c = sizing.erlang_c(14, 200, 180, sl_seconds=20)
    assert a.answer_rate == pytest.approx(1.0, abs=1e-5)
    assert a.p_wait == pytest.approx(c.p_wait, abs=1e-5)
    assert a.service_level == pytest.approx(c.service_level, abs=1e-5)
    assert a.asa == pytest.approx(c.asa, abs=1e-3)


def test_erlang_a_abandonment_matches_littles_law():
    # abandonments per second = theta * E[queue length]  <=>  1 - answer rate = E[Lq] / (lam * patience)
    p = sizing.erlang_a(9, 200, 180, patience=60)
    assert p.offered_erlangs == pytest.approx(10.0)
    # naive stationary distribution of the number in system, independent of the module's
    lam, mu, theta, c = 200 / 3600, 1 / 180, 1 / 60, 9
    w = [1.0]
    for n in range(1, 400):
        w.append(w[-1] * lam / (min(n, c) * mu + max(n - c, 0) * theta))
    lq = sum((n - c) * x for n, x in enumerate(w) if n > c) / sum(w)
    assert 1 - p.answer_rate == pytest.approx(theta * lq / lam, rel=1e-9)
    # overloaded (10 erlangs on 9 agents) yet stable: abandonment keeps it finite
    assert 0.70 < p.answer_rate < 0.90
    assert p.occupancy == pytest.approx(10 * p.answer_rate / 9)
    assert p.occupancy < 1.0


def _simulate(agents, calls_per_hour, aht, patience, t_sl, n_calls, seed=7):
    """Discrete-event M/M/c+M, FCFS: the independent check of the closed forms."""
    rng = random.Random(seed)
    lam, now = calls_per_hour / 3600.0, 0.0
    free_at = [0.0] * agents  # min-heap of the times each agent frees up
    heapq.heapify(free_at)
    answered = within = 0
    waits = 0.0
    # FCFS with reneging: a caller is served by the first agent to free up
    # after it arrives, unless its patience runs out first.  Callers who leave
    # do not hold a place, so process in arrival order against the agents' heap.
    for _ in range(n_calls):
        now += rng.expovariate(lam)
        patience_i = rng.expovariate(1.0 / patience)
        start = max(now, free_at[0])
        wait = start - now
        if wait > patience_i:
            continue
        heapq.heapreplace(free_at, start + rng.expovariate(1.0 / aht))
        answered += 1
        waits += wait
        within += wait <= t_sl
    return answered / n_calls, within / n_calls, waits / max(answered, 1)


def test_erlang_a_matches_simulation():
    agents, cph, aht, patience = 9, 200, 180, 120
    p = sizing.erlang_a(agents, cph, aht, patience, sl_seconds=15)
    ar, sl, asa = _simulate(agents, cph, aht, patience, 15, n_calls=120_000)
    assert p.answer_rate == pytest.approx(ar, abs=0.01)
    assert p.service_level == pytest.approx(sl, abs=0.015)
    assert p.asa == pytest.approx(asa, rel=0.06)


def test_erlang_a_no_agents_answers_nothing():
    p = sizing.erlang_a(0, 100, 180, 60)
    assert p.answer_rate == 0.0 and p.service_level == 0.0


# --- the verdict --------------------------------------------------------------
def test_verdict_flat_light_load_meets():
    v = sizing.verdict(9_410_000, [600.0] * 24, aht=240, patience=90)
    # 40 erlangs on 95 seats: almost nobody waits
    assert v.meets and v.answer_rate_24h > 0.999
    assert v.seats_needed < 95
    assert all(0 < n <= 95 for n in v.hourly_needed)


def test_verdict_peak_load_does_not_meet_and_says_how_many():
    calls = sizing.calls_by_hour_from_day(30_000)
    assert sum(calls) == pytest.approx(30_000)
    v = sizing.verdict(9_410_000, calls, aht=240, patience=90)
    assert not v.meets
    assert v.seats_needed > 95
    # the answer: with seats_needed staffed all day the target holds, one fewer misses it
    hit = sizing.day_totals(sizing._day(calls, [v.seats_needed] * 24, 240, 90, 15))[0]
    miss = sizing.day_totals(sizing._day(calls, [v.seats_needed - 1] * 24, 240, 90, 15))[0]
    assert hit >= 0.95 > miss
    # staffing hour by hour: every hour reaches 95% with `need`, not with one fewer
    for c, need in zip(calls, v.hourly_needed, strict=False):
        assert sizing.erlang_a(need, c, 240, 90).answer_rate >= 0.95
        assert sizing.erlang_a(need - 1, c, 240, 90).answer_rate < 0.95
    assert v.operators_needed == math.ceil(v.agent_hours_per_day * 7 / 40)


def test_verdict_validates_input():
    with pytest.raises(ValueError):
        sizing.verdict(100, [1.0] * 23, 180, 60)
    with pytest.raises(ValueError):
        sizing.verdict(100, [-1.0] * 24, 180, 60)


# --- the CLI ------------------------------------------------------------------
def _run(argv):
    parser = argparse.ArgumentParser()
    sizing_cli.add_arguments(parser)
    out = io.StringIO()
    rc = sizing_cli.run(parser.parse_args(argv), None, out=out)
    return rc, out.getvalue()


def test_cli_handan():
    rc, text = _run(["--population", "9410000"])
    assert rc == 0
    assert "9,410,000" in text and " 95 " in text and "190" in text


def test_cli_verdict_table():
    rc, text = _run(["--population", "9410000", "--calls-per-day", "30000", "--aht", "240", "--patience", "90"])
    assert rc == 0
    assert "DOES NOT MEET" in text
    assert text.count("\n") > 24


def test_cli_rejects_bad_hours():
    with pytest.raises(SystemExit):
        _run(["--population", "1", "--calls-per-hour", "1,2,3"])

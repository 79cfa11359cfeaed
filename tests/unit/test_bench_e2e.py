"""The end-to-end bench's own arithmetic (bench/bench_e2e.py, bench/e2e_common.py): which period
is held, and a call's period from its channel's uniqueid."""

from __future__ import annotations

from bench.bench_e2e import held_rate
from bench.e2e_common import created_at, percentile


def _row(rate: float, failed: int = 0, p99: float = 100.0, unserved: int = 0, no_greeting: int = 0) -> dict:
    return {"rate": rate, "failed": failed, "answer_p99_ms": p99, "unserved": unserved, "no_greeting": no_greeting}


def test_held_is_the_last_clean_period_before_the_first_bad_one():
    assert held_rate([_row(10), _row(20), _row(30, p99=2000.0), _row(40)], 5) == 20
    assert held_rate([_row(10), _row(20, failed=1)], 5) == 10
    assert held_rate([_row(10), _row(20), _row(30, unserved=1)], 5) == 20
    assert held_rate([_row(10, no_greeting=3), _row(20)], 5) == 0
    assert held_rate([_row(10), _row(20, p99=float("nan"))], 5) == 10  # no answer at all is no pass


def test_a_channel_is_dated_by_its_uniqueid():
    assert created_at("ast1-1796238658.0") == 1796238658.0
    assert created_at("1796238659.12") == 1796238659.0


def test_percentile_is_nearest_rank():
    assert percentile([5.0, 1.0, 3.0], 0.5) == 3.0
    assert percentile([float(i) for i in range(1, 101)], 0.99) == 99.0

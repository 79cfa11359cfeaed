"""The seat-sizing what-if: service level and answer rate against seats, as SVG geometry.

Pure: :func:`curve` runs queues.sizing for each seat count (all seats staffed all
day, the day's calls spread by the typical 12345 day shape); :func:`plot` turns the
points into coordinates for the template, with the 95% target and the
1-seat-per-100,000-residents rule marked."""

from __future__ import annotations

from dataclasses import dataclass

from queues import sizing
from web.svg_plot import Frame

FRAME = Frame(w=640, h=320, left=48, right=16, top=16, bottom=36)
MAX_POINTS = 24


@dataclass(frozen=True)
class Point:
    seats: int
    answer_rate: float
    service_level: float


def day_figures(seats: int, calls_by_hour: list[float], aht: float, patience: float | None) -> tuple[float, float]:
    lines = [sizing.HourLine(h, c, seats, sizing.predict(seats, c, aht, patience)) for h, c in enumerate(calls_by_hour)]
    return sizing.day_totals(lines)


def curve(population: int, calls_per_day: float, aht: float, patience: float | None) -> dict:
    hours = sizing.calls_by_hour_from_day(calls_per_day)
    v = sizing.verdict(population, hours, aht, patience)
    top = max(v.rule.seats, v.seats_needed, 1)
    lo = max(1, min(v.rule.seats, v.seats_needed) // 2)
    hi = int(top * 1.3) + 2
    step = max(1, (hi - lo) // MAX_POINTS)
    seats = sorted(set(range(lo, hi + 1, step)) | {v.rule.seats, v.seats_needed} - {0})
    points = [Point(n, *day_figures(n, hours, aht, patience)) for n in seats]
    return {"verdict": v, "points": points}


def plot(points: list[Point], rule_seats: int, needed: int, target: float = sizing.TARGET_ANSWER_RATE) -> dict:
    xs = [p.seats for p in points] or [0]
    x0 = min(xs)
    x1 = max(max(xs), x0 + 1)

    def x(n: float) -> float:
        return FRAME.x(n, x0, x1)

    y = FRAME.y
    ticks = sorted({x0, x1, rule_seats, needed} | set(range(x0, x1 + 1, max(1, (x1 - x0) // 8))))
    return {
        **FRAME.box(),
        "answer": " ".join(f"{x(p.seats)},{y(p.answer_rate)}" for p in points),
        "service": " ".join(f"{x(p.seats)},{y(p.service_level)}" for p in points),
        "target_y": y(target),
        "rule_x": x(rule_seats),
        "needed_x": x(needed),
        "xticks": [(x(t), t) for t in ticks if x0 <= t <= x1],
        "yticks": [(y(r / 10), f"{r * 10}%") for r in range(0, 11, 2)],
    }

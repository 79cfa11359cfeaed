"""``hotline seats``: the 1-seat-per-100,000 rule, checked with Erlang C/A.

hotline seats --population 9410000
hotline seats --population 9410000 --calls-per-day 30000 --aht 240 --patience 90
hotline seats --population 9410000 --calls-per-hour 120,80,...(24 values) --aht 240 --patience 90
hotline seats --area 邯山区=800000 --area 丛台区=900000
"""

from __future__ import annotations

import argparse
import json
import sys

from queues import sizing


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--population", type=int, help="residents served (e.g. 9410000 for Handan)")
    parser.add_argument(
        "--area",
        action="append",
        default=[],
        metavar="NAME=POPULATION",
        help="size one area (repeatable); the total is sized too",
    )
    load = parser.add_mutually_exclusive_group()
    load.add_argument(
        "--calls-per-hour",
        metavar="N[,N...]",
        help="calls offered per hour: one value for every hour, or 24 comma-separated values (00-23h)",
    )
    load.add_argument(
        "--calls-per-day", type=float, help="calls offered per day, spread over a typical 12345 day shape"
    )
    parser.add_argument("--aht", type=float, default=240.0, help="average handling time, seconds (default 240)")
    parser.add_argument(
        "--patience",
        type=float,
        default=None,
        help="callers' mean patience, seconds: Erlang A; without it Erlang C (nobody hangs up)",
    )
    parser.add_argument(
        "--target", type=float, default=sizing.TARGET_ANSWER_RATE, help="24-hour answer rate to meet (default 0.95)"
    )
    parser.add_argument(
        "--sl-seconds",
        type=float,
        default=sizing.SERVICE_LEVEL_SECONDS,
        help="service-level threshold, seconds (default 15, GB/T 33358)",
    )
    parser.add_argument(
        "--hours-per-operator-week",
        type=float,
        default=40.0,
        help="paid hours one operator works per week (default 40)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _parse_calls(text: str) -> list[float]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise SystemExit(f"hotline seats: --calls-per-hour: not a number in {text!r}") from None
    if len(values) == 1:
        return values * 24
    if len(values) != 24:
        raise SystemExit(f"hotline seats: --calls-per-hour needs 1 or 24 values, got {len(values)}")
    if any(v < 0 for v in values):
        raise SystemExit("hotline seats: --calls-per-hour values must be >= 0")
    return values


def _areas(items: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items:
        name, sep, pop = item.partition("=")
        if not sep or not name.strip():
            raise SystemExit(f"hotline seats: --area wants NAME=POPULATION, got {item!r}")
        try:
            out[name.strip()] = int(pop.replace(",", "").replace("_", ""))
        except ValueError:
            raise SystemExit(f"hotline seats: --area {name}: population {pop!r} is not a whole number") from None
    return out


def run(args: argparse.Namespace, settings=None, out=None) -> int:
    out = out or sys.stdout
    areas = _areas(args.area)
    if args.population is None and not areas:
        print("hotline seats: give --population N or --area NAME=N", file=sys.stderr)
        return 2
    if args.population is not None and args.population < 0:
        print("hotline seats: --population must be >= 0", file=sys.stderr)
        return 2
    population = args.population if args.population is not None else sum(areas.values())
    rows = sizing.rule_by_area(areas) if areas else []
    total = sizing.rule(population, area="total")
    calls = None
    if args.calls_per_hour:
        calls = _parse_calls(args.calls_per_hour)
    elif args.calls_per_day is not None:
        calls = sizing.calls_by_hour_from_day(args.calls_per_day)
    if args.aht <= 0 or (args.patience is not None and args.patience <= 0):
        print("hotline seats: --aht and --patience must be > 0 seconds", file=sys.stderr)
        return 2
    v = None
    if calls is not None:
        v = sizing.verdict(
            population,
            calls,
            args.aht,
            args.patience,
            target=args.target,
            sl_seconds=args.sl_seconds,
            hours_per_operator_week=args.hours_per_operator_week,
        )
    if args.json:
        doc: dict = {
            "population": population,
            "seats": total.seats,
            "operators": total.operators,
            "areas": [r.__dict__ for r in rows],
        }
        if v is not None:
            doc["verdict"] = {
                "model": "erlang_a" if args.patience else "erlang_c",
                "answer_rate_24h": v.answer_rate_24h,
                "service_level_24h": v.service_level_24h,
                "sl_seconds": args.sl_seconds,
                "target": v.target,
                "meets": v.meets,
                "seats_needed": v.seats_needed,
                "hourly_needed": v.hourly_needed,
                "agent_hours_per_day": v.agent_hours_per_day,
                "operators_needed": v.operators_needed,
                "hours": [
                    {
                        "hour": h.hour,
                        "calls": h.calls,
                        "agents": h.agents,
                        "answer_rate": h.prediction.answer_rate,
                        "service_level": h.prediction.service_level,
                        "asa": h.prediction.asa,
                        "occupancy": h.prediction.occupancy,
                    }
                    for h in v.hours
                ],
            }
        print(json.dumps(doc, ensure_ascii=False, indent=2), file=out)
        return 0
    print("Rule: 1 seat per 100,000 residents, 2 operators per seat (Handan plan 二(二)1)", file=out)
    if rows:
        print(f"{'area':<16}{'population':>12}{'seats':>7}{'operators':>11}", file=out)
        for r in rows:
            print(f"{r.area:<16}{r.population:>12,}{r.seats:>7}{r.operators:>11}", file=out)
    print(f"{'total':<16}{population:>12,}{total.seats:>7}{total.operators:>11}", file=out)
    if rows and sum(r.seats for r in rows) != total.seats:
        print(f"(per-area rounding gives {sum(r.seats for r in rows)} seats)", file=out)
    if v is None:
        return 0
    model = f"Erlang A, patience {args.patience:g} s" if args.patience else "Erlang C (nobody hangs up)"
    print(f"\nLoad check with {model}, AHT {args.aht:g} s, {total.seats} seats staffed every hour:", file=out)
    print(
        f"{'hour':>4}{'calls':>8}{'agents':>7}{'answer':>8}{'SL' + format(args.sl_seconds, 'g') + 's':>8}"
        f"{'ASA s':>8}{'occ':>6}{'need':>6}",
        file=out,
    )
    for h, need in zip(v.hours, v.hourly_needed, strict=False):
        p = h.prediction
        asa = f"{p.asa:8.1f}" if p.asa != float("inf") else f"{'inf':>8}"
        print(
            f"{h.hour:>4}{h.calls:>8.0f}{h.agents:>7}{p.answer_rate:>8.1%}{p.service_level:>8.1%}{asa}"
            f"{p.occupancy:>6.0%}{need:>6}",
            file=out,
        )
    print(
        f"24-hour answer rate {v.answer_rate_24h:.2%} (target {v.target:.0%}): "
        f"{'MEETS' if v.meets else 'DOES NOT MEET'}; {args.sl_seconds:g}-s service level {v.service_level_24h:.2%}",
        file=out,
    )
    print(
        f"Seats staffed round the clock that meet the 24-hour target: {v.seats_needed} (rule: {total.seats})", file=out
    )
    print(
        f"Staffing each hour to meet {v.target:.0%} in that hour ('need'): peak {max(v.hourly_needed)} agents, "
        f"{v.agent_hours_per_day} agent-hours/day = {v.operators_needed} operators at "
        f"{v.hours_per_operator_week:g} h/week (rule: {total.operators})",
        file=out,
    )
    return 0

"""Every benchmark of issue #15 in one command, one summary table at the end.

    .venv/bin/python bench/run_all.py [--quick] [--skip e2e,cost,workorder,consumers]

Runs, one after the other (each in its own process, results as JSON in a temporary folder):
- ``bench/bench_e2e.py``: the platform against its ``hotline-static`` twin, ramped through the
  IVR greeting; held calls/s and their ratio, INVITE->answer p50/p99, greetings skipped, drafts
  within 2 s, peak task queue, CPU per call of every process (the AMI consumers ``stats`` and
  ``handoff`` among them); then twice the held rate with the queue limit on, and memory idle /
  at 500 concurrent calls / 30 s after;
- ``bench/bench_asterisk_cost.py``: Asterisk's CPU per call and RSS, the platform's configuration
  against a minimal Answer->Queue one, first and last chunk;
- ``bench/bench_workorder.py``: API creates against direct inserts, list/search p99 at 4 clients;
- ``bench/bench_consumers.py``: CPU per answered call of ``hotline stats`` and ``hotline handoff``
  against a raw reader on the same AMI user, and a forced AMI disconnect (drafts, stats vs queue_log).

``--quick`` makes every run small (a smoke test of the command, not figures).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def _run(argv: list[str]) -> str:
    print("$", " ".join(argv), flush=True)
    r = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    sys.stdout.write(r.stdout[-3000:])
    if r.returncode != 0:
        sys.stdout.write(r.stderr[-3000:])
        raise SystemExit(f"{argv[1]} failed ({r.returncode})")
    return r.stdout


def e2e(out: Path, quick: bool) -> list[tuple[str, str, str]]:
    args = ["--start", "10", "--step", "10", "--period", "5", "--max", "30" if quick else "70", "--agents", "60"]
    args += ["--overload", "--memory"] + (["--overload-seconds", "10", "--memory-calls", "100"] if quick else [])
    _run([PY, "bench/bench_e2e.py", *args, "--json-out", str(out)])
    res = json.loads(out.read_text())
    rows = [
        (
            f"e2e ({res['map']} map) held calls/s (platform / twin)",
            f"{res['held_platform']} / {res['held_static']} = {res['ratio']}",
            ">= 0.9",
        )
    ]
    for r in res["runs"]:
        p = r["path"]
        rows += [
            (f"e2e {p}: INVITE->answer p50 / p99 ms", f"{r['answer_p50_ms']} / {r['answer_p99_ms']}", "p99 < 2000"),
            (
                f"e2e {p}: greeted / skipped the greeting; left the queue unserved",
                f"{r['greeted']} / {r['no_greeting']}; {r['unserved']}",
                "all / 0; 0",
            ),
            (
                f"e2e {p}: drafts / agent answers (within 2 s)",
                f"{r['orders']} / {r['agent_connects']} ({r['orders_within_2s']})",
                "all, all",
            ),
            (f"e2e {p}: peak task queue", f"{r['max_taskqueue']} ({r['max_taskqueue_name']})", "< 500"),
            (
                f"e2e {p}: CPU ms per answered call",
                ", ".join(f"{k} {v}" for k, v in r["cpu_ms_per_call"].items()),
                "consumers < 0.5",
            ),
        ]
    if o := res.get("overload"):
        rows += [
            (
                f"e2e overload {o['rate']}/s: queued / turned away (full) / failed / services down",
                f"{o['queued']} / {o['turned_away_full']} / {o['sipp_failed']} / "
                f"{len(o['services_down_or_restarted'])}",
                "queued or busy, 0 failed, 0 down",
            ),
            (
                f"e2e overload {o['rate']}/s: channels 30 s after; peak task queue",
                f"{o['channels_after_30s']}; {o['max_taskqueue']} ({o['max_taskqueue_name']})",
                "0; < 500",
            ),
        ]
    if m := res.get("memory"):
        p = m["plateau"]
        at = p.get("rss_mib", {})
        rows.append(
            (
                f"e2e RSS MiB idle / at {p.get('citizens', 'not reached:')} calls / 30 s after",
                "; ".join(
                    f"{k} {m['rss_idle_mib'].get(k)} / {at.get(k)} / {m['rss_after_30s_mib'].get(k)}"
                    for k in m["rss_idle_mib"]
                ),
                "flat",
            )
        )
    return rows


def cost(out: Path, quick: bool) -> list[tuple[str, str, str]]:
    calls, chunk, ceil = ("1000", "500", "100,200") if quick else ("50000", "5000", "100,150,200,250,300,400")
    _run(
        [PY, "bench/bench_asterisk_cost.py", "--calls", calls, "--chunk", chunk, "--variants", "minimal,platform-agi"]
        + ["--ceiling", ceil, "--json-out", str(out)]
    )
    res = {r["variant"]: r for r in json.loads(out.read_text())}
    m, p = res["minimal"], res["platform-agi"]
    mean = {k: sum(row["ms_per_call"] for row in r["rows"]) / len(r["rows"]) for k, r in res.items()}
    held_m, held_p = m["ceiling"]["held"], p["ceiling"]["held"]
    return [
        (
            "Asterisk ms CPU/call first -> last (minimal)",
            f"{m['first_ms']} -> {m['last_ms']} ({m['rows'][-1]['calls']} calls)",
            "flat",
        ),
        ("Asterisk ms CPU/call first -> last (platform, FastAGI)", f"{p['first_ms']} -> {p['last_ms']}", "flat"),
        (
            "Asterisk platform / minimal (mean of alternated chunks)",
            f"{mean['platform-agi'] / mean['minimal']:.2f}",
            "<= 1.5",
        ),
        (
            "Asterisk RSS MiB start -> end (minimal; platform)",
            f"{m['rss_start_mib']} -> {m['rss_end_mib']}; {p['rss_start_mib']} -> {p['rss_end_mib']}",
            "flat",
        ),
        (
            "Asterisk ceiling, no failed call (platform / minimal)",
            f"{held_p} / {held_m} calls/s = {held_p / held_m:.2f}" if held_m else f"{held_p} / {held_m}",
            ">= 0.8",
        ),
    ]


def workorder(quick: bool) -> list[tuple[str, str, str]]:
    args = ["--orders", "20000", "--rounds", "50"] if quick else []
    text = _run([PY, "bench/bench_workorder.py", *args, "--read-concurrency", "4"])
    rows = []
    m = re.search(r"ratio API / direct\s*:\s*(\d+)%", text)
    n = re.search(r"store of (\d+) orders", text)
    rows.append(("work orders: API creates / direct inserts", f"{m.group(1) if m else '?'}%", ">= 50%"))
    for line in text.splitlines():
        q = re.match(r"\s+(list .+?|search .+?)\s+p50\s+([\d.]+) ms\s+p99\s+([\d.]+) ms", line)
        if q:
            rows.append((f"work orders ({n.group(1) if n else '?'}): {q.group(1)} p99 ms", q.group(3), "< 100"))
    return rows


def consumers(out: Path, quick: bool) -> list[tuple[str, str, str]]:
    calls = "300" if quick else "2000"
    _run([PY, "bench/bench_consumers.py", "--calls", calls, "--rate", "30", "--kicks", "2", "--json-out", str(out)])
    r = json.loads(out.read_text())
    cpu = r["cpu_ms_per_call"]
    return [
        (
            "AMI consumers ms CPU / answered call (floor; ratio); forced reconnects: drafts missing / doubled, stats",
            f"stats {cpu['stats']} ({cpu['floor-stats']}; {r['ratio']['stats']}x), handoff {cpu['handoff']} "
            f"({cpu['floor-handoff']}; {r['ratio']['handoff']}x); {len(r['kicks'])} cuts: {r['orders_missing']} / "
            f"{r['orders_doubled']}, stats {'= queue_log' if r['stats_equal'] else '!= queue_log'}",
            "< 0.5 each; 0 / 0, =",
        )
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--skip", default="", help="comma-separated: e2e, cost, workorder, consumers")
    a = ap.parse_args()
    skip = set(filter(None, a.skip.split(",")))
    tmp = Path(tempfile.mkdtemp(prefix="bench-all-"))
    rows: list[tuple[str, str, str]] = []
    if "e2e" not in skip:
        rows += e2e(tmp / "e2e.json", a.quick)
    if "cost" not in skip:
        rows += cost(tmp / "cost.json", a.quick)
    if "workorder" not in skip:
        rows += workorder(a.quick)
    if "consumers" not in skip:
        rows += consumers(tmp / "consumers.json", a.quick)
    w = max(len(r[0]) for r in rows) if rows else 10
    print(f"\n{'figure':<{w}} | measured | goal")
    for name, value, goal in rows:
        print(f"{name:<{w}} | {value} | {goal}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

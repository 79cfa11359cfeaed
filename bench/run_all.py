"""Every benchmark of issue #15 in one command, one summary table at the end.

    .venv/bin/python bench/run_all.py [--quick] [--skip e2e,cost,workorder]

Runs, one after the other (each in its own process, results as JSON in a temporary folder):
- ``bench/bench_e2e.py``: the platform against its ``hotline-static`` twin, ramped; held calls/s
  and their ratio, INVITE->answer p50/p99, drafts within 2 s, peak task queue, CPU per call of
  every process (the AMI consumers ``stats`` and ``handoff`` among them), memory idle / at the
  peak of channels / after;
- ``bench/bench_asterisk_cost.py``: Asterisk's CPU per call and RSS, the platform's configuration
  against a minimal Answer->Queue one, first and last chunk;
- ``bench/bench_workorder.py``: API creates against direct inserts, list/search p99 at 4 clients.

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
    _run([PY, "bench/bench_e2e.py", *args, "--json-out", str(out)])
    res = json.loads(out.read_text())
    rows = [
        (
            "e2e held calls/s (platform / twin)",
            f"{res['held_platform']} / {res['held_static']} = {res['ratio']}",
            ">= 0.9",
        )
    ]
    for r in res["runs"]:
        p = r["path"]
        rows += [
            (f"e2e {p}: INVITE->answer p50 / p99 ms", f"{r['answer_p50_ms']} / {r['answer_p99_ms']}", "p99 < 2000"),
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
            (
                f"e2e {p}: RSS MiB idle / at {r['peak_channels']} channels / after",
                "; ".join(
                    f"{k} {r['rss_idle_mib'].get(k)} / {r['rss_at_peak_mib'].get(k)} / {r['rss_after_mib'].get(k)}"
                    for k in r["rss_idle_mib"]
                ),
                "flat",
            ),
        ]
    return rows


def cost(out: Path, quick: bool) -> list[tuple[str, str, str]]:
    calls, chunk = ("1000", "500") if quick else ("8000", "2000")
    _run(
        [PY, "bench/bench_asterisk_cost.py", "--calls", calls, "--chunk", chunk, "--variants", "minimal,platform"]
        + ["--json-out", str(out)]
    )
    res = {r["variant"]: r for r in json.loads(out.read_text())}
    m, p = res["minimal"], res["platform"]
    return [
        (
            "Asterisk ms CPU/call first -> last (minimal)",
            f"{m['first_ms']} -> {m['last_ms']} ({m['rows'][-1]['calls']} calls)",
            "flat",
        ),
        ("Asterisk ms CPU/call first -> last (platform)", f"{p['first_ms']} -> {p['last_ms']}", "flat"),
        ("Asterisk platform / minimal (last chunk)", f"{p['last_ms'] / m['last_ms']:.2f}", "<= 1.5"),
        (
            "Asterisk RSS MiB start -> end (minimal; platform)",
            f"{m['rss_start_mib']} -> {m['rss_end_mib']}; {p['rss_start_mib']} -> {p['rss_end_mib']}",
            "flat",
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--skip", default="", help="comma-separated: e2e, cost, workorder")
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
    w = max(len(r[0]) for r in rows) if rows else 10
    print(f"\n{'figure':<{w}} | measured | goal")
    for name, value, goal in rows:
        print(f"{name:<{w}} | {value} | {goal}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

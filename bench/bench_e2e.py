"""End to end: the platform's call path against its pure-dialplan twin, ramped, in one run.

    .venv/bin/python bench/bench_e2e.py [--map ivr|queue-direct] [--start 10] [--step 10]
        [--period 5] [--max 80] [--agents 60] [--rounds 1] [--memory] [--overload]
        [--overload-rate N] [--json] [--json-out FILE]

One real platform (the e2e harness: Asterisk 22, FastAGI, the ARI app, the API, the hand-off,
Redis, the AMI consumers). ``--agents`` agent endpoints all register one SIPp UAS (answers after
200 ms, talks 0.5 s, hangs up), logged into the hotline queue with no wrap-up. SIPp citizens dial
12345 at a rate that starts at ``--start`` calls/s and rises by ``--step`` every ``--period`` s
(``-rate_increase``) up to ``--max``. Two paths, alternated (``--rounds`` times each):

- **platform**: 12345 -> FastAGI ``route`` -> route-<kind> -> ... -> the queue -> agent -> the
  hand-off's draft order (AgentConnect -> POST /api/v1/calls/answered);
- **static**: the FastAGI server stopped, so the same decision comes from the rendered
  ``hotline-static`` context (``hotline-inbound``'s fallback); everything after it is the same.

``--map ivr`` (the default) is the shipped map: 12345 has ``flow: "12345"``, so both paths decide
``HOTLINE_KIND=ivr`` (the twin's ``hotline-static`` renders the same decision, agi.routing
``static_routes``) and go to ``route-ivr``: the Stasis app ``hotline ari`` plays the greeting
(about 5.6 s), waits 2 s for a key, none comes, and sends the caller to the queue
(``hotline-ivr-queue``); after the agent hangs up the caller returns to the app for the
satisfaction survey. The citizen sends no key during the greeting; ``--rate-at`` ms after the
answer (default 9.5 s: past the greeting, the short queue wait and the agent's 0.7 s) it presses
5 (rates the call in the survey; a key that arrives while it still waits in the queue is ignored
there), then waits up to ``--hold`` ms for Asterisk's BYE (the survey's thanks) and hangs up
itself after that. ``--map queue-direct`` is the harness's option (``flow: ""``: one FastAGI round
trip, then pure dialplan, no greeting, no survey): the citizen gets Asterisk's BYE when the agent
hangs up.

Per period (SIPp ``-trace_stat``, ``-trace_rtt``): the offered rate, failed calls, INVITE -> 200
(Asterisk's answer) p99; from queue_log (each call's period from its channel's creation time,
the epoch in its uniqueid): callers that left the queue without an agent (ABANDON, timeout) and
the queue wait p99; from messages.log: calls that skipped the greeting (the IVR app shedding
load or down: ``hotline-ivr-fallback``). The *held* rate is the highest period's rate before
the first one with a failed call, an answer p99 of 2 s or more, a caller not served, or (IVR
map) a caller that did not hear the greeting. Orders: the drafts the API holds for the run's
calls (linkedid) against the calls the agents answered (queue_log ``CONNECT``); the draft's
delay is its ``created_at`` minus that CONNECT's time; the bench waits up to 60 s for the
hand-off; ``orders_lost`` = CONNECTs with no order by then. With ``HOTLINE_LOG_LEVEL=INFO``
(the default here is WARNING) the delay is also split, from the hand-off's per-call lines:
CONNECT to the AgentConnect's AMI stamp (Asterisk), stamp to arrival, waiting for a worker, the
POST (``order_delay_split_ms``). Asterisk's peak task-queue depth
(``core show taskprocessors``, reset before each run) and CPU per answered call of every process
(/proc) come from the same run. ``--memory`` and ``--overload``: bench/e2e_phases.py.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import e2e_phases  # noqa: E402
from bench.bench_asterisk_cost import wait_no_channels  # noqa: E402
from bench.e2e_common import (  # noqa: E402
    ConsoleLog,
    QueueLog,
    Sampler,
    citizen,
    cpu_of,
    created_at,
    draft_delay_split,
    percentile,
    read_periods,
    read_rtt,
    reset_taskprocessors,
    rss_of,
    service_pids,
    start_agents,
    taskqueue_peak,
)
from hotline.settings import PROJECT_ROOT, Settings  # noqa: E402
from tests.e2e.harness import Stack  # noqa: E402

TALK_MS = 500  # the agent talks 0.5 s, then hangs up


def held_rate(periods: list[dict], period_s: float) -> float:
    """The highest offered rate before the first period with a failed call, an answer p99 of 2 s
    or more (the issue's "no failure and answer p99 under 2 s"), a caller not served by an agent,
    or one that skipped the greeting."""
    held = 0.0
    for row in periods:
        if row["failed"] or not row["answer_p99_ms"] < 2000 or row["unserved"] or row["no_greeting"]:
            break
        held = max(held, row["rate"])
    return held


def orders_for(db: Path, since: datetime) -> list[tuple[str, datetime]]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT linkedid, created_at FROM orders WHERE linkedid IS NOT NULL AND created_at >= ?",
            (since.replace(tzinfo=None).isoformat(sep=" "),),
        ).fetchall()
    finally:
        con.close()
    return [(lid, datetime.fromisoformat(at).replace(tzinfo=UTC)) for lid, at in rows]


def per_period(rows: list[dict], t0: float, a: argparse.Namespace, rtt, qlog: QueueLog, console: ConsoleLog) -> None:
    """Adds each period's answer p99, callers not served, queue wait p99 and greeting skips."""

    def index(t: float) -> int:
        return int((t - t0) // a.period)

    for i, row in enumerate(rows):
        lo, hi = i * a.period * 1000, (i + 1) * a.period * 1000
        row["answer_p99_ms"] = percentile([ms for at, ms in rtt if lo <= at < hi], 0.99)
        row["unserved"] = sum(1 for c in qlog.unserved if index(created_at(c)) == i)
        waits = [s for c, s in qlog.hold_s.items() if index(created_at(c)) == i]
        row["queue_wait_p99_s"] = percentile(waits, 0.99)
        row["no_greeting"] = sum(1 for t in console.fallback_times if index(t) == i) if a.map == "ivr" else 0


def ramp(stack: Stack, path: str, a: argparse.Namespace, caller: str) -> dict:
    periods = int((a.max - a.start) / a.step) + 1
    seconds = periods * a.period
    calls = int(sum(a.start + i * a.step for i in range(periods)) * a.period)
    reset_taskprocessors(stack)
    pids = service_pids(stack)
    cpu0, rss_idle = cpu_of(pids), rss_of(pids)
    sampler = Sampler(stack, pids)
    sampler.start()
    console_at, ari_at = stack.asterisk_log_size(), len(stack.service_log("ari"))
    handoff_at = len(stack.service_log("handoff"))
    started = datetime.now(UTC)
    tag = f"{path}-{time.monotonic_ns()}"
    r = stack.sipp_uac(
        citizen(stack, a.rate_at if a.map == "ivr" else None, a.hold),
        "12345",
        caller,
        calls=calls,
        rate=a.start,
        concurrent=a.max * 60,
        timeout=seconds + a.hold / 1000 + 60,
        extra=["-rate_increase", str(a.step), "-fd", str(a.period), "-rate_max", str(a.max), "-no_rate_quit"]
        + ["-trace_stat", "-stf", str(stack.root / f"{tag}.stat.csv"), "-trace_rtt", "-rtt_freq", "1"],
    )
    wait_no_channels(stack, 60)
    time.sleep(2.5)  # the last drafts (the hand-off is off the call's path)
    sampler.stop.set()
    sampler.join()
    depth, who, high = taskqueue_peak(stack)
    rows = read_periods(stack.root / f"{tag}.stat.csv")
    rtt_rows: list[tuple[float, float]] = []  # (ms since SIPp started, INVITE -> 200 ms)
    for f in stack.root.glob("*_rtt.csv"):
        if f.stat().st_mtime >= started.timestamp():
            rtt_rows += read_rtt(f)
            f.rename(f.with_suffix(f".{tag}.done"))
    qlog, console = QueueLog(stack, started.timestamp()), ConsoleLog(stack, console_at)
    per_period(rows, started.timestamp(), a, rtt_rows, qlog, console)
    rtts = [ms for _, ms in rtt_rows]
    held = held_rate(rows, a.period)
    # drafts: one per answered call (queue_log CONNECT: the agent answered), and how long after
    connects = qlog.connects
    orders: dict[str, datetime] = {}
    for _ in range(60):  # the hand-off is off the call's path: wait until it has caught up
        orders = dict(orders_for(stack.settings.home / "hotline.db", started))
        if all(lid in orders for lid in connects):
            break
        time.sleep(1)
    cpu1 = cpu_of(pids)  # the hand-off's work included
    delays = [orders[lid].timestamp() - t for lid, t in connects.items() if lid in orders]
    cpu_ms = {k: round((cpu1[k] - cpu0[k]) * 1000 / max(1, len(connects)), 2) for k in pids}
    ari_log = stack.service_log("ari")[ari_at:]
    greeted = ari_log.count('"msg": "call enters flow", "flow": "12345"')
    waits = list(qlog.hold_s.values())
    return {
        "path": path,
        "map": a.map,
        "calls": calls,
        "sipp_failed": sum(row["failed"] for row in rows),
        "held_rate": held,
        "periods": rows,
        "answer_p50_ms": round(percentile(rtts, 0.5), 1),
        "answer_p99_ms": round(percentile(rtts, 0.99), 1),
        "greeted": greeted,
        "no_greeting": len(console.fallback_times),
        "survey_shed_call_ended": console.after_call_ended,
        "queued_twice": qlog.requeued,
        "surveys_stored": ari_log.count('"score": 5, "stored": true'),
        "queued": len(qlog.entered),
        "queue_wait_p50_s": percentile(waits, 0.5),
        "queue_wait_p99_s": percentile(waits, 0.99),
        "unserved": len(qlog.unserved),
        "agent_connects": len(connects),
        "orders": len(delays),
        "orders_lost": len(connects) - len(delays),
        "order_delay_p99_s": round(percentile(delays, 0.99), 2),
        "orders_within_2s": sum(1 for d in delays if d <= 2.0),
        "order_delay_split_ms": draft_delay_split(stack.service_log("handoff")[handoff_at:], connects),
        "max_taskqueue": depth,
        "max_taskqueue_name": who,
        "taskqueue_high_water": high,
        "high_water_warnings": console.high_water,
        "cpu_ms_per_call": cpu_ms,
        "rss_idle_mib": rss_idle,
        "peak_channels": sampler.peak_channels,
        "peak_citizens": sampler.peak_citizens,
        "rss_at_peak_mib": {k: round(v, 1) for k, v in sampler.rss_at_peak.items()},
        "rss_after_mib": rss_of(pids),
        "sipp_ok": r.ok,
    }


def make_stack(a: argparse.Namespace) -> Stack:
    """The harness's platform; ``--map ivr`` puts the shipped map (12345's IVR greeting) back."""
    # the shipped RTP range (the harness's test range, 1,000 calls, runs out at twice the held rate)
    rtp = {f.name: f.default for f in dataclasses.fields(Settings) if f.name in ("rtp_start", "rtp_end")}
    stack = Stack(Path(tempfile.mkdtemp(prefix="bench-e2e-")) / "stack", **rtp)
    if a.map == "ivr":
        stack.settings.transfer_map.write_text((PROJECT_ROOT / "transfer_map.yaml").read_text(encoding="utf-8"))
    stack.settings = stack.platform.settings = stack.settings.with_(queue_wrapuptime=0, queue_maxlen=0)
    return stack


def run(a: argparse.Namespace) -> dict:
    stack = make_stack(a)
    stack.start()
    out: dict = {"runs": [], "map": a.map, "load_start": os.getloadavg()}
    try:
        stack.events.close()  # the harness's own AMI reader would be one more consumer to feed
        out["rss_idle_mib"] = rss_of(service_pids(stack))  # before any call
        if a.memory:  # first, on a fresh Asterisk: idle, 500 calls, after the burst
            out["memory"] = e2e_phases.memory(stack, a)
            print(json.dumps(out["memory"]), flush=True)
        start_agents(stack, a.agents, TALK_MS)
        time.sleep(1)
        for i in range(a.rounds):
            for path in ("platform", "static"):
                if path == "static":
                    stack.platform.stop_service("agi")
                res = ramp(stack, path, a, f"1380000{i}{0 if path == 'platform' else 1}00")
                if path == "static":
                    stack.platform.start_service("agi")
                    stack.platform.wait_port(stack.settings.agi_port)
                out["runs"].append(res)
                print(json.dumps({k: v for k, v in res.items() if k != "periods"}), flush=True)
        plat = [r["held_rate"] for r in out["runs"] if r["path"] == "platform"]
        stat = [r["held_rate"] for r in out["runs"] if r["path"] == "static"]
        out["held_platform"], out["held_static"] = min(plat), min(stat)
        out["ratio"] = round(out["held_platform"] / out["held_static"], 2) if out["held_static"] else None
        if a.overload:
            rate = a.overload_rate or 2 * out["held_platform"]
            scenario = citizen(stack, a.rate_at if a.map == "ivr" else None, a.hold)
            out["overload"] = e2e_phases.overload(stack, a, scenario, rate)
            print(json.dumps(out["overload"]), flush=True)
    finally:
        out["load_end"] = os.getloadavg()
        for name in ("queue_log", "messages.log"):  # kept beside the results (the chroot's copy goes)
            if (stack.asterisk.log_dir / name).exists():
                shutil.copy(stack.asterisk.log_dir / name, stack.root / f"asterisk-{name}")
        print(f"logs: {stack.root}", flush=True)
        stack.stop()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--map", choices=("ivr", "queue-direct"), default="ivr")
    ap.add_argument("--start", type=int, default=10)
    ap.add_argument("--step", type=int, default=10)
    ap.add_argument("--period", type=int, default=5)
    ap.add_argument("--max", type=int, default=80)
    ap.add_argument("--agents", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--rate-at", type=int, default=9500, help="ms after the answer: the survey key (IVR map)")
    ap.add_argument("--hold", type=int, default=25000, help="ms the citizen then waits for Asterisk's BYE")
    e2e_phases.add_arguments(ap)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--json-out", type=Path, default=None, help="also write the results here (bench/run_all.py)")
    a = ap.parse_args()
    os.environ.setdefault("HOTLINE_LOG_LEVEL", "WARNING")
    out = run(a)
    if a.json_out:
        a.json_out.write_text(json.dumps(out, indent=1), encoding="utf-8")
    if a.json:
        print(json.dumps(out, indent=1))
        return 0
    print(
        f"{'path':<9} | {'held/s':>6} | {'failed':>6} | {'greeted (skipped)':>17} | "
        f"{'answer p50/p99 ms':>17} | {'queue wait p99 s':>16} | {'answered':>8} | {'orders (lost)':>13} | "
        f"{'<=2 s':>5} | {'max taskq':>9} | CPU ms/call"
    )
    for r in out["runs"]:
        cpu = ", ".join(f"{k} {v}" for k, v in r["cpu_ms_per_call"].items())
        print(
            f"{r['path']:<9} | {r['held_rate']:>6} | {r['sipp_failed']:>6} | "
            f"{r['greeted']:>8} ({r['no_greeting']:>5}) | {r['answer_p50_ms']:>7} / {r['answer_p99_ms']:<7} | "
            f"{r['queue_wait_p99_s']:>16} | {r['agent_connects']:>8} | "
            f"{r['orders']:>6} ({r['orders_lost']}) | {r['orders_within_2s']:>5} | {r['max_taskqueue']:>9} | {cpu}"
        )
    for r in out["runs"]:
        if r.get("order_delay_split_ms"):  # the hand-off's INFO lines (HOTLINE_LOG_LEVEL=INFO)
            split = "; ".join(f"{k} {v['p50']} / {v['p99']} / {v['max']}" for k, v in r["order_delay_split_ms"].items())
            print(f"{r['path']:<9} draft delay, ms p50 / p99 / max: {split}")
    print(f"held: platform {out['held_platform']}/s, static twin {out['held_static']}/s, ratio {out['ratio']}")
    e2e_phases.print_summary(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The AMI consumers' CPU per answered call, against a do-nothing reader; no event lost across a
forced reconnect.

    .venv/bin/python bench/bench_consumers.py [--calls 2000] [--rate 30] [--agents 60] [--kicks 1]
        [--record DIR] [--json-out FILE]

One real platform (the e2e harness: Asterisk 22, FastAGI, the API, Redis, ``hotline stats``,
``hotline handoff``). ``--agents`` agent endpoints registered at one SIPp UAS (answer after
200 ms, talk 0.5 s), in the hotline queue, no wrap-up. SIPp citizens dial 12345 (the harness's
queue-direct map) at ``--rate`` calls/s, ``--calls`` in all.

The floor, measured in the same run: one more process per consumer (this file with ``--floor``)
logged in as **the same AMI user** (so Asterisk sends it the same filtered events), reading the
socket and counting messages (``bytes.count``), nothing else, resting between reads as long as
its consumer's reader does (``READ_EVERY``). Per answered call (queue_log
``CONNECT``): user+system CPU (/proc/<pid>/stat) of each consumer and of its floor, the ratio,
and the AMI messages each floor received.

The forced reconnect: ``--kicks`` times during the calls (evenly spaced), the consumers' AMI TCP
connections are destroyed (``ss -K``: both ends get a reset; the floors are left alone). After
the run: every queue_log CONNECT has exactly one draft order (by linkedid, in the store), and the
stats consumer's ``hotline`` queue figures (offered / answered / abandoned over the last 24 h, the
change over the run) equal queue_log's ENTERQUEUE / CONNECT / ABANDON lines of the run.

``--record DIR``: the floors also write the raw bytes they received (``DIR/<consumer>.ami``), to
profile the consumers offline on the very same stream.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_e2e import TALK_MS, cpu_of, service_pids, start_agents  # noqa: E402
from hotline import ami  # noqa: E402
from queues.service import READ_EVERY as STATS_READ_EVERY  # noqa: E402
from tests.e2e.harness import Stack  # noqa: E402
from workorder.handoff_service import READ_EVERY as HANDOFF_READ_EVERY  # noqa: E402

CONSUMERS = ("stats", "handoff")
GOAL_MS = 0.5


# --- the floor: a raw reader logged in as a consumer's user (bench/ami_floor.py) ------------


# each consumer's reader rests this long between reads (hotline.ami.LeanManager.read_every); its floor too
REST = {"stats": STATS_READ_EVERY, "handoff": HANDOFF_READ_EVERY}


def start_floor(stack: Stack, consumer: str, record: Path | None) -> subprocess.Popen:
    host, port, user, secret = ami.consumer_credentials(stack.settings, stack.secrets, consumer)
    floor = str(ROOT / "bench" / "ami_floor.py")
    argv = [sys.executable, floor, host, str(port), user, secret, str(record or ""), str(REST[consumer])]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert p.stdout is not None and p.stdout.readline().strip() == "ready", f"the {consumer} floor did not log in"
    return p


def stop_floor(p: subprocess.Popen) -> int:
    p.send_signal(signal.SIGTERM)
    out, _ = p.communicate(timeout=10)
    return int(json.loads(out.strip().splitlines()[-1])["messages"])


# --- what Asterisk says happened (the forced reconnect: Stack.kill_ami_connections) ----------


def queue_log_counts(stack: Stack, since: float, queue: str = "hotline") -> tuple[Counter, list[str]]:
    """Counts of the queue_log events of ``queue`` since ``since``, and the CONNECTs' callids."""
    # queue_log has whole seconds: a call that joined in the second the run began is the run's
    # (nothing queues before it), else its ENTERQUEUE is missed and its CONNECT counted
    lines = stack.queue_log(math.floor(since), queue)
    return Counter(p[4] for p in lines), [p[1] for p in lines if p[4] == "CONNECT"]


def logins(stack: Stack, name: str) -> int:
    return stack.service_log(name).count('"AMI logged in"')


def settle(stack: Stack, since: float, want_stats) -> tuple[Counter, list[str], Counter, dict]:
    """Wait (up to 90 s) until no channel is up, every CONNECT has its order and the stats'
    figures match; returns the last reading either way."""
    deadline = time.monotonic() + 90
    while True:
        counts, connects = queue_log_counts(stack, since)
        orders = Counter(stack.orders_by_linkedid())
        figures = stack.stats_figures()
        idle = "0 active channels" in stack.cli("core show channels count")
        done = idle and all(orders[c] >= 1 for c in connects) and want_stats(counts, figures)
        if done or time.monotonic() > deadline:
            return counts, connects, orders, figures
        time.sleep(1)


def run(a: argparse.Namespace) -> dict:
    root = Path(tempfile.mkdtemp(prefix="bench-consumers-"))
    stack = Stack(root / "stack")
    stack.settings = stack.platform.settings = stack.settings.with_(queue_wrapuptime=0, queue_maxlen=0)
    stack.start()
    record = Path(a.record) if a.record else None
    if record:
        record.mkdir(parents=True, exist_ok=True)
    try:
        stack.events.close()  # the harness's own AMI reader would be one more consumer to feed
        start_agents(stack, a.agents, TALK_MS)
        floors = {c: start_floor(stack, c, record / f"{c}.ami" if record else None) for c in CONSUMERS}
        time.sleep(2)
        before = stack.stats_figures()
        pids = service_pids(stack) | {f"floor-{c}": p.pid for c, p in floors.items()}
        logins0 = {c: logins(stack, c) for c in CONSUMERS}
        cpu0 = cpu_of(pids)
        since = time.time()
        scen = stack.sipp_file("ivr_dtmf.xml", {"<!-- IVR_ACTIONS -->": "", "IVR_WAIT": "20000"})
        seconds = a.calls / a.rate
        th = stack.sipp_uac_async(
            scen, "12345", "13900000000", calls=a.calls, rate=a.rate, concurrent=a.rate * 30, timeout=seconds + 90
        )
        kicks = []
        for i in range(a.kicks):
            time.sleep(max(0.0, since + seconds * (i + 1) / (a.kicks + 1) - time.time()))
            kicks.append({"at_s": round(time.time() - since, 1), "killed": stack.kill_ami_connections(CONSUMERS)})
        th.join()

        def stats_match(counts: Counter, fig: dict) -> bool:
            return {k: fig[k] - before[k] for k in fig} == expected(counts)

        counts, connects, orders, figures = settle(stack, since, stats_match)
        cpu1 = cpu_of(pids)
        messages = {c: stop_floor(p) for c, p in floors.items()}
    finally:
        stack.stop()
    answered = len(connects)
    per_call = {k: round((cpu1[k] - cpu0[k]) * 1000 / max(1, answered), 3) for k in pids}
    stats_delta = {k: figures[k] - before[k] for k in figures}
    res = {
        "calls": a.calls,
        "rate": a.rate,
        "sipp_ok": th.result.ok,  # type: ignore[attr-defined]
        "answered": answered,
        "cpu_ms_per_call": per_call,
        "ratio": {
            c: round(per_call[c] / per_call[f"floor-{c}"], 2) if per_call[f"floor-{c}"] else None for c in CONSUMERS
        },
        "ami_messages_per_call": {c: round(n / max(1, answered), 1) for c, n in messages.items()},
        "kicks": kicks,
        "relogins": {c: logins(stack, c) - logins0[c] for c in CONSUMERS},
        "orders_missing": sum(1 for c in connects if orders[c] == 0),
        "orders_doubled": sum(1 for c in connects if orders[c] > 1),
        "queue_log": expected(counts),
        "stats": stats_delta,
    }
    res["stats_equal"] = res["stats"] == res["queue_log"]
    res["goal_met"] = all(per_call[c] < GOAL_MS for c in CONSUMERS)
    return res


def ratio(consumer: float, floor: float) -> float | None:
    return round(consumer / floor, 2) if floor else None


def expected(counts: Counter) -> dict[str, int]:
    return {"offered": counts["ENTERQUEUE"], "answered": counts["CONNECT"], "abandoned": counts["ABANDON"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--rate", type=int, default=30)
    ap.add_argument("--agents", type=int, default=60)
    ap.add_argument("--kicks", type=int, default=1, help="forced AMI disconnects of both consumers during the run")
    ap.add_argument("--record", default="", help="a folder: the floors write the AMI bytes they got there")
    ap.add_argument("--json-out", type=Path, default=None, help="also write the results here (bench/run_all.py)")
    a = ap.parse_args()
    os.environ.setdefault("HOTLINE_LOG_LEVEL", "INFO")  # the consumers' "AMI logged in" lines count relogins
    res = run(a)
    if a.json_out:
        a.json_out.write_text(json.dumps(res, indent=1), encoding="utf-8")
    print(json.dumps(res, indent=1))
    for c in CONSUMERS:
        print(
            f"{c:<8} {res['cpu_ms_per_call'][c]:.3f} ms CPU / answered call; floor (same AMI user, reading only) "
            f"{res['cpu_ms_per_call'][f'floor-{c}']:.3f} ms; ratio {res['ratio'][c]}; "
            f"{res['ami_messages_per_call'][c]} AMI messages / call"
        )
    print(
        f"answered {res['answered']}; drafts missing {res['orders_missing']}, doubled {res['orders_doubled']}; "
        f"stats {res['stats']} vs queue_log {res['queue_log']}: {'equal' if res['stats_equal'] else 'DIFFERENT'}; "
        f"kicks {res['kicks']}, relogins {res['relogins']}"
    )
    print(f"goal < {GOAL_MS} ms per call for each consumer: {'MET' if res['goal_met'] else 'NOT MET'}")
    lossless = res["stats_equal"] and not res["orders_missing"] and not res["orders_doubled"]
    return 0 if lossless else 1


if __name__ == "__main__":
    sys.exit(main())

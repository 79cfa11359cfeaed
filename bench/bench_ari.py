"""Calls/s the IVR Stasis app holds, against pure dialplan, in the same run.

    python3 bench/bench_ari.py [--rates 20,50,100,150,200,300] [--seconds 5] [--json]

One real platform (the e2e harness: Asterisk 22, FastAGI, the API, Redis).
Every call is a SIPp citizen dialing 12345 that stays 1.5 s and hangs up.

- **dialplan**: the map has no IVR flow: FastAGI route -> route-queue -> Queue.
- **ari**: the map's 12345 flow is ``bench`` (a queue node only): FastAGI route
  -> route-ivr -> Stasis -> the app (``hotline ari``) -> continue ->
  hotline-ivr-queue -> Queue.  Same end, plus the app's round trip.

At each offered rate the bench counts, from Asterisk itself (``queue show``:
completed + abandoned), the calls that reached the queue, and for the ari run,
from the app's log, the calls it continued to the queue while they were still
up (not counting the ones shed to the dialplan fallback).  AMI is not used to
count: at these rates the event stream falls behind.  A rate is *held* when
>= 99% of the calls reach the queue (dialplan) or reach it through the app (ari).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from deploy.platform import settings_env  # noqa: E402
from tests.e2e.harness import Stack  # noqa: E402

BENCH_FLOW = """
flows:
  bench:
    start: q
    nodes:
      q: {type: queue, skill: hotline, after: ""}
"""


def start_app(stack: Stack, root: Path) -> subprocess.Popen:
    flows = root / "flows"
    flows.mkdir(exist_ok=True)
    for f in (ROOT / "ivr_flows").glob("*.yaml"):
        (flows / f.name).write_bytes(f.read_bytes())
    (flows / "bench.yaml").write_text(BENCH_FLOW, encoding="utf-8")
    stack.platform.stop_service("ari")
    env = settings_env(stack.settings) | {"HOTLINE_IVR_FLOWS_DIR": str(flows)}
    log = open(root / "ari.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "deploy.cli", "ari"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if "ARI websocket connected" in (root / "ari.log").read_text(errors="replace"):
            time.sleep(1.5)
            return proc
        time.sleep(0.3)
    raise RuntimeError("hotline ari did not start")


def queue_counts(stack: Stack) -> tuple[int, int, int]:
    """(completed, abandoned, waiting) of the hotline queue, from Asterisk itself."""
    out = stack.cli("queue show hotline")
    head = out.splitlines()[0] if out else ""
    c = re.search(r"C:(\d+)", head)
    a = re.search(r"A:(\d+)", head)
    w = re.search(r"has (\d+) calls", head)
    return (int(c.group(1)) if c else 0, int(a.group(1)) if a else 0, int(w.group(1)) if w else 0)


def step(stack: Stack, rate: int, seconds: float, caller: str, app_log: Path) -> dict:
    calls = max(1, int(rate * seconds))
    scen = stack.sipp_file("ivr_dtmf.xml", {"<!-- IVR_ACTIONS -->": '<pause milliseconds="1500"/>', "IVR_WAIT": "10"})
    c0, a0, _ = queue_counts(stack)
    log0 = app_log.stat().st_size
    t0 = time.monotonic()
    r = stack.sipp_uac(
        scen, "12345", caller, calls=calls, rate=rate, concurrent=max(50, rate * 4), timeout=seconds + 60
    )
    wall = time.monotonic() - t0
    for _ in range(40):  # until every caller has left the queue
        time.sleep(0.5)
        if queue_counts(stack)[2] == 0:
            break
    c1, a1, _ = queue_counts(stack)
    with app_log.open("rb") as fh:
        fh.seek(log0)
        text = fh.read().decode("utf-8", "replace")
    left = text.count('"msg": "call leaves flow"')
    gone = text.count('"msg": "call gone before continue"')
    return {
        "rate": rate,
        "calls": calls,
        "joined": (c1 - c0) + (a1 - a0),
        "via_app": left - gone,
        "gone_before_continue": gone,
        "sipp_ok": r.ok,
        "sipp_failed": _failed(r.stdout),
        "wall_s": round(wall, 1),
    }


def _failed(stdout: str) -> int:
    m = re.search(r"Failed call\s+\|\s+\d+\s+\|\s+(\d+)", stdout)
    return int(m.group(1)) if m else -1


def run(rates: list[int], seconds: float) -> dict:
    root = Path(tempfile.mkdtemp(prefix="bench-ari-"))
    stack = Stack(root / "stack")
    stack.start()
    app = None
    out = {"dialplan": [], "ari": []}
    try:
        app = start_app(stack, root)
        map_text = stack.settings.transfer_map.read_text(encoding="utf-8")
        for i, rate in enumerate(rates):
            stack.reload(transfer_map=map_text)
            time.sleep(1)
            out["dialplan"].append(step(stack, rate, seconds, f"1510000{i:04d}", root / "ari.log"))
            print("dialplan", out["dialplan"][-1], flush=True)
            stack.reload(transfer_map=map_text.replace("  queue: hotline\n", "  queue: hotline\n  flow: bench\n", 1))
            time.sleep(1.5)
            out["ari"].append(step(stack, rate, seconds, f"1520000{i:04d}", root / "ari.log"))
            print("ari     ", out["ari"][-1], flush=True)
        stats = [l for l in (root / "ari.log").read_text(errors="replace").splitlines() if '"ivr stats"' in l]
        out["app_stats_last"] = json.loads(stats[-1]) if stats else {}
    finally:
        if app is not None and app.poll() is None:
            app.terminate()
            app.wait(10)
        stack.stop()

    def held(rows, key):
        ok = [r["rate"] for r in rows if r[key] >= 0.99 * r["calls"]]
        return max(ok) if ok else 0

    out["held_dialplan"] = held(out["dialplan"], "joined")
    out["held_ari"] = held(out["ari"], "via_app")
    out["ratio"] = round(out["held_ari"] / out["held_dialplan"], 2) if out["held_dialplan"] else None
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rates", default="20,50,100,150,200,300")
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    out = run([int(x) for x in a.rates.split(",")], a.seconds)
    if a.json:
        print(json.dumps(out, indent=1))
    else:
        print(f"{'rate':>6} | {'dialplan: queue reached':>24} | {'ari: via the app':>17} | {'ari: queue reached':>19}")
        for d, r in zip(out["dialplan"], out["ari"], strict=False):
            print(
                f"{d['rate']:>6} | {d['joined']:>11}/{d['calls']:<12} | {r['via_app']:>8}/{r['calls']:<8} | "
                f"{r['joined']:>9}/{r['calls']:<9}"
            )
        print(
            f"held: dialplan {out['held_dialplan']} calls/s, ari {out['held_ari']} calls/s, "
            f"ari/dialplan = {out['ratio']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

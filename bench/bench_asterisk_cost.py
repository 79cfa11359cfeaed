"""Asterisk's own cost per call, and whether it grows, by configuration variant.

    .venv/bin/python bench/bench_asterisk_cost.py [--calls 4000] [--chunk 1000] [--rate 100]
        [--variants platform,minimal,...] [--json]

For each variant a fresh Asterisk 22 (the e2e harness's platform: chroot, free loopback
ports, no Python service, so 12345 takes the rendered ``hotline-static`` decision) gets its
rendered configuration edited as the variant says and is restarted. SIPp citizens then dial
12345 in chunks of ``--chunk`` calls (each answered, in the queue ~1 s, then BYE); after each
chunk the bench reads /proc/<asterisk>/stat (user+system CPU) and /proc/<asterisk>/status
(VmRSS), the channels still up and the deepest task queue (``core show taskprocessors``).

Variants (``VARIANTS`` below) are the factors issue #15 left open: CDR ``unanswered``,
cdr_manager, cel_manager, manager ``channelvars``, per-entry queue variables, the stasis
message types nothing here consumes, and a minimal Answer->Queue configuration (the floor).
CPU per call = CPU seconds of the chunk / calls of the chunk; growth = last chunk / first.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.harness import SIPP_DIR, Stack  # noqa: E402

CLK = os.sysconf("SC_CLK_TCK")
SETTLE_S = 40  # seconds after the last call before the final RSS: PJSIP keeps a call's transactions ~32 s

MINIMAL_MODULES = """[modules]
autoload = no
load => res_timing_timerfd.so
load => res_sorcery_config.so
load => res_sorcery_memory.so
load => res_sorcery_astdb.so
load => res_rtp_asterisk.so
load => res_musiconhold.so
load => res_pjproject.so
load => res_pjsip.so
load => res_pjsip_session.so
load => res_pjsip_pubsub.so
load => res_pjsip_endpoint_identifier_ip.so
load => res_pjsip_endpoint_identifier_user.so
load => res_pjsip_sdp_rtp.so
load => chan_pjsip.so
load => bridge_simple.so
load => codec_ulaw.so
load => format_wav.so
load => pbx_config.so
load => app_queue.so
"""

MINIMAL_DIALPLAN = """[general]
static = yes
[minimal]
exten => _X.,1,Answer()
 same => n,Queue(hotline)
 same => n,Hangup()
"""


def _sub(name: str, pattern: str, repl: str) -> Callable[[Path], None]:
    def edit(etc: Path) -> None:
        f = etc / name
        text, n = re.subn(pattern, repl, f.read_text(encoding="utf-8"), flags=re.M)
        if n == 0:
            raise ValueError(f"{name}: {pattern!r} not found")
        f.write_text(text, encoding="utf-8")

    return edit


def _minimal(etc: Path) -> None:
    (etc / "modules.conf").write_text(MINIMAL_MODULES, encoding="utf-8")
    for trunkish in etc.glob("extensions*.conf"):
        if trunkish.name != "extensions.conf":
            trunkish.write_text("", encoding="utf-8")
    # every context a SIP endpoint lands in (from-pstn, from-trunk-*, agents) -> Answer, Queue
    contexts = sorted(
        set(re.findall(r"^context = (\S+)", "".join(f.read_text() for f in etc.glob("pjsip*.conf")), re.M))
    )
    includes = "".join(f"[{c}]\ninclude => minimal\n" for c in contexts)
    (etc / "extensions.conf").write_text(MINIMAL_DIALPLAN + includes, encoding="utf-8")
    _sub("manager.conf", r"^enabled = yes", "enabled = no")(etc)
    _sub("logger.conf", r"^queue_log = yes", "queue_log = no")(etc)


def _decline(*types: str) -> Callable[[Path], None]:
    def edit(etc: Path) -> None:
        f = etc / "stasis.conf"
        text = f.read_text(encoding="utf-8")
        if "[declined_message_types]" not in text:
            text += "\n[declined_message_types]\n"
        f.write_text(text + "".join(f"decline = {t}\n" for t in types), encoding="utf-8")

    return edit


# The platform's stasis.conf already declines RTCP reports and AGI command events (nothing reads
# them).  The channel types the AMI's channel handling routes (VarSet, MOH, DTMF, hang-up handlers,
# talking, ...) cannot be declined: with any of them declined manager.so fails to load ("Failed to
# initialize manager channel handling") and Asterisk exits.  Left to try: security events.
UNREAD = ("ast_security_event_type",)
NO_NEWEXTEN = "timestampevents = yes\ndisabledevents = Newexten,VarSet"
CHANNELVARS_9 = (
    "channelvars = HOTLINE_ORIGIN,HOTLINE_MODE,HOTLINE_DEPT,HOTLINE_LEVEL,HOTLINE_ORDER,HOTLINE_FLAG,"
    "HOTLINE_ROUTER,HOTLINE_PEER_ORDER,HOTLINE_PEER"
)

VARIANTS: dict[str, list[Callable[[Path], None]]] = {
    "platform": [],
    "platform-agi": [],
    "cdr-unanswered-no": [_sub("cdr.conf", r"^unanswered = yes", "unanswered = no")],
    "cdr-off": [_sub("cdr.conf", r"^enable = yes", "enable = no")],
    "no-cel_manager": [_sub("modules.conf", r"^load => cel_manager\.so", "noload => cel_manager.so")],
    "no-cdr_manager": [_sub("modules.conf", r"^load => cdr_manager\.so", "noload => cdr_manager.so")],
    # the platform before 2026-12-03: the call's facts as manager channelvars, not UserEvents
    "channelvars-9": [_sub("manager.conf", r"^timestampevents = yes$", "timestampevents = yes\n" + CHANNELVARS_9)],
    "no-queue-vars": [
        _sub("queues.conf", r"^setqueueentryvar = yes", "setqueueentryvar = no"),
        _sub("queues.conf", r"^setqueuevar = yes", "setqueuevar = no"),
    ],
    "no-queue_log": [_sub("logger.conf", r"^queue_log = yes", "queue_log = no")],
    "ami-off": [_sub("manager.conf", r"^enabled = yes", "enabled = no")],
    "decline-security": [_decline(*UNREAD)],
    # AMI events not generated at all (manager.conf disabledevents, Asterisk >= 21)
    "no-newexten-varset": [_sub("manager.conf", r"^timestampevents = yes$", NO_NEWEXTEN)],
    "lean": [
        _decline(*UNREAD),
        _sub("manager.conf", r"^timestampevents = yes$", NO_NEWEXTEN),
    ],
    "minimal": [_minimal],
    # the minimal configuration without the queue: answer, wait as long as the caller, hang up
    "minimal-no-queue": [_minimal, _sub("extensions.conf", r"^ same => n,Queue\(hotline\)", " same => n,Wait(5)")],
    # the minimal queue with ringing instead of music on hold
    "minimal-ring": [_minimal, _sub("extensions.conf", r"^ same => n,Queue\(hotline\)", " same => n,Queue(hotline,r)")],
}
# variants that run a Python service beside Asterisk: "platform-agi" is the production call path
# (12345 routed by one FastAGI round trip); the others take the rendered hotline-static decision
# after the AGI connection is refused (the fallback, with its WARNING line per call)
VARIANT_SERVICES: dict[str, tuple[str, ...]] = {"platform-agi": ("agi",)}
# variants that change Asterisk's environment (glibc's allocator), not its configuration
ENV_VARIANTS: dict[str, dict[str, str]] = {
    "platform-arena2": {"MALLOC_ARENA_MAX": "2"},
    "minimal-arena2": {"MALLOC_ARENA_MAX": "2"},
}
VARIANTS["platform-arena2"] = VARIANTS["platform"]
VARIANTS["minimal-arena2"] = VARIANTS["minimal"]


def proc_sample(pid: int) -> tuple[float, float]:
    """(CPU seconds user+system, RSS MiB) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLK
    rss = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
    return cpu, rss


def max_taskprocessor_depth(text: str) -> tuple[int, str]:
    """The deepest 'Max Depth' in ``core show taskprocessors`` and whose it is."""
    best, who = 0, ""
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 6 and parts[1].isdigit() and parts[2].isdigit() and parts[3].isdigit():
            if int(parts[3]) > best:
                best, who = int(parts[3]), parts[0]
    return best, who


def channels_up(stack: Stack) -> int:
    m = re.search(r"(\d+) active channel", stack.asterisk.rx("core show channels count"))
    return int(m.group(1)) if m else -1


def wait_no_channels(stack: Stack, timeout: float) -> float:
    """Seconds until no channel is up (or ``timeout``)."""
    for i in range(int(timeout * 2)):
        if channels_up(stack) == 0:
            return i / 2
        time.sleep(0.5)
    return timeout


def sipp_chunk(stack: Stack, scen: Path, calls: int, rate: int, caller: str) -> int:
    """Place ``calls`` calls; the number SIPp counted as failed."""
    r = stack.sipp_uac(scen, "12345", caller, calls=calls, rate=rate, concurrent=rate * 4, timeout=calls / rate + 60)
    m = re.search(r"Failed call\s+\|\s+\d+\s+\|\s+(\d+)", r.stdout)
    return int(m.group(1)) if m else (0 if r.ok else calls)


class Instance:
    """One variant's Asterisk, kept up for the whole run (chunks of all variants alternate)."""

    def __init__(self, name: str, root: Path):
        self.name = name
        services = VARIANT_SERVICES.get(name, ())
        self.stack = Stack(root / name, services=services)
        self.stack.platform.start(services=services, agents=self.stack.agents_spec)
        ast = self.stack.asterisk
        for edit in VARIANTS[name]:
            edit(ast.etc)
        ast.stop()
        saved = dict(os.environ)
        os.environ.update(ENV_VARIANTS.get(name, {}))
        try:
            ast.start()
        finally:
            os.environ.clear()
            os.environ.update(saved)
        self.pid = ast.proc.pid
        self.scen = self.stack.sipp_file(
            "ivr_dtmf.xml", {"<!-- IVR_ACTIONS -->": '<pause milliseconds="1000"/>', "IVR_WAIT": "10"}
        )
        self.rows: list[dict] = []
        self.done = 0
        self.cpu0, self.rss0 = 0.0, 0.0

    def begin(self) -> None:
        self.cpu0, self.rss0 = proc_sample(self.pid)

    def calls(self, n: int, rate: int, caller: str, settle_s: float) -> dict:
        """Place ``n`` calls at ``rate``, wait up to ``settle_s`` for their channels to go; what it
        cost Asterisk (CPU a call), its RSS, the failed calls, the channels left, the deepest queue."""
        cpu0, _ = proc_sample(self.pid)
        t0 = time.monotonic()
        failed = sipp_chunk(self.stack, self.scen, n, rate, caller)
        wait_no_channels(self.stack, settle_s)
        cpu1, rss1 = proc_sample(self.pid)
        depth, who = max_taskprocessor_depth(self.stack.asterisk.rx("core show taskprocessors"))
        return {
            "ms_per_call": round((cpu1 - cpu0) * 1000 / n, 2),
            "rss_mib": round(rss1, 1),
            "failed": failed,
            "channels_left": channels_up(self.stack),
            "max_tp_depth": depth,
            "max_tp": who,
            "wall_s": round(time.monotonic() - t0, 1),
        }

    def chunk(self, n: int, rate: int, index: int) -> None:
        row = self.calls(n, rate, f"139{index % 10000:04d}{self.done % 10000:04d}", settle_s=10)
        self.done += n
        self.rows.append({"calls": self.done, **row})
        print(self.name, self.rows[-1], flush=True)

    def result(self) -> dict:
        """After the calls' state is gone (the run waits ``SETTLE_S`` first): RSS as it is, and after
        ``malloc trim`` (glibc keeps freed heap; the jobs service trims, HOTLINE_ASTERISK_TRIM_INTERVAL)."""
        _, idle_rss = proc_sample(self.pid)
        self.stack.asterisk.rx("malloc trim")
        time.sleep(1)
        _, trimmed_rss = proc_sample(self.pid)
        rows = self.rows
        return {
            "variant": self.name,
            "rss_start_mib": round(self.rss0, 1),
            "rows": rows,
            "first_ms": rows[0]["ms_per_call"],
            "last_ms": rows[-1]["ms_per_call"],
            "growth": round(rows[-1]["ms_per_call"] / rows[0]["ms_per_call"], 2) if rows[0]["ms_per_call"] else None,
            "rss_end_mib": round(idle_rss, 1),
            "rss_trimmed_mib": round(trimmed_rss, 1),
        }


def ceiling(instances: list[Instance], rates: list[int], seconds: float) -> dict[str, dict]:
    """The highest rate each variant takes with no failed call: at each rate (rising), each
    variant in turn gets ``rate * seconds`` calls at that rate; a variant stops at its first
    rate with a failed call or a channel left up 20 s after."""
    out: dict[str, dict] = {inst.name: {"held": 0, "rates": []} for inst in instances}
    for rate in rates:
        for inst in instances:
            if out[inst.name].get("stopped"):
                continue
            n = int(rate * seconds)
            row = {"rate": rate, "calls": n, **inst.calls(n, rate, f"138{rate:04d}0000", settle_s=20)}
            out[inst.name]["rates"].append(row)
            print(inst.name, "ceiling", row, flush=True)
            if row["failed"] or row["channels_left"]:
                out[inst.name]["stopped"] = True
            else:
                out[inst.name]["held"] = rate
    return out


def run(
    variants: list[str], calls: int, chunk: int, rate: int, rates: list[int] | None = None, seconds: float = 10
) -> list[dict]:
    """Every variant's Asterisk is started first; then their chunks alternate (variant A's
    chunk 1, B's chunk 1, A's chunk 2, ...), so a change in the machine's load falls on all
    of them alike, and only one Asterisk takes calls at a time."""
    root = Path(tempfile.mkdtemp(prefix="bench-astcost-"))
    instances: list[Instance] = []
    try:
        for v in variants:
            instances.append(Instance(v, root))
        time.sleep(2)
        for inst in instances:
            inst.begin()
        index = 0
        while any(inst.done < calls for inst in instances):
            for inst in instances:
                if inst.done < calls:
                    inst.chunk(min(chunk, calls - inst.done), rate, index)
            index += 1
        time.sleep(SETTLE_S)
        results = [inst.result() for inst in instances]
        if rates:
            for r, c in zip(results, ceiling(instances, rates, seconds).values(), strict=True):
                r["ceiling"] = c
        return results
    finally:
        for inst in instances:
            inst.stack.platform.stop()


def mean_ms(r: dict) -> float:
    return sum(row["ms_per_call"] for row in r["rows"]) / len(r["rows"])


def table(results: list[dict]) -> str:
    """One line a variant; ``x minimal``: its mean CPU per call over every chunk / the minimal
    variant's (the chunks alternate, so both saw the same machine); ``ceiling``: the highest
    rate with no failed call and its ratio to the minimal one's."""
    base = next((r for r in results if r["variant"] == "minimal"), None)
    lines = [
        f"{'variant':<18} | {'ms/call first':>13} | {'ms/call last':>12} | {'mean':>6} | {'growth':>6} | "
        f"{'RSS start -> end (trimmed) MiB':>30} | {'x minimal':>9} | {'ceiling':>12} | max task queue"
    ]
    for r in results:
        x = f"{mean_ms(r) / mean_ms(base):.2f}" if base else "-"
        depth = max(row["max_tp_depth"] for row in r["rows"])
        ceil = "-"
        if "ceiling" in r:
            ceil = f"{r['ceiling']['held']}/s"
            if base and base.get("ceiling", {}).get("held"):
                ceil += f" {r['ceiling']['held'] / base['ceiling']['held']:.2f}"
        lines.append(
            f"{r['variant']:<18} | {r['first_ms']:>13} | {r['last_ms']:>12} | {mean_ms(r):>6.2f} | "
            f"{r['growth']!s:>6} | "
            f"{r['rss_start_mib']:>8} -> {r['rss_end_mib']:<8} ({r['rss_trimmed_mib']:>7}) | "
            f"{x:>9} | {ceil:>12} | {depth}"
        )
    return "\n".join(lines)


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the finally blocks stop Asterisk
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=4000)
    ap.add_argument("--chunk", type=int, default=1000)
    ap.add_argument("--rate", type=int, default=100)
    ap.add_argument("--variants", default="minimal,platform")
    ap.add_argument(
        "--ceiling",
        default="",
        help="after the chunks, rising rates (e.g. 100,150,200,300): each variant's highest rate with no failed call",
    )
    ap.add_argument("--ceiling-seconds", type=float, default=10, help="length of each ceiling step")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--json-out", type=Path, default=None, help="also write the results here (bench/run_all.py)")
    a = ap.parse_args()
    names = a.variants.split(",")
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        ap.error(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}")
    assert SIPP_DIR.exists()
    rates = [int(x) for x in a.ceiling.split(",") if x]
    results = run(names, a.calls, a.chunk, a.rate, rates, a.ceiling_seconds)
    if a.json_out:
        a.json_out.write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(json.dumps(results, indent=1) if a.json else table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

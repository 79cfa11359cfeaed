"""The end-to-end bench's two extra phases, on the platform ``bench/bench_e2e.py`` started.

- ``--overload``: twice the held rate (or ``--overload-rate``) for ``--overload-seconds``, with
  ``HOTLINE_QUEUE_MAXLEN`` at its default (the ramps run without a limit): callers queued,
  connected, turned away by the ``queue-full`` announcement (Asterisk's ``Unable to join queue``
  warning), failed calls, every service still up with the same PID, channels left 30 s after the
  run, the deepest task queue against its high-water alert level.
- ``--memory`` (run first, on the fresh platform): ``--memory-calls`` (500) citizens at
  ``--memory-rate`` calls/s, each through the greeting into the queue, where ``--agents`` agents
  of their own talk 30 s (the others wait, hold music); the citizens hang up ``--memory-hold`` ms
  after the answer, so all of them are up at once: the RSS of Asterisk and of every Python
  service idle (before the first call), at the first sample with every citizen up, and 30 s
  after the burst (no channel up); then Asterisk's once more after a ``malloc trim`` (the jobs'
  periodic trim, HOTLINE_ASTERISK_TRIM_INTERVAL).
"""

from __future__ import annotations

import argparse
import dataclasses
import time

from bench import e2e_common as ec
from bench.bench_asterisk_cost import wait_no_channels
from hotline.settings import Settings
from tests.e2e.harness import Stack

AFTER_S = 30  # "after the run": channels and memory this long after the last call ended
MEMORY_TALK_MS = 30000  # the memory phase's agents talk longer than the citizens hold
MEMORY_AGENTS = 3000  # their names (3000, 3001 ...); the ramps' agents are 2000 ...


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--overload", action="store_true", help="then twice the held rate, queue limit on")
    ap.add_argument("--overload-rate", type=int, default=0, help="calls/s instead of 2 x the platform's held rate")
    ap.add_argument("--overload-seconds", type=int, default=30)
    ap.add_argument("--memory", action="store_true", help="then RSS at --memory-calls concurrent calls")
    ap.add_argument("--memory-calls", type=int, default=500)
    ap.add_argument("--memory-rate", type=int, default=40)
    ap.add_argument("--memory-hold", type=int, default=25000)


def _with_settings(stack: Stack, **changes: object) -> Settings:
    """Render and reload with ``changes``; returns the settings to put back."""
    before = stack.platform.settings
    stack.settings = stack.platform.settings = before.with_(**changes)
    stack.reload()
    return before


def _restore(stack: Stack, before: Settings) -> None:
    stack.settings = stack.platform.settings = before
    stack.reload()


def overload(stack: Stack, a: argparse.Namespace, scenario, rate: float) -> dict:
    maxlen = next(f.default for f in dataclasses.fields(Settings) if f.name == "queue_maxlen")
    before = _with_settings(stack, queue_maxlen=maxlen)
    try:
        ec.reset_taskprocessors(stack)
        pids = ec.service_pids(stack)
        sampler = ec.Sampler(stack, pids)
        sampler.start()
        console_at, started = stack.asterisk_log_size(), time.time()
        calls = int(rate * a.overload_seconds)
        r = stack.sipp_uac(
            scenario,
            "12345",
            "13900000200",
            calls=calls,
            rate=rate,
            concurrent=calls,
            timeout=a.overload_seconds + a.hold / 1000 + 90,
            extra=["-trace_stat", "-stf", str(stack.root / f"overload-{started}.stat.csv"), "-fd", "5"],
        )
        ended = time.time()
        drained_s = wait_no_channels(stack, AFTER_S)
        time.sleep(max(0.0, ended + AFTER_S - time.time()))
        left, left_citizens = ec.channels(stack)
        sampler.stop.set()
        sampler.join()
        depth, who, high = ec.taskqueue_peak(stack)
        qlog, console = ec.QueueLog(stack, started), ec.ConsoleLog(stack, console_at)
        now = ec.service_pids(stack)
        failed = 0
        for line in r.stdout.splitlines():  # SIPp's final screen: "Failed call | ... | <cumulated>"
            if line.strip().startswith("Failed call"):
                failed = int(line.split("|")[-1].strip() or 0)
        return {
            "rate": rate,
            "seconds": a.overload_seconds,
            "queue_maxlen": maxlen,
            "calls": calls,
            "sipp_failed": failed,
            "sipp_ok": r.ok,
            "queued": len(qlog.entered),
            "connected": len(qlog.connects),
            "left_queue_unserved": len(qlog.unserved),
            "turned_away_full": console.join_refused,
            "no_greeting": len(console.fallback_times),
            "survey_shed_call_ended": console.after_call_ended,
            "queued_twice": qlog.requeued,
            "peak_channels": sampler.peak_channels,
            "peak_citizens": sampler.peak_citizens,
            "drained_s": drained_s,
            "channels_after_30s": left,
            "citizens_after_30s": left_citizens,
            "services_down_or_restarted": sorted(n for n in pids if now.get(n) != pids[n]),
            "max_taskqueue": depth,
            "max_taskqueue_name": who,
            "taskqueue_high_water": high,
            "high_water_warnings": console.high_water,
            "queue_log_events": dict(qlog.events),
        }
    finally:
        _restore(stack, before)


def memory(stack: Stack, a: argparse.Namespace) -> dict:
    pids = ec.service_pids(stack)
    idle = ec.rss_of(pids)
    ec.start_agents(stack, a.agents, MEMORY_TALK_MS, first=MEMORY_AGENTS)
    sampler = ec.Sampler(stack, pids, plateau=a.memory_calls)
    sampler.start()
    started = time.time()
    r = stack.sipp_uac(
        ec.citizen(stack, None, a.memory_hold),
        "12345",
        "13900000500",
        calls=a.memory_calls,
        rate=a.memory_rate,
        concurrent=a.memory_calls,
        timeout=a.memory_calls / a.memory_rate + a.memory_hold / 1000 + 90,
    )
    ended = time.time()
    drained_s = wait_no_channels(stack, 60)
    time.sleep(max(0.0, ended + drained_s + AFTER_S - time.time()))
    sampler.stop.set()
    sampler.join()
    after = ec.rss_of(pids)
    stack.asterisk.rx("malloc trim")  # what the jobs do every HOTLINE_ASTERISK_TRIM_INTERVAL
    trimmed = ec.rss_of(pids)["asterisk"]
    qlog = ec.QueueLog(stack, started)
    ec.remove_agents(stack, a.agents, first=MEMORY_AGENTS)
    return {
        "calls": a.memory_calls,
        "rate": a.memory_rate,
        "sipp_ok": r.ok,
        "rss_idle_mib": idle,
        "plateau": sampler.at_plateau,
        "peak_citizens": sampler.peak_citizens,
        "peak_channels": sampler.peak_channels,
        "rss_at_peak_mib": sampler.rss_at_peak,
        "rss_after_30s_mib": after,
        "asterisk_after_trim_mib": trimmed,
        "channels_after": ec.channels(stack)[0],
        "queued": len(qlog.entered),
        "connected": len(qlog.connects),
    }


def print_summary(out: dict) -> None:
    if o := out.get("overload"):
        print(
            f"overload {o['rate']}/s for {o['seconds']} s (maxlen {o['queue_maxlen']}): {o['calls']} calls, "
            f"queued {o['queued']}, connected {o['connected']}, turned away (full) {o['turned_away_full']}, "
            f"left the queue unserved {o['left_queue_unserved']}, no greeting {o['no_greeting']}, "
            f"failed {o['sipp_failed']}, services down/restarted {o['services_down_or_restarted'] or 'none'}, "
            f"channels 30 s after {o['channels_after_30s']}, max task queue {o['max_taskqueue']} "
            f"({o['max_taskqueue_name']}, high water {o['taskqueue_high_water']})"
        )
    if m := out.get("memory"):
        p = m["plateau"]
        print(
            f"memory, {m['calls']} calls at {m['rate']}/s: plateau {p.get('citizens', 'not reached')} citizens "
            f"({p.get('channels', '-')} channels); peak {m['peak_citizens']} citizens; "
            f"Asterisk after a malloc trim {m['asterisk_after_trim_mib']} MiB"
        )
        for name in m["rss_idle_mib"]:
            print(
                f"  {name:<9} RSS MiB idle {m['rss_idle_mib'][name]}"
                f" -> at {p.get('citizens', '-')} calls {p.get('rss_mib', {}).get(name)}"
                f" -> 30 s after {m['rss_after_30s_mib'].get(name)}"
            )

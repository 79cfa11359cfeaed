"""What the end-to-end benches share: agents, the processes and their CPU/RSS, Asterisk's own
records of the calls (queue_log, messages.log, channels, task queues), SIPp's files.

Used by ``bench/bench_e2e.py`` (the ramp against the twin) and ``bench/e2e_phases.py`` (memory
at 500 concurrent calls, twice the held rate)."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import threading
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from bench.bench_asterisk_cost import max_taskprocessor_depth, proc_sample
from hotline.secrets import ensure_sip_password
from tests.e2e.harness import Stack, free_port, media_port
from tests.e2e.test_ivr import dtmf_pcap

PSTN_CHANNEL = "PJSIP/pstn-"  # a citizen's leg (the trunk endpoint ``pstn``, pjsip.conf.j2)
# hotline-ivr-fallback's NOTICEs (extensions_ivr.conf.j2): a call that skips the IVR (the app
# down or shedding load), a caller back from an agent whose survey was shed (the call ends)
IVR_FALLBACK_LOG = "hotline-ivr-fallback: the queue without the IVR"
AFTER_CALL_LOG = "hotline-ivr-fallback: after an agent"
LOG_TIME = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\]")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def start_agents(stack: Stack, count: int, talk_ms: int, first: int = 2000) -> subprocess.Popen:
    """``count`` agent endpoints (``first``, ``first``+1 ...), all registered at one SIPp UAS that
    answers after 200 ms and talks ``talk_ms``, logged into the hotline queue."""
    names = [str(first + i) for i in range(count)]
    stack.agents_spec += [
        {"name": n, "password": ensure_sip_password(stack.settings.secrets_file, n), "skills": {}} for n in names
    ]
    stack.reload()
    port = free_port()
    for n in names:
        stack.register(n, port)
    talk = stack.sipp_file(
        "agent_answer.xml",
        {'timeout="2000" ontimeout="agent_bye"': f'timeout="{talk_ms}" ontimeout="agent_bye"'},
    )
    uas = subprocess.Popen(
        ["sipp", "-sf", str(talk), "-i", "127.0.0.1", "-p", str(port)] + ["-mp", str(media_port()), "-nostdin"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=stack.root,
    )
    stack.sipps.append(uas)
    for n in names:
        stack.ami({"Action": "QueueAdd", "Queue": "hotline", "Interface": f"PJSIP/{n}", "MemberName": n})
    return uas


def remove_agents(stack: Stack, count: int, first: int = 2000) -> None:
    for i in range(count):
        stack.ami({"Action": "QueueRemove", "Queue": "hotline", "Interface": f"PJSIP/{first + i}"})


def service_pids(stack: Stack) -> dict[str, int]:
    pids = {"asterisk": stack.asterisk.proc.pid}
    for name, p in stack.platform.procs.items():
        if p.poll() is None:
            pids[name] = p.pid
    return pids


def cpu_of(pids: dict[str, int]) -> dict[str, float]:
    out = {}
    for name, pid in pids.items():
        try:
            out[name] = proc_sample(pid)[0]
        except (FileNotFoundError, ProcessLookupError):
            out[name] = float("nan")
    return out


def rss_of(pids: dict[str, int]) -> dict[str, float]:
    out = {}
    for name, pid in pids.items():
        try:
            out[name] = round(proc_sample(pid)[1], 1)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return out


def channels(stack: Stack) -> tuple[int, int]:
    """(every channel, citizens' channels) up in Asterisk now."""
    lines = stack.asterisk.rx("core show channels concise", timeout=10).splitlines()
    ups = [line for line in lines if "!" in line]
    return len(ups), sum(1 for line in ups if line.startswith(PSTN_CHANNEL))


class Sampler(threading.Thread):
    """RSS of every process and Asterisk's channels, once a second, while calls run; the RSS at
    the peak of citizens' channels, and the first sample with ``plateau`` citizens or more."""

    def __init__(self, stack: Stack, pids: dict[str, int], plateau: int = 0):
        super().__init__(daemon=True)
        self.stack, self.pids, self.stop, self.plateau = stack, pids, threading.Event(), plateau
        self.peak_rss: dict[str, float] = dict.fromkeys(pids, 0.0)
        self.peak_channels = self.peak_citizens = 0
        self.rss_at_peak: dict[str, float] = {}
        self.at_plateau: dict = {}

    def run(self) -> None:
        while not self.stop.wait(1.0):
            every, citizens = channels(self.stack)
            now = rss_of(self.pids)
            for name, mib in now.items():
                self.peak_rss[name] = max(self.peak_rss[name], mib)
            self.peak_channels = max(self.peak_channels, every)
            if citizens >= self.peak_citizens:
                self.peak_citizens, self.rss_at_peak = citizens, now
            if self.plateau and citizens >= self.plateau and not self.at_plateau:
                self.at_plateau = {"channels": every, "citizens": citizens, "rss_mib": now}


def reset_taskprocessors(stack: Stack) -> None:
    """Max depth counts from now on."""
    for line in stack.cli("core show taskprocessors").splitlines():
        parts = line.split()
        if len(parts) >= 6 and parts[3].isdigit() and int(parts[3]) > 0:
            stack.cli(f"core reset taskprocessor {parts[0]}")


def taskqueue_peak(stack: Stack) -> tuple[int, str, int]:
    """(deepest max depth since the reset, its task queue, that queue's high-water alert level)."""
    text = stack.cli("core show taskprocessors")
    depth, who = max_taskprocessor_depth(text)
    high = 0
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0] == who and len(parts) >= 6 and parts[5].isdigit():
            high = int(parts[5])
    return depth, who, high


def read_rtt(f: Path) -> list[tuple[float, float]]:
    """SIPp's ``-trace_rtt`` file: (ms since start, response time ms) per call."""
    out = []
    with f.open() as fh:
        for row in csv.reader(fh, delimiter=";"):
            try:
                out.append((float(row[0]), float(row[1])))
            except (IndexError, ValueError):
                continue
    return out


def read_periods(f: Path) -> list[dict]:
    """SIPp's ``-trace_stat`` file: per period the target rate, the calls created and failed."""
    rows = []
    with f.open() as fh:
        for row in csv.DictReader(fh, delimiter=";"):
            try:
                if int(row["OutgoingCall(P)"]) == 0:
                    continue  # the first line (nothing sent yet) and the tail after the last call
                rows.append(
                    {
                        "rate": float(row["TargetRate"]),
                        "sent_per_s": round(float(row["CallRate(P)"]), 1),
                        "created": int(row["OutgoingCall(P)"]),
                        "failed": int(row["FailedCall(P)"]),
                    }
                )
            except (KeyError, ValueError):
                continue
    return rows


def created_at(uniqueid: str) -> float:
    """A channel's creation time (s): Asterisk's uniqueid is ``[systemname-]<epoch>.<sequence>``."""
    return float(uniqueid.rsplit("-", 1)[-1].split(".")[0])


class QueueLog:
    """The hotline queue's records since ``since`` (queue_log: time|callid|queue|agent|event|data...)."""

    def __init__(self, stack: Stack, since: float):
        f = stack.asterisk.log_dir / "queue_log"
        self.rows = [
            parts
            for line in (f.read_text(errors="replace").splitlines() if f.exists() else [])
            if len(parts := line.split("|")) > 4 and parts[2] == "hotline" and float(parts[0]) >= since
        ]
        self.entered = {p[1]: float(p[0]) for p in self.rows if p[4] == "ENTERQUEUE"}
        # CONNECT data: holdtime | the agent channel's uniqueid | ringtime
        self.connects = {p[1]: float(p[0]) for p in self.rows if p[4] == "CONNECT"}
        self.hold_s = {p[1]: float(p[5]) for p in self.rows if p[4] == "CONNECT" and p[5].isdigit()}
        self.events = Counter(p[4] for p in self.rows)
        # left the queue with no agent, and never connected (a caller queued twice may have both)
        self.unserved = {
            p[1]: p[4]
            for p in self.rows
            if p[4] in ("ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY") and p[1] not in self.connects
        }
        self.requeued = self.events["ENTERQUEUE"] - len(self.entered)  # callers queued a second time


class ConsoleLog:
    """Asterisk's messages.log from a byte offset on: the IVR fallbacks (calls that skipped the
    greeting; survey entries shed after an agent call), the turned-away callers (queue full),
    the task queues' high-water warnings."""

    def __init__(self, stack: Stack, offset: int):
        self.lines = stack.asterisk_log(offset).splitlines()
        self.fallback_times = [_log_time(line) for line in self.lines if IVR_FALLBACK_LOG in line]
        self.after_call_ended = sum(1 for line in self.lines if AFTER_CALL_LOG in line)
        self.high_water = sum(1 for line in self.lines if "high water" in line.lower())
        self.join_refused = sum(1 for line in self.lines if "Unable to join queue" in line)


def _log_time(line: str) -> float:
    """The epoch of a messages.log line (the chroot's Asterisk writes UTC, logger.conf.j2)."""
    m = LOG_TIME.match(line)
    return datetime.fromisoformat(m.group(1)).replace(tzinfo=UTC).timestamp() if m else float("nan")


def citizen(stack: Stack, key_at_ms: int | None, hold_ms: int) -> Path:
    """The citizen's scenario (tests/e2e/sipp/ivr_dtmf.xml): no key during the greeting; with
    ``key_at_ms``, that long after the answer one 5 (the survey's rating; ignored by a queue);
    then up to ``hold_ms`` for Asterisk's BYE before hanging up itself. Asterisk's BYE is
    answered whenever it comes."""
    key = (
        f'<recv request="BYE" timeout="{key_at_ms}" ontimeout="rate" next="got_bye"/><label id="rate"/>'
        f'<nop><action><exec play_pcap_audio="{dtmf_pcap("5", 400)}"/></action></nop>'
        if key_at_ms is not None
        else ""
    )
    return stack.sipp_file(
        "ivr_dtmf.xml",
        {
            "<!-- IVR_ACTIONS -->": key,
            "IVR_WAIT": str(hold_ms),
            'ontimeout="citizen_bye"/>': 'ontimeout="citizen_bye"/><label id="got_bye"/>',
        },
    )


HANDED = '"msg": "call handed to a work order"'


def draft_delay_split(handoff_log: str, connects: dict[str, float]) -> dict[str, dict[str, float]]:
    """Where each draft's delay went, from the hand-off's ``call handed to a work order`` lines
    (INFO: present with ``HOTLINE_LOG_LEVEL=INFO``) and queue_log's CONNECT times: ``asterisk``
    (CONNECT to the AgentConnect's AMI stamp: the manager's queue), ``ami`` (stamp to arrival),
    ``queued`` (waiting for a hand-off worker), ``facts`` (then for the call's HotlineAnswered),
    ``api`` (waiting for its batch's answer, retries included), ``batch`` (the calls of the
    request that carried it: a count, not ms); p50 / p99 / max of each over the calls of
    ``connects``.  Empty without the lines."""
    parts: dict[str, list[float]] = {"asterisk": [], "ami": [], "queued": [], "facts": [], "api": [], "batch": []}
    for line in handoff_log.splitlines():
        if HANDED not in line:
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        t_connect = connects.get(rec.get("linkedid", ""))
        if t_connect is None or "api_ms" not in rec:
            continue
        done = datetime.strptime(rec["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()
        facts = rec.get("facts_ms", 0.0)  # lines from before 2026-12-03 have none
        stamp = done - (rec["api_ms"] + facts + rec["queued_ms"] + rec["ami_lag_ms"]) / 1000
        parts["asterisk"].append(max(0.0, stamp - t_connect) * 1000)
        parts["ami"].append(rec["ami_lag_ms"])
        parts["queued"].append(rec["queued_ms"])
        parts["facts"].append(facts)
        parts["api"].append(rec["api_ms"])
        parts["batch"].append(float(rec.get("batch", 1)))  # lines from before the batches have none
    return {
        k: {"p50": round(percentile(v, 0.5), 1), "p99": round(percentile(v, 0.99), 1), "max": round(max(v), 1)}
        for k, v in parts.items()
        if v
    }

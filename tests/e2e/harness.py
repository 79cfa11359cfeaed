"""The end-to-end harness: one real platform per test session.

A real Asterisk 22 (system, or the Debian-sid chroot), Redis, and the Python
services (``hotline agi`` etc.) run on free loopback ports under a temporary
home.  Tests drive it with SIPp (citizens and agent softphones) and observe
it through AMI.  Nothing here stands in for Asterisk.

    stack.ami({...}) -> [response, events...]
    stack.cli("queue show")
    m = stack.events.mark(); stack.events.wait_for(pred, since=m, timeout=10)
    stack.reload(transfer_map=text_or_path, agents=[...])
    stack.sipp_uac("citizen_call.xml", "12345", "13800138000")
    with stack.agent("1001", skills={"hotline": 0}) as agent: ...
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis

from deploy.platform import SERVICES, Platform
from hotline.ami import AMIConnection, connect
from hotline.names import ANSWERED_EVENT, ROUTED_EVENT, parse_call_facts
from hotline.secrets import ensure_sip_password
from hotline.settings import PROJECT_ROOT, Settings
from queues.service import keys

SIPP_DIR = Path(__file__).parent / "sipp"
DEFAULT_AGENTS = tuple(str(n) for n in range(1001, 1011))


def _free(port: int, kinds: tuple[int, ...] = (socket.SOCK_STREAM, socket.SOCK_DGRAM)) -> bool:
    """Whether loopback ``port`` binds now for each socket type of ``kinds``."""
    socks = []
    try:
        for kind in kinds:
            socks.append(socket.socket(socket.AF_INET, kind))
            socks[-1].bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        for sock in socks:
            sock.close()


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port free for both TCP and UDP (SIP is UDP, AMI/HTTP/AGI are TCP)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
        if _free(port, (socket.SOCK_DGRAM,)):
            return port
    raise RuntimeError("no free port")


_ports_lock = threading.Lock()  # tests start SIPp from many threads at once (28 callers in test_demo)
_next: dict[str, int] = {}  # the next SIP port, the next media base of this process (sip_port, media_port)


def _take(kind: str, base: int, size: int, step: int) -> int:
    """The next of this test worker's share of ``base`` .. ``base + size - 1`` (its own part:
    :func:`worker_rtp_range`), ``step`` ports at a time, from a point of its own (its pid)."""
    lo, hi = worker_rtp_range(base, size)
    slots = (hi - lo + 1) // step
    with _ports_lock:
        slot = _next.get(kind, os.getpid() % slots)
        _next[kind] = (slot + 1) % slots
    return lo + slot * step


def sip_port() -> int:
    """A SIP port for one SIPp, free for UDP and TCP.

    Taken in turn from this test worker's share of 10000-19999, below the kernel's ephemeral
    ports: :func:`free_port`'s bind-to-0 could hand the same port to another test worker, or to
    a client socket, before SIPp binds it ("Unable to bind main socket"); and a port a module
    keeps for a peer it starts later is never handed to the other worker."""
    for _ in range(10000):
        port = _take("sip", 10000, 10000, 1)
        if _free(port):
            return port
    raise RuntimeError("no free SIP port")


def media_port() -> int:
    """A base RTP port for SIPp: it uses this one and the next three (audio, video).

    Taken in turn from this test worker's share of 20000-27999, below Asterisk's RTP range and
    the kernel's ephemeral ports, so no other socket grabs them between check and use."""
    for _ in range(2000):
        base = _take("media", 20000, 8000, 4)
        if all(_free(p, (socket.SOCK_DGRAM,)) for p in range(base, base + 4)):
            return base
    raise RuntimeError("no free media ports")


class EventLog:
    """Every AMI event since the session started, in order, thread-safe."""

    def __init__(self, conn: AMIConnection):
        self.conn = conn
        self.events: list[dict] = []
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._run, daemon=True, name="ami-events")
        self.thread.start()

    def _run(self) -> None:
        try:
            self.conn.sock.settimeout(None)
        except OSError:  # closed before this thread ran (bench_consumers closes it at once)
            return
        while True:
            try:
                msg = self.conn.read_message()
            except (OSError, ConnectionError):
                return
            if "Event" in msg:
                with self.cond:
                    self.events.append(msg)
                    self.cond.notify_all()

    def mark(self) -> int:
        with self.cond:
            return len(self.events)

    def since(self, mark: int = 0) -> list[dict]:
        with self.cond:
            return list(self.events[mark:])

    def wait_for(self, pred: Callable[[dict], bool], since: int = 0, timeout: float = 10) -> dict:
        deadline = time.monotonic() + timeout
        i = since
        with self.cond:
            while True:
                while i < len(self.events):
                    if pred(self.events[i]):
                        return self.events[i]
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no matching AMI event")
                self.cond.wait(left)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.sock.close()

    def facts(self, event: dict, timeout: float = 5) -> dict[str, str]:
        """The call's facts (``hotline.names.CALL_FACTS``, as ``{"HOTLINE_ORIGIN": ...}``) at an
        event, as the consumers get them (AMI events carry no channel variables): an
        AgentConnect's from the ``HotlineAnswered`` UserEvent of its agent channel; any other
        event's from the ``HotlineRouted`` of its channel, with the flag of a
        ``HotlineOverflow`` of that channel (set when the route's target did not answer)."""
        if event.get("Event") == "AgentConnect":
            agent = event.get("DestChannel")
            found = self.wait_for(
                lambda e: e.get("UserEvent") == ANSWERED_EVENT and e.get("Channel") == agent, timeout=timeout
            )
            return parse_call_facts(found.get("Facts", ""))
        uid = event.get("Uniqueid")
        routed = self.wait_for(
            lambda e: e.get("UserEvent") == ROUTED_EVENT and e.get("Uniqueid") == uid, timeout=timeout
        )
        out = parse_call_facts(routed.get("Facts", ""))
        for e in self.since(0):
            if e.get("UserEvent") == "HotlineOverflow" and e.get("Uniqueid") == uid and e.get("Flag"):
                out["HOTLINE_FLAG"] = e["Flag"]
        return out


RTP_HEADERS = 14 + 20 + 8 + 12  # Ethernet, IPv4, UDP and RTP headers before the payload


def pcap_payloads(path: Path) -> list[bytes]:
    """The RTP payloads of a pcap file of Ethernet frames (SIPp's audio samples)."""
    data = path.read_bytes()
    payloads, offset = [], 24  # the pcap file header
    while offset + 16 <= len(data):
        (length,) = struct.unpack_from("<I", data, offset + 8)
        payloads.append(data[offset + 16 + RTP_HEADERS : offset + 16 + length])
        offset += 16 + length
    return payloads


@dataclass
class SippResult:
    returncode: int
    stdout: str
    stderr: str
    log: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0


@dataclass
class Agent:
    name: str
    port: int
    proc: subprocess.Popen
    log_file: Path
    skills: dict[str, int] = field(default_factory=dict)

    def screen_pops(self) -> list[str]:
        """One line per INVITE the softphone received, with the X-Hotline-* data."""
        if not self.log_file.exists():
            return []
        return [l for l in self.log_file.read_text(errors="replace").splitlines() if "INVITE from=" in l]


HOTLINE_FLOW_RE = re.compile(r'^(  flow: )"[^"\n]*"$', re.M)


def queue_direct(map_text: str, flow: str = "") -> str:
    """The map with 12345's IVR flow set to ``flow`` ("" = the queue-direct option)."""
    out, n = HOTLINE_FLOW_RE.subn(lambda m: f'{m.group(1)}"{flow}"', map_text, count=1)
    if n != 1:
        raise ValueError("no `flow:` line under hotline: in the map")
    return out


def metric(port: int, name: str, **labels: str) -> float:
    """One sample of a service's Prometheus /metrics on loopback (0.0 when absent)."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    # prometheus-client writes the labels sorted by name
    want = name + ("{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}" if labels else "") + " "
    for line in text.splitlines():
        if line.startswith(want):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def wait_metric(port: int, name: str, at_least: float, timeout: float = 5, **labels: str) -> float:
    """The sample once it reaches ``at_least`` (the services count AMI events as they come)."""
    deadline = time.monotonic() + timeout
    while True:
        value = metric(port, name, **labels)
        if value >= at_least or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def instance_settings(home: Path, transfer_map: Path, rtp: tuple[int, int]) -> Settings:
    """Settings of a test platform: its own home, every port free, the given RTP range."""
    return Settings.from_env(
        env={},
        home=home,
        transfer_map=transfer_map,
        ivr_flows_dir=PROJECT_ROOT / "ivr_flows",
        holidays_dir=home / "holidays",
        sip_agent_port=free_port(),
        sip_trunk_port=free_port(),
        ami_port=free_port(),
        http_port=free_port(),
        wss_port=free_port(),
        agi_port=free_port(),
        api_port=free_port(),
        redis_port=free_port(),
        agi_metrics_port=free_port(),
        stats_metrics_port=free_port(),
        up_metrics_port=free_port(),
        rtp_start=rtp[0],
        rtp_end=rtp[1],
        cache_dir=Path(os.environ.get("HOTLINE_CACHE_DIR", Path.home() / ".cache" / "hotline")),
    )


def worker_rtp_range(base: int = 30000, size: int = 2000) -> tuple[int, int]:
    """This session's share of the RTP ports ``base`` .. ``base + size - 1`` (the stacks' own:
    30000-31999), split between pytest-xdist workers (gw0, gw1, ...) so that two Asterisks of one
    test run never ask for the same port."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    index = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0
    share = size // max(1, count)
    start = base + index * share
    return start, start + share - 1


class Stack:
    def __init__(self, root: Path, services: tuple[str, ...] = SERVICES, **settings: object):
        """``settings`` override the instance's (e.g. ``bind`` and ``role`` of a platform in a
        network namespace, tests/e2e/netns.py)."""
        self.root = root
        home = root / "home"
        home.mkdir(parents=True, exist_ok=True)
        map_copy = home / "transfer_map.yaml"
        default_map = PROJECT_ROOT / "transfer_map.yaml"
        if default_map.exists():
            # the session runs the map's queue-direct option: the tests of routing, queues,
            # pages and phones dial 12345 for an agent at once; test_greeting.py puts the
            # shipped map (the IVR greeting, the survey) back for its own calls
            shipped = default_map.read_text(encoding="utf-8")
            map_copy.write_text(queue_direct(shipped), encoding="utf-8")
        # the calendar too, so a test can make today a holiday
        shutil.copytree(PROJECT_ROOT / "holidays", home / "holidays", dirs_exist_ok=True)
        self.settings = instance_settings(home, map_copy if default_map.exists() else default_map, worker_rtp_range())
        if settings:
            self.settings = self.settings.with_(**settings)
        self.platform = Platform(self.settings)
        self.secrets = self.platform.secrets
        self.agents_spec = [self._agent_spec(n) for n in DEFAULT_AGENTS]
        self.services = services
        self.sipps: list[subprocess.Popen] = []

    def _agent_spec(self, name: str) -> dict:
        return {"name": name, "password": ensure_sip_password(self.settings.secrets_file, name), "skills": {}}

    # lifecycle --------------------------------------------------------------------
    def start(self) -> Stack:
        self.platform.start(services=(), agents=self.agents_spec)
        self.console_mark = self.asterisk_log_size()
        for name in self.services:
            self.platform.start_service(name)
        if "agi" in self.platform.procs:
            self.platform.wait_port(self.settings.agi_port)
        if "api" in self.platform.procs:
            self.platform.wait_port(self.settings.api_port, timeout=60)
        self._ami = connect(self.settings, self.secrets)
        self.events = EventLog(connect(self.settings, self.secrets, events=True))
        return self

    def stop(self) -> None:
        for p in self.sipps:
            if p.poll() is None:
                p.kill()
        with contextlib.suppress(Exception):
            self.events.close()
            self._ami.close()
        self.platform.stop()
        ast = self.platform.asterisk
        if ast is not None and ast.rootfs is not None:
            shutil.rmtree(ast.host_path(ast.ast_root), ignore_errors=True)

    def restart_asterisk(self) -> tuple[float, float]:
        """Stop this session's Asterisk (every call ends) and start it again, as an
        operator's restart; the harness' own AMI connections are opened anew.  Returns
        (stopped, booted): wall-clock times when it was down and when fully booted again."""
        with contextlib.suppress(Exception):
            self.events.close()
            self._ami.close()
        self.asterisk.stop()
        stopped = time.time()
        self.asterisk.start()
        booted = time.time()
        self._ami = connect(self.settings, self.secrets)
        self.events = EventLog(connect(self.settings, self.secrets, events=True))
        return stopped, booted

    @property
    def asterisk(self):
        return self.platform.asterisk

    def asterisk_log_size(self) -> int:
        f = self.asterisk.log_dir / "messages.log"
        return f.stat().st_size if f.exists() else 0

    def asterisk_log(self, since: int = 0) -> str:
        f = self.asterisk.log_dir / "messages.log"
        if not f.exists():
            return ""
        with f.open("rb") as fh:
            fh.seek(since)
            return fh.read().decode("utf-8", "replace")

    def service_log(self, name: str) -> str:
        f = self.settings.log_dir / f"{name}.log"
        return f.read_text(errors="replace") if f.exists() else ""

    def kill_ami_connections(self, services: tuple[str, ...] = ("stats", "handoff")) -> dict[str, int]:
        """Destroy the AMI TCP connections of the named services (``ss -K``, both ends get a
        reset): a network fault, or an Asterisk that drops a slow client.  Returns how many
        connections each had.  Needs root (CAP_NET_ADMIN)."""
        ami_port = self.settings.ami_port
        established = subprocess.run(
            ["ss", "-tnpH", "state", "established", f"( dport = :{ami_port} )"], capture_output=True, text=True
        ).stdout
        killed = {}
        for name in services:
            pid = self.platform.procs[name].pid
            # columns: Recv-Q Send-Q Local Peer Process (no State column under a state filter)
            ports = [int(ln.split()[2].rsplit(":", 1)[1]) for ln in established.splitlines() if f"pid={pid}," in ln]
            for p in ports:
                for flt in (f"( sport = :{p} and dport = :{ami_port} )", f"( sport = :{ami_port} and dport = :{p} )"):
                    subprocess.run(["ss", "-K", flt], capture_output=True, check=True)
            killed[name] = len(ports)
        return killed

    def queue_log(self, since: float = 0.0, queue: str | None = None) -> list[list[str]]:
        """Asterisk's queue_log lines (split on ``|``) from ``since`` on, of ``queue`` (None: all)."""
        f = self.asterisk.log_dir / "queue_log"
        out = []
        for line in f.read_text(errors="replace").splitlines() if f.exists() else []:
            p = line.split("|")
            if len(p) > 4 and float(p[0]) >= since and (queue is None or p[2] == queue):
                out.append(p)
        return out

    def orders_by_linkedid(self) -> dict[str, int]:
        """How many orders the store (SQLite, the harness's) holds for each call's linkedid."""
        url = self.settings.database_url
        con = sqlite3.connect(f"file:{url.split('///', 1)[1]}?mode=ro", uri=True)
        try:
            rows = con.execute("SELECT linkedid, count(*) FROM orders WHERE linkedid IS NOT NULL GROUP BY 1")
            return {lid: n for lid, n in rows.fetchall()}
        finally:
            con.close()

    def stats_figures(self, queue: str = "hotline") -> dict[str, int]:
        """``hotline stats``' figures of ``queue`` over the last 24 h, as it wrote them to Redis."""
        r = redis.Redis.from_url(self.settings.redis_url)
        try:
            raw = r.get(keys(self.settings.instance)["view"])
        finally:
            r.close()
        for q in json.loads(raw)["queues"] if raw else []:
            if q["queue"] == queue:
                return {k: int(q["last_24h"][k]) for k in ("offered", "answered", "abandoned")}
        return {"offered": 0, "answered": 0, "abandoned": 0}

    # control ----------------------------------------------------------------------
    def ami(self, action: dict, timeout: float = 10) -> list[dict]:
        return self._ami.action(action, timeout=timeout)

    def cli(self, cmd: str) -> str:
        return self._ami.command(cmd)

    def reload(self, transfer_map: str | Path | None = None, agents: list[dict] | None = None) -> list[str]:
        """Write a new map (text or file) into this instance, render and reload."""
        if transfer_map is not None:
            text = Path(transfer_map).read_text() if isinstance(transfer_map, Path) else transfer_map
            self.settings.transfer_map.write_text(text)
        if agents is not None:
            self.agents_spec = agents
        out = self.platform.reload(agents=self.agents_spec)
        agi = self.platform.procs.get("agi")
        if agi is not None and agi.poll() is None:
            agi.send_signal(signal.SIGHUP)  # re-read the map now, not at the next poll
            time.sleep(0.3)
        return out

    def wait_reachable(self, trunk: str, timeout: float = 8) -> None:
        """Qualify ``trunk`` now and wait until its peer answered SIP OPTIONS (a stand-in that
        just started would otherwise count as unreachable until the next qualify)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.ami({"Action": "PJSIPQualify", "Endpoint": trunk})
            until = time.monotonic() + 1.0
            while time.monotonic() < until:
                if re.search(rf"Contact:\s+{re.escape(trunk)}/\S+\s+\S+\s+Avail\b", self.cli("pjsip show contacts")):
                    return
                time.sleep(0.1)
        raise AssertionError(f"trunk {trunk}: its peer never answered SIP OPTIONS: {self.cli('pjsip show contacts')}")

    # SIPp -------------------------------------------------------------------------
    def sipp_file(self, scenario: str, replace: dict[str, str] | None = None) -> Path:
        src = SIPP_DIR / scenario
        if not replace:
            return src
        text = src.read_text()
        for old, new in replace.items():
            if old not in text:
                raise ValueError(f"{old!r} not in {scenario}")
            text = text.replace(old, new)
        out = self.root / f"sipp-{len(self.sipps)}-{scenario}"
        out.write_text(text)
        return out

    def talking_agent(self, seconds: float) -> Path:
        """agent_answer.xml talking ``seconds`` before its BYE (a person on the phone)."""
        return self.sipp_file(
            "agent_answer.xml",
            {'timeout="2000" ontimeout="agent_bye"': f'timeout="{int(seconds * 1000)}" ontimeout="agent_bye"'},
        )

    def endless_audio(self) -> str:
        """A SIPp action that sends A-law speech, looped, until the call ends.

        play_pcap_audio plays SIPp's 7 s sample once; a caller who must be heard for as
        long as a loaded machine takes (the spy test, Asterisk issue #978) streams the
        sample's RTP payloads in a loop instead (rtp_stream, loop count -1)."""
        path = self.root / "g711a.alaw"
        if not path.exists():
            path.write_bytes(b"".join(pcap_payloads(Path("/usr/share/sip-tester/g711a.pcap"))))
        return f'<nop><action><exec rtp_stream="{path},-1,8"/></action></nop>'

    def sipp_uac(
        self,
        scenario: str | Path,
        dialed: str,
        caller: str,
        *,
        calls: int = 1,
        rate: float = 10,
        concurrent: int | None = None,
        timeout: float = 60,
        keys: dict[str, str] | None = None,
        extra: list[str] | None = None,
        port: int | None = None,
    ) -> SippResult:
        """Place ``calls`` citizen calls from the PSTN side and wait for them to end."""
        path = scenario if isinstance(scenario, Path) else SIPP_DIR / scenario
        log = self.root / f"uac-{time.monotonic_ns()}.log"
        cmd = [
            "sipp",
            "-sf",
            str(path),
            f"{self.settings.bind}:{self.settings.sip_trunk_port}",
            "-s",
            dialed,
            "-i",
            self.settings.bind,
            "-p",
            str(port or sip_port()),
            "-mp",
            str(media_port()),
            "-m",
            str(calls),
            "-r",
            str(rate),
            "-l",
            str(concurrent or calls),
            "-nostdin",
            "-key",
            "caller",
            caller,
            "-timeout",
            f"{int(timeout)}s",
            "-timeout_error",
            "-trace_logs",
            "-log_file",
            str(log),
            "-trace_err",
            "-error_file",
            str(log) + ".err",
        ]
        for k, v in (keys or {}).items():
            cmd += ["-key", k, v]
        cmd += extra or []
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 30, cwd=self.root)
        text = log.read_text(errors="replace") if log.exists() else ""
        err = Path(str(log) + ".err")
        if err.exists():
            text += err.read_text(errors="replace")
        return SippResult(r.returncode, r.stdout[-4000:], r.stderr[-4000:], text)

    def sipp_once(
        self, scenario: str, port: int, dialed: str, *, local: str, args: list[str], timeout: int
    ) -> subprocess.CompletedProcess[str]:
        """One SIPp call of ``scenario`` from ``local`` to this platform's ``port``, dialing ``dialed``,
        with SIPp's further ``args`` (keys, credentials, traces); fails after ``timeout`` seconds."""
        for _ in range(3):  # a free port can be taken by another SIPp's RTCP before this one binds it
            r = subprocess.run(
                [
                    "sipp",
                    "-sf",
                    str(SIPP_DIR / scenario),
                    f"{self.settings.bind}:{port}",
                    "-s",
                    dialed,
                    "-i",
                    local,
                    "-p",
                    str(sip_port()),
                    "-mp",
                    str(media_port()),
                    "-m",
                    "1",
                    "-nostdin",
                    "-timeout",
                    f"{timeout}s",
                    "-timeout_error",
                    *args,
                ],
                capture_output=True,
                text=True,
                timeout=40,
                cwd=self.root,
            )
            if "Address already in use" not in r.stdout + r.stderr:
                break
        return r

    def sipp_uac_async(self, *args, **kwargs) -> threading.Thread:
        """Start sipp_uac in a thread; ``thread.result`` holds the SippResult."""
        th = threading.Thread(target=lambda: setattr(th, "result", self.sipp_uac(*args, **kwargs)), daemon=True)
        th.start()
        return th

    def register(self, name: str, port: int) -> None:
        password = ensure_sip_password(self.settings.secrets_file, name)
        r = subprocess.run(
            [
                "sipp",
                "-sf",
                str(SIPP_DIR / "agent_register.xml"),
                f"{self.settings.bind}:{self.settings.sip_agent_port}",
                "-i",
                self.settings.bind,
                "-p",
                str(port),
                "-m",
                "1",
                "-au",
                name,
                "-ap",
                password,
                "-key",
                "user",
                name,
                "-nostdin",
                "-timeout",
                "10s",
                "-timeout_error",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            cwd=self.root,
        )
        if r.returncode != 0:
            raise RuntimeError(f"agent {name} could not register: {r.stdout[-1500:]} {r.stderr[-1500:]}")

    @contextlib.contextmanager
    def agent(
        self,
        name: str,
        skills: dict[str, int] | None = None,
        scenario: str | Path = "agent_answer.xml",
        paused: bool = False,
        login: bool = True,
        echo: bool = False,
    ):
        """A registered SIPp softphone for agent ``name``, logged into its skill queues;
        ``echo`` sends back the audio it receives (a phone whose user talks)."""
        skills = {"hotline": 0} if skills is None else skills
        if name not in {a["name"] for a in self.agents_spec}:
            self.agents_spec.append(self._agent_spec(name))
            self.reload()
        port = sip_port()
        self.register(name, port)
        path = scenario if isinstance(scenario, Path) else SIPP_DIR / scenario
        log = self.root / f"agent-{name}-{port}.log"
        proc = subprocess.Popen(
            [
                "sipp",
                "-sf",
                str(path),
                "-i",
                self.settings.bind,
                "-p",
                str(port),
                "-mp",
                str(media_port()),
                *(["-rtp_echo"] if echo else []),
                "-nostdin",
                "-trace_logs",
                "-log_file",
                str(log),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.root,
        )
        self.sipps.append(proc)
        agent = Agent(name, port, proc, log, dict(skills))
        try:
            if login:
                for queue, penalty in skills.items():
                    resp = self.ami(
                        {
                            "Action": "QueueAdd",
                            "Queue": queue,
                            "Interface": f"PJSIP/{name}",
                            "MemberName": name,
                            "Penalty": str(penalty),
                            "Paused": "true" if paused else "false",
                        }
                    )[0]
                    if resp.get("Response") != "Success":
                        raise RuntimeError(f"QueueAdd {name} to {queue}: {resp}")
            time.sleep(0.2)
            yield agent
        finally:
            for queue in skills:
                with contextlib.suppress(Exception):
                    self.ami({"Action": "QueueRemove", "Queue": queue, "Interface": f"PJSIP/{name}"})
            proc.kill()
            proc.wait()

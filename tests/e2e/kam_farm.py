"""Two Asterisk media nodes behind Kamailio, in network namespaces (tests/e2e/test_kamailio.py).

Topology (198.18.1.0/24, the benchmarking range, behind a blackhole route for
198.18.0.0/15 so nothing can leave the machine if a namespace is missing)::

    host  hlk-host 198.18.1.100  (SIPp callers)
      |  veth
    hl-kam    br0 198.18.1.1   Kamailio (deploy/kamailio.py, rendered from the nodes file)
      |  veth n1            |  veth n2
    hl-node1  198.18.1.11   hl-node2  198.18.1.12   Asterisk (the platform's chroot Asterisk 22)

A node here is a *stand-in*: the real Asterisk with app_queue and one queue per
skill of the map, each with one member (a Local channel that answers and echoes),
and a dialplan that sends every number of the map to its skill's queue.  It does
not run the platform's FastAGI/ARI/Redis per node (docs/scale.md says so).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from deploy.asterisk import ensure_rootfs, system_asterisk
from deploy.kamailio import Kamailio
from deploy.scale_nodes import default_skill, number_skills
from hotline.map_schema import TransferMap

NET = "198.18.1"
BLACKHOLE = "198.18.0.0/15"
HOST_IP = f"{NET}.100"
KAM_IP = f"{NET}.1"
NS_KAM = "hl-kam"
HOST_VETH = "hlk-host"
NODES = {"node1": ("hl-node1", f"{NET}.11"), "node2": ("hl-node2", f"{NET}.12")}
SIP_PORT = 5060

MODULES = """
res_timing_timerfd res_sorcery_config res_sorcery_memory res_sorcery_astdb res_rtp_asterisk
res_pjproject res_pjsip res_pjsip_session res_pjsip_pubsub res_pjsip_endpoint_identifier_ip
res_pjsip_sdp_rtp res_pjsip_caller_id chan_pjsip bridge_simple bridge_native_rtp codec_ulaw
pbx_config app_queue app_echo func_db
""".split()


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20)
    if check and r.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {r.stderr.strip()}")
    return r


def preflight() -> str | None:
    """None when this machine can run the farm, else why not (the test fails with it)."""
    if os.geteuid() != 0:
        return "the Kamailio test needs root (ip netns, veth), as CI runs it"
    for tool, pkg in (("ip", "iproute2"), ("sipp", "sip-tester")):
        if shutil.which(tool) is None:
            return f"`{tool}` is missing (Debian {pkg}; ./scripts/test installs it)"
    r = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    if r.returncode != 0:
        return f"`ip netns` does not work here: {r.stderr.strip()}"
    return Kamailio.available()


def net_down() -> None:
    for ns in (NS_KAM, *(ns for ns, _ in NODES.values())):
        ip("netns", "del", ns, check=False)
    ip("link", "del", HOST_VETH, check=False)


def net_up() -> None:
    """Namespaces, bridge and veths; a leftover of an earlier run is removed first."""
    if "blackhole" not in ip("route", "show", BLACKHOLE).stdout:
        ip("route", "add", "blackhole", BLACKHOLE)
    net_down()
    for ns in (NS_KAM, *(ns for ns, _ in NODES.values())):
        ip("netns", "add", ns)
        ip("-n", ns, "link", "set", "lo", "up")
    ip("link", "add", HOST_VETH, "type", "veth", "peer", "name", "k0", "netns", NS_KAM)
    ip("-n", NS_KAM, "link", "add", "br0", "type", "bridge", "forward_delay", "0")
    ip("-n", NS_KAM, "addr", "add", f"{KAM_IP}/24", "dev", "br0")
    ip("-n", NS_KAM, "link", "set", "k0", "master", "br0")
    ip("-n", NS_KAM, "link", "set", "k0", "up")
    for i, (ns, addr) in enumerate(NODES.values(), start=1):
        ip("-n", NS_KAM, "link", "add", f"n{i}", "type", "veth", "peer", "name", "eth0", "netns", ns)
        ip("-n", NS_KAM, "link", "set", f"n{i}", "master", "br0")
        ip("-n", NS_KAM, "link", "set", f"n{i}", "up")
        ip("-n", ns, "addr", "add", f"{addr}/24", "dev", "eth0")
        ip("-n", ns, "link", "set", "eth0", "up")
    ip("-n", NS_KAM, "link", "set", "br0", "up")
    ip("addr", "add", f"{HOST_IP}/24", "dev", HOST_VETH)
    ip("link", "set", HOST_VETH, "up")


def nodes_yaml(primary: dict[str, list[str]], probe_interval: int = 1, probe_timeout: float = 1.5) -> str:
    """The nodes file of the farm: node name -> its skills (["*"] = the rest)."""
    out = [
        "kamailio:",
        f"  listen: {KAM_IP}:{SIP_PORT}",
        f"  probe_interval: {probe_interval}",
        f"  probe_timeout: {probe_timeout}",
        "nodes:",
    ]
    for name, skills in primary.items():
        listed = ", ".join(f'"{s}"' for s in skills)
        out += [f"  - name: {name}", f"    sip: {NODES[name][1]}:{SIP_PORT}", f"    skills: [{listed}]"]
    return "\n".join(out) + "\n"


def node_config(root: str, name: str, addr: str, tmap: TransferMap) -> dict[str, str]:
    """A stand-in node's Asterisk files: every skill queue of the map (a survivor takes
    over a dead node's skills), every number of the map to its skill's queue."""
    skills = list(tmap.queues)
    dial = ["[from-kamailio]"]
    for number, skill in number_skills(tmap).items():
        dial += [f"exten => {number},1,Set(SKILL={skill})", " same => n,Goto(enqueue,s,1)"]
    dial += [f"exten => _X.,1,Set(SKILL={default_skill(tmap)})", " same => n,Goto(enqueue,s,1)", ""]
    # one astdb key per call that enters a skill's queue: `database show calls-<skill>` counts them
    dial += ["[enqueue]", "exten => s,1,Set(DB(calls-${SKILL}/${UNIQUEID})=1)"]
    dial += [" same => n,Queue(${SKILL},r,,,30)", " same => n,Hangup()", ""]
    dial += ["[node-agent]", "exten => answer,1,Answer()", " same => n,Echo()", ""]
    queues = ["[general]", "persistentmembers = no", ""]
    for skill in skills:
        queues += [
            f"[{skill}]",
            "strategy = ringall",
            "timeout = 5",
            "retry = 1",
            "joinempty = yes",
            f"member => Local/answer@node-agent/n,0,agent-{skill}",
            "",
        ]
    return {
        "asterisk.conf": "\n".join(
            [
                "[directories]",
                f"astetcdir => {root}/etc",
                f"astlogdir => {root}/log",
                f"astrundir => {root}/run",
                f"astspooldir => {root}/spool",
                f"astvarlibdir => {root}/lib",
                f"astdbdir => {root}/lib",
                "astdatadir => /usr/share/asterisk",
                "astkeydir => /usr/share/asterisk",
                "[options]",
                "nocolor = yes",
                f"systemname = {name}",
                "",
            ]
        ),
        "modules.conf": "[modules]\nautoload = no\n" + "".join(f"load => {m}.so\n" for m in MODULES),
        "logger.conf": "[general]\n[logfiles]\nmessages.log => notice,warning,error\nconsole => error\n",
        "rtp.conf": "[general]\nrtpstart = 10000\nrtpend = 10999\n",
        "pjsip.conf": "\n".join(
            [
                "[transport-node]",
                "type = transport",
                "protocol = udp",
                f"bind = {addr}:{SIP_PORT}",
                "",
                "[kamailio]",
                "type = endpoint",
                "transport = transport-node",
                "context = from-kamailio",
                "disallow = all",
                "allow = ulaw",
                "direct_media = no",
                "rtp_symmetric = yes",
                "aors = kamailio",
                "",
                "[kamailio]",
                "type = aor",
                f"contact = sip:{KAM_IP}:{SIP_PORT}",
                "",
                "[kamailio]",
                "type = identify",
                "endpoint = kamailio",
                f"match = {KAM_IP}",
                "",
            ]
        ),
        "extensions.conf": "\n".join(dial),
        "queues.conf": "\n".join(queues),
    }


@dataclass
class Node:
    """One stand-in Asterisk node in its own network namespace and instance directory."""

    name: str
    netns: str
    addr: str
    rootfs: Path | None  # None: a system Asterisk
    exe: str
    root: str  # the instance directory as Asterisk sees it
    proc: subprocess.Popen | None = None

    def host_path(self, path: str) -> Path:
        return Path(path) if self.rootfs is None else self.rootfs / path.lstrip("/")

    def _cmd(self, *args: str) -> list[str]:
        base = [self.exe, "-C", f"{self.root}/etc/asterisk.conf", *args]
        return ["chroot", str(self.rootfs), *base] if self.rootfs else base

    def write(self, files: dict[str, str]) -> None:
        for sub in ("etc", "log", "run", "spool", "lib"):
            self.host_path(f"{self.root}/{sub}").mkdir(parents=True, exist_ok=True)
        for fname, text in files.items():
            self.host_path(f"{self.root}/etc/{fname}").write_text(text, encoding="utf-8")

    def start(self) -> None:
        log = open(self.host_path(f"{self.root}/log/console.log"), "ab")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.netns, *self._cmd("-f", "-n", "-q")],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_booted(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name}: Asterisk exited with {self.proc.returncode}: {self.console()}")
            if "fully booted" in self.rx("core waitfullybooted", timeout=5).lower():
                return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name}: Asterisk did not boot in {timeout} s: {self.console()}")

    def rx(self, command: str, timeout: float = 10) -> str:
        try:
            return subprocess.run(self._cmd("-rx", command), capture_output=True, text=True, timeout=timeout).stdout
        except subprocess.TimeoutExpired:
            return ""

    def console(self) -> str:
        f = self.host_path(f"{self.root}/log/console.log")
        return f.read_text(errors="replace")[-2000:] if f.exists() else ""

    def queued(self, skill: str) -> int:
        """Calls that entered the node's queue of ``skill`` (one astdb key each, written before Queue())."""
        out = self.rx(f"database show calls-{skill}")
        for line in out.splitlines():
            if "results found" in line or "result found" in line:
                return int(line.split()[0])
        raise AssertionError(f"{self.name}: no count in `database show calls-{skill}`: {out!r}")

    def channels(self) -> int:
        out = self.rx("core show channels count")
        for line in out.splitlines():
            if "active call" in line:
                return int(line.split()[0])
        return 0

    def kill(self) -> None:
        """The node dies (SIGKILL: no BYE, no goodbye to Kamailio)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.rx("core stop now", timeout=10)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None
        with contextlib.suppress(OSError):
            shutil.rmtree(self.host_path(self.root))


def make_nodes(cache_dir: Path, tmp: Path) -> list[Node]:
    """The two nodes: the platform's Asterisk (system, or the chroot of deploy/asterisk.py)."""
    exe = system_asterisk()
    rootfs = None if exe else ensure_rootfs(cache_dir)
    out = []
    for name, (ns, addr) in NODES.items():
        root = f"/srv/hotline/kam-{name}-{os.getpid()}" if rootfs else str(tmp / f"kam-{name}")
        out.append(Node(name, ns, addr, rootfs, exe or "/usr/sbin/asterisk", root))
    return out

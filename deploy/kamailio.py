"""Kamailio in front of N Asterisk media nodes: render its configuration and run it.

The configuration is rendered from the nodes file (:mod:`deploy.scale_nodes`:
which skill queues on which node) and the map (which number is which skill):
``kamailio.cfg`` (listen address, probing, the number -> dispatcher set table)
and ``dispatcher.list`` (one set per node: that node, then the others as
fail-over).  Deterministic: the same inputs give the same bytes.

Kamailio is Debian's ``kamailio`` package (deploy/packages.py installs it for
the tests).  :class:`Kamailio` runs one in the foreground as a child, optionally
under a prefix such as ``ip netns exec NS``, and talks to it with ``kamcmd``
over its own control socket.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from deploy.procs import reap
from deploy.scale_nodes import NodePlan, dispatcher_list, routes
from hotline.map_schema import TransferMap

TEMPLATES = Path(__file__).parent / "templates"
KAMAILIO = "/usr/sbin/kamailio"
KAMCMD = "/usr/sbin/kamcmd"
CFG = "kamailio.cfg"
LIST = "dispatcher.list"
CTL = "kamailio_ctl"


def render(plan: NodePlan, tmap: TransferMap, run_dir: Path) -> dict[str, str]:
    """{file name: text} of Kamailio's configuration, for files that will live in ``run_dir``."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False
    )
    table, default_set = routes(plan, tmap)
    cfg = env.get_template("kamailio.cfg.j2").render(
        plan=plan,
        table=table,
        default_set=default_set,
        list_file=str(run_dir / LIST),
        ctl_socket=str(run_dir / CTL),
        fr_timer_ms=int(plan.probe_timeout * 1000),
    )
    return {CFG: cfg, LIST: dispatcher_list(plan)}


def write(files: dict[str, str], run_dir: Path) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (run_dir / name).write_text(text, encoding="utf-8")


def check_config(run_dir: Path) -> str:
    """``kamailio -c``: the rendered file parses and its modules load; raises with Kamailio's words."""
    r = subprocess.run([KAMAILIO, "-c", "-f", str(run_dir / CFG)], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise RuntimeError(f"kamailio -c {run_dir / CFG} failed:\n{r.stderr[-3000:]}")
    return r.stderr


@dataclass
class Kamailio:
    """One Kamailio process over a rendered ``run_dir``."""

    run_dir: Path
    prefix: tuple[str, ...] = ()  # e.g. ("ip", "netns", "exec", "hl-kam")
    proc: subprocess.Popen | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.run_dir / "kamailio.log"

    @staticmethod
    def available() -> str | None:
        """None when kamailio and kamcmd are installed, else what is missing."""
        missing = [p for p in (KAMAILIO, KAMCMD) if not Path(p).exists() and not shutil.which(Path(p).name)]
        return None if not missing else f"{', '.join(missing)} missing: apt-get install kamailio"

    def start(self, timeout: float = 15) -> None:
        out = open(self.log, "ab")
        argv = [
            *self.prefix,
            KAMAILIO,
            "-DD",
            "-E",
            "-f",
            str(self.run_dir / CFG),
            "-P",
            str(self.run_dir / "kamailio.pid"),
            "-Y",
            str(self.run_dir),
            "-m",
            "32",
            "-M",
            "8",
        ]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"kamailio exited with {self.proc.returncode}: {self.log_text()[-3000:]}")
            if (self.run_dir / CTL).exists() and self.rpc("core.version").strip():
                return
            time.sleep(0.1)
        raise RuntimeError(f"kamailio did not start in {timeout} s: {self.log_text()[-3000:]}")

    def rpc(self, *command: str, timeout: float = 5) -> str:
        try:
            r = subprocess.run(
                [KAMCMD, "-s", f"unix:{self.run_dir / CTL}", *command], capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            return ""
        return r.stdout

    def inactive(self) -> set[str]:
        """URIs the dispatcher holds inactive now (``I`` in the flags of dispatcher.list)."""
        out, uri = set(), None
        for line in self.rpc("dispatcher.list").splitlines():
            line = line.strip()
            if line.startswith("URI:"):
                uri = line.split(":", 1)[1].strip()
            elif line.startswith("FLAGS:") and uri is not None:
                if "I" in line.split(":", 1)[1]:
                    out.add(uri)
                uri = None
        return out

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self, timeout: float = 10) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            reap(self.proc, timeout)
        self.proc = None

"""Scale-out: two Asterisk nodes behind Kamailio, in network namespaces (docs/scale.md).

Kamailio's configuration is the platform's (deploy/kamailio.py rendered from a
nodes file and transfer_map.yaml); the nodes are the real Asterisk 22 with one
app_queue queue per skill (tests/e2e/kam_farm.py says what they stand in for).

- calls for numbers of two skills land on the node of their skill's shard;
- node 1 is killed: a new call for its skill is answered by the survivor within
  5 s, and the call in progress on node 2 goes on to its normal end.

Needs root and ``ip netns`` (CI runs as root); without them the test FAILS.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from deploy import kamailio
from deploy.kamailio import Kamailio
from deploy.scale_nodes import NodePlan, loads_plan
from hotline.map_schema import TransferMap
from hotline.settings import PROJECT_ROOT
from hotline.transfer_map import load_map
from tests.e2e import kam_farm
from tests.e2e.harness import SIPP_DIR, SippResult, media_port

HOTLINE = "12345"  # skill hotline -> node1
MINZHENG = "12349"  # 全国统一民政服务电话, skill minzheng -> node2 (the "*" shard)
FAILOVER_BOUND_S = 5.0


@dataclass
class Farm:
    tmp: Path
    plan: NodePlan
    tmap: TransferMap
    kam: Kamailio
    nodes: dict[str, kam_farm.Node]

    def call(self, number: str, hold_ms: int, calls: int = 1, timeout: float = 20) -> SippResult:
        """``calls`` citizens dial ``number`` through Kamailio, talk ``hold_ms``, hang up."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((kam_farm.HOST_IP, 0))
            port = s.getsockname()[1]
        log = self.tmp / f"sipp-{number}-{time.monotonic_ns()}.log"
        cmd = [
            "sipp",
            "-sf",
            str(SIPP_DIR / "kam_call.xml"),
            f"{kam_farm.KAM_IP}:{kam_farm.SIP_PORT}",
            "-s",
            number,
            "-i",
            kam_farm.HOST_IP,
            "-p",
            str(port),
            "-mp",
            str(media_port()),
            "-d",
            str(hold_ms),
            "-m",
            str(calls),
            "-l",
            str(calls),
            "-r",
            "20",
            "-key",
            "caller",
            "13800138000",
            "-nostdin",
            # a 180 overtaken by the 200 (two Kamailio workers) arrives during the talk: ignore it;
            # a BYE from the node would still fail the call (our own BYE then gets no 200)
            "-default_behaviors",
            "all,-abortunexp",
            "-timeout",
            f"{int(timeout)}s",
            "-timeout_error",
            "-trace_err",
            "-error_file",
            str(log),
        ]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 15, cwd=self.tmp)
        text = log.read_text(errors="replace") if log.exists() else ""
        return SippResult(r.returncode, r.stdout[-3000:], r.stderr[-3000:], text)

    def call_async(self, *args, **kwargs) -> threading.Thread:
        th = threading.Thread(target=lambda: setattr(th, "result", self.call(*args, **kwargs)), daemon=True)
        th.start()
        return th

    def counts(self, want: dict[tuple[str, str], int], timeout: float = 3) -> dict[tuple[str, str], int]:
        """{(node, skill): calls that entered the skill's queue on the node}, once it equals ``want``
        or at the timeout."""
        deadline = time.monotonic() + timeout
        while True:
            got = {(n, q): self.nodes[n].queued(q) for n, q in want}
            if got == want or time.monotonic() > deadline:
                return got
            time.sleep(0.1)

    def why(self) -> str:
        queues = "".join(f"{n.name}: {n.rx('queue show hotline')}{n.rx('database show')}" for n in self.nodes.values())
        return f"{queues}\nkamailio log:\n{self.kam.log_text()[-2500:]}"


@pytest.fixture(scope="module")
def farm(tmp_path_factory):
    why_not = kam_farm.preflight()
    if why_not:
        pytest.fail(f"the Kamailio scale-out test cannot run: {why_not}")
    tmp = tmp_path_factory.mktemp("kamailio")
    tmap = load_map(PROJECT_ROOT / "transfer_map.yaml")
    plan = loads_plan(kam_farm.nodes_yaml({"node1": ["hotline"], "node2": ["*"]}), tmap, "nodes.yaml")
    cache = Path(os.environ.get("HOTLINE_CACHE_DIR", Path.home() / ".cache" / "hotline"))
    nodes = {n.name: n for n in kam_farm.make_nodes(cache, tmp)}
    run_dir = tmp / "kam"
    kamailio.write(kamailio.render(plan, tmap, run_dir), run_dir)
    kamailio.check_config(run_dir)
    kam = Kamailio(run_dir, prefix=("ip", "netns", "exec", kam_farm.NS_KAM))
    kam_farm.net_up()
    try:
        for node in nodes.values():
            node.write(kam_farm.node_config(node.root, node.name, node.addr, tmap))
            node.start()
        kam.start()
        for node in nodes.values():
            node.wait_booted()
        f = Farm(tmp, plan, tmap, kam, nodes)
        deadline = time.monotonic() + 10
        while kam.inactive() and time.monotonic() < deadline:  # the first probes answered
            time.sleep(0.2)
        assert not kam.inactive(), f.why()
        yield f
    finally:
        kam.stop()
        for node in nodes.values():
            node.stop()
        kam_farm.net_down()


def test_calls_land_on_the_node_of_their_skill(farm):
    hotline = farm.call_async(HOTLINE, 1000, calls=2)
    minzheng = farm.call_async(MINZHENG, 1000, calls=2)
    hotline.join(30)
    minzheng.join(30)
    assert hotline.result.ok, f"{hotline.result.stdout}\n{hotline.result.log}\n{farm.why()}"
    assert minzheng.result.ok, f"{minzheng.result.stdout}\n{minzheng.result.log}\n{farm.why()}"
    want = {("node1", "hotline"): 2, ("node1", "minzheng"): 0, ("node2", "hotline"): 0, ("node2", "minzheng"): 2}
    assert farm.counts(want) == want, farm.why()


def _wait_inactive(farm: Farm, uri: str, want: bool, timeout: float = 10) -> float | None:
    """Seconds until the dispatcher holds ``uri`` inactive (``want``) or active again; None: never."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if (uri in farm.kam.inactive()) == want:
            return time.monotonic() - t0
        time.sleep(0.05)
    return None


def test_a_dead_node_is_out_within_5_s_and_the_survivor_s_calls_go_on(farm):
    n1, n2 = farm.nodes["node1"], farm.nodes["node2"]
    node1_uri = farm.plan.nodes[0].uri
    before = {("node2", "minzheng"): n2.queued("minzheng") + 1, ("node2", "hotline"): n2.queued("hotline") + 1}
    talking = farm.call_async(MINZHENG, 6000)  # a citizen on node 2 who talks for 6 s
    deadline = time.monotonic() + 5
    while n2.channels() < 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert n2.channels() >= 1, f"the long call never reached node 2\n{farm.why()}"

    n1.kill()  # no call meanwhile: only the OPTIONS probes can notice
    probe_s = _wait_inactive(farm, node1_uri, True)
    t1 = time.monotonic()
    after = farm.call(HOTLINE, 200)
    after_s = time.monotonic() - t1
    talking.join(30)
    out_s = "never" if probe_s is None else f"{probe_s:.2f}"
    print(
        f"\nkamailio: node 1 killed -> out of the dispatcher by the OPTIONS probes after {out_s} s;"
        f" a 12345 call then took {after_s:.2f} s on node 2 (incl. 0.2 s talk)"
    )
    assert probe_s is not None and probe_s < FAILOVER_BOUND_S, f"node 1 still in after the kill\n{farm.why()}"
    assert after.ok and after_s < 2, f"{after_s:.2f} s {after.stdout}\n{after.log}\n{farm.why()}"
    # the call in progress on the survivor went on to its own end: its BYE answered with 200
    assert talking.result.ok, f"the call on node 2 dropped: {talking.result.stdout}\n{talking.result.log}"
    assert farm.counts(before) == before, farm.why()


def test_a_call_right_after_a_node_died_is_answered_by_the_survivor_within_5_s(farm):
    n1, n2 = farm.nodes["node1"], farm.nodes["node2"]
    node1_uri = farm.plan.nodes[0].uri
    n1.start()  # node 1 comes back: the probes put it in again, and its skill goes home
    n1.wait_booted()
    back_s = _wait_inactive(farm, node1_uri, False)
    assert back_s is not None, f"node 1 never back in the dispatcher\n{farm.why()}"
    home = {("node1", "hotline"): n1.queued("hotline") + 1}
    assert farm.call(HOTLINE, 200).ok
    assert farm.counts(home) == home, farm.why()

    survivor = {("node2", "hotline"): n2.queued("hotline") + 1}
    log_mark = len(farm.kam.log_text())
    t0 = time.monotonic()
    n1.kill()
    first = farm.call(HOTLINE, 200)  # at once: Kamailio most likely still holds node 1 up
    first_s = time.monotonic() - t0
    retried = "node failed for 12345" in farm.kam.log_text()[log_mark:]
    print(
        f"\nkamailio: node 1 back in after {back_s:.2f} s; killed again and called at once -> answered on"
        f" node 2, call over {first_s:.2f} s after the kill (incl. 0.2 s talk);"
        f" {'sent to node 1 first, failed over on the timeout' if retried else 'node 1 was already out'}"
    )
    assert first.ok, f"{first.stdout}\n{first.log}\n{farm.why()}"
    assert first_s < FAILOVER_BOUND_S, f"{first_s:.2f} s\n{farm.why()}"
    assert farm.counts(survivor) == survivor, farm.why()

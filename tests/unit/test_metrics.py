"""The Prometheus metrics: what each process counts, and that /metrics serves it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request

from deploy.commands_up import Supervisor
from hotline import metrics
from hotline.settings import PROJECT_ROOT, Settings
from hotline.transfer_map import load_map
from queues.stats_metrics import CallMetrics, label_values


def value(registry, name, labels):
    return registry.get_sample_value(name, labels) or 0.0


def routed(line, mode, router):
    return value(metrics.STATS, "hotline_calls_routed_total", {"line": line, "mode": mode, "router": router})


def fallbacks(kind):
    return value(metrics.STATS, "hotline_fallbacks_total", {"kind": kind})


def facts(uid, origin, mode, router):
    """The HotlineRouted UserEvent the dialplan raises once the route is taken (CALL_FACTS)."""
    text = f"o={origin}&m={mode}&d=&l=city&r={router}&f=&po=&p=&n=&c={uid}"
    return {"Event": "UserEvent", "UserEvent": "HotlineRouted", "Uniqueid": uid, "Facts": text}


def call(uid, origin, mode, router, context="route-queue"):
    return [
        {"Event": "Newchannel", "Uniqueid": uid, "Context": "from-pstn", "Exten": origin},
        facts(uid, origin, mode, router),
        # what the stats user's eventfilter lets through (queues/stats_ami.py AMI_USER): no Newexten
        {"Event": "QueueCallerJoin", "Uniqueid": uid, "Context": context},
        {"Event": "QueueCallerLeave", "Uniqueid": uid, "Context": context},
    ]


def test_calls_routed_per_line_mode_router_once_per_call_and_fallbacks():
    m = CallMetrics(lines={"12345", "12349"}, queues={"hotline"})
    r0, s0, o0 = routed("12349", "merge", "agi"), routed("12345", "direct", "static"), routed("other", "merge", "agi")
    f0, i0 = fallbacks("routing"), fallbacks("ivr")
    for ev in call("1.1", "12349", "merge", "agi") + call("1.2", "12345", "direct", "static"):
        m.observe(ev)
    # a number not in the map is `other` (a caller never makes a label)
    for ev in call("1.3", "98765432101", "merge", "agi"):
        m.observe(ev)
    # a second HotlineRouted of a call (routed again) and one of a channel that is no citizen's
    m.observe(facts("1.1", "12349", "merge", "agi"))
    m.observe(facts("1.9", "12349", "merge", "agi"))
    # the IVR fallback (its UserEvent, extensions_ivr.conf hotline-ivr-fallback), once per channel
    for _ in range(3):
        m.observe({"Event": "UserEvent", "UserEvent": "HotlineIvrFallback", "Uniqueid": "1.1"})
    m.observe({"Event": "UserEvent", "UserEvent": "HotlineOverflow", "Uniqueid": "1.2"})
    assert routed("12349", "merge", "agi") == r0 + 1
    assert routed("12345", "direct", "static") == s0 + 1
    assert routed("other", "merge", "agi") == o0 + 1
    assert fallbacks("routing") == f0 + 1 and fallbacks("ivr") == i0 + 1
    for uid in ("1.1", "1.2", "1.3"):
        m.observe({"Event": "Hangup", "Uniqueid": uid})
    assert not m.live and not m.ivr_fallbacks


def test_a_call_that_ends_in_the_ivr_is_counted_once_by_its_route_event():
    """No queue or dial event: the HotlineRouted UserEvent counts it (tests/e2e/test_guard.py's
    12349 call through the IVR), and its Hangup forgets it."""
    m = CallMetrics(lines={"12349"})
    r0 = routed("12349", "merge", "agi")
    m.observe({"Event": "Newchannel", "Uniqueid": "2.1", "Context": "from-pstn", "Exten": "12349"})
    m.observe(facts("2.1", "12349", "merge", "agi"))
    m.observe({"Event": "Hangup", "Uniqueid": "2.1", "Context": "hotline-ivr"})
    m.observe({"Event": "Hangup", "Uniqueid": "2.1", "Context": "hotline-ivr"})  # a repeat
    assert routed("12349", "merge", "agi") == r0 + 1 and not m.live


def test_queue_waits_by_queue_and_outcome():
    m = CallMetrics(queues={"hotline"})

    def count(q, o):
        return value(metrics.STATS, "hotline_queue_wait_seconds_count", {"queue": q, "outcome": o})

    def under(q, o, le):
        return value(metrics.STATS, "hotline_queue_wait_seconds_bucket", {"queue": q, "outcome": o, "le": le})

    a0, b0, x0, le0 = count("hotline", "answered"), count("hotline", "abandoned"), count("other", "answered"), None
    le0 = under("hotline", "answered", "15.0")
    m.observe({"Event": "AgentConnect", "Queue": "hotline", "HoldTime": "12"})
    m.observe({"Event": "AgentConnect", "Queue": "hotline", "HoldTime": "40"})
    m.observe({"Event": "QueueCallerAbandon", "Queue": "hotline", "HoldTime": "7"})
    m.observe({"Event": "AgentConnect", "Queue": "evil-<script>", "HoldTime": "1"})
    m.observe({"Event": "AgentConnect", "Queue": "hotline", "HoldTime": "junk"})  # ignored
    assert count("hotline", "answered") == a0 + 2 and count("hotline", "abandoned") == b0 + 1
    assert count("other", "answered") == x0 + 1
    assert under("hotline", "answered", "15.0") == le0 + 1  # 12 s within 15 s, 40 s not


def test_label_values_are_the_maps_numbers():
    tmap = load_map(PROJECT_ROOT / "transfer_map.yaml")
    lines, queues = label_values(tmap, ["hotline"])
    assert {"12345", "12349", "110"} <= lines and "13800138000" not in lines
    assert queues == {"hotline"}


class FakePlatform:
    """What Supervisor needs of a Platform: settings, processes, start_service (real processes)."""

    def __init__(self, home):
        self.settings = Settings.from_env({}, home=home)
        self.redis = self.asterisk = None
        self.procs = {"guardsvc": subprocess.Popen([sys.executable, "-c", "pass"])}

    def start_service(self, name):
        self.procs[name] = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])


def test_supervisor_counts_restarts_and_up(tmp_path):
    p = FakePlatform(tmp_path)
    sup = Supervisor(p)
    p.procs["guardsvc"].wait()
    r0 = value(metrics.UP, "hotline_service_restarts_total", {"service": "guardsvc"})
    now = time.time()
    sup.tick(now)  # exited: back-off 1 s
    assert value(metrics.UP, "hotline_service_up", {"service": "guardsvc"}) == 0
    sup.tick(now + 1.5)  # restarted
    try:
        assert value(metrics.UP, "hotline_service_restarts_total", {"service": "guardsvc"}) == r0 + 1
        assert value(metrics.UP, "hotline_service_up", {"service": "guardsvc"}) == 1
    finally:
        p.procs["guardsvc"].kill()
        p.procs["guardsvc"].wait()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_exposes_the_registry_on_loopback_and_a_busy_port_is_logged_not_fatal(caplog):
    port = free_port()
    metrics.FALLBACKS.labels("routing")  # a child exists, so the family is in the text
    assert metrics.serve(metrics.STATS, "127.0.0.1", port, "stats")
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert "# TYPE hotline_fallbacks_total counter" in text
    assert "hotline_agi_sessions" not in text  # each process serves only its own
    assert not metrics.serve(metrics.STATS, "127.0.0.1", port, "stats")  # busy: False, no exception
    assert "metrics not served" in caplog.text
    assert not metrics.serve(metrics.STATS, "127.0.0.1", 0, "stats")  # 0 = off


def test_targets_for_hotline_status():
    got = metrics.targets("127.0.0.1", {"agi": 9573, "stats": 0})
    assert got == "agi http://127.0.0.1:9573/metrics  stats off"

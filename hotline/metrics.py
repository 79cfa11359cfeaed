"""Prometheus metrics: every metric of the platform, defined once, and how a process serves them.

The services are separate processes, so each one that has something to count
serves its own ``/metrics`` on a loopback port of :mod:`hotline.settings`
(0 = not served).  Each has its own registry below, so a scrape of a process
shows only what that process counts:

=========  ====================  ===========================================
process    port setting          metrics
=========  ====================  ===========================================
agi        agi_metrics_port      AGI sessions by outcome, decision latency
stats      stats_metrics_port    calls routed per line/mode/router, fallbacks,
                                 queue waits (from AMI events)
up         up_metrics_port       service restarts, service up
=========  ====================  ===========================================

Names, labels and meanings are listed in docs/operations.md "Metrics".  Label
values are bounded: a line is a number of the map (anything else is
``other``), a queue a queue of the configuration, a service a process of the
platform; nothing a caller sends becomes a label.
"""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from hotline.log import event

log = logging.getLogger("hotline.metrics")

# the FastAGI process ------------------------------------------------------------------------
AGI = CollectorRegistry(auto_describe=True)
AGI_SESSIONS = Counter(
    "hotline_agi_sessions",
    "FastAGI connections by how they ended: ok, closed (the peer went away), bad_env (no or an "
    "oversized environment), protocol (an answer that is not AGI), unknown_script, error (a handler bug)",
    ["outcome"],
    registry=AGI,
)
AGI_DECISION_SECONDS = Histogram(
    "hotline_agi_decision_seconds",
    "Seconds from the environment read to the handler done (the routing decision and its MSet answered)",
    ["script"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
    registry=AGI,
)

# the statistics consumer (AMI events) ---------------------------------------------------------
STATS = CollectorRegistry(auto_describe=True)
CALLS_ROUTED = Counter(
    "hotline_calls_routed",
    "Calls from the PSTN side given a route, per line (the number dialed; other = not in the map), "
    "mode (direct, merge, dual, subcenter, emergency) and router (agi, or static: the fallback dialplan)",
    ["line", "mode", "router"],
    registry=STATS,
)
FALLBACKS = Counter(
    "hotline_fallbacks",
    "Fallbacks taken: routing (FastAGI did not answer, the static dialplan routed the call), "
    "ivr (the IVR app was down or shedding load, the dialplan queued the call)",
    ["kind"],
    registry=STATS,
)
QUEUE_WAIT_SECONDS = Histogram(
    "hotline_queue_wait_seconds",
    "Seconds a caller waited in a queue, per queue and outcome (answered: AgentConnect HoldTime; "
    "abandoned: QueueCallerAbandon HoldTime)",
    ["queue", "outcome"],
    buckets=(1, 2, 5, 10, 15, 20, 30, 45, 60, 120, 300, 600),
    registry=STATS,
)

# the supervisor (`hotline up`) ---------------------------------------------------------------
UP = CollectorRegistry(auto_describe=True)
SERVICE_RESTARTS = Counter(
    "hotline_service_restarts",
    "Restarts of a process by the supervisor after it exited (redis, asterisk and the services)",
    ["service"],
    registry=UP,
)
SERVICE_UP = Gauge(
    "hotline_service_up",
    "1 while the supervisor sees the process running, 0 while it is in back-off or failing",
    ["service"],
    registry=UP,
)

ROUTERS = ("agi", "static")
FALLBACK_KINDS = ("routing", "ivr")
OTHER_LINE = "other"


def targets(bind: str, ports: dict[str, int]) -> str:
    """The scrape targets for people (``hotline status``): ``agi http://127.0.0.1:9573/metrics ...``."""
    return "  ".join(f"{name} http://{bind}:{port}/metrics" if port else f"{name} off" for name, port in ports.items())


def serve(registry: CollectorRegistry, bind: str, port: int, process: str) -> bool:
    """Serve ``registry`` at ``http://bind:port/metrics`` from a daemon thread.

    False when ``port`` is 0 (off) or cannot be bound: that is logged as an
    ERROR and the process carries on (calls matter more than their counts)."""
    if not port:
        event(log, "metrics not served (port 0)", process=process)
        return False
    try:
        start_http_server(port, addr=bind, registry=registry)
    except OSError as exc:
        event(log, "metrics not served", logging.ERROR, process=process, port=port, error=str(exc))
        return False
    event(log, "metrics served", process=process, url=f"http://{bind}:{port}/metrics")
    return True

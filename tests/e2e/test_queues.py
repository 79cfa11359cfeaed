"""ACD seat queues with real calls: skills, penalties, pause, wrap-up, abandon, statistics.

Three SIPp softphones and ten SIPp citizens through the real Asterisk:

* 1007 has skill gongjijin (penalty 0);
* 1008 has hotline (0) and gongjijin (5): cross-skilled, the second choice for gongjijin;
* 1009 has hotline (0) but is paused.

12329 (住房公积金, 双号并行 with its seats cancelled) reaches the gongjijin
queue; 12345 the hotline queue.  The statistics are taken by the real
consumer (queues.service.Consumer on its own AMI connection) and compared
with what SIPp did.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time

import pytest

from hotline import ami
from hotline.secrets import ensure_sip_password
from queues.service import Consumer, MemoryStore, keys
from tests.e2e.harness import SIPP_DIR

WRAPUP = 3
A, B, C = "1007", "1008", "1009"
GJ_CALLER, HL_CALLER, AB_CALLER, FIRST_CALLER = "13800000001", "13800000002", "13800000003", "13800000004"


class ConsumerThread:
    """The statistics consumer, connected to the stack's AMI, in its own event loop."""

    def __init__(self, settings, secrets):
        self.settings, self.secrets = settings, secrets
        self.stop_evt = threading.Event()
        self.ready = threading.Event()
        self.store = MemoryStore()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        async def main():
            self.consumer = Consumer(self.store, wrapup={"hotline": WRAPUP, "gongjijin": WRAPUP}, flush_interval=0.2)
            mgr = ami.manager(self.settings, self.secrets)
            await self.consumer.attach(mgr)
            self.consumer.start_flusher()
            self.ready.set()
            while not self.stop_evt.is_set():
                await asyncio.sleep(0.05)
            await self.consumer.stop()
            mgr.close()

        try:
            asyncio.run(main())
        except BaseException as exc:  # reported by the test
            self.error = exc
            self.ready.set()

    def __enter__(self):
        self.thread.start()
        assert self.ready.wait(15), "consumer did not connect"
        if self.error:
            raise self.error
        return self

    def __exit__(self, *exc):
        self.stop_evt.set()
        self.thread.join(10)

    def view(self, queue):
        for q in self.store.view["queues"]:
            if q["queue"] == queue:
                return q
        raise KeyError(queue)


@pytest.fixture
def short_wrapup(stack):
    os.environ["HOTLINE_QUEUE_WRAPUPTIME"] = str(WRAPUP)
    try:
        stack.reload()
        yield WRAPUP
    finally:
        os.environ.pop("HOTLINE_QUEUE_WRAPUPTIME", None)
        stack.reload()


def _citizen(stack, name: str, wait_ms: int):
    """citizen_call.xml hanging up after ``wait_ms`` without the agent's BYE."""
    text = (SIPP_DIR / "citizen_call.xml").read_text()
    assert 'timeout="30000"' in text
    path = stack.root / f"queues-citizen-{name}.xml"
    path.write_text(text.replace('timeout="30000"', f'timeout="{wait_ms}"'))
    return path


def _service_view(stack):
    """What the platform's own `hotline stats` service stored in Redis."""
    import redis

    raw = redis.Redis.from_url(stack.settings.redis_url).get(keys(stack.settings.instance)["view"])
    return json.loads(raw) if raw else None


def _counts(view, queue):
    for q in (view or {}).get("queues", []):
        if q["queue"] == queue:
            d = q["today"]
            return (d["offered"], d["answered"], d["abandoned"])
    return (0, 0, 0)


def _wait_counts(stack, want: dict, after: float = 0.0, timeout: float = 15):
    deadline = time.monotonic() + timeout
    view = None
    while time.monotonic() < deadline:
        view = _service_view(stack)
        if view and view["at"] > after and all(_counts(view, q) == c for q, c in want.items()):
            return view
        time.sleep(0.2)
    raise AssertionError(f"stats service: want {want}, have { ({q: _counts(view, q) for q in want}) }")


def _ts(e):
    return float(e.get("Timestamp", 0))


def test_rendered_queues_exist(stack):
    out = stack.cli("queue show gongjijin")
    assert "gongjijin has" in out and "rrmemory" in out, out
    params = stack.ami({"Action": "QueueStatus", "Queue": "gongjijin"})
    qp = [e for e in params if e.get("Event") == "QueueParams"]
    assert qp and qp[0]["Strategy"] == "rrmemory" and qp[0]["ServiceLevel"] == "15"
    # every option of the rendered queues.conf is one app_queue knows
    log = stack.asterisk_log()
    # ("Unable to join queue" is an empty skill queue refusing a caller: the overflow, not a config error)
    bad = [
        l
        for l in log.splitlines()
        if "app_queue.c" in l and ("WARNING[" in l or "ERROR[" in l) and "Unable to join queue" not in l
    ]
    assert bad == [], bad[:5]


def test_skills_penalties_pause_wrapup_abandon_and_statistics(stack, short_wrapup):
    t_start = time.monotonic()
    log_mark = stack.asterisk_log_size()
    assert "stats" in stack.platform.procs, "the platform runs `hotline stats`"
    time.sleep(0.6)
    base_view = _service_view(stack)
    base = {q: _counts(base_view, q) for q in ("hotline", "gongjijin")}
    with (
        ConsumerThread(stack.settings, stack.secrets) as stats,
        stack.agent(A, skills={"gongjijin": 0}) as agent_a,
        stack.agent(B, skills={"hotline": 0, "gongjijin": 5}) as agent_b,
        stack.agent(C, skills={"hotline": 0}, paused=True) as agent_c,
    ):
        mark = stack.events.mark()

        # penalty: with both 1007 and 1008 free, a gongjijin caller rings 1007 only
        first = stack.sipp_uac("citizen_call.xml", "12329", FIRST_CALLER)
        assert first.ok, first.stdout + first.log
        called = [e for e in stack.events.since(mark) if e.get("Event") == "AgentCalled"]
        assert [e["MemberName"] for e in called] == [A], called

        # ten callers at once: 4 to 12329, 4 to 12345, and 2 to 12345 who hang up after 4 s of waiting
        stack.events.mark()
        # patient callers wait up to 90 s for the agent to end the call
        patient = _citizen(stack, "patient", 90000)
        abandon = _citizen(stack, "abandon", 4000)
        gj = stack.sipp_uac_async(patient, "12329", GJ_CALLER, calls=4, rate=20, timeout=110)
        hl = stack.sipp_uac_async(patient, "12345", HL_CALLER, calls=4, rate=20, timeout=110)
        time.sleep(1.0)  # the hang-ups queue behind the others
        ab = stack.sipp_uac_async(abandon, "12345", AB_CALLER, calls=2, rate=20, timeout=60)
        for th in (gj, hl, ab):
            th.join(120)
        for name, th in (("12329", gj), ("12345", hl), ("abandon", ab)):
            assert th.result.ok, f"{name}: {th.result.stdout[-1500:]} {th.result.log[-1500:]}"
        # every answered call ends with AgentComplete
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            evs = stack.events.since(mark)
            if sum(e.get("Event") == "AgentComplete" for e in evs) >= 9:
                break
            time.sleep(0.2)
        time.sleep(0.5)
        evs = stack.events.since(mark)
        time.sleep(0.3)  # one more flush of the consumer
        stats_view = {q: stats.view(q) for q in ("hotline", "gongjijin")}
        live_agents = {a["name"]: a for a in stats.store.agents}

    joins = {e["Uniqueid"]: e for e in evs if e.get("Event") == "QueueCallerJoin"}
    connects = [e for e in evs if e.get("Event") == "AgentConnect"]
    calls = [e for e in evs if e.get("Event") == "AgentCalled"]
    abandons = [e for e in evs if e.get("Event") == "QueueCallerAbandon"]
    caller_of = {u: e["CallerIDNum"] for u, e in joins.items()}
    for e in evs:  # the timeline, shown when an assertion fails
        if e.get("Event") in (
            "QueueCallerJoin",
            "AgentCalled",
            "AgentConnect",
            "AgentComplete",
            "QueueCallerAbandon",
            "QueueCallerLeave",
        ):
            print(
                e.get("Timestamp"),
                e["Event"],
                e.get("Queue"),
                e.get("MemberName", ""),
                caller_of.get(e.get("Uniqueid"), e.get("CallerIDNum")),
                e.get("HoldTime", ""),
            )

    # skills: gongjijin callers only reach 1007/1008; hotline callers only 1008
    for e in connects:
        if e["Queue"] == "gongjijin":
            assert e["MemberName"] in (A, B), e
        else:
            assert e["Queue"] == "hotline" and e["MemberName"] == B, e
    assert sum(e["Queue"] == "gongjijin" for e in connects) == 5
    assert sum(e["Queue"] == "hotline" for e in connects) == 4
    assert any(e["MemberName"] == A for e in connects) and any(e["MemberName"] == B for e in connects)
    # the paused agent is never rung
    assert not [e for e in calls if e.get("MemberName") == C]
    assert agent_c.screen_pops() == []
    # abandoned: exactly the two callers who hung up, in the hotline queue
    assert len(abandons) == 2 and all(e["Queue"] == "hotline" for e in abandons)
    assert {caller_of[e["Uniqueid"]] for e in abandons} == {AB_CALLER}
    assert not [e for e in connects if caller_of.get(e["Uniqueid"]) == AB_CALLER]

    # wrap-up: an agent is not rung again until WRAPUP seconds after its last call ended
    gaps: list[float] = []
    for member in (A, B):
        timeline = sorted(
            (e for e in evs if e.get("MemberName") == member and e.get("Event") in ("AgentCalled", "AgentComplete")),
            key=_ts,
        )
        last_end = None
        for e in timeline:
            if e["Event"] == "AgentComplete":
                last_end = _ts(e)
            elif last_end is not None:
                # app_queue compares whole seconds (time_t): up to 1 s less than wrapuptime
                assert _ts(e) - last_end >= WRAPUP - 1, (member, _ts(e) - last_end)
                gaps.append(_ts(e) - last_end)

    assert len(gaps) >= 3  # back-to-back calls happened, so wrap-up was exercised

    # SIPp's side: the softphones answered exactly the calls Asterisk connected
    pops = {A: len(agent_a.screen_pops()), B: len(agent_b.screen_pops())}
    assert pops == {m: sum(e["MemberName"] == m for e in connects) for m in (A, B)}

    # the statistics consumer saw the same
    hl_today, gj_today = stats_view["hotline"]["today"], stats_view["gongjijin"]["today"]
    assert (gj_today["offered"], gj_today["answered"], gj_today["abandoned"]) == (5, 5, 0)
    assert (hl_today["offered"], hl_today["answered"], hl_today["abandoned"]) == (6, 4, 2)
    assert hl_today["answer_rate"] == pytest.approx(4 / 6)
    assert gj_today["asa"] is not None and gj_today["aht"] is not None and gj_today["aht"] >= 2 + WRAPUP
    within = sum(1 for e in connects if e["Queue"] == "hotline" and int(e["HoldTime"]) <= 15)
    assert hl_today["answered_within_sl"] == within
    assert live_agents[C]["state"] == "paused"
    assert live_agents[A]["state"] in ("available", "wrapup") and set(live_agents[B]["queues"]) == {
        "hotline",
        "gongjijin",
    }

    # the platform's `hotline stats` service counted the same, and a restart keeps the day
    want = {
        "hotline": tuple(b + d for b, d in zip(base["hotline"], (6, 4, 2), strict=False)),
        "gongjijin": tuple(b + d for b, d in zip(base["gongjijin"], (5, 5, 0), strict=False)),
    }
    _wait_counts(stack, want)
    stack.platform.stop_service("stats")
    # a call while the service is down: it catches up from queue_log when it starts again
    time.sleep(1.1)  # queue_log has whole seconds
    with stack.agent(A, skills={"hotline": 0}):
        down = stack.sipp_uac("citizen_call.xml", "12345", FIRST_CALLER)
        assert down.ok, down.stdout + down.log
    t_restart = time.time()
    stack.platform.start_service("stats")
    want["hotline"] = (want["hotline"][0] + 1, want["hotline"][1] + 1, want["hotline"][2])
    _wait_counts(stack, want, after=t_restart)
    service_log = stack.service_log("stats")
    assert "Traceback" not in service_log, service_log[-3000:]
    assert "queue statistics restored" in service_log
    assert time.monotonic() - t_start < 150
    warnings = [l for l in stack.asterisk_log(log_mark).splitlines() if "WARNING[" in l or "ERROR[" in l]
    print("\n".join(warnings[-40:]))
    assert not [l for l in warnings if "ERROR[" in l], warnings[-10:]


def _feature_code(stack, agent: str, code: str):
    password = ensure_sip_password(stack.settings.secrets_file, agent)
    r = stack.sipp_once(
        "agent_feature_code.xml",
        stack.settings.sip_agent_port,
        code,
        local="127.0.0.1",
        args=["-au", agent, "-ap", password, "-key", "user", agent],
        timeout=20,
    )
    assert r.returncode == 0, f"{code}: {r.stdout[-1500:]} {r.stderr[-800:]}"


def test_softphone_feature_codes_login_pause_unpause_logout(stack):
    agent = "1006"
    spec = [dict(a) for a in stack.agents_spec]
    for a in spec:
        if a["name"] == agent:
            a["skills"] = {"hotline": 0, "gongjijin": 3}
    stack.reload(agents=spec)
    try:
        m = stack.events.mark()
        _feature_code(stack, agent, "*71")
        added = [
            e
            for e in stack.events.since(m)
            if e.get("Event") == "QueueMemberAdded" and e.get("Interface") == f"PJSIP/{agent}"
        ]
        assert {(e["Queue"], e["Penalty"]) for e in added} == {("hotline", "0"), ("gongjijin", "3")}

        m = stack.events.mark()
        _feature_code(stack, agent, "*732")
        paused = stack.events.wait_for(
            lambda e: e.get("Event") == "QueueMemberPause" and e.get("Interface") == f"PJSIP/{agent}",
            since=m,
            timeout=5,
        )
        assert paused["Paused"] == "1" and paused["PausedReason"] == "lunch"

        m = stack.events.mark()
        _feature_code(stack, agent, "*74")
        unpaused = stack.events.wait_for(
            lambda e: e.get("Event") == "QueueMemberPause" and e.get("Interface") == f"PJSIP/{agent}",
            since=m,
            timeout=5,
        )
        assert unpaused["Paused"] == "0"

        m = stack.events.mark()
        _feature_code(stack, agent, "*72")
        removed = [
            e
            for e in stack.events.since(m)
            if e.get("Event") == "QueueMemberRemoved" and e.get("Interface") == f"PJSIP/{agent}"
        ]
        assert {e["Queue"] for e in removed} == {"hotline", "gongjijin"}
    finally:
        for q in ("hotline", "gongjijin"):
            stack.ami({"Action": "QueueRemove", "Queue": q, "Interface": f"PJSIP/{agent}"})
        stack.reload(agents=[a for a in stack.agents_spec])


def test_agent_cli_logs_in_over_ami(stack, tmp_path):
    """`hotline agent` against the real Asterisk: registry -> QueueAdd with penalties -> QueuePause."""
    import subprocess
    import sys

    from deploy.platform import settings_env

    env = settings_env(stack.settings.with_(db_url=f"sqlite:///{tmp_path}/agents.db"))

    def cli(*args):
        r = subprocess.run(
            [sys.executable, "-m", "deploy.cli", "agent", *args], env=env, capture_output=True, text=True, timeout=30
        )
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout

    refused = subprocess.run(
        [sys.executable, "-m", "deploy.cli", "agent", "list"], env=env, capture_output=True, text=True, timeout=30
    )
    assert refused.returncode == 1 and "hotline db upgrade" in refused.stderr  # loud, not a traceback
    subprocess.run([sys.executable, "-m", "deploy.cli", "db", "upgrade"], env=env, check=True, timeout=60)
    cli("add", "lisi", "--extension", "1005", "--skills", "hotline:1,gongjijin:0", "--display", "李四")
    try:
        m = stack.events.mark()
        cli("login", "lisi")
        added = {
            e["Queue"]: e
            for e in stack.events.since(m)
            if e.get("Event") == "QueueMemberAdded" and e.get("Interface") == "PJSIP/1005"
        }
        assert {q: e["Penalty"] for q, e in added.items()} == {"hotline": "1", "gongjijin": "0"}
        assert added["hotline"]["MemberName"] == "lisi"
        m = stack.events.mark()
        cli("pause", "lisi", "--reason", "training")
        p = stack.events.wait_for(
            lambda e: e.get("Event") == "QueueMemberPause" and e.get("Interface") == "PJSIP/1005", since=m, timeout=5
        )
        assert p["PausedReason"] == "training"
        cli("logout", "lisi")
    finally:
        for q in ("hotline", "gongjijin"):
            stack.ami({"Action": "QueueRemove", "Queue": q, "Interface": "PJSIP/1005"})


def test_empty_skill_queue_overflows_to_12345(stack):
    """Nobody of gongjijin's skill is logged in: a 12329 caller does not wait there, 12345 answers."""
    with stack.agent(A, skills={"hotline": 0}):
        m = stack.events.mark()
        r = stack.sipp_uac("citizen_call.xml", "12329", "13800000005")
        assert r.ok, r.stdout + r.log
        connect = stack.events.wait_for(
            lambda e: e.get("Event") == "AgentConnect" and e.get("CallerIDNum") == "13800000005", since=m, timeout=10
        )
    assert connect["Queue"] == "hotline" and connect["MemberName"] == A
    assert stack.events.facts(connect)["HOTLINE_ORIGIN"] == "12329"
    joined = [
        e["Queue"]
        for e in stack.events.since(m)
        if e.get("Event") == "QueueCallerJoin" and e.get("CallerIDNum") == "13800000005"
    ]
    assert joined == ["hotline"]  # joinempty refused the empty skill queue

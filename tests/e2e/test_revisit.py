"""Outbound 回访 through the real Asterisk (issue #12 item 2).

Four orders wait for their 回访 and one asked for none (不需要回访).  The dialer
(workorder/revisit_service.py) originates through the trunk into the dialplan
context ``hotline-revisit`` (the survey, one key, one UserEvent); SIPp citizens
answer it: one presses 1 (满意), one presses 3 (不满意: the store reopens the order),
one lets it ring (retried after the interval), one is busy (486).  Two dialers run
the first pass at the same moment, as two jobs nodes would: every citizen is called
once.  The clock is injected (a morning inside the calling window); the calls are real.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from hotline.ami import connect
from hotline.auth import Principal
from hotline.settings import settings_env
from tests.e2e.harness import SIPP_DIR, media_port, sip_port
from tests.e2e.test_ivr import dtmf
from workorder.db import Database
from workorder.jobs_cli import heartbeat_path, read_heartbeat
from workorder.models import Record
from workorder.revisit import RevisitSettings, parse_window
from workorder.revisit_service import Dialer, Revisits
from workorder.service import Store

AGENT = Principal("rv-agent", "agent")
DISPATCHER = Principal("rv-dispatcher", "dispatcher")
UNIT = Principal("rv-mzj", "department", "mzj")
INTERVAL = timedelta(seconds=20)


class Clock:
    """A morning inside the window (10:00 in the hotline's zone, today), moving with real time."""

    def __init__(self, tz):
        self.base = datetime.now(tz).replace(hour=10, minute=0, second=0, microsecond=0)
        self.start = time.monotonic()
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return self.base + timedelta(seconds=time.monotonic() - self.start) + self.offset


class Citizen:
    """One SIPp phone on its own loopback port."""

    def __init__(self, stack, root: Path, name: str, scenario: Path):
        self.port = sip_port()
        self.log = root / f"citizen-{name}.log"
        self.proc = subprocess.Popen(
            [
                "sipp",
                "-sf",
                str(scenario),
                "-i",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-mp",
                str(media_port()),
                "-nostdin",
                "-trace_logs",
                "-log_file",
                str(self.log),
            ],
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        stack.sipps.append(self.proc)

    def invites(self) -> int:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return sum(1 for line in text.splitlines() if "INVITE ruri=" in line or "REVISIT to=" in line)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class PortDialer(Dialer):
    """The platform's dialer; each citizen's number goes to that citizen's SIPp port
    (a carrier would route by number: here one loopback port per phone)."""

    ports: dict[str, int] = {}

    def channel(self, number: str) -> str:
        return f"PJSIP/pstn/sip:{number}@127.0.0.1:{self.ports[number]}"


@pytest.fixture(scope="module")
def setup(stack, tmp_path_factory):
    root = tmp_path_factory.mktemp("revisit")
    # the session's jobs service dials too (with the real clock): off while this module runs
    stack.platform.stop_service("jobs")
    db = Database(stack.settings.database_url, group_commit=False)
    store = Store(db)
    clock = Clock(store.cfg.calendar.tz)
    store.now = clock
    answer = stack.sipp_file("revisit_citizen.xml", {"REVISIT_WAIT": "1500"})
    citizens = {
        "satisfied": Citizen(
            stack,
            root,
            "satisfied",
            stack.sipp_file("revisit_citizen.xml", {"REVISIT_WAIT": "1500", "<!-- REVISIT_KEYS -->": dtmf("1")}),
        ),
        "unsatisfied": Citizen(
            stack,
            root,
            "unsatisfied",
            stack.sipp_file("revisit_citizen.xml", {"REVISIT_WAIT": "1500", "<!-- REVISIT_KEYS -->": dtmf("3")}),
        ),
        "noanswer": Citizen(stack, root, "noanswer", SIPP_DIR / "peer_noanswer.xml"),
        "busy": Citizen(stack, root, "busy", SIPP_DIR / "peer_busy.xml"),
        "nocallback": Citizen(stack, root, "nocallback", answer),
    }
    time.sleep(0.5)
    try:
        yield stack, store, clock, citizens
    finally:
        for c in citizens.values():
            c.stop()
        db.dispose()
        stack.platform.start_service("jobs")


def to_callback(store: Store, phone: str, no_callback: bool = False) -> dict:
    o = store.create(
        {
            "caller_phone": phone,
            "caller_name": "回访测试",
            "type": "help",
            "content": "路灯不亮",
            "no_callback": no_callback,
        },
        AGENT,
        status="accepted",
    )
    store.transition(o["id"], "dispatch", {"main_unit": "mzj"}, DISPATCHER)
    store.transition(o["id"], "sign", {}, UNIT)
    store.transition(o["id"], "reply", {"content": "已修复"}, UNIT)
    return store.transition(o["id"], "review_reply", {"decision": "accept"}, DISPATCHER)


def dialer(stack, store: Store, ports: dict[str, int]) -> PortDialer:
    cfg = RevisitSettings(
        window=parse_window("08:00-21:00"),
        interval=INTERVAL,
        max_tries=store.rules.callback_max_tries,
        max_calls=8,
        ring_seconds=4,
    )
    d = PortDialer(
        Revisits(store, cfg),
        stack.settings.callback_dial,
        lambda: connect(stack.settings, stack.secrets, events="user"),
        caller_id=store.cfg.hotline_number,
    )
    d.ports = ports
    return d


def callbacks(store: Store, order_id: int) -> list[dict]:
    with store.db.read() as s:
        rows = s.query(Record).filter(Record.order_id == order_id, Record.kind == "callback").order_by(Record.id)
        return [r.data for r in rows]


def test_the_citizens_are_called_back_surveyed_and_retried(setup):
    stack, store, clock, citizens = setup
    phones = {
        "satisfied": "13912000001",
        "unsatisfied": "13912000002",
        "noanswer": "13912000003",
        "busy": "13912000004",
        "nocallback": "13912000005",
    }
    ports = {phones[k]: c.port for k, c in citizens.items()}
    orders = {k: to_callback(store, phones[k], no_callback=(k == "nocallback")) for k in phones}
    assert {k: o["status"] for k, o in orders.items()} == {
        "satisfied": "callback",
        "unsatisfied": "callback",
        "noanswer": "callback",
        "busy": "callback",
        "nocallback": "evaluation",  # 不需要回访: no call, straight to 评价
    }
    assert orders["nocallback"]["no_callback"] is True
    ids = {k: o["id"] for k, o in orders.items()}

    # two jobs nodes pass at the same moment: each order is claimed once, called once
    nodes = [dialer(stack, store, ports), dialer(stack, store, ports)]
    results: list[dict] = [{}, {}]
    t0 = time.monotonic()
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, nodes[i].run_pass())) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    took = time.monotonic() - t0
    called = sorted(r["order"] for res in results for r in res["results"])
    mine = sorted(ids[k] for k in ("satisfied", "unsatisfied", "noanswer", "busy"))
    assert called == mine, results
    assert results[0]["called"] + results[1]["called"] == 4, results
    print(f"first pass: 4 calls in {took:.1f} s: {results}")
    for k in ("satisfied", "unsatisfied", "noanswer", "busy"):
        assert citizens[k].invites() == 1, (k, citizens[k].log.read_text(errors="replace")[-2000:])
    assert citizens["nocallback"].invites() == 0

    got = {k: store.get(ids[k], AGENT) for k in ids}
    # 满意 (key 1) -> 2 on the store's scale; the order is 办结
    assert got["satisfied"]["status"] == "closed" and got["satisfied"]["satisfaction"] == 2, got["satisfied"]
    # 不满意 (key 3) -> 4: the unit is at fault, the store reopens the order (重办, round 2)
    assert got["unsatisfied"]["status"] == "dispatched" and got["unsatisfied"]["round"] == 2, got["unsatisfied"]
    assert got["unsatisfied"]["satisfaction"] == 4
    for k, cause in (("noanswer", "no_answer"), ("busy", "busy")):
        assert got[k]["status"] == "callback" and got[k]["callback_attempts"] == 1, got[k]
        assert [(d["reached"], d["note"]) for d in callbacks(store, ids[k])] == [(False, f"回访外呼: {cause}")]
    assert [d["reached"] for d in callbacks(store, ids["satisfied"])] == [True]
    assert got["nocallback"]["status"] == "evaluation" and got["nocallback"]["callback_attempts"] == 0

    # within the interval nobody is called again
    again = nodes[0].run_pass()
    assert again["due"] == 0, again
    # the interval passes: the two unreached citizens are called again, nobody else
    clock.offset += INTERVAL
    retry = nodes[0].run_pass()
    assert sorted(r["order"] for r in retry["results"]) == sorted([ids["noanswer"], ids["busy"]]), retry
    assert citizens["noanswer"].invites() == 2 and citizens["busy"].invites() == 2
    assert citizens["satisfied"].invites() == 1 and citizens["unsatisfied"].invites() == 1
    assert citizens["nocallback"].invites() == 0
    for k in ("noanswer", "busy"):
        assert store.get(ids[k], AGENT)["callback_attempts"] == 2
    # the 不需要回访 order closes with its 评价, no rating needed
    closed = store.transition(ids["nocallback"], "evaluate", {}, AGENT)
    assert closed["status"] == "closed" and closed["satisfaction"] is None


def test_the_jobs_service_dials_with_its_settings(setup, tmp_path):
    """`hotline jobs` itself (as `hotline up` runs it): its settings, its AMI, the real clock."""
    stack, store, clock, citizens = setup
    real = Store(store.db)  # the real clock, like the service
    for c in Revisits(real, dialer(stack, real, {}).revisits.cfg).candidates():
        real.transition(c.order_id, "callback", {"reached": True}, AGENT)  # the first test's leftovers
    citizen = Citizen(
        stack,
        tmp_path,
        "basic",
        stack.sipp_file("revisit_citizen.xml", {"REVISIT_WAIT": "1500", "<!-- REVISIT_KEYS -->": dtmf("2")}),
    )
    phone = "13912000006"
    try:
        oid = to_callback(real, phone)["id"]
        local = datetime.now(real.cfg.calendar.tz)
        window = f"{(local - timedelta(hours=1)):%H:%M}-{(local + timedelta(hours=1)):%H:%M}"  # may cross midnight
        env = settings_env(stack.settings)
        env.update(
            {
                "HOTLINE_REVISIT_WINDOW": window,
                "HOTLINE_REVISIT_RING_SECONDS": "4",
                "HOTLINE_CALLBACK_DIAL": f"PJSIP/pstn/sip:{{number}}@127.0.0.1:{citizen.port}",
            }
        )
        run = subprocess.run(
            [sys.executable, "-m", "deploy.cli", "jobs", "--once"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        beat_file = heartbeat_path(stack.settings)
        beat = read_heartbeat(beat_file)
        beat_file.unlink(missing_ok=True)  # the service writes its own when it starts again
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        assert beat is not None and beat["ok"], beat
        rv = beat["result"]["revisit"]
        assert rv["called"] == 1 and rv["results"][0]["order"] == oid, rv
        got = real.get(oid, AGENT)
        assert got["status"] == "closed" and got["satisfaction"] == 3, got  # key 2: 基本满意
        log = citizen.log.read_text(errors="replace")
        assert f"REVISIT to={phone} from={real.cfg.hotline_number}" in log, log[-2000:]  # the hotline calls
    finally:
        citizen.stop()

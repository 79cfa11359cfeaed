"""The two levels (省、市两级对接连通, docs/province.md): a city platform and the province
platform, each a whole real platform (Asterisk, Redis, API, hand-off, store) in its own
network namespace, joined by a veth pair (tests/e2e/netns.py):

    hl-city 198.18.0.1 (role city, exchange name "handan")
    hl-prov 198.18.0.2 (role province, exchange name "province")

Their trunks are rendered from each one's map (the city's `province` trunk, the
province's `handan` trunk of kind city) and matched by the peer's address and port.
One module-scoped fixture starts both; the tests run in order:

1. a SIPp citizen calls the city, a city agent (SIPp) answers: the order exists; the agent
   transfers the call blind to 12396 (a province line); the province's agent (SIPp) gets it
   with X-Hotline-Order, and the province's hand-off links the call to that order;
2. the city's `hotline jobs --once` pushes the order's events: the province mirrors it;
3. the link is cut (`ip link set down`), the order changes, the push fails and keeps the
   events; one event already pushed is made pending again (a crash between the province's
   2xx and the city's mark); the link comes back, the push goes through: at the province
   every event of the order exactly once, in order, the mirror at the last.

Root is needed for `ip netns` (CI runs as root): without it the test FAILS, saying so.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time

import httpx
import pytest
from sqlalchemy import select, update

from deploy.platform import SERVICES
from hotline.settings import PROJECT_ROOT, settings_env
from tests.e2e.harness import Stack, chanvars, queue_direct
from tests.e2e.netns import NetnsUnavailable, Pair, inside
from workorder.db import Database
from workorder.jobs_cli import heartbeat_path, read_heartbeat
from workorder.models import Order, Outbox
from workorder.outbox import push_pending

CITY, PROV = "hl-city", "hl-prov"
CALLER = "13800000412"
PROVINCE_LINE = "12396"  # 全国统一科技公益服务电话: 热线在省有关部门设置 (level: province)


def _maps(city: Stack, prov: Stack) -> tuple[str, str]:
    shipped = queue_direct((PROJECT_ROOT / "transfer_map.yaml").read_text(encoding="utf-8"))
    province_trunk = "  province:\n    kind: province\n    contact: sip:127.0.0.1:5190\n"
    assert province_trunk in shipped, "the shipped map's province trunk changed: adapt the test"
    city_map = shipped.replace(
        province_trunk,
        f"  province:\n    kind: province\n    contact: sip:{prov.settings.bind}:{prov.settings.sip_trunk_port}\n",
    )
    prov_map = shipped.replace(
        province_trunk,
        f"  handan:\n    kind: city\n    contact: sip:{city.settings.bind}:{city.settings.sip_trunk_port}\n",
    )
    return city_map, prov_map


def _start(stack: Stack, ns: str, errors: list) -> None:
    try:
        with inside(ns):
            stack.start()
    except Exception as exc:  # reported by the fixture
        errors.append((ns, exc))


@pytest.fixture(scope="module")
def levels(tmp_path_factory):
    pair = Pair(CITY, PROV)
    try:
        pair.up()
    except (NetnsUnavailable, OSError) as exc:
        pair.down()
        pytest.fail(f"the two-level test needs network namespaces (`ip netns`, root, as CI runs): {exc}")
    root = tmp_path_factory.mktemp("twolevel")
    services = tuple(s for s in SERVICES if s not in ("jobs", "stats"))  # the test runs the push itself
    with inside(PROV):
        prov = Stack(root / "prov", services=services, bind=pair.addr_b, role="province", exchange_name="province")
    token = prov.secrets["api_tokens"]["exchange"]
    upstream = f"http://{pair.addr_b}:{prov.settings.api_port}/api/v1/exchange/events"
    with inside(CITY):
        city = Stack(
            root / "city",
            services=services,
            bind=pair.addr_a,
            role="city",
            exchange_name="handan",
            upstream_url=upstream,
            upstream_token=token,
        )
    city_map, prov_map = _maps(city, prov)
    city.settings.transfer_map.write_text(city_map, encoding="utf-8")
    prov.settings.transfer_map.write_text(prov_map, encoding="utf-8")
    errors: list = []
    for stack, ns in ((prov, PROV), (city, CITY)):  # one after the other: alembic's state is per process
        _start(stack, ns, errors)
    try:
        assert not errors, f"a platform did not start: {errors}"
        yield pair, city, prov
    finally:
        stops = [threading.Thread(target=s.stop) for s in (city, prov)]
        for th in stops:
            th.start()
        for th in stops:
            th.join()
        pair.down()


def _api(stack: Stack, ns: str, method: str, path: str, role: str = "agent", **kw) -> httpx.Response:
    token = stack.secrets["api_tokens"][role]
    with inside(ns), httpx.Client(timeout=10) as c:
        return c.request(
            method,
            f"http://{stack.settings.bind}:{stack.settings.api_port}{path}",
            headers={"Authorization": f"Bearer {token}"},
            **kw,
        )


def _jobs_once(city: Stack) -> dict:
    """One pass of the city's `hotline jobs` (its outbox push to the province), in its namespace."""
    with inside(CITY):
        r = subprocess.run(
            [sys.executable, "-m", "deploy.cli", "jobs", "--once"],
            env=settings_env(city.settings),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    beat = read_heartbeat(heartbeat_path(city.settings))
    assert beat and beat["ok"], beat
    return beat["result"]["push"]


def _push(city: Stack) -> dict:
    """The same push as the jobs' (workorder/outbox.py), from the city's namespace, without
    a new process per pass."""
    s = city.settings
    db = Database(s.database_url)
    try:
        with inside(CITY):
            return push_pending(db, s.upstream_url, token=s.upstream_token, source=s.exchange_source)
    finally:
        db.dispose()


def _city_events(city: Stack, number: str) -> list[tuple[int, str]]:
    db = Database(city.settings.database_url)
    try:
        with db.read() as s:
            oid = s.scalar(select(Order.id).where(Order.number == number))
            return [
                (r.id, r.event_id) for r in s.scalars(select(Outbox).where(Outbox.order_id == oid).order_by(Outbox.id))
            ]
    finally:
        db.dispose()


state: dict = {}


def _is(event: dict, name: str, **fields) -> bool:
    return event.get("Event") == name and all(event.get(k) == v for k, v in fields.items())


def test_city_agent_transfers_a_province_matter_with_its_order(levels):
    pair, city, prov = levels
    skill = "keji"  # 12396's department kjj answers in queue keji (the province answers it itself)
    refer = city.sipp_file(
        "uas_refer.xml",
        {
            "REFER_TO_URI": f"sip:{PROVINCE_LINE}@{city.settings.bind}:{city.settings.sip_agent_port}",
            '<pause milliseconds="1000"/>': '<pause milliseconds="3000"/>',
        },
    )
    with contextlib.ExitStack() as agents:
        with inside(PROV):
            prov_agent = agents.enter_context(prov.agent("1001", skills={skill: 0}))
        with inside(CITY):
            city_agent = agents.enter_context(city.agent("1001", skills={"hotline": 0}, scenario=refer))
            cmark, pmark = city.events.mark(), prov.events.mark()
            result = city.sipp_uac("citizen_call.xml", "12345", CALLER, timeout=40)
        assert result.ok, result.stdout + result.log
        connect = city.events.wait_for(lambda e: _is(e, "AgentConnect", CallerIDNum=CALLER), since=cmark)
        assert connect["Queue"] == "hotline"
        blind = city.events.wait_for(lambda e: _is(e, "BlindTransfer"), since=cmark)
        assert blind["Extension"] == PROVINCE_LINE and blind["Result"] == "Success", blind
        assert "REFER accepted" in city_agent.log_file.read_text(errors="replace")
        pconnect = prov.events.wait_for(lambda e: _is(e, "AgentConnect", CallerIDNum=CALLER), since=pmark)
    # the city's order of the call
    r = _api(city, CITY, "GET", "/api/v1/orders", params={"phone": CALLER})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert len(items) == 1, items
    number = items[0]["number"]
    # the province's agent got the call with the city's order, the hand-off linked it
    assert pconnect["Queue"] == skill
    pv = chanvars(pconnect)
    assert pv.get("HOTLINE_PEER_ORDER") == number and pv.get("HOTLINE_PEER") == "handan", pv
    pop = prov_agent.screen_pops()[-1]
    assert f"order={number}" in pop, pop  # the screen pop: X-Hotline-Order
    linked = _wait_linked(prov, number, pconnect["Linkedid"])
    assert linked["source"] == "handan" and linked["mirrored"] is True
    # the province made no order of its own for this call: the call is the city's order
    r = _api(prov, PROV, "GET", "/api/v1/orders", params={"phone": CALLER})
    assert r.status_code == 200 and r.json()["items"] == [], r.text
    state["number"], state["id"], state["linkedid"] = number, items[0]["id"], pconnect["Linkedid"]


def test_the_city_pushes_the_order_and_the_province_mirrors_it(levels):
    pair, city, prov = levels
    number = state["number"]
    push = _jobs_once(city)
    assert push["error"] is None and push["pending"] == 0 and push["pushed"] >= 1, push
    sent = _city_events(city, number)
    mirror = _api(prov, PROV, "GET", f"/api/v1/exchange/orders/handan/{number}").json()
    assert [h["seq"] for h in mirror["history"]] == [seq for seq, _ in sent], (mirror, sent)
    assert mirror["events"] == len(sent) and mirror["status"] == "draft"
    assert mirror["linkedid"] == state["linkedid"]  # the call's link stays
    # the city keeps the caller's number to itself: the mirror has none
    assert CALLER not in json.dumps(mirror)


def test_link_cut_and_restored_nothing_lost_nothing_doubled(levels):
    pair, city, prov = levels
    number, oid = state["number"], state["id"]
    pair.cut()
    try:
        for title in ("科技项目申报咨询", "科技项目申报咨询（转省）"):
            r = _api(city, CITY, "PATCH", f"/api/v1/orders/{oid}", json={"title": title})
            assert r.status_code == 200, r.text
        push = _push(city)
        assert push["pushed"] == 0 and push["pending"] == 2 and "ConnectError" in (push["error"] or ""), push
    finally:
        pair.restore()
    # a crash between the province's 2xx and the city's mark: the first event goes out again
    first_seq = _city_events(city, number)[0][0]
    db = Database(city.settings.database_url)
    try:
        with db.write() as s:
            s.execute(update(Outbox).where(Outbox.id == first_seq).values(pushed_at=None))
    finally:
        db.dispose()
    push = _push(city)
    assert push["error"] is None and push["pending"] == 0 and push["pushed"] == 3, push
    sent = _city_events(city, number)
    mirror = _api(prov, PROV, "GET", f"/api/v1/exchange/orders/handan/{number}").json()
    # every event exactly once, in the city's order; the mirror at the last change
    assert [h["seq"] for h in mirror["history"]] == [seq for seq, _ in sent], (mirror, sent)
    assert [h["event_id"] for h in mirror["history"]] == [e for _, e in sent]
    assert all(h["outcome"] == "applied" for h in mirror["history"])
    assert mirror["events"] == len(sent) and mirror["last_seq"] == sent[-1][0]
    assert mirror["title"] == "科技项目申报咨询（转省）"


def _wait_linked(prov: Stack, number: str, linkedid: str, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        r = _api(prov, PROV, "GET", f"/api/v1/exchange/orders/handan/{number}")
        if r.status_code == 200 and r.json()["linkedid"] == linkedid:
            return r.json()
        if time.monotonic() > deadline:
            raise AssertionError(f"the province never linked call {linkedid} to {number}: {r.status_code} {r.text}")
        time.sleep(0.2)

"""Every page's first byte with N orders in the store, and the wallboard's event latency.

Not part of the test suite.  The store is a migrated SQLite database seeded with N orders
(bench/seed_orders.py; cached under ~/.cache/hotline/bench/, keyed by N and the schema
revision).  A copy of it is served by the real app (``hotline api``: web.app.create_app
under uvicorn) on 127.0.0.1 in a subprocess.  One user per role signs in through the real
login form (its CSRF token); then every page and the data calls its script makes on load
are requested in turn, round after round, and for each the time to the first byte of the
response (status line and headers) is kept.  Printed per page: first-byte p50 / p95 in ms,
pass / fail against 300 ms, and the p50 as a ratio of the baseline's p50, the login page
(a template, no query) requested in the same rounds: the framework's own floor.

Then the wallboard: AMI queue events through the real statistics consumer to the SSE
stream (bench/pages_feed.py), p50 / p95 / max against 2 s.

    python3 bench/bench_pages.py [--orders 1000000] [--rounds 30] [--events 12] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import pages_feed  # noqa: E402
from bench.bench_workorder import free_port, pct  # noqa: E402
from bench.seed_orders import seeded  # noqa: E402
from hotline.settings import Settings  # noqa: E402
from hotline.transfer_map import load_map_for  # noqa: E402
from queues.models import Registry  # noqa: E402
from web.accounts import Accounts  # noqa: E402
from workorder.db import Database  # noqa: E402
from workorder.kb import KnowledgeBase  # noqa: E402
from workorder.kb_rules import Actor  # noqa: E402

PAGE_GOAL_MS = 300.0
EVENT_GOAL_S = 2.0
PASSWORD = "bench-password-12345"


def prepare(home: Path, n: int) -> tuple[Settings, dict]:
    """A home with a copy of the seeded store, the map, agents, one user per role, KB articles."""
    home.mkdir(parents=True, exist_ok=True)
    src = seeded(n)
    shutil.copyfile(src, home / "hotline.db")
    tmap = home / "transfer_map.yaml"
    shutil.copyfile(ROOT / "transfer_map.yaml", tmap)
    settings = Settings(home=home, transfer_map=tmap)
    db = Database(settings.database_url)
    registry = Registry(settings.database_url)
    for k in [*range(1001, 1011), 2001]:  # agent2001 is new: no orders yet
        registry.add(f"agent{k}", str(k), {load_map_for(settings).hotline.queue: 0}, display=f"坐席{k}")
    by_load = "SELECT main_unit FROM orders WHERE main_unit IS NOT NULL GROUP BY main_unit ORDER BY count(*)"
    with db.read() as s:
        busiest = s.connection().exec_driver_sql(by_load + " DESC LIMIT 1").scalar_one()
        quiet = s.connection().exec_driver_sql(by_load + " LIMIT 1").scalar_one()
        order_id = (
            s.connection()
            .exec_driver_sql(
                "SELECT max(o.id) FROM orders o JOIN records r ON r.order_id = o.id "
                "WHERE r.kind = 'dispatch' AND r.unit = ? AND o.status = 'handling'",
                (busiest,),
            )
            .scalar_one()
        )
        repeat = (
            s.connection()
            .exec_driver_sql(
                "SELECT linkedid FROM orders WHERE caller_phone = (SELECT caller_phone FROM orders "
                "WHERE id > (SELECT max(id) - 1000 FROM orders) GROUP BY caller_phone ORDER BY count(*) DESC LIMIT 1) "
                "ORDER BY id DESC LIMIT 1"
            )
            .scalar_one()
        )
    kb = KnowledgeBase(db)
    author, reviewer, publisher = (
        Actor("bench", "supervisor"),
        Actor("bench-review", "supervisor"),
        Actor("bench-pub", "admin"),
    )
    for i in range(300):  # published, so the search finds them
        a = kb.create(
            {
                "title": f"公积金提取办理指南 {i}",
                "body": "住房公积金提取条件、材料和流程。" * 5,
                "tags": ["公积金"],
                "department": "gjj",
            },
            author,
        )
        kb.act(a["id"], "review", reviewer)
        kb.act(a["id"], "publish", publisher)
    accounts = Accounts(db, settings.database_url)
    users = {
        "agent": ("agent1001", "agent", "1001", None),
        "agent-new": ("agent2001", "agent", "2001", None),
        "supervisor": ("banzhang", "supervisor", None, None),
        "department": (f"dept-{busiest}", "department", None, busiest),
        "dept-quiet": (f"dept-{quiet}", "department", None, quiet),
        "admin": ("guanli", "admin", None, None),
    }
    for name, role, ext, dept in users.values():
        accounts.add(name if role != "agent" else None, role, PASSWORD, extension=ext, department=dept)
    db.dispose()
    return settings, {"users": users, "order_id": order_id, "linkedid": repeat, "units": (busiest, quiet)}


def pages(ctx: dict) -> list[tuple[str, str]]:
    """(role, path): every page and the data calls its script makes on load."""
    return [
        ("anon", "/login"),  # the baseline
        ("anon", "/static/app.css"),
        ("agent", "/agent"),
        ("agent", "/agent/pop"),
        ("agent", f"/agent/pop?linkedid={ctx['linkedid']}"),
        ("agent", "/agent/recent"),
        ("agent", "/api/v1/queues/agents"),
        ("agent-new", "/agent/pop"),
        ("agent-new", "/agent/recent"),
        ("agent", "/api/v1/kb/search?q=公积金提取"),
        ("supervisor", "/wallboard"),
        ("supervisor", "/api/v1/queues/agents"),
        ("department", "/dept"),
        ("department", "/dept?all=true"),
        ("department", f"/dept/orders/{ctx['order_id']}"),
        ("dept-quiet", "/dept"),
        ("dept-quiet", "/dept?all=true"),
        ("admin", "/admin"),
        ("admin", "/admin/map"),
        ("admin", "/admin/stats"),
        ("admin", "/admin/users"),
        ("admin", "/admin/stats.csv"),
        ("admin", "/admin/stats.xlsx"),
        ("admin", "/admin/sizing"),
    ]


def sign_in(base: str, name: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=60, follow_redirects=False)
    form = c.get("/login").text
    token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    r = c.post("/login", data={"name": name, "password": PASSWORD, "csrf": token})
    if r.status_code not in (302, 303):
        raise RuntimeError(f"login of {name} failed: {r.status_code} {r.text[:200]}")
    return c


def first_byte(c: httpx.Client, path: str) -> tuple[float, int, int]:
    t0 = time.perf_counter()
    with c.stream("GET", path) as r:
        t1 = time.perf_counter()  # status line and headers arrived
        size = len(r.read())
    return t1 - t0, r.status_code, size


def run_pages(base: str, clients: dict, plist, rounds: int) -> dict:
    lat: dict[tuple[str, str], list[float]] = {k: [] for k in plist}
    info: dict[tuple[str, str], tuple[int, int]] = {}
    for k in plist:  # the first (cold) request, and check every page answers 200
        cold, status, size = first_byte(clients[k[0]], k[1])
        if status != 200:
            raise RuntimeError(f"{k[1]} as {k[0]}: HTTP {status}")
        info[k] = (cold, size)
    for _ in range(rounds):
        for k in plist:
            lat[k].append(first_byte(clients[k[0]], k[1])[0])
    return {
        k: {"first": info[k][0] * 1000, "p50": pct(v, 50) * 1000, "p95": pct(v, 95) * 1000, "bytes": info[k][1]}
        for k, v in lat.items()
    }


def wait_up(base: str, proc: subprocess.Popen) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise RuntimeError("the API process exited")
        try:
            if httpx.get(f"{base}/login", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the API did not come up")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=30, help="requests per page")
    ap.add_argument("--events", type=int, default=12, help="wallboard changes to time")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the run's home folder")
    args = ap.parse_args()

    home = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    settings, ctx = prepare(home, args.orders)
    redis_port, api_port = free_port(), free_port()
    env = {
        **os.environ,
        "HOTLINE_HOME": str(home),
        "HOTLINE_TRANSFER_MAP": str(settings.transfer_map),
        "HOTLINE_API_PORT": str(api_port),
        "HOTLINE_REDIS_PORT": str(redis_port),
        "HOTLINE_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    procs = [
        subprocess.Popen(
            ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [sys.executable, "-m", "deploy.cli", "api", "--no-migrate"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
    ]
    base = f"http://127.0.0.1:{api_port}"
    try:
        wait_up(base, procs[1])
        clients = {"anon": httpx.Client(base_url=base, timeout=60)}
        for role, (name, *_rest) in ctx["users"].items():
            clients[role] = sign_in(base, name)
        plist = pages(ctx)
        res = run_pages(base, clients, plist, args.rounds)
        floor = res[plist[0]]["p50"]
        sup = clients["supervisor"]
        queue = load_map_for(settings).hotline.queue
        ev = asyncio.run(pages_feed.measure(base, sup.cookies, env, queue, args.events))
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)
    ok = all(r["p95"] < PAGE_GOAL_MS for r in res.values()) and max(ev) < EVENT_GOAL_S
    if args.json:
        out = {
            "orders": args.orders,
            "pages": [{"role": k[0], "path": k[1], **r, "ratio": r["p50"] / floor} for k, r in res.items()],
            "events_s": ev,
        }
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0 if ok else 1
    print(f"{args.orders:,} orders, {args.rounds} requests a page, {os.cpu_count()} CPUs; first byte in ms")
    print(
        f"{'role':<11}{'path':<44}{'first':>8}{'p50':>8}{'p95':>8}{'x login':>9}{'bytes':>10}  < {PAGE_GOAL_MS:.0f} ms"
    )
    for (role, path), r in res.items():
        verdict = "pass" if r["p95"] < PAGE_GOAL_MS else "FAIL"
        shown = path if len(path) <= 43 else path[:40] + "..."
        print(
            f"{role:<11}{shown:<44}{r['first']:>8.1f}{r['p50']:>8.1f}{r['p95']:>8.1f}"
            f"{r['p50'] / floor:>9.1f}{r['bytes']:>10}  {verdict}"
        )
    print(
        f"wallboard: AMI event -> SSE, {len(ev)} changes: p50 {pct(ev, 50):.2f} s  p95 {pct(ev, 95):.2f} s  "
        f"max {max(ev):.2f} s  ({'pass' if max(ev) < EVENT_GOAL_S else 'FAIL'} < {EVENT_GOAL_S:.0f} s)"
    )
    print("all goals met" if ok else "some goals missed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Work-order store benchmark (not part of the test suite).

On a copy of the cached store of N orders (``bench/seed_orders.py``: made by the real
migrations, seeded once into ``~/.cache/hotline/bench/``; N defaults to 1,000,000), in
SQLite WAL mode (synchronous=FULL), with the N orders in it:

1. creates/s through the API (uvicorn subprocess, ``hotline api``, 64 concurrent clients)
   against direct SQLAlchemy inserts (one durable transaction per order, same engine
   settings) in the same run and the same store, alternated in chunks, and the ratio
   (goal >= 50%);
2. p50/p99 of every list and search at 4 clients (goal p99 < 100 ms), each with its ratio
   to the floor measured in the same run, interleaved with the lists: an authenticated,
   audited request that reads nothing (``GET /api/v1/workflow``) through the same server
   and clients.

    python3 bench/bench_workorder.py [--orders 1000000] [--creates 2000] [--direct 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.seed_orders import seeded  # noqa: E402
from hotline.auth import Principal  # noqa: E402
from hotline.http_pool import HttpPool  # noqa: E402
from hotline.secrets import load_secrets  # noqa: E402
from workorder.db import Database  # noqa: E402
from workorder.models import Order, Transition  # noqa: E402
from workorder.service import Store  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], p: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] if v else float("nan")


def direct_inserts(url: str, n: int, first: int = 0) -> float:
    """Baseline: plain SQLAlchemy ORM inserts, one durable transaction each (order + history row);
    numbers from ``first`` on."""
    db = Database(url)
    start = time.perf_counter()
    now = datetime.now(UTC)
    for i in range(first, first + n):
        with db.write() as s:
            o = Order(
                number=f"19990101{i:07d}",
                type="consult",
                content=f"直接插入 {i}",
                caller_phone="13800000000",
                origin="12345",  # NOT NULL since the orders carry the number dialed
                status="accepted",
                received_at=now,
                created_at=now,
                updated_at=now,
            )
            s.add(o)
            s.flush()
            s.add(
                Transition(
                    order_id=o.id,
                    round=1,
                    action="create",
                    from_status="",
                    to_status="accepted",
                    actor="bench",
                    role="agent",
                    at=now,
                )
            )
    took = time.perf_counter() - start
    db.dispose()
    return n / took


def service_creates(url: str, n: int) -> float:
    """The service layer without HTTP (number, history, outbox, FTS) for reference."""
    store = Store(Database(url))
    p = Principal("bench", "agent")
    start = time.perf_counter()
    for i in range(n):
        store.create({"type": "consult", "content": f"服务层 {i}", "caller_phone": "13800000000"}, p, "accepted")
    took = time.perf_counter() - start
    store.db.dispose()
    return n / took


def one_connection(base: str, token: str) -> HttpPool:
    """One kept-alive connection to the API (the platform's own client, hotline/http_pool.py):
    httpx's async client costs more CPU per request than the server does, which on a 2-core
    box measures the client."""
    return HttpPool.bearer(base, token, size=1, timeout=60)[0]


async def api_creates(base: str, token: str, n: int, concurrency: int) -> tuple[float, list[float]]:
    import json as _json

    lat: list[float] = []
    counter = iter(range(n))

    async def worker():
        c = one_connection(base, token)
        try:
            for i in counter:
                body = _json.dumps(
                    {"type": "consult", "content": f"接口创建 {i}", "caller_phone": "13800000000", "accept": True}
                ).encode()
                t0 = time.perf_counter()
                status, data = await c.request("POST", "/api/v1/orders", body)
                lat.append(time.perf_counter() - t0)
                if status != 201:
                    raise RuntimeError(f"create failed: {status} {data[:200]!r}")
        finally:
            await c.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    took = time.perf_counter() - start
    return n / took, lat


async def read_latency(base: str, token: str, paths: dict[str, str], rounds: int, concurrency: int) -> dict:
    """p50/p99 ms and the fewest rows of each GET ``paths[name]``: ``concurrency`` keep-alive
    clients, each going through every path in turn ``rounds`` times (client k starts at path k),
    so every path, the floor included, is measured under the same load on the machine over the
    same minutes (after one warm-up request each)."""
    names = list(paths)
    lat: dict[str, list[float]] = {n: [] for n in names}
    counts: dict[str, list[int]] = {n: [] for n in names}

    async def worker(k: int):
        c = one_connection(base, token)
        try:
            for i in range(rounds * len(names)):
                name = names[(k + i) % len(names)]
                t0 = time.perf_counter()
                status, data = await c.request("GET", paths[name])
                lat[name].append(time.perf_counter() - t0)
                assert status == 200, data[:200]
                counts[name].append(data.count(b'"number"'))
        finally:
            await c.close()

    warm = one_connection(base, token)
    for path in paths.values():
        await warm.request("GET", path)
    await warm.close()
    await asyncio.gather(*(worker(k) for k in range(concurrency)))
    return {n: (pct(lat[n], 50) * 1000, pct(lat[n], 99) * 1000, min(counts[n])) for n in names}


def list_paths(db_path: Path) -> dict[str, str]:
    """The lists and searches measured, with values the seeded store holds: a caller who
    called most, a busy unit, the middle id for a second page."""
    con = sqlite3.connect(db_path)
    try:
        top_id = con.execute("SELECT max(id) FROM orders").fetchone()[0]
        phone = con.execute(
            "SELECT caller_phone FROM orders GROUP BY caller_phone ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()[0]
        unit = con.execute(
            "SELECT main_unit FROM orders WHERE main_unit IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()[0]
    finally:
        con.close()
    queries = {
        "list newest 50": {},
        "list status=handling": {"status": "handling"},
        "list unit=gjj type=complaint": {"unit": "gjj", "type": "complaint"},
        f"list unit={unit} status=accepted (none)": {"unit": unit, "status": "accepted"},
        "list by phone": {"phone": phone},
        "search q=公积金提取": {"q": "公积金提取"},
        "search q=滏河大街 status=closed": {"q": "滏河大街", "status": "closed"},
        "search q=拖欠工资 (2 pages)": {"q": "拖欠工资", "before_id": top_id // 2},
        "search q=医保 (2 characters)": {"q": "医保"},
    }
    return {name: "/api/v1/orders?" + urlencode({**q, "limit": 50}) for name, q in queries.items()}


FLOOR = "floor GET /api/v1/workflow"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=1_000_000, help="orders in the store (seeded once, cached)")
    ap.add_argument("--creates", type=int, default=2000)
    ap.add_argument("--direct", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--chunks", type=int, default=4, help="direct and API creates alternate in this many chunks")
    ap.add_argument("--rounds", type=int, default=100, help="requests of each path per client")
    ap.add_argument("--read-concurrency", type=int, default=4, help="clients for the list/search latency")
    ap.add_argument("--keep", action="store_true", help="keep the run's home folder")
    args = ap.parse_args()

    home = Path(tempfile.mkdtemp(prefix="bench-wo-"))
    db_path = home / "hotline.db"
    shutil.copyfile(seeded(args.orders), db_path)
    url = f"sqlite:///{db_path}"
    token = load_secrets(home / "secrets.json")["api_tokens"]["admin"]
    paths = list_paths(db_path)
    made = sqlite3.connect(db_path).execute("SELECT count(*) FROM orders").fetchone()[0]
    load = os.getloadavg()
    print(
        f"store of {made} orders: {db_path} (a copy of the cached seed; SQLite WAL, synchronous=FULL), "
        f"{os.cpu_count()} CPUs, load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    svc = service_creates(url, min(args.direct, 1000))
    port = free_port()
    env = {**os.environ, "HOTLINE_HOME": str(home), "HOTLINE_API_PORT": str(port), "HOTLINE_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "deploy.cli", "api", "--no-migrate"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                r = httpx.get(f"{base}/api/v1/departments", headers={"Authorization": f"Bearer {token}"}, timeout=1)
                if r.status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        # alternated in chunks, so the baseline and the API see the same load on the machine
        direct_s = api_s = 0.0
        lat: list[float] = []
        for k in range(args.chunks):
            n_d, n_a = args.direct // args.chunks, args.creates // args.chunks
            direct_s += n_d / direct_inserts(url, n_d, first=k * n_d)
            r, part = asyncio.run(api_creates(base, token, n_a, args.concurrency))
            api_s += n_a / r
            lat += part
        direct = args.chunks * (args.direct // args.chunks) / direct_s
        rate = args.chunks * (args.creates // args.chunks) / api_s
        print(
            f"with {made} orders in the store, {args.direct} direct / {args.creates} API creates"
            f" alternated in {args.chunks} chunks:"
        )
        print(f"direct SQLAlchemy inserts : {direct:8.0f} orders/s (one durable transaction each)")
        print(f"service layer, no HTTP    : {svc:8.0f} orders/s (number, history, outbox, FTS)")
        print(
            f"API creates, {args.concurrency} clients  : {rate:8.0f} orders/s  p50 {pct(lat, 50) * 1000:.1f} ms"
            f"  p99 {pct(lat, 99) * 1000:.1f} ms"
        )
        print(f"ratio API / direct        : {rate / direct:.0%}  (goal >= 50%)")
        print(
            f"list/search latency, {args.read_concurrency} clients, {args.rounds * args.read_concurrency} requests"
            " of each path, the paths interleaved:"
        )
        res = asyncio.run(
            read_latency(base, token, {FLOOR: "/api/v1/workflow", **paths}, args.rounds, args.read_concurrency)
        )
        f50, f99, _ = res.pop(FLOOR)
        print(f"  {FLOOR:40s} p50 {f50:7.1f} ms  p99 {f99:7.1f} ms  (the baseline: auth, audit, HTTP)")
        for name, (p50, p99, n) in res.items():
            flag = "ok" if p99 < 100 else "OVER"
            print(
                f"  {name:40s} p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  ({n} rows)  {flag}"
                f"  x floor: p50 {p50 / f50:.1f} p99 {p99 / f99:.1f}"
            )
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Work-order store benchmark (not part of the test suite).

Measures, on one SQLite database in WAL mode (synchronous=FULL):

1. creates/s through the API (uvicorn subprocess, ``hotline api``, 64 concurrent
   clients) against direct SQLAlchemy inserts (one durable transaction per order,
   same engine settings) in the same run, and prints the ratio (goal >= 50%);
2. p50/p99 latency of API creates at 64 concurrent clients;
3. list and search p99 on N generated orders (goal < 100 ms); N defaults to
   1,000,000 but generation stops at --gen-budget seconds and the N reached is printed.

    python3 bench/bench_workorder.py [--orders 1000000] [--creates 3000] [--gen-budget 120]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hotline.auth import Principal  # noqa: E402
from hotline.secrets import load_secrets  # noqa: E402
from workorder.db import Database  # noqa: E402
from workorder.migrate import upgrade  # noqa: E402
from workorder.models import Order, Transition  # noqa: E402
from workorder.service import Store  # noqa: E402

PLACES = ["丛台区", "邯山区", "复兴区", "峰峰矿区", "永年区", "武安市", "涉县", "磁县", "魏县", "大名县"]
ROADS = ["中华大街", "人民路", "联纺路", "滏河大街", "光明大街", "陵园路", "和平路", "东柳大街", "学院北路", "农林路"]
TOPICS = [
    ("噪音扰民", "夜间施工噪音扰民影响休息"),
    ("路灯不亮", "路灯损坏多日不亮存在安全隐患"),
    ("公积金提取", "咨询住房公积金提取条件和办理材料"),
    ("供暖不热", "冬季供暖温度不达标室内很冷"),
    ("垃圾堆积", "小区门口垃圾堆积多日无人清理"),
    ("拖欠工资", "工地拖欠农民工工资多月未发"),
    ("医保报销", "咨询异地就医医保报销比例"),
    ("违章建筑", "楼顶私搭乱建违章建筑"),
    ("占道经营", "商贩占道经营影响通行"),
    ("停水通知", "小区突然停水没有提前通知"),
]
TYPES = ["consult", "help", "complaint", "report", "suggestion"]
STATUSES = ["accepted", "dispatched", "handling", "replied", "callback", "closed", "archived"]
UNITS = ["mzj", "wjw", "rsj", "gjj", "cgzf", "sthj", "jtj", "scjg", "hanshan", "congtai"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], p: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] if v else float("nan")


def direct_inserts(url: str, n: int) -> float:
    """Baseline: plain SQLAlchemy ORM inserts, one durable transaction each (order + history row)."""
    db = Database(url)
    start = time.perf_counter()
    now = datetime.now(UTC)
    for i in range(n):
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


class RawClient:
    """A minimal keep-alive HTTP/1.1 client on asyncio streams: httpx's async client costs
    more CPU per request than the server does, which on a 2-core box measures the client."""

    def __init__(self, host: str, port: int, token: str):
        self.host, self.port, self.token = host, port, token
        self.reader = self.writer = None

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {self.token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            k, _, v = line.decode().partition(":")
            if k.lower() == "content-length":
                length = int(v)
        data = await self.reader.readexactly(length) if length else b""
        return status, data

    async def close(self):
        if self.writer is not None:
            self.writer.close()


async def api_creates(base: str, token: str, n: int, concurrency: int) -> tuple[float, list[float]]:
    import json as _json

    host, port = base.split("//")[1].split(":")
    lat: list[float] = []
    counter = iter(range(n))

    async def worker():
        c = RawClient(host, int(port), token)
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


def generate(db_path: Path, target: int, budget: float) -> tuple[int, float]:
    """Bulk-generate orders with raw SQL in batches within the time budget, then build their
    full-text rows in one statement (the time reported includes the FTS indexing)."""
    con = sqlite3.connect(db_path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")  # generation only; the measured paths use FULL
    rnd = random.Random(12345)
    start = time.perf_counter()
    made = 0
    day0 = datetime(2025, 1, 1, tzinfo=UTC)
    batch = 20000
    cols = (
        "number, channel, received_at, caller_phone, anonymous, confidential, type, title, content, address, "
        "urgency, origin, mode, kb_refs, status, round, main_unit, co_units, return_count, designated, "
        "extension_pending, callback_attempts, callback_failed, dispatched_ever, created_at, updated_at, version"
    )
    sql = f"INSERT INTO orders ({cols}) VALUES ({','.join('?' * 27)})"
    # bulk load without the per-row FTS triggers, then index the new rows in one statement
    triggers = con.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'orders_fts_%'"
    ).fetchall()
    first_new = con.execute("SELECT coalesce(max(id), 0) FROM orders").fetchone()[0]
    for name, _sql in triggers:
        con.execute(f"DROP TRIGGER {name}")
    while made < target and time.perf_counter() - start < budget:
        rows = []
        for _ in range(min(batch, target - made)):
            made += 1
            ts = day0 + timedelta(seconds=made * 30)
            title, content = rnd.choice(TOPICS)
            place, road = rnd.choice(PLACES), rnd.choice(ROADS)
            t = ts.strftime("%Y-%m-%d %H:%M:%S.%f")
            rows.append(
                (
                    f"{ts:%Y%m%d}{made:07d}",
                    "phone",
                    t,
                    f"138{rnd.randrange(10**8):08d}",
                    0,
                    0,
                    rnd.choice(TYPES),
                    title,
                    f"{place}{road}{rnd.randrange(1, 300)}号 {content}",
                    f"{place}{road}{rnd.randrange(1, 300)}号",
                    "normal",
                    "12345",
                    "direct",
                    "[]",
                    rnd.choice(STATUSES),
                    1,
                    rnd.choice(UNITS),
                    "[]",
                    0,
                    0,
                    0,
                    0,
                    0,
                    1,
                    t,
                    t,
                    1,
                )
            )
        con.execute("BEGIN")
        con.executemany(sql, rows)
        con.execute("COMMIT")
    con.execute("BEGIN")
    con.execute(
        "INSERT INTO orders_fts(rowid, title, content, address) SELECT id, coalesce(title,''), "
        "coalesce(content,''), coalesce(address,'') FROM orders WHERE id > ?",
        (first_new,),
    )
    for _name, trigger_sql in triggers:
        con.execute(trigger_sql)
    con.execute("COMMIT")
    took = time.perf_counter() - start
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.execute("ANALYZE")
    con.close()
    return made, took


async def read_p99(base: str, token: str, queries: list[dict], rounds: int, concurrency: int = 4) -> dict:
    from urllib.parse import urlencode

    host, port = base.split("//")[1].split(":")
    out = {}
    for q in queries:
        name = q.pop("_name")
        path = "/api/v1/orders?" + urlencode(q)
        lat: list[float] = []
        counts: list[int] = []
        todo = iter(range(rounds))

        async def worker(todo=todo, path=path, lat=lat, counts=counts):
            c = RawClient(host, int(port), token)
            try:
                for _ in todo:
                    t0 = time.perf_counter()
                    status, data = await c.request("GET", path)
                    lat.append(time.perf_counter() - t0)
                    assert status == 200, data[:200]
                    counts.append(data.count(b'"number"'))
            finally:
                await c.close()

        warm = RawClient(host, int(port), token)
        await warm.request("GET", path)
        await warm.close()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        out[name] = (pct(lat, 50) * 1000, pct(lat, 99) * 1000, min(counts))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--gen-budget", type=float, default=120.0)
    ap.add_argument("--creates", type=int, default=3000)
    ap.add_argument("--direct", type=int, default=3000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=300)
    ap.add_argument("--read-concurrency", type=int, default=1, help="clients for the list/search p99")
    ap.add_argument(
        "--home",
        type=Path,
        default=None,
        help="reuse a previous run's folder (its generated orders); skips creates and generation",
    )
    args = ap.parse_args()

    reuse = args.home is not None
    home = args.home or Path(tempfile.mkdtemp(prefix="bench-wo-"))
    db_path = home / "hotline.db"
    url = f"sqlite:///{db_path}"
    if not reuse:
        upgrade(url)
    token = load_secrets(home / "secrets.json")["api_tokens"]["admin"]
    print(f"database: {db_path} (SQLite WAL, synchronous=FULL), {os.cpu_count()} CPUs")

    if not reuse:
        direct = direct_inserts(url, args.direct)
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
        for _ in range(200):
            try:
                if (
                    httpx.get(
                        f"{base}/api/v1/departments", headers={"Authorization": f"Bearer {token}"}, timeout=1
                    ).status_code
                    == 200
                ):
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        if not reuse:
            rate, lat = asyncio.run(api_creates(base, token, args.creates, args.concurrency))
            print(f"direct SQLAlchemy inserts : {direct:8.0f} orders/s (one durable transaction each)")
            print(f"service layer, no HTTP    : {svc:8.0f} orders/s (number, history, outbox, FTS)")
            print(
                f"API creates, {args.concurrency} clients  : {rate:8.0f} orders/s  p50 {pct(lat, 50) * 1000:.1f} ms"
                f"  p99 {pct(lat, 99) * 1000:.1f} ms"
            )
            print(f"ratio API / direct        : {rate / direct:.0%}  (goal >= 50%)")
            made, took = generate(db_path, args.orders, args.gen_budget)
            print(
                f"generated {made} orders in {took:.1f} s"
                + ("" if made >= args.orders else f" (stopped at the {args.gen_budget:.0f} s budget)")
            )
        else:
            made = sqlite3.connect(db_path).execute("SELECT count(*) FROM orders").fetchone()[0]
            print(f"reusing {made} orders")
        print(f"list/search latency, {args.read_concurrency} client(s), {args.rounds} requests each:")
        queries = [
            {"_name": "list newest 50", "limit": 50},
            {"_name": "list status=handling", "status": "handling", "limit": 50},
            {"_name": "list unit=gjj type=complaint", "unit": "gjj", "type": "complaint", "limit": 50},
            {"_name": "list by phone", "phone": "13800000000", "limit": 50},
            {"_name": "search q=公积金提取", "q": "公积金提取", "limit": 50},
            {"_name": "search q=滏河大街 status=closed", "q": "滏河大街", "status": "closed", "limit": 50},
            {"_name": "search q=拖欠工资 (2 pages)", "q": "拖欠工资", "limit": 50, "before_id": made // 2},
        ]
        res = asyncio.run(read_p99(base, token, queries, args.rounds, args.read_concurrency))
        for name, (p50, p99, n) in res.items():
            flag = "ok" if p99 < 100 else "OVER"
            print(f"  {name:34s} p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  ({n} rows)  {flag}")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())

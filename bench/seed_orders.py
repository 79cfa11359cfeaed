"""A migrated SQLite store with N realistic work orders, for bench/bench_pages.py.

Bulk inserts through SQLAlchemy Core (executemany in batches) into a database made by
the real migrations: orders spread over the last year (ids in time order, the way the
store numbers them), the map's departments as handling units (a few busy, many quiet),
every status of the loop (old orders mostly finished, recent ones open), 60 agents,
callers who call again, deadlines from dispatch, and the records and transitions the
statistics and the department portal read (dispatch, sign, reply, review, callback,
evaluation, returns).  The full-text rows are built in one statement after the load.

The file is cached under ``~/.cache/hotline/bench/orders-<N>-<revision>.db``.  When only a
file of an older schema revision exists for the same N, it is copied and upgraded with the
migrations (what an install does), so a new index does not mean seeding again.

    python3 bench/seed_orders.py --orders 1000000      # prints the cached file's path
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, insert, select

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from workorder.migrate import alembic_config, upgrade  # noqa: E402
from workorder.models import Category, Department, NumberSeq, Order, Record, Transition  # noqa: E402

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
CACHE = Path.home() / ".cache" / "hotline" / "bench"
TZ = ZoneInfo("Asia/Shanghai")
AGENTS = [f"agent{1001 + k}" for k in range(60)]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英"]
TYPES = (
    (["consult"] * 40) + (["help"] * 20) + (["complaint"] * 25) + (["report"] * 8) + (["suggestion"] * 6) + ["praise"]
)
# final statuses of an order older than a month; open ones weigh more in the last month
OLD = [("closed", 52), ("archived", 30), ("rejected", 4), ("merged", 2), ("appeal_review", 1), ("callback", 1)]
RECENT = [
    ("accepted", 4),
    ("dispatched", 8),
    ("handling", 22),
    ("return_review", 2),
    ("replied", 8),
    ("callback", 10),
    ("evaluation", 4),
    ("closed", 36),
    ("rejected", 4),
    ("merged", 2),
]
AFTER_DISPATCH = ["dispatched", "handling", "replied", "callback", "evaluation", "closed", "archived", "appeal_review"]
BATCH = 20_000


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head() or "base"


def _weighted(pairs):
    out = []
    for v, w in pairs:
        out += [v] * w
    return out


def _engine(path: Path):
    eng = create_engine(f"sqlite:///{path}")

    @event.listens_for(eng, "connect")
    def _fast(dbapi_conn, _record):  # generation only: the measured server uses synchronous=FULL
        dbapi_conn.execute("PRAGMA journal_mode=WAL")
        dbapi_conn.execute("PRAGMA synchronous=OFF")
        dbapi_conn.execute("PRAGMA cache_size=-200000")

    return eng


def generate(path: Path, n: int, seed: int = 12345, now: datetime | None = None) -> None:
    """Fill the migrated database at ``path`` with ``n`` orders ending at ``now``."""
    rnd = random.Random(seed)
    now = now or datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=365)
    step = (now - timedelta(hours=1) - start) / n
    eng = _engine(path)
    with eng.begin() as c:
        units = [d for d in c.scalars(select(Department.code).where(Department.kind != "hotline"))]
        cats = [code for code in c.scalars(select(Category.code)) if not code.endswith("00")]
    rnd.shuffle(units)
    # a few busy units, many quiet ones (weights 1/rank)
    unit_w = [1.0 / (k + 1) for k in range(len(units))]
    old_st, recent_st = _weighted(OLD), _weighted(RECENT)
    repeat_pool = [f"1{rnd.choice('35789')}{rnd.randrange(10**9):09d}" for _ in range(max(10, n // 6))]
    raw = eng.raw_connection()
    triggers = raw.execute("SELECT name, sql FROM sqlite_master WHERE type='trigger' AND name LIKE 'orders_fts_%'")
    triggers = list(triggers)
    for name, _sql in triggers:
        raw.execute(f"DROP TRIGGER {name}")
    raw.commit()
    raw.close()
    per_day: dict[str, int] = {}
    t0 = time.perf_counter()
    oid = 0
    with eng.connect() as c:
        while oid < n:
            orders, recs, trans = [], [], []
            for _ in range(min(BATCH, n - oid)):
                oid += 1
                created = start + step * oid + timedelta(seconds=rnd.random() * step.total_seconds() * 0.9)
                day = created.astimezone(TZ).strftime("%Y%m%d")
                per_day[day] = seq = per_day.get(day, 0) + 1
                age = now - created
                if age < timedelta(hours=4) and rnd.random() < 0.3:
                    status = "draft"
                elif age < timedelta(days=30):
                    status = rnd.choice(recent_st)
                else:
                    status = rnd.choice(old_st)
                direct = status in ("closed", "archived") and rnd.random() < 0.45
                dispatched = not direct and (status in AFTER_DISPATCH or status == "return_review")
                agent = rnd.choice(AGENTS)
                phone = rnd.choice(repeat_pool) if rnd.random() < 0.6 else f"13{rnd.randrange(10**9):09d}"
                title, content = rnd.choice(TOPICS)
                place, road = rnd.choice(PLACES), rnd.choice(ROADS)
                typ = rnd.choice(TYPES)
                o = {
                    "id": oid,
                    "number": f"{day}{seq:05d}",
                    "channel": "phone" if rnd.random() < 0.9 else "web",
                    "received_at": created,
                    "caller_name": rnd.choice(SURNAMES) + rnd.choice(GIVEN),
                    "caller_phone": phone,
                    "anonymous": False,
                    "confidential": rnd.random() < 0.03,
                    "type": typ,
                    "category_code": rnd.choice(cats) if cats else None,
                    "title": title,
                    "content": f"{place}{road}{rnd.randrange(1, 300)}号 {content}",
                    "address": f"{place}{road}{rnd.randrange(1, 300)}号",
                    "district": place,
                    "urgency": "urgent" if rnd.random() < 0.05 else "normal",
                    "origin": "12345",
                    "mode": "direct",
                    "linkedid": f"{int(created.timestamp())}.{oid}",
                    "uniqueid": f"{int(created.timestamp())}.{oid}",
                    "agent": agent,
                    "queue": "hotline",
                    "kb_refs": [],
                    "status": status,
                    "round": 1,
                    "main_unit": None,
                    "co_units": [],
                    "return_count": 0,
                    "designated": False,
                    "extension_pending": False,
                    "callback_attempts": 0,
                    "callback_failed": False,
                    "dispatched_ever": dispatched,
                    "disposition": "litigation" if status == "rejected" else None,
                    "satisfaction": None,
                    "resolved": None,
                    "dispatched_at": None,
                    "sign_deadline": None,
                    "handling_deadline": None,
                    "signed_at": None,
                    "replied_at": None,
                    "closed_at": None,
                    "created_by": agent,
                    "created_at": created,
                    "updated_at": created,
                    "version": 1,
                }
                at = created + timedelta(minutes=3 + rnd.random() * 5)
                trans.append(_tr(oid, "create", "", "draft", agent, "agent", created))
                if status == "draft":
                    orders.append(o)
                    continue
                if direct:
                    trans.append(_tr(oid, "direct_answer", "draft", "closed", agent, "agent", at))
                    o["closed_at"] = at
                else:
                    trans.append(_tr(oid, "accept", "draft", "accepted", agent, "agent", at))
                if status in ("rejected", "merged"):
                    trans.append(
                        _tr(oid, "reject" if status == "rejected" else "merge", "accepted", status, agent, "agent", at)
                    )
                    o["closed_at"] = at
                if dispatched:
                    _dispatch(rnd, o, units, unit_w, at, now, recs, trans)
                if status in ("closed", "archived", "appeal_review") and (dispatched or rnd.random() < 0.3):
                    sat = rnd.choices([1, 2, 3, 4, 5], [50, 30, 12, 5, 3])[0]
                    o["satisfaction"], o["resolved"] = sat, sat <= 3
                    ev_at = (o["replied_at"] or at) + timedelta(days=1)
                    recs.append(
                        _rec(
                            oid,
                            "evaluation",
                            o["main_unit"],
                            ev_at,
                            agent,
                            {"satisfaction": sat, "unit_at_fault": sat > 3},
                        )
                    )
                orders.append(o)
            c.execute(insert(Order.__table__), orders)
            if recs:
                c.execute(insert(Record.__table__), recs)
            c.execute(insert(Transition.__table__), trans)
            c.commit()
            done = time.perf_counter() - t0
            print(f"\r  seeded {oid:,}/{n:,} orders ({oid / done:,.0f}/s)", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        c.execute(insert(NumberSeq.__table__), [{"day": d, "last": v} for d, v in per_day.items()])
        c.commit()
    raw = eng.raw_connection()
    t1 = time.perf_counter()
    raw.execute(
        "INSERT INTO orders_fts(rowid, title, content, address) "
        "SELECT id, coalesce(title,''), coalesce(content,''), coalesce(address,'') FROM orders"
    )
    for _name, sql in triggers:
        raw.execute(sql)
    raw.commit()
    print(f"  full-text rows in {time.perf_counter() - t1:.0f} s", file=sys.stderr)
    raw.close()
    eng.dispose()


def _tr(oid, action, frm, to, actor, role, at) -> dict:
    return {
        "order_id": oid,
        "round": 1,
        "action": action,
        "from_status": frm,
        "to_status": to,
        "actor": actor,
        "role": role,
        "at": at,
        "comment": None,
        "payload": {},
    }


def _rec(oid, kind, unit, at, actor, data) -> dict:
    return {
        "order_id": oid,
        "round": 1,
        "kind": kind,
        "unit": unit,
        "at": at,
        "actor": actor,
        "data": data,
        "dedup_key": None,
    }


def _dispatch(rnd, o, units, unit_w, at, now, recs, trans) -> None:
    """Dispatch to a unit with deadlines, and what the unit did since, as far as the status says."""
    oid, status, agent = o["id"], o["status"], o["agent"]
    main = rnd.choices(units, unit_w)[0]
    co = [rnd.choice(units)] if rnd.random() < 0.1 else []
    co = [u for u in co if u != main]
    sign_dl = at + timedelta(hours=24)
    handling_dl = at + timedelta(days=5 if o["type"] == "consult" else 15)
    o.update(main_unit=main, co_units=co, dispatched_at=at, sign_deadline=sign_dl, handling_deadline=handling_dl)
    data = {"role": "main", "sign_deadline": sign_dl.isoformat(), "handling_deadline": handling_dl.isoformat()}
    recs.append(_rec(oid, "dispatch", main, at, agent, {**data, "designated": False}))
    for u in co:
        recs.append(_rec(oid, "dispatch", u, at, agent, {"role": "co", "handling_deadline": handling_dl.isoformat()}))
    trans.append(_tr(oid, "dispatch", "accepted", "dispatched", agent, "agent", at))
    if status == "dispatched":
        return
    if status == "return_review":
        r_at = at + timedelta(hours=rnd.random() * 20)
        recs.append(_rec(oid, "return_requested", main, r_at, f"dept-{main}", {"reason": "不属于本单位职责"}))
        trans.append(_tr(oid, "return", "dispatched", "return_review", f"dept-{main}", "department", r_at))
        o["return_count"] = 1
        return
    signed = at + timedelta(hours=rnd.random() * 30)  # some after the 24 h deadline
    o["signed_at"] = min(signed, now)
    recs.append(_rec(oid, "sign", main, o["signed_at"], f"dept-{main}", {}))
    trans.append(_tr(oid, "sign", "dispatched", "handling", f"dept-{main}", "department", o["signed_at"]))
    if status == "handling":
        return
    replied = min(signed + (handling_dl - at) * rnd.random() * 1.2, now)
    o["replied_at"] = replied
    recs.append(_rec(oid, "reply", main, replied, f"dept-{main}", {"content": "已处理并答复来电人", "kb_refs": []}))
    trans.append(_tr(oid, "reply", "handling", "replied", f"dept-{main}", "department", replied))
    if status == "replied":
        return
    reviewed = min(replied + timedelta(hours=2), now)
    recs.append(_rec(oid, "reply_reviewed", None, reviewed, "paidan", {"decision": "accept"}))
    trans.append(_tr(oid, "review_reply", "replied", "callback", "paidan", "dispatcher", reviewed))
    if status == "callback":
        return
    cb = min(reviewed + timedelta(hours=20), now)
    resolved = rnd.random() < 0.85
    recs.append(
        _rec(oid, "callback", None, cb, agent, {"reached": True, "attempt": 1, "resolved": resolved, "note": None})
    )
    trans.append(_tr(oid, "callback", "callback", "evaluation", agent, "agent", cb))
    o["callback_attempts"], o["resolved"] = 1, resolved
    if status in ("closed", "archived", "appeal_review"):
        o["closed_at"] = cb


def rollup(path: Path) -> int:
    """The statistics' roll-up for the bulk-loaded records (the inserts bypass the store's write hook)."""
    from workorder.db import Database
    from workorder.stats import rebuild

    db = Database(f"sqlite:///{path}")
    try:
        with db.write() as s:
            return rebuild(s.connection())
    finally:
        db.dispose()


def seeded(n: int, seed: int = 12345) -> Path:
    """The cached store with ``n`` orders at the current schema revision (made when missing)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    rev = head_revision()
    path = CACHE / f"orders-{n}-{rev}.db"
    if path.exists():
        return path
    tmp = path.with_name(path.name + ".tmp")
    for extra in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        extra.unlink(missing_ok=True)
    older = sorted(CACHE.glob(f"orders-{n}-*.db"), key=lambda p: p.stat().st_mtime)
    t0 = time.perf_counter()
    if older:
        print(f"upgrading a copy of {older[-1].name} to revision {rev}", file=sys.stderr)
        shutil.copyfile(older[-1], tmp)
        upgrade(f"sqlite:///{tmp}")
    else:
        print(f"seeding {n:,} orders into {path} (once; cached)", file=sys.stderr)
        upgrade(f"sqlite:///{tmp}")
        generate(tmp, n, seed)
        rollup(tmp)
    con = sqlite3.connect(tmp)
    con.execute("ANALYZE")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.execute("PRAGMA journal_mode=DELETE")  # one self-contained file to copy
    con.close()
    tmp.rename(path)
    print(f"  ready in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=1_000_000)
    args = ap.parse_args()
    print(seeded(args.orders))
    return 0


if __name__ == "__main__":
    sys.exit(main())

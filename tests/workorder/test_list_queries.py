"""The list queries made fast for a million orders return exactly the rows of the queries
they replaced, on SQLite and PostgreSQL: the text match under 3 characters is a condition
on the newest-first walk (was ``id IN (every match)``), and two filters of unit / status /
type read a composite index (migration 0013_list_indexes)."""

from __future__ import annotations

import itertools

from sqlalchemy import func, or_, select, update

from hotline.auth import Principal
from workorder.models import Order

ADMIN = Principal("test:admin", "admin")
AGENT = Principal("test:agent", "agent")
TITLES = ["医保报销", "路灯不亮", "100%满意", "a_b 路段", "公积金提取", "供暖不热", "AB 大街"]
UNITS = ["mzj", "gjj", "wjw", None]
STATUSES = ["accepted", "handling", "closed"]
TYPES = ["consult", "complaint", "help"]


def fill(store, n: int = 84) -> list[int]:
    """``n`` orders over every title, unit, status and type (distinct callers: no repeats)."""
    ids = []
    for i in range(n):
        title = TITLES[i % len(TITLES)]
        o = store.create(
            {
                "type": TYPES[i % len(TYPES)],
                "title": title,
                "content": f"第{i}号 {title}" + (" 医保" if i % 5 == 0 else ""),
                "address": "复兴区人民路" if i % 4 else "丛台区中华大街",
                "caller_phone": f"139{i:08d}",
            },
            AGENT,
            "accepted",
        )
        ids.append(o["id"])
        with store.db.write() as s:  # the list columns, straight (the query is tested, not the loop)
            s.execute(
                update(Order)
                .where(Order.id == o["id"])
                .values(main_unit=UNITS[i % len(UNITS)], status=STATUSES[(i // 3) % len(STATUSES)])
            )
    return ids


def pages(store, limit: int = 7, **kw) -> list[int]:
    """Every id the list gives, page after page by ``before_id``."""
    out: list[int] = []
    before = None
    while True:
        r = store.list(ADMIN, limit=limit, before_id=before, **kw)
        out += [x["id"] for x in r["items"]]
        if r["next_before_id"] is None:
            return out
        before = r["next_before_id"]


def old_text_ids(store, q: str):
    """The replaced query, verbatim: ``Order.id IN`` the ids whose text contains ``q``."""
    like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if store.db.is_sqlite:
        cond = or_(
            Order.title.like(like, escape="\\"),
            Order.content.like(like, escape="\\"),
            Order.address.like(like, escape="\\"),
        )
        return select(Order.id).where(cond)
    expr = (
        func.coalesce(Order.title, "") + " " + func.coalesce(Order.content, "") + " " + func.coalesce(Order.address, "")
    )
    return select(Order.id).where(expr.ilike(like, escape="\\"))


def test_short_text_search_gives_the_rows_of_the_old_subquery(api):
    store = api.store
    fill(store)
    for q, status in itertools.product(["医保", "路灯", "%", "_", "ab", "大街", "无此"], [None, "handling"]):
        old = select(Order.id).where(Order.id.in_(old_text_ids(store, q)))
        if status:
            old = old.where(Order.status == status)
        with store.db.read() as s:
            want = list(s.scalars(old.order_by(Order.id.desc())))
        got = pages(store, q=q, status=status)
        assert got == want, (q, status)
        assert q in ("无此",) or want, f"the fixture has no match for {q!r}"


def test_two_filters_give_every_matching_order_newest_first(api):
    store = api.store
    fill(store)
    with store.db.read() as s:
        rows = s.execute(select(Order.id, Order.main_unit, Order.status, Order.type)).all()
    combos = (
        [{"unit": u, "status": st} for u in UNITS if u for st in STATUSES]
        + [{"unit": u, "type_": t} for u in UNITS if u for t in TYPES]
        + [{"status": st, "type_": t} for st in STATUSES for t in TYPES]
    )
    col = {"unit": 1, "status": 2, "type_": 3}
    for kw in combos:
        want = sorted((r.id for r in rows if all(r[col[k]] == v for k, v in kw.items())), reverse=True)
        assert pages(store, **kw) == want, kw
        assert want, f"the fixture has no order for {kw}"


def test_the_lists_read_the_composite_indexes_on_sqlite(sqlite_api):
    store = sqlite_api.store
    fill(store, 12)
    for kw, index in [
        ({"unit": "mzj", "status": "accepted"}, "ix_orders_unit_status_id"),
        ({"unit": "mzj", "type_": "help"}, "ix_orders_unit_type_id"),
        ({"status": "closed", "type_": "help"}, "ix_orders_status_type_id"),
    ]:
        stmt = select(Order.id)
        for k, v in kw.items():
            stmt = stmt.where({"unit": Order.main_unit, "status": Order.status, "type_": Order.type}[k] == v)
        stmt = stmt.order_by(Order.id.desc()).limit(50)
        sql = str(stmt.compile(compile_kwargs={"literal_binds": True}))
        with store.db.read() as s:
            plan = " ".join(r[-1] for r in s.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
        assert index in plan and "TEMP B-TREE" not in plan, (kw, plan)


def test_trigram_search_gives_the_rows_of_the_old_subquery_in_every_chunk_size(api):
    """The first chunk of the FTS walk joined in SQL, the next ones as ids: the same rows as
    ``id IN (every match)``, page after page, whether a page fills in the first chunk or not."""
    store = api.store
    fill(store)
    for chunk, q, kw in itertools.product(
        [1, 3, 200],
        ["公积金提取", "复兴区人民路", "中华大街", "无此词"],
        [{}, {"status": "handling"}, {"unit": "gjj", "type_": "help"}, {"unit": "mzj", "status": "closed"}],
    ):
        store.fts_chunk = chunk  # a chunk is max(limit * 4, fts_chunk) ids
        old = select(Order.id).where(Order.id.in_(old_text_ids(store, q)))
        for k, v in kw.items():
            old = old.where({"unit": Order.main_unit, "status": Order.status, "type_": Order.type}[k] == v)
        with store.db.read() as s:
            want = list(s.scalars(old.order_by(Order.id.desc())))
        for limit in (1, 7):
            assert pages(store, limit=limit, q=q, **kw) == want, (chunk, q, kw, limit)

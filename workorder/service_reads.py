"""The store's read side: one order, its history, lists and the Chinese full-text search
(a mixin of :class:`workorder.service.Store`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, func, or_, select, text

from hotline.auth import Principal
from workorder import privacy, states
from workorder.errors import Forbidden, NotFound
from workorder.models import Order, Record, Transition
from workorder.views import (
    SUMMARY,
    _iso,
    order_dict,
    sees_caller_sql,
    state_of,
    summary_dict,
)


def _fts_chunk(phrase: str, upper: int | None, n: int):
    """The ids of the ``n`` newest orders matching ``phrase`` (below ``upper``), newest first."""
    below = " AND rowid < :u" if upper else ""
    sql = text(f"SELECT rowid FROM orders_fts WHERE orders_fts MATCH :m{below} ORDER BY rowid DESC LIMIT :n")
    return sql.bindparams(m=phrase, n=n, **({"u": upper} if upper else {}))


class ReadsMixin:
    def get(self, order_id: int, p: Principal) -> dict:
        with self.db.read() as s:
            o = self._load(s, order_id, p)
            out = order_dict(o, p)
            acts = states.allowed_actions(state_of(o), p.role, p.department)
            out["allowed_actions"] = self._offered(s, acts, p)  # type: ignore[attr-defined]
            return out

    def get_by_number(self, number: str, p: Principal) -> dict:
        with self.db.read() as s:
            oid = s.scalar(select(Order.id).where(Order.number == number))
        if oid is None:
            raise NotFound(f"order {number} not found")
        return self.get(oid, p)

    def history(self, order_id: int, p: Principal) -> dict:
        with self.db.read() as s:
            o = self._load(s, order_id, p)
            hist = [
                {
                    "id": t.id,
                    "round": t.round,
                    "action": t.action,
                    "from": t.from_status,
                    "to": t.to_status,
                    "actor": t.actor,
                    "role": t.role,
                    "at": _iso(t.at),
                    "comment": t.comment,
                }
                for t in s.scalars(select(Transition).where(Transition.order_id == o.id).order_by(Transition.id))
            ]
            recs = [
                {
                    "id": r.id,
                    "round": r.round,
                    "kind": r.kind,
                    "unit": r.unit,
                    "at": _iso(r.at),
                    "actor": r.actor,
                    "data": r.data,
                }
                for r in s.scalars(select(Record).where(Record.order_id == o.id).order_by(Record.id))
            ]
            return {"history": hist, "records": recs}

    def list(
        self,
        p: Principal,
        *,
        status: str | None = None,
        type_: str | None = None,
        unit: str | None = None,
        phone: str | None = None,
        q: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        overdue: bool | None = None,
        limit: int = 50,
        before_id: int | None = None,
    ) -> dict:
        stmt = select(*SUMMARY)
        cond = self._visible(p)
        if cond is not None:
            stmt = stmt.where(cond)
        if status:
            stmt = stmt.where(Order.status == status)
        if type_:
            stmt = stmt.where(Order.type == type_)
        if unit:
            stmt = stmt.where(Order.main_unit == unit)
        if phone:
            if p.role not in privacy.SEARCHERS:
                raise Forbidden(f"role {p.role!r} may not look orders up by caller number")
            # only orders whose caller this principal sees in clear: a match on a masked one tells who filed it
            stmt = stmt.where(Order.caller_phone == phone, sees_caller_sql(p))
        if since:
            stmt = stmt.where(Order.created_at >= since)
        if until:
            stmt = stmt.where(Order.created_at < until)
        if overdue:
            stmt = stmt.where(
                Order.status.in_(("dispatched", "handling", "return_review")), Order.handling_deadline < self.now()
            )
        if before_id:
            stmt = stmt.where(Order.id < before_id)
        if q and self.db.is_sqlite and len(q) >= 3:
            # walk the FTS index newest first in chunks and filter each chunk: bounded work for
            # common words with selective filters, instead of materialising every match
            phrase = '"' + q.replace('"', '""') + '"'
            chunk = max(limit * 4, self.fts_chunk)
            with self.db.read() as s:
                # the first chunk as a subquery joined to the orders: a page that fills there (most
                # searches) brings no ids up to Python, where each row fetched costs a GIL hand-off
                # (under load, 200 ids took 20-50 ms of a search's latency)
                ids = _fts_chunk(phrase, before_id, chunk).columns(rowid=Integer).subquery("fts")
                part = stmt.join(ids, Order.id == ids.c.rowid).order_by(Order.id.desc()).limit(limit)
                items = [summary_dict(r, p) for r in s.execute(part)]
                if len(items) < limit:  # selective filters: was the chunk full, where did it end?
                    n, upper = s.execute(select(func.count(), func.min(ids.c.rowid)).select_from(ids)).one()
                    while n == chunk and len(items) < limit:  # the next chunks' ids, filtered
                        found = [r[0] for r in s.execute(_fts_chunk(phrase, upper, chunk))]
                        part = stmt.where(Order.id.in_(found)).order_by(Order.id.desc()).limit(limit - len(items))
                        items.extend(summary_dict(r, p) for r in s.execute(part))
                        n, upper = len(found), found[-1] if found else None
            return {"items": items, "next_before_id": items[-1]["id"] if len(items) == limit else None}
        if q:
            stmt = stmt.where(self._text_match(q))
        stmt = stmt.order_by(Order.id.desc()).limit(limit)
        with self.db.read() as s:
            items = [summary_dict(r, p) for r in s.execute(stmt)]
        return {"items": items, "next_before_id": items[-1]["id"] if len(items) == limit else None}

    def _text_match(self, q: str):
        """SQL condition: the order's title, content or address contains ``q`` (Chinese-safe): the
        path of PostgreSQL and of words under 3 characters on SQLite (the trigram index needs 3).
        A condition on the row, not ``id IN (every match)``: the newest-first walk stops at the
        list's limit instead of collecting the matches of a million orders first (612 ms)."""
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        if self.db.is_sqlite:
            return or_(
                Order.title.like(like, escape="\\"),
                Order.content.like(like, escape="\\"),
                Order.address.like(like, escape="\\"),
            )
        expr = (
            func.coalesce(Order.title, "")
            + " "
            + func.coalesce(Order.content, "")
            + " "
            + func.coalesce(Order.address, "")
        )
        return expr.ilike(like, escape="\\")

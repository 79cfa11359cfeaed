"""The knowledge base's search before segmentation (workorder/kb.py up to 0005), kept to
measure against: SQLite FTS5 trigram over the raw text (terms of 3+ characters, AND), LIKE
for shorter terms; PostgreSQL ILIKE of every term.  Terms are split on whitespace only, so
"公积金怎么提取" is one term that no entry contains."""

from __future__ import annotations

from sqlalchemy import and_, literal_column, or_, select, text

from workorder.db import Database
from workorder.models import KbArticle


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search(db: Database, q: str, limit: int = 10) -> list[int]:
    stmt = select(KbArticle.id)
    terms = [t for t in (q or "").split() if t]
    rank = None
    if not terms:
        return []
    if db.is_sqlite:
        long_terms = [t for t in terms if len(t) >= 3]
        if long_terms:
            match = " AND ".join('"' + t.replace('"', '""') + '"' for t in long_terms)
            fts = (
                select(literal_column("rowid").label("rid"), literal_column("rank").label("rk"))
                .select_from(text("kb_fts"))
                .where(text("kb_fts MATCH :m").bindparams(m=match))
                .subquery()
            )
            stmt = stmt.join(fts, fts.c.rid == KbArticle.id)
            rank = fts.c.rk
        for t in (t for t in terms if len(t) < 3):
            like = _like(t)
            stmt = stmt.where(
                or_(
                    KbArticle.title.like(like, escape="\\"),
                    KbArticle.body.like(like, escape="\\"),
                    KbArticle.search_text.like(like, escape="\\"),
                )
            )
    else:
        doc = KbArticle.title + " " + KbArticle.body + " " + KbArticle.search_text
        stmt = stmt.where(and_(*[doc.ilike(_like(t), escape="\\") for t in terms]))
    stmt = stmt.order_by(rank if rank is not None else KbArticle.updated_at.desc(), KbArticle.id).limit(limit)
    with db.read() as s:
        return list(s.scalars(stmt))

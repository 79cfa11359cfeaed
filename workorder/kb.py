"""Knowledge base: versioned articles with an owning department, tags and validity dates,
searched in Chinese: SQLite FTS5 trigram (terms of 3+ characters) with LIKE for shorter
terms; PostgreSQL ILIKE served by a pg_trgm GIN index when the extension is there."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, literal_column, or_, select, text

from workorder.db import Database
from workorder.models import KbArticle, KbVersion, utcnow


def _iso(d):
    return d.isoformat() if d else None


def article_dict(a: KbArticle, with_body: bool = True) -> dict[str, Any]:
    out = {
        "id": a.id,
        "title": a.title,
        "tags": a.tags or [],
        "department": a.department,
        "valid_from": _iso(a.valid_from),
        "valid_to": _iso(a.valid_to),
        "version": a.version,
        "updated_at": _iso(a.updated_at),
    }
    if with_body:
        out["body"] = a.body
    else:
        out["snippet"] = a.body[:120]
    return out


def _escape_like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class KnowledgeBase:
    def __init__(self, db: Database, now=utcnow):
        self.db = db
        self.now = now

    def create(self, data: dict, editor: str) -> dict:
        now = self.now()
        with self.db.write() as s:
            a = KbArticle(
                title=data["title"],
                body=data["body"],
                tags=list(data.get("tags") or []),
                department=data.get("department"),
                valid_from=data.get("valid_from"),
                valid_to=data.get("valid_to"),
                version=1,
                updated_at=now,
                search_text=" ".join(data.get("tags") or []),
            )
            s.add(a)
            s.flush()
            s.add(KbVersion(article_id=a.id, version=1, title=a.title, body=a.body, tags=a.tags, editor=editor, at=now))
            return article_dict(a)

    def update(self, article_id: int, data: dict, editor: str) -> dict | None:
        now = self.now()
        with self.db.write() as s:
            a = s.get(KbArticle, article_id)
            if a is None:
                return None
            for k in ("title", "body", "department", "valid_from", "valid_to"):
                if k in data:
                    setattr(a, k, data[k])
            if "tags" in data:
                a.tags = list(data["tags"] or [])
                a.search_text = " ".join(a.tags)
            a.version += 1
            a.updated_at = now
            s.add(
                KbVersion(
                    article_id=a.id, version=a.version, title=a.title, body=a.body, tags=a.tags, editor=editor, at=now
                )
            )
            return article_dict(a)

    def get(self, article_id: int) -> dict | None:
        with self.db.read() as s:
            a = s.get(KbArticle, article_id)
            if a is None:
                return None
            out = article_dict(a)
            out["versions"] = [
                {"version": v.version, "title": v.title, "editor": v.editor, "at": _iso(v.at)}
                for v in s.scalars(select(KbVersion).where(KbVersion.article_id == a.id).order_by(KbVersion.version))
            ]
            return out

    def search(
        self,
        q: str = "",
        department: str | None = None,
        at: datetime | None = None,
        include_expired: bool = False,
        limit: int = 20,
    ) -> list[dict]:
        at = at or self.now()
        stmt = select(KbArticle)
        if not include_expired:
            stmt = stmt.where(
                or_(KbArticle.valid_from.is_(None), KbArticle.valid_from <= at),
                or_(KbArticle.valid_to.is_(None), KbArticle.valid_to > at),
            )
        if department:
            stmt = stmt.where(KbArticle.department == department)
        terms = [t for t in (q or "").split() if t]
        rank = None
        if terms:
            if self.db.is_sqlite:
                long_terms = [t for t in terms if len(t) >= 3]
                short = [t for t in terms if len(t) < 3]
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
                for t in short:
                    like = _escape_like(t)
                    stmt = stmt.where(
                        or_(
                            KbArticle.title.like(like, escape="\\"),
                            KbArticle.body.like(like, escape="\\"),
                            KbArticle.search_text.like(like, escape="\\"),
                        )
                    )
            else:
                doc = KbArticle.title + " " + KbArticle.body + " " + KbArticle.search_text
                stmt = stmt.where(and_(*[doc.ilike(_escape_like(t), escape="\\") for t in terms]))
        stmt = stmt.order_by(rank if rank is not None else KbArticle.updated_at.desc(), KbArticle.id).limit(limit)
        with self.db.read() as s:
            return [article_dict(a, with_body=False) for a in s.scalars(stmt)]

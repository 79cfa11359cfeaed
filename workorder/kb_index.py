"""The knowledge base's index and ranking: one behaviour on SQLite and PostgreSQL.

An entry's published version is kept segmented (``kb_text.tokens``) in three fields: title,
keywords (its tags) and body.  A question is segmented the same way; then

1. the database's own index picks the candidates: the live entries holding any of the
   question's words (SQLite FTS5 ``kb_fts_terms`` MATCH, ordered by its ``bm25()``;
   PostgreSQL a GIN index over ``array_to_tsvector`` of the words, ``@@``, ordered by
   ``ts_rank``), at most ``CANDIDATES`` of them;
2. each candidate is scored here by BM25F (k1 1.2, b 0.75; a word in the title counts 3
   times, in the keywords twice, in the body once), with the document frequencies counted
   by the same index over the published entries, so both databases rank alike.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, func, literal_column, or_, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from workorder.kb_text import tokens
from workorder.models import KbArticle

K1, B = 1.2, 0.75
WEIGHTS = {"title": 3, "keywords": 2, "body": 1}
CANDIDATES = 200
TERMS_SQL = "(kb_articles.tok_title || ' ' || kb_articles.tok_keywords || ' ' || kb_articles.tok_body)"
PG_TSV = f"array_to_tsvector(array_remove(string_to_array({TERMS_SQL}, ' '), ''))"


def fields(title: str, body: str, tags: list[Any]) -> dict[str, Any]:
    """The index columns of an entry's published version."""
    t, k, b = tokens(title), tokens(" ".join(str(x) for x in tags)), tokens(body)
    return {
        "tok_title": " ".join(t),
        "tok_keywords": " ".join(k),
        "tok_body": " ".join(b),
        "tok_len": WEIGHTS["title"] * len(t) + WEIGHTS["keywords"] * len(k) + WEIGHTS["body"] * len(b),
    }


@dataclass(frozen=True)
class Hit:
    id: int
    score: float


def published() -> ColumnElement[bool]:
    return and_(KbArticle.published_version.is_not(None), KbArticle.status != "archived")


def unexpired(today: date) -> ColumnElement[bool]:
    return or_(KbArticle.expires_on.is_(None), KbArticle.expires_on > today)


def _sqlite_fts(terms: list[str]) -> Any:
    m = " OR ".join(f'"{t}"' for t in terms)  # tokens are letters and digits only: nothing to escape
    return (
        select(literal_column("rowid").label("rid"), literal_column("bm25(kb_fts_terms)").label("rk"))
        .select_from(text("kb_fts_terms"))
        .where(text("kb_fts_terms MATCH :m").bindparams(m=m))
        .subquery()
    )


def _pg_query(terms: list[str]) -> str:
    return " | ".join(f"'{t}'" for t in terms)


def _holds(s: Session, terms: list[str]) -> ColumnElement[bool]:
    """WHERE clause: the entry's index holds any of ``terms``."""
    if s.get_bind().dialect.name == "sqlite":
        return KbArticle.id.in_(select(_sqlite_fts(terms).c.rid))
    return text(f"{PG_TSV} @@ CAST(:tsq AS tsquery)").bindparams(tsq=_pg_query(terms))  # type: ignore[return-value]


def _candidates(s: Session, terms: list[str], where: list[ColumnElement[bool]]) -> list[Any]:
    cols = (KbArticle.id, KbArticle.tok_title, KbArticle.tok_keywords, KbArticle.tok_body, KbArticle.tok_len)
    if s.get_bind().dialect.name == "sqlite":
        fts = _sqlite_fts(terms)
        stmt = select(*cols).join(fts, fts.c.rid == KbArticle.id).where(*where).order_by(fts.c.rk, KbArticle.id)
    else:
        q = _pg_query(terms)
        stmt = (
            select(*cols)
            .where(text(f"{PG_TSV} @@ CAST(:tsq AS tsquery)").bindparams(tsq=q), *where)
            .order_by(text(f"ts_rank({PG_TSV}, CAST(:tsq AS tsquery)) DESC").bindparams(tsq=q), KbArticle.id)
        )
    return list(s.execute(stmt.limit(CANDIDATES)).all())


def search(s: Session, q: str, where: list[ColumnElement[bool]], limit: int) -> list[Hit]:
    """The best ``limit`` entries for question ``q`` among those passing ``where``."""
    terms = list(dict.fromkeys(tokens(q)))
    if not terms:
        return []
    rows = _candidates(s, terms, where)
    if not rows:
        return []
    n, avgdl = s.execute(select(func.count(), func.avg(KbArticle.tok_len)).where(published())).one()
    n, avgdl = max(int(n or 0), 1), float(avgdl or 1.0) or 1.0
    idf = {}
    for t in terms:
        df = s.scalar(select(func.count()).select_from(KbArticle).where(_holds(s, [t]), published())) or 0
        idf[t] = math.log(1 + (n - df + 0.5) / (df + 0.5))
    hits = []
    for rid, tt, tk, tb, dl in rows:
        tf: Counter[str] = Counter()
        for weight, field in ((WEIGHTS["title"], tt), (WEIGHTS["keywords"], tk), (WEIGHTS["body"], tb)):
            for tok in field.split():
                tf[tok] += weight
        norm = K1 * (1 - B + B * (dl or 0) / avgdl)
        score = sum(idf[t] * tf[t] * (K1 + 1) / (tf[t] + norm) for t in terms if tf[t])
        hits.append(Hit(rid, round(score, 9)))
    hits.sort(key=lambda h: (-h.score, h.id))
    return hits[:limit]

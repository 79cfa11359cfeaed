"""Dispatch suggestions (派单建议): which handling unit and which category an order's content
points to, ranked, for the agent to confirm.  A suggestion never dispatches by itself.

Pure ranking over plain data (``rank_units``, ``rank_categories``) plus one thin adapter
(``Suggester``: the map, the knowledge base and a bounded roll-up of past orders).

A unit's score is a weighted sum of four signals, each scaled to 0..1 by its best unit:

* duties: BM25 of the content's words over the unit's 职责 text (``duties:`` of the
  department registry in transfer_map.yaml, with its name);
* KB: the BM25 scores of the best knowledge-base entries, summed per owning department;
* past orders: BM25 of the content's words over each unit's words in recent orders
  (``Rollup``: the newest ``ROLLUP_WINDOW`` orders that have a main unit, read by primary
  key, so the work is bounded whatever the size of the store);
* places: a district's or county's towns, streets and landmarks (``places:``) found in the
  text (属地).

Categories: BM25 over each category's name and keywords (``keywords:`` of
workorder/categories.yaml), the categories past orders of the same words got, and those the
suggested units' past orders got most.

Words are the knowledge base's (``kb_text.tokens``: jieba, the hotline dictionary, stop
words, synonyms).
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from workorder.kb_text import tokens
from workorder.models import Order

K1, B = 1.2, 0.75
DUTY_B = 0.4  # length normalisation of the duties texts
WEIGHTS = {"duties": 1.0, "kb": 0.5, "past": 0.4, "place": 1.2}  # chosen on the tuning split (leave-one-out)
CATEGORY_WEIGHTS = {"keywords": 1.0, "past": 0.8, "unit": 0.4}
ROLLUP_WINDOW = 20000  # newest orders with a main unit read into the roll-up
ROLLUP_TTL = 300.0  # seconds before the roll-up is rebuilt (in the background)
UNPLACED = 0.25  # a district or county whose places the text does not name
MAX_TERMS = 60  # words of the content considered (a long transcript costs no more)
_SUFFIXES = ("人民政府", "管委会")


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    kind: str
    duties: str = ""
    places: tuple[str, ...] = ()


@dataclass(frozen=True)
class Suggestion:
    code: str
    name: str
    score: float
    why: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "score": round(self.score, 4), "why": list(self.why)}


@dataclass(frozen=True)
class KbHit:
    department: str
    score: float
    title: str


@dataclass
class Rollup:
    """Words of past orders per unit and per category; built from a bounded window."""

    unit_terms: dict[str, Counter[str]] = field(default_factory=dict)
    category_terms: dict[str, Counter[str]] = field(default_factory=dict)
    unit_categories: dict[str, Counter[str]] = field(default_factory=dict)
    unit_orders: Counter[str] = field(default_factory=Counter)
    orders: int = 0

    def add(self, content: str, unit: str, category: str | None = None) -> None:
        ws = words(content)
        self.unit_terms.setdefault(unit, Counter()).update(ws)
        self.unit_orders[unit] += 1
        if category:
            self.category_terms.setdefault(category, Counter()).update(ws)
            self.unit_categories.setdefault(unit, Counter())[category] += 1
        self.orders += 1

    @classmethod
    def of(cls, rows: Iterable[tuple[str | None, str | None, str | None]]) -> Rollup:
        r = cls()
        for content, unit, category in rows:
            if content and unit:
                r.add(content, unit, category)
        return r


def bm25(terms: Sequence[str], docs: Mapping[str, Counter[str]], b: float = B) -> dict[str, tuple[float, list[str]]]:
    """BM25 of the query ``terms`` over named bags of words: name -> (score, matched terms)."""
    if not docs or not terms:
        return {}
    n = len(docs)
    lengths = {k: sum(d.values()) for k, d in docs.items()}
    avgdl = (sum(lengths.values()) / n) or 1.0
    out: dict[str, tuple[float, list[str]]] = {}
    for t in terms:
        df = sum(1 for d in docs.values() if t in d)
        if not df:
            continue
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        for k, d in docs.items():
            tf = d.get(t, 0)
            if tf:
                norm = K1 * (1 - b + b * lengths[k] / avgdl)
                score, matched = out.get(k, (0.0, []))
                out[k] = (score + idf * tf * (K1 + 1) / (tf + norm), [*matched, t])
    return out


def place_names(unit: Unit) -> tuple[str, ...]:
    """The words that name a unit's area: its places and its name without 人民政府/管委会."""
    name = unit.name
    for s in _SUFFIXES:
        name = name.removesuffix(s)
    names = [name, *unit.places] if unit.kind == "district" else list(unit.places)
    return tuple(dict.fromkeys(p for p in names if len(p) >= 2))


def places_in(text: str, units: Sequence[Unit]) -> dict[str, list[str]]:
    """unit code -> its place names found in ``text`` (the longest match of each spot wins)."""
    found: dict[str, list[str]] = {}
    spans: list[tuple[int, int, str, str]] = []
    for u in units:
        for p in place_names(u):
            start = text.find(p)
            while start >= 0:
                spans.append((start, start + len(p), u.code, p))
                start = text.find(p, start + 1)
    spans.sort(key=lambda s: (-(s[1] - s[0]), s[0]))
    taken: list[tuple[int, int]] = []
    for a, b, code, p in spans:
        if any(a < y and x < b for x, y in taken):
            continue  # 开发区 inside 冀南新区...: the longer name holds that spot
        taken.append((a, b))
        if p not in found.setdefault(code, []):
            found[code].append(p)
    return found


def _scaled(scores: Mapping[str, float]) -> dict[str, float]:
    top = max(scores.values(), default=0.0)
    return {k: v / top for k, v in scores.items()} if top > 0 else {}


def words(text: str) -> list[str]:
    """The words that rank: the KB's tokens without single characters (不, 打, 村 say little
    about who handles a matter, and they are most of the noise)."""
    return [t for t in tokens(text) if len(t) > 1]


def duty_docs(units: Sequence[Unit]) -> dict[str, Counter[str]]:
    """Each unit's bag of words: its name and duties, without its place names (those are
    the place signal's, and counted once)."""
    out = {}
    for u in units:
        if not u.duties:
            continue
        text = f"{u.name} {u.duties}" if u.kind != "district" else u.duties
        for p in sorted(place_names(u), key=len, reverse=True):
            text = text.replace(p, " ")
        out[u.code] = Counter(words(text))
    return out


def rank_units(
    content: str,
    units: Sequence[Unit],
    kb_hits: Sequence[KbHit] = (),
    rollup: Rollup | None = None,
    weights: Mapping[str, float] = WEIGHTS,
    limit: int = 5,
    docs: Mapping[str, Counter[str]] | None = None,
) -> list[Suggestion]:
    """The handling units for ``content``, best first: [(unit, score, why)]."""
    terms = list(dict.fromkeys(words(content)))[:MAX_TERMS]
    known = {u.code: u for u in units}
    why: dict[str, list[str]] = {}
    total: defaultdict[str, float] = defaultdict(float)
    duty = bm25(terms, docs if docs is not None else duty_docs(units), DUTY_B)
    for code, s in _scaled({k: v[0] for k, v in duty.items()}).items():
        total[code] += weights["duties"] * s
        why.setdefault(code, []).append("职责：" + "、".join(duty[code][1][:4]))
    kb: defaultdict[str, float] = defaultdict(float)
    titles: dict[str, str] = {}
    for h in kb_hits:
        if h.department in known:
            kb[h.department] += h.score
            titles.setdefault(h.department, h.title)
    for code, s in _scaled(kb).items():
        total[code] += weights["kb"] * s
        why.setdefault(code, []).append(f"知识库：{titles[code]}")
    if rollup is not None and rollup.orders:
        past = bm25(terms, {k: v for k, v in rollup.unit_terms.items() if k in known})
        for code, s in _scaled({k: v[0] for k, v in past.items()}).items():
            total[code] += weights["past"] * s
            why.setdefault(code, []).append(
                f"历史工单（{rollup.unit_orders[code]}件）：" + "、".join(past[code][1][:3])
            )
    placed = places_in(content or "", units)
    for code, ps in placed.items():
        total[code] += weights["place"] * min(1.0, 0.75 + 0.25 * len(ps))
        why.setdefault(code, []).append("属地：" + "、".join(ps[:3]))
    for code in total:
        if known[code].kind == "district" and code not in placed:
            total[code] *= UNPLACED  # 属地 needs a place: which district is a guess without one
    ranked = sorted((v, k) for k, v in total.items() if v > 0)
    ranked.sort(key=lambda x: (-x[0], x[1]))
    return [Suggestion(k, known[k].name, v, tuple(why[k])) for v, k in ranked[:limit]]


def rank_categories(
    content: str,
    categories: Mapping[str, str],
    keywords: Mapping[str, str],
    units: Sequence[Suggestion] = (),
    rollup: Rollup | None = None,
    weights: Mapping[str, float] = CATEGORY_WEIGHTS,
    limit: int = 3,
) -> list[Suggestion]:
    """The categories for ``content``, best first (the most specific code wins a tie)."""
    terms = list(dict.fromkeys(words(content)))[:MAX_TERMS]
    docs = {c: Counter(words(f"{n} {keywords.get(c, '')}")) for c, n in categories.items()}
    why: dict[str, list[str]] = {}
    total: defaultdict[str, float] = defaultdict(float)
    kw = bm25(terms, docs)
    for c, s in _scaled({k: v[0] for k, v in kw.items()}).items():
        total[c] += weights["keywords"] * s
        why.setdefault(c, []).append("关键词：" + "、".join(kw[c][1][:4]))
    if rollup is not None and rollup.orders:
        past = bm25(terms, {k: v for k, v in rollup.category_terms.items() if k in categories})
        for c, s in _scaled({k: v[0] for k, v in past.items()}).items():
            total[c] += weights["past"] * s
            why.setdefault(c, []).append("历史工单：" + "、".join(past[c][1][:3]))
        for rank, u in enumerate(units[:3]):
            cats = rollup.unit_categories.get(u.code)
            if cats:
                c, n = cats.most_common(1)[0]
                if c in categories:
                    total[c] += weights["unit"] * (n / sum(cats.values())) / (rank + 1)
                    why.setdefault(c, []).append(f"{u.name}的常见分类")
    ranked = sorted(((v, c) for c, v in total.items() if v > 0), key=lambda x: (-x[0], -int(x[1]), x[1]))
    return [Suggestion(c, categories[c], v, tuple(why[c])) for v, c in ranked[:limit]]


def units_of_map(tmap: Any) -> list[Unit]:
    """The handling units of a TransferMap (hotline.map_schema) as plain data."""
    # the city dispatches to the counties, not to their departments (县直部门: ``parent:``)
    return [
        Unit(code, d.name, d.kind, d.duties, tuple(d.places))
        for code, d in tmap.departments.items()
        if getattr(d, "parent", None) is None
    ]


class Suggester:
    """The adapter: the map's units, the knowledge base, and the past orders of the store.

    The roll-up is read from the newest ``window`` orders that have a main unit (primary-key
    order, one bounded query); a query after ``ttl`` seconds rebuilds it in a background
    thread and is answered with the previous one meanwhile (the first query waits for it)."""

    def __init__(
        self,
        db: Any,
        units: Sequence[Unit],
        categories: Mapping[str, str],
        keywords: Mapping[str, str],
        kb: Any = None,
        window: int = ROLLUP_WINDOW,
        ttl: float = ROLLUP_TTL,
        clock=time.monotonic,
    ):
        self.db, self.units, self.kb = db, list(units), kb
        self.categories, self.keywords = dict(categories), dict(keywords)
        self.window, self.ttl, self.clock = window, ttl, clock
        self.docs = duty_docs(self.units)
        self._rollup: Rollup | None = None
        self._built_at = 0.0
        self._lock = threading.Lock()
        self._building = False

    def build_rollup(self) -> Rollup:
        stmt = (
            select(Order.content, Order.main_unit, Order.category_code)
            .where(Order.main_unit.is_not(None))
            .order_by(Order.id.desc())
            .limit(self.window)
        )
        with self.db.read() as s:
            rows = list(s.execute(stmt).tuples())
        return Rollup.of(rows)

    def _refresh(self) -> None:
        try:
            r = self.build_rollup()
            with self._lock:
                self._rollup, self._built_at = r, self.clock()
        finally:
            self._building = False

    def rollup(self) -> Rollup | None:
        if self.window <= 0:
            return None
        if self._rollup is None:
            with self._lock:
                if self._rollup is None:
                    self._rollup, self._built_at = self.build_rollup(), self.clock()
        elif self.clock() - self._built_at > self.ttl and not self._building:
            self._building = True
            threading.Thread(target=self._refresh, name="suggest-rollup", daemon=True).start()
        return self._rollup

    def kb_hits(self, content: str) -> list[KbHit]:
        if self.kb is None:
            return []
        return [KbHit(h["department"], float(h["score"]), h["title"]) for h in self.kb.search(content, limit=10)]

    def suggest(self, content: str, limit: int = 3) -> dict[str, Any]:
        rollup = self.rollup()
        units = rank_units(content, self.units, self.kb_hits(content), rollup, limit=max(limit, 3), docs=self.docs)
        cats = rank_categories(content, self.categories, self.keywords, units, rollup, limit=limit)
        return {
            "units": [u.as_dict() for u in units[:limit]],
            "categories": [c.as_dict() for c in cats],
            "past_orders": rollup.orders if rollup else 0,
        }

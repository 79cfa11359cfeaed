"""Analysis (分析研判): hot topics of the orders by period and by area, and their sudden rises.

Pure: plain functions over plain data (the adapter that reads the store is
workorder/analysis_service.py).

* **Words** (:func:`extract`): the order's content, with the districts' place names cut out
  (the area is its own dimension), segmented by ``kb_text.clauses`` (jieba, the hotline
  dictionary, stop words, synonyms: the one home of segmentation), without the filler words
  of a complaint (``kb_text.FILLER_WORDS``), single characters and pure numbers.  A **phrase**
  is two such words next to each other in one clause (小区 停水).  Each order counts once per
  word and once per phrase, however often it says it.
* **Area** (:func:`area_of`): the order's main unit when it is a district or county, else
  the district whose place names (``places:`` in transfer_map.yaml, matched by
  ``suggest.places_in``) its district field, its address, then its content names most.
* **Periods** (:func:`periods`): the ``days`` before ``until`` and the same length before that.
* **Comparison** (:func:`judge`): a word's orders in the area now (c) and before (p) against
  the hotline's volume, all orders of both periods (n_c, n_p), so a busier week is no rise:
  ``ratio`` = (c / n_c) / (p / n_p), p at least half an order.
* **Spike** (突增): at least ``MIN_COUNT`` orders now, ``ratio`` >= ``MIN_RATIO``, and the
  one-sided binomial test significant: of the ``c + p`` orders with the word in both periods,
  ``c`` or more fall in the current one with probability < ``ALPHA`` when each fell there with
  the current period's share of the volume ``n_c / (n_c + n_p)`` (the conditional test of two
  Poisson rates).  The volume is the whole hotline's even for an area: a county's own count
  would hold the spike itself (24 of its 60 orders) and hide it.  ``ALPHA`` is small because
  a report tests every word in every area (about 20 areas x a few hundred words).
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from workorder.kb_text import FILLER_WORDS, clauses
from workorder.suggest import Unit, place_names, places_in

MIN_COUNT = 8  # orders with the word in the current period, for a spike
MIN_RATIO = 2.0  # share of the area's orders, now / before
ALPHA = 1e-4  # one-sided binomial tail
TOP = 20  # words and phrases listed per report
PERIOD_DAYS = (1, 7, 30)  # the page's choices; the API takes 1..MAX_DAYS
MAX_DAYS = 92
SERIES = 3  # rising (else hot) words charted day by day
ALL = ""  # the area "whole city"


@dataclass(frozen=True)
class Doc:
    """One order as the analysis sees it."""

    at: datetime
    area: str | None
    terms: frozenset[str]
    phrases: frozenset[str]


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime

    def __contains__(self, at: datetime) -> bool:
        return self.since <= at < self.until


@dataclass(frozen=True)
class Trend:
    ratio: float | None
    log10_p: float | None  # log10 of the one-sided binomial tail; None without a baseline
    spike: bool


@dataclass(frozen=True)
class Topic:
    term: str
    area: str
    current: int
    previous: int
    trend: Trend
    phrases: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        t = self.trend
        return {
            "term": self.term,
            "area": self.area,
            "current": self.current,
            "previous": self.previous,
            "ratio": None if t.ratio is None else round(t.ratio, 2),
            "p_value": None if t.log10_p is None else float(f"{10**t.log10_p:.3g}"),
            "spike": t.spike,
            "phrases": list(self.phrases),
        }


@dataclass
class Counts:
    orders: int = 0
    terms: Counter[str] = field(default_factory=Counter)
    phrases: Counter[str] = field(default_factory=Counter)

    def add(self, d: Doc) -> None:
        self.orders += 1
        self.terms.update(d.terms)
        self.phrases.update(d.phrases)


def word_ok(w: str) -> bool:
    return len(w) >= 2 and not w.isdigit() and w not in FILLER_WORDS


class Places:
    """The districts' place names, compiled once: cut out of a text, or the district a text names."""

    def __init__(self, districts: Sequence[Unit]):
        self.districts = list(districts)
        self.rank = {u.code: i for i, u in enumerate(self.districts)}
        self.of_name: dict[str, list[Unit]] = {}
        for u in self.districts:
            for p in place_names(u):
                self.of_name.setdefault(p, []).append(u)
        names = sorted(self.of_name, key=len, reverse=True)  # longest first: 临漳县 before 临漳
        self.pattern = re.compile("|".join(map(re.escape, names))) if names else None

    def strip(self, text: str) -> str:
        """``text`` with every place name replaced by a comma (a clause break)."""
        return self.pattern.sub("，", text) if self.pattern else text

    def area(self, text: str) -> str | None:
        """The district whose places ``text`` names most (``suggest.places_in`` over the
        districts named at all; a tie goes to the first in the map)."""
        if not self.pattern:
            return None
        named = {u.code: u for m in self.pattern.finditer(text) for u in self.of_name[m.group()]}
        found = places_in(text, list(named.values())) if named else {}
        return min(found, key=lambda c: (-len(found[c]), self.rank[c])) if found else None


def extract(text: str, places: Places | None = None) -> tuple[frozenset[str], frozenset[str]]:
    """(words, phrases) of one order's content."""
    terms: set[str] = set()
    phrases: set[str] = set()
    for clause in clauses(places.strip(text or "") if places else text or ""):
        prev = ""
        for w in clause:
            ok = word_ok(w)
            if ok:
                terms.add(w)
                if prev and prev != w:
                    phrases.add(f"{prev} {w}")
            prev = w if ok else ""
    return frozenset(terms), frozenset(phrases)


def area_of(
    main_unit: str | None, district: str | None, address: str | None, content: str | None, places: Places
) -> str | None:
    """The district or county an order is about (None: not placed)."""
    if main_unit in places.rank:
        return main_unit
    for text in (district, address, content):
        found = places.area(text) if text else None
        if found:
            return found
    return None


def periods(until: datetime, days: int) -> tuple[Period, Period]:
    """(current, previous): the ``days`` before ``until`` and the ``days`` before those."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be 1..{MAX_DAYS}")
    span = timedelta(days=days)
    try:
        (until - 2 * span).astimezone(UTC), until.astimezone(UTC)  # the store keeps UTC
        return Period(until - span, until), Period(until - 2 * span, until - span)
    except OverflowError:
        raise ValueError(f"until {until.isoformat()} leaves no room for two periods of {days} days") from None


def log10_tail(k: int, n: int, q: float) -> float:
    """log10 P(X >= k) for X ~ Binomial(n, q)."""
    if k <= 0:
        return 0.0
    if k > n or q <= 0.0:
        return -math.inf
    if q >= 1.0:
        return 0.0
    lq, l1q = math.log(q), math.log1p(-q)
    logs = [
        math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * lq + (n - i) * l1q
        for i in range(k, n + 1)
    ]
    top = max(logs)
    return min(0.0, (top + math.log(sum(math.exp(x - top) for x in logs))) / math.log(10))


def judge(
    current: int,
    previous: int,
    volume_now: int,
    volume_before: int,
    min_count: int = MIN_COUNT,
    min_ratio: float = MIN_RATIO,
    alpha: float = ALPHA,
) -> Trend:
    """Is the word's rise a spike? (module docstring: the rule and its numbers)"""
    if volume_now <= 0 or volume_before <= 0:
        return Trend(None, None, False)  # no baseline: nothing to compare with
    ratio = (current / volume_now) / (max(previous, 0.5) / volume_before)
    lp = log10_tail(current, current + previous, volume_now / (volume_now + volume_before))
    spike = current >= min_count and ratio >= min_ratio and lp < math.log10(alpha)
    return Trend(ratio, lp, spike)


def tally(docs: Iterable[Doc], cur: Period, prev: Period) -> dict[str, tuple[Counts, Counts]]:
    """area code (ALL for the whole city) -> (current counts, previous counts)."""
    out: dict[str, tuple[Counts, Counts]] = {ALL: (Counts(), Counts())}
    for d in docs:
        i = 0 if d.at in cur else 1 if d.at in prev else -1
        if i < 0:
            continue
        out[ALL][i].add(d)
        if d.area:
            out.setdefault(d.area, (Counts(), Counts()))[i].add(d)
    return out


def topics(now: Counter[str], before: Counter[str], n_now: int, n_before: int, area: str) -> list[Topic]:
    return [Topic(w, area, c, before.get(w, 0), judge(c, before.get(w, 0), n_now, n_before)) for w, c in now.items()]


def _hot_key(t: Topic) -> tuple[int, str]:
    return (-t.current, t.term)


def _rise_key(t: Topic) -> tuple[float, float, bool, str, str]:
    """Most significant first; on a tie (the city's count is the area's) the area first."""
    return (t.trend.log10_p or 0.0, -(t.trend.ratio or 0.0), t.area == ALL, t.area, t.term)


def context(term: str, phrases: Counter[str], limit: int = 3) -> tuple[str, ...]:
    """The commonest phrases that contain ``term``."""
    mine = [(c, p) for p, c in phrases.items() if term in p.split(" ")]
    return tuple(p for c, p in sorted(mine, key=lambda x: (-x[0], x[1]))[:limit])


def bins(cur: Period, prev: Period, days: int) -> list[datetime]:
    """The chart's bin starts over both periods: a day each from a week up, else 12 a period."""
    step = timedelta(hours=24 if days >= 7 else 2 * days)
    out, t = [], prev.since
    while t < cur.until:
        out.append(t)
        t += step
    return out


def series(
    docs: Sequence[Doc], picks: Sequence[Topic], starts: Sequence[datetime], until: datetime
) -> list[dict[str, object]]:
    """Orders per bin with each picked word in its area."""
    out: list[dict[str, object]] = []
    for t in picks:
        counts = [0] * len(starts)
        for d in docs:
            if t.term in d.terms and (t.area == ALL or d.area == t.area) and starts and starts[0] <= d.at < until:
                counts[bisect_right(starts, d.at) - 1] += 1
        out.append({"term": t.term, "area": t.area, "counts": counts})
    return out


def report(docs: Sequence[Doc], until: datetime, days: int, area: str = ALL, top: int = TOP) -> dict[str, object]:
    """The hot topics of ``area`` (ALL: the whole city) in the period, against the one before, and
    the spikes: of the area, or of the city and of every area when ``area`` is ALL."""
    cur, prev = periods(until, days)
    counted = tally(docs, cur, prev)
    now, before = counted.get(area, (Counts(), Counts()))
    vol = (counted[ALL][0].orders, counted[ALL][1].orders)
    terms = topics(now.terms, before.terms, *vol, area)
    phrases = topics(now.phrases, before.phrases, *vol, area)
    scope = counted if area == ALL else {area: (now, before)}
    rising = [
        Topic(t.term, t.area, t.current, t.previous, t.trend, context(t.term, scope[t.area][0].phrases))
        for a, (n, b) in scope.items()
        for t in topics(n.terms, b.terms, *vol, a)
        if t.trend.spike
    ]
    rising.sort(key=_rise_key)
    hot = sorted(terms, key=_hot_key)[:top]
    hot = [Topic(t.term, t.area, t.current, t.previous, t.trend, context(t.term, now.phrases)) for t in hot]
    starts = bins(cur, prev, days)
    picks = rising[:SERIES] or hot[:SERIES]
    areas = sorted(
        ((a, n.orders, b.orders) for a, (n, b) in counted.items() if a != ALL),
        key=lambda x: (-x[1], x[0]),
    )
    return {
        "period": {"since": cur.since.isoformat(), "until": cur.until.isoformat(), "days": days},
        "previous": {"since": prev.since.isoformat(), "until": prev.until.isoformat()},
        "area": area,
        "orders": {"current": now.orders, "previous": before.orders},
        "rule": {"min_count": MIN_COUNT, "min_ratio": MIN_RATIO, "alpha": ALPHA},
        "terms": [t.as_dict() for t in hot],
        "phrases": [t.as_dict() for t in sorted(phrases, key=_hot_key)[:top]],
        "rising": [t.as_dict() for t in rising[:top]],
        "areas": [{"area": a, "current": c, "previous": p} for a, c, p in areas],
        "bins": [s.isoformat() for s in starts],
        "series": series(docs, picks, starts, cur.until),
    }

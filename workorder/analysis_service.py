"""The analysis adapter: the orders of two periods from the store, as ``analysis.Doc``, and the
report (workorder/analysis.py holds the method).

* Orders counted: every order created in the two periods with content, except drafts (a
  draft is a call not yet taken down; the hand-off makes one for every answered call).
* Bounded: at most ``MAX_ORDERS`` orders are read for one report; a busier window is
  sampled by id (``id % k == 0``, k the smallest that fits), said in the report as
  ``sample: k``; shares, ratios and the test hold on a sample that does not depend on content.
* Each order is segmented once per version (an in-process cache of ``CACHE_SIZE`` orders,
  emptied when full), so the next report only segments the new and the edited orders.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select

from workorder import analysis
from workorder.analysis import Doc, Places
from workorder.db import Database
from workorder.models import Order
from workorder.suggest import Unit, place_names

MAX_ORDERS = 100_000
CACHE_SIZE = 400_000


class UnknownArea(ValueError):
    """The area asked for is no district or county of the map."""


class HotTopics:
    def __init__(self, db: Database, units: Sequence[Unit], max_orders: int = MAX_ORDERS, cache_size: int = CACHE_SIZE):
        self.db = db
        districts = [u for u in units if u.kind == "district"]
        self.places = Places(districts)
        self.names = {u.code: place_names(u)[0] for u in districts}  # 临漳县, not 临漳县人民政府
        self.max_orders, self.cache_size = max_orders, cache_size
        self._cache: dict[tuple[int, int], Doc] = {}
        self._lock = threading.Lock()

    def _where(self, since: datetime, until: datetime):
        return (
            Order.created_at >= since,
            Order.created_at < until,
            Order.status != "draft",
            Order.content.is_not(None),
        )

    def docs(self, since: datetime, until: datetime) -> tuple[list[Doc], int]:
        """The orders created in [since, until) as Docs, and the sampling step (1: all)."""
        where = self._where(since, until)
        with self.db.read() as s:
            total = s.scalar(select(func.count(Order.id)).where(*where)) or 0
            step = max(1, math.ceil(total / self.max_orders))
            q = select(
                Order.id,
                Order.version,
                Order.created_at,
                Order.main_unit,
                Order.district,
                Order.address,
                Order.content,
            ).where(*where)
            if step > 1:
                q = q.where(Order.id % step == 0)
            rows = list(s.execute(q).tuples())
        out = []
        for oid, version, at, main_unit, district, address, content in rows:
            key = (oid, version)
            doc = self._cache.get(key)
            if doc is None:
                terms, phrases = analysis.extract(content, self.places)
                area = analysis.area_of(main_unit, district, address, content, self.places)
                doc = Doc(at, area, terms, phrases)
                with self._lock:
                    if len(self._cache) >= self.cache_size:
                        self._cache.clear()
                    self._cache[key] = doc
            out.append(doc)
        return out, step

    def report(self, until: datetime, days: int, area: str = analysis.ALL) -> dict:
        """The report of analysis.report, with the sampling step and the areas' names."""
        if area != analysis.ALL and area not in self.names:
            raise UnknownArea(f"unknown area {area!r}: a district or county code of transfer_map.yaml")
        cur, prev = analysis.periods(until, days)
        docs, step = self.docs(prev.since, cur.until)
        out = analysis.report(docs, cur.until, days, area)
        out["sample"] = step
        out["area_names"] = {analysis.ALL: "全市", **self.names}
        return out

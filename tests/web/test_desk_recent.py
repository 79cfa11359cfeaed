"""The agent's recent orders (web/desk.py ``recent``): two newest-first walks merged give the
rows of ``agent = ? OR created_by = ?`` newest first."""

from __future__ import annotations

import random

from sqlalchemy import or_, select, update

from hotline.auth import Principal
from web.desk import recent
from workorder.db import Database
from workorder.migrate import upgrade
from workorder.models import Order
from workorder.service import Store
from workorder.views import SUMMARY, summary_dict


def test_recent_is_the_or_query(tmp_path):
    url = f"sqlite:///{tmp_path / 'h.db'}"
    upgrade(url)
    store = Store(Database(url))
    rnd = random.Random(5)
    try:
        for i in range(120):
            who = Principal(rnd.choice(["a1", "a2", "a3"]), "agent")
            store.create({"type": "consult", "title": f"t{i}", "content": "c"}, who)
        with store.db.write() as s:  # orders taken by one agent and created by another
            for oid in rnd.sample(range(1, 121), 50):
                s.execute(update(Order).where(Order.id == oid).values(agent=rnd.choice(["a1", "a2", "a4", None])))
        for name in ("a1", "a2", "a3", "a4", "nobody"):
            p = Principal(name, "agent")
            for limit in (1, 5, 20, 200):
                with store.db.read() as s:
                    rows = s.execute(
                        select(*SUMMARY)
                        .where(or_(Order.agent == name, Order.created_by == name))
                        .order_by(Order.id.desc())
                        .limit(limit)
                    )
                    want = [summary_dict(r, p) for r in rows]
                assert recent(store, p, limit) == want
    finally:
        store.db.dispose()

"""The create writes one Core INSERT … RETURNING (workorder/service_create.py): what it answers and
what it puts in the outbox are the order as stored, read back through the ORM afterwards, on SQLite
and PostgreSQL; Nones and unknown fields behave as ``Order(**data)`` did."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hotline.auth import Principal
from workorder.models import Order, Outbox, Transition
from workorder.views import order_dict

AGENT = Principal("test:agent", "agent")
DEPT = Principal("test:dept", "department", "gjj")


def stored(store, order_id: int) -> tuple[dict, list[dict], list[tuple]]:
    with store.db.read() as s:
        o = s.get(Order, order_id)
        outbox = [e.payload["order"] for e in s.scalars(select(Outbox).where(Outbox.order_id == order_id))]
        hist = [
            (t.round, t.action, t.from_status, t.to_status, t.actor, t.role, t.comment, t.payload)
            for t in s.scalars(select(Transition).where(Transition.order_id == order_id).order_by(Transition.id))
        ]
        return order_dict(o), outbox, hist


@pytest.mark.parametrize("status", ["draft", "accepted"])
def test_the_answer_and_the_outbox_are_the_stored_order(api, status):
    data = {
        "type": "complaint",
        "title": "路灯不亮",
        "content": "人民路路灯不亮",
        "caller_phone": "13900000001",
        "caller_name": "张三",
        "lat": 36.6,
        "lon": 114.5,
        "kb_refs": [3],
        "channel": None,  # left out: the column's default, as the ORM did
        "urgency": None,
    }
    out = api.store.create(data, AGENT, status)
    whole, outbox, hist = stored(api.store, out["id"])
    assert out == whole and outbox == [whole]
    assert whole["status"] == status and whole["version"] == 1 and whole["round"] == 1
    assert whole["channel"] == "phone" and whole["urgency"] == "normal" and whole["co_units"] == []
    assert whole["anonymous"] is False and whole["kb_refs"] == [3] and whole["origin"]
    want = [(1, "create", "", "draft", "test:agent", "agent", None, {})]
    if status == "accepted":
        want.append((1, "accept", "draft", "accepted", "test:agent", "agent", None, {}))
    assert hist == want


def test_the_answer_is_masked_and_the_outbox_is_not(api):
    data = {"type": "consult", "content": "问", "caller_phone": "13900000002", "confidential": True}
    out = api.store.create(data, DEPT, "draft")  # a protected caller: a department sees it masked
    whole, outbox, _ = stored(api.store, out["id"])
    assert outbox == [whole] and whole["caller_phone"] == "13900000002"
    assert out["caller_phone"] != "13900000002" and {
        k: v for k, v in out.items() if k not in ("caller_phone", "caller_name")
    } == {k: v for k, v in whole.items() if k not in ("caller_phone", "caller_name")}


def test_an_unknown_field_is_refused_before_any_write(api):
    with pytest.raises(TypeError, match="nonsense"):
        api.store.create({"type": "consult", "content": "问", "nonsense": 1}, AGENT, "draft")
    with api.store.db.read() as s:
        assert s.scalar(select(Order.id).where(Order.content == "问")) is None

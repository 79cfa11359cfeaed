"""The agent desk's 派单 on a repeated complaint: 受理 links it to the first order (merged), and the
desk returns that instead of trying to dispatch a merged order."""

from __future__ import annotations

from hotline.auth import Principal
from web.desk import submit

AGENT = Principal("demo1001", "agent")
FIELDS = {"type": "complaint", "category_code": "500300", "title": "噪音", "content": "楼下烧烤店夜里噪音扰民"}


def test_dispatch_of_a_repeat_returns_the_merged_order(site):
    store = site.store
    first = store.create({**FIELDS, "caller_phone": "13500005555"}, AGENT, "accepted")
    draft = store.create({"caller_phone": "13500005555"}, AGENT)
    out = submit(store, draft["id"], {"step": "dispatch", "fields": FIELDS, "main_unit": "sthj"}, AGENT)
    assert out["status"] == "merged" and out["parent_id"] == first["id"]
    other = store.create({"caller_phone": "13600006666"}, AGENT)
    out = submit(store, other["id"], {"step": "dispatch", "fields": FIELDS, "main_unit": "sthj"}, AGENT)
    assert out["status"] == "dispatched" and out["main_unit"] == "sthj"

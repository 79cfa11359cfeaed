"""The statistics' state in a real Redis (a redis-server on a free loopback port): the calls are a
hash written by changes, the rest one JSON; a restart restores both."""

from __future__ import annotations

import json

import pytest
import redis.asyncio as aioredis

from queues.service import Consumer, RedisStore
from tests.loopback import free_port, redis_server

T0 = 1_790_000_000.0


@pytest.fixture
def redis_port(tmp_path):
    with redis_server(free_port(), tmp_path) as port:
        yield port


def _join(c: Consumer, uid: str, ts: float) -> None:
    c.on_event(None, {"Event": "QueueCallerJoin", "Queue": "hotline", "Uniqueid": uid, "Timestamp": str(ts)})


async def test_calls_are_saved_by_changes_and_restored_after_a_restart(redis_port):
    client = aioredis.from_url(f"redis://127.0.0.1:{redis_port}")
    now = [T0]
    c = Consumer(RedisStore(client, "st"), clock=lambda: now[0])
    await c.restore()
    for n in range(50):
        _join(c, f"u{n}", T0)
    await c.flush(full=True)
    assert await client.hlen("st:queues:calls") == 50
    assert "calls" not in json.loads(await client.get("st:queues:state"))  # the JSON stays small

    # one more call and one answer: only those two are written again
    writes = []
    pipe_cls = client.pipeline

    def pipeline(*a, **kw):
        p = pipe_cls(*a, **kw)
        orig = p.hset

        def hset(*ha, **hkw):
            if ha and ha[0] == "st:queues:calls":
                writes.append(hkw.get("mapping", {}))
            return orig(*ha, **hkw)

        p.hset = hset
        return p

    client.pipeline = pipeline
    _join(c, "u50", T0 + 1)
    c.on_event(
        None, {"Event": "AgentConnect", "Queue": "hotline", "Uniqueid": "u3", "HoldTime": "2", "Timestamp": str(T0 + 2)}
    )
    now[0] = T0 + 10
    await c.flush(full=True)
    assert [sorted(w) for w in writes] == [["u3", "u50"]]
    assert json.loads(await client.hget("st:queues:calls", "u3"))[1] is True

    # six hours on, the old calls are forgotten in Redis too
    now[0] = T0 + 6 * 3600 + 5
    _join(c, "late", now[0])
    await c.flush(full=True)
    assert await client.hkeys("st:queues:calls") == [b"late"]

    # a restarted consumer gets the calls back (a replayed join of one is not counted twice)
    again = Consumer(RedisStore(client, "st"), clock=lambda: now[0])
    await again.restore()
    assert set(again.agg.calls) == {"late"}
    assert again.agg.view(now[0])["total"]["last_24h"]["offered"] == c.agg.view(now[0])["total"]["last_24h"]["offered"]
    await client.aclose()


async def test_a_state_saved_with_its_calls_inside_is_moved_to_the_hash_once(redis_port):
    client = aioredis.from_url(f"redis://127.0.0.1:{redis_port}")
    old = {"v": 1, "calls": {"a": [T0, True, False], "b": [T0, False, True]}, "last_ts": T0}
    await client.set("st:queues:state", json.dumps(old))
    c = Consumer(RedisStore(client, "st"), clock=lambda: T0 + 5)
    await c.restore()
    assert set(c.agg.calls) == {"a", "b"}
    await c.flush(full=True)
    assert sorted(await client.hkeys("st:queues:calls")) == [b"a", b"b"]
    assert json.loads(await client.get("st:queues:state"))["calls_apart"] is True
    await client.aclose()


async def test_the_agents_are_one_json_list_written_with_the_view(redis_port):
    client = aioredis.from_url(f"redis://127.0.0.1:{redis_port}")
    c = Consumer(RedisStore(client, "st"), clock=lambda: T0)
    await c.restore()
    member = {"Queue": "hotline", "Interface": "PJSIP/1001", "MemberName": "1001", "Status": "1", "Paused": "0"}
    c.on_event(None, {"Event": "QueueMemberAdded", "Timestamp": str(T0), **member})
    await c.flush()
    agents = json.loads(await client.get("st:queues:agents"))
    assert [a["name"] for a in agents] == ["1001"] and agents[0]["state"] == "available"
    written = sorted(k.decode() for k in await client.keys("st:*"))
    assert written == ["st:queues:agents", "st:queues:state", "st:queues:view"]  # no hash per agent
    await client.aclose()

"""Where the statistics consumer (:mod:`queues.service`) keeps its state: Redis, or memory
(tests, benchmarks).  The Redis keys of the queue figures are named here, for every reader."""

from __future__ import annotations

import json

import orjson


def _json(obj) -> bytes:
    """JSON as the readers' ``json.loads`` reads it back (UTF-8, integer keys as strings): orjson,
    an eighth of ``json.dumps``' time on these floats-heavy documents (every flush, twice a
    second; the state's 100 KB every 5 s), none of which holds a NaN."""
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)


def keys(instance: str) -> dict[str, str]:
    return {
        "state": f"{instance}:queues:state",
        "view": f"{instance}:queues:view",
        "agents": f"{instance}:queues:agents",
        "updates": f"{instance}:queues:updates",
        "calls": f"{instance}:queues:calls",  # hash: uniqueid -> the aggregator's call record (JSON)
        "records": f"{instance}:queues:records",  # sub-center records accepted by the API, to count
        "record_ids": f"{instance}:queues:record-ids",  # hash: <line>:<record id> -> the record (idempotence)
    }


class RedisStore:
    """Where the consumer keeps its state (redis.asyncio client): the aggregator's calls (6 h of
    them) in a hash written by changes, the rest of its state as one small JSON."""

    calls_apart = True

    def __init__(self, client, instance: str):
        self.r = client
        self.k = keys(instance)

    async def load(self) -> dict | None:
        raw = await self.r.get(self.k["state"])
        state = json.loads(raw) if raw else None
        if state is not None and state.get("calls_apart"):
            state["calls"] = {
                (u.decode() if isinstance(u, bytes) else u): json.loads(c)
                for u, c in (await self.r.hgetall(self.k["calls"])).items()
            }
        return state

    async def save(self, state: dict | None, view: dict, agents: list[dict], calls=None) -> None:
        """``state`` None: the view and the agents only; ``calls``: the aggregator's calls changed
        and forgotten since the last save.  The agents are one JSON list (``:queues:agents``,
        what the wallboard and the API read), not a hash each: those were written at every
        flush, 30 of them a flush at 30 calls a second, and read by nobody."""
        pipe = self.r.pipeline(transaction=True)
        if state is not None:
            pipe.set(self.k["state"], _json(state))
        if calls is not None:
            changed, gone = calls
            if changed:
                pipe.hset(self.k["calls"], mapping={u: _json(c) for u, c in changed.items()})
            if gone:
                pipe.hdel(self.k["calls"], *gone)
        pipe.set(self.k["view"], _json(view))
        pipe.set(self.k["agents"], _json(agents))
        pipe.publish(self.k["updates"], str(view["at"]))
        await pipe.execute()

    async def take_records(self, limit: int = 500) -> list[dict]:
        """The sub-center records accepted since the last call (oldest first)."""
        raw = await self.r.lpop(self.k["records"], limit)
        return [json.loads(x) for x in raw or []]


class MemoryStore:
    """For tests and the benchmark: keeps the last save in memory (the whole state)."""

    calls_apart = False

    def __init__(self, state: dict | None = None):
        self.state = state
        self.view = None
        self.agents = None
        self.saves = 0
        self.records: list[dict] = []

    async def load(self):
        return self.state

    async def take_records(self, limit: int = 500) -> list[dict]:
        out, self.records = self.records[:limit], self.records[limit:]
        return out

    async def save(self, state, view, agents, calls=None):
        if state is not None:
            self.state = state
        self.view, self.agents = view, agents
        self.saves += 1

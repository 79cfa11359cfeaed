"""REST + server-sent events for queues: live statistics, agents, seat sizing.

The statistics consumer (``hotline stats``) keeps the figures in Redis; these
routes only read them (``/stats``, ``/agents``, ``/stream``) or turn a request
into AMI actions (login / logout / pause).  Every route declares its roles.

Routes (all under ``/api/v1/queues``):

* ``GET  /stats``                  every queue and the hotline total
* ``GET  /stats/{queue}``          one queue (``all`` = the hotline total)
* ``GET  /figures``                the platform's call figures: every call that reached it, per line,
  per mode and overall, the alert window and its alerts (:mod:`queues.stats_calls`)
* ``GET  /stream``                 text/event-stream: the stats view whenever it changes (wallboard),
  and ``event: alert`` for each alert raised or cleared
* ``POST /lines/{number}/records`` a sub-center's own call records (``collect_records``; the line's
  department or admin), idempotent by record id (:mod:`queues.stats_records`)
* ``GET  /agents``                 registry + live state
* ``POST /agents``                 register an agent (admin)
* ``POST /agents/{name}/login|logout|pause|unpause``  login takes ``{"device": "desk"|"browser"}``;
  the others act on the phones the agent is logged in with
* ``GET  /sizing?population=N[&calls_per_day=..&aht=..&patience=..]``
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Literal

import redis.asyncio as aioredis
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from redis.exceptions import RedisError

from hotline.auth import Principal, require_roles
from hotline.names import DEVICES
from hotline.settings import get_settings
from hotline.transfer_map import load_map_for
from queues import agents as ag
from queues import sizing
from queues import stats_records as sr
from queues.models import Registry
from queues.service import keys

router = APIRouter(prefix="/api/v1/queues", tags=["queues"])

WATCHERS = ("agent", "dispatcher", "supervisor", "admin")
MANAGERS = ("supervisor", "admin")


def settings_of(request: Request):
    """The app's settings (the queues routes and the pages share them)."""
    s = getattr(request.app.state, "settings", None)
    if s is None:
        s = request.app.state.settings = get_settings()
    return s


def _redis(request: Request):
    r = getattr(request.app.state, "queues_redis", None)
    if r is None:
        r = request.app.state.queues_redis = aioredis.from_url(
            settings_of(request).redis_url, socket_timeout=2, socket_connect_timeout=2
        )
    return r


async def _view(request: Request, what: str = "view"):
    raw = await _redis(request).get(keys(settings_of(request).instance)[what])
    outage = getattr(request.app.state, "outages", {}).get("redis")
    if outage is not None:
        outage.up()  # Redis answered: an outage logged by the app's 503 handler is over
    return json.loads(raw) if raw else None


@router.get("/stats")
async def stats(request: Request, _: Principal = Depends(require_roles(*WATCHERS))):
    view = await _view(request)
    if view is None:
        raise HTTPException(503, "no statistics yet: is `hotline stats` running?")
    return view


@router.get("/stats/{queue}")
async def queue_stats(queue: str, request: Request, _: Principal = Depends(require_roles(*WATCHERS))):
    view = await _view(request)
    if view is None:
        raise HTTPException(503, "no statistics yet: is `hotline stats` running?")
    if queue in ("all", "*"):
        return view["total"]
    for q in view["queues"]:
        if q["queue"] == queue:
            return q
    raise HTTPException(404, f"unknown queue {queue!r}")


@router.get("/figures")
async def figures(request: Request, _: Principal = Depends(require_roles(*WATCHERS))):
    view = await _view(request)
    if view is None or "calls" not in view:
        raise HTTPException(503, "no statistics yet: is `hotline stats` running?")
    return view["calls"]


@router.post("/lines/{number}/records")
async def line_records(
    number: str, body: sr.RecordsIn, request: Request, p: Principal = Depends(require_roles("department", "admin"))
):
    settings = settings_of(request)
    line = (await asyncio.to_thread(load_map_for, settings)).line(number)
    problem = sr.line_problem(line, p.department, p.role)
    if problem:
        raise HTTPException(*problem)
    now = time.time()
    bad = [m for m in (sr.record_problem(rec, now) for rec in body.records) if m]
    if bad:
        raise HTTPException(422, "; ".join(bad[:20]))
    k = keys(settings.instance)
    r = _redis(request)
    out = {"accepted": 0, "duplicates": 0, "counted": 0}
    for rec in body.records:
        fact = sr.counted(rec, number)
        new = await r.set(
            f"{k['record_ids']}:{number}:{rec.id}",
            json.dumps({**fact, "linkedid": rec.linkedid}),
            nx=True,
            ex=sr.RECORD_ID_TTL,
        )
        if not new:
            out["duplicates"] += 1
            continue
        out["accepted"] += 1
        if not rec.linkedid:  # a call the platform routed there is counted by the platform already
            await r.rpush(k["records"], json.dumps(fact))
            out["counted"] += 1
    return out


@router.get("/stream")
async def stream(
    request: Request, interval: float = Query(1.0, ge=0.2, le=30), _: Principal = Depends(require_roles(*WATCHERS))
):
    """Server-sent events: ``event: stats`` with the whole view, sent when it changes."""
    max_events = getattr(request.app.state, "sse_max_events", None)  # tests bound the stream
    await _view(request)  # Redis down: a 503 (JSON) now, not a stream that breaks at once

    async def gen():
        last = None
        sent = 0
        seen: set[str] = set()
        first = True  # the alerts already there when the stream opened are not news
        yield "retry: 2000\n\n"
        while True:
            if await request.is_disconnected():
                return
            try:
                raw = await _redis(request).get(keys(settings_of(request).instance)["view"])
            except (RedisError, OSError):  # Redis gone mid-stream: say so; the browser retries in 2 s
                yield 'event: error\ndata: {"reason": "redis_unavailable"}\n\n'
                return
            if raw and raw != last:
                last = raw
                text = raw.decode() if isinstance(raw, bytes) else raw
                news = new_alerts(text, seen)
                for alert in [] if first else news:
                    yield f"event: alert\ndata: {json.dumps(alert, ensure_ascii=False)}\n\n"
                first = False
                yield f"event: stats\ndata: {text}\n\n"
                sent += 1
                if max_events and sent >= max_events:
                    return
            await asyncio.sleep(interval)

    return StreamingResponse(
        gen(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )


def new_alerts(view_text: str, seen: set[str]) -> list[dict]:
    """The alerts (raised / cleared) of a stats view not in ``seen`` (which is updated)."""
    try:
        recent = json.loads(view_text).get("calls", {}).get("alerts", {}).get("recent", [])
    except (ValueError, AttributeError):
        return []
    out = []
    for a in recent:
        key = f"{a.get('scope')}|{a.get('figure')}|{a.get('state')}|{a.get('at')}"
        if key not in seen:
            seen.add(key)
            out.append(a)
    return out


@router.get("/agents")
async def agents(request: Request, _: Principal = Depends(require_roles(*WATCHERS))):
    live = {a["name"]: a for a in (await _view(request, "agents") or [])}
    rows = await asyncio.to_thread(Registry(settings_of(request).database_url).all)
    out = []
    for a in rows:
        st = live.get(a["name"])
        out.append(
            {
                **a,
                "state": st["state"] if st else "logged_out",
                "paused": bool(st and st["paused"]),
                "reason": st["reason"] if st else "",
                "interface": st["interface"] if st else "",
                "queues": st["queues"] if st else {},
            }
        )
    return {"agents": out}


class AgentIn(BaseModel):
    name: str
    extension: str
    skills: dict[str, int] = Field(default_factory=dict)  # empty: the map's hotline queue, penalty 0
    team: str = ""
    display: str = ""


@router.post("/agents", status_code=201)
async def add_agent(body: AgentIn, request: Request, _: Principal = Depends(require_roles("admin"))):
    try:
        return await asyncio.to_thread(
            Registry(settings_of(request).database_url).add,
            body.name,
            body.extension,
            body.skills or {load_map_for(settings_of(request)).hotline.queue: 0},
            body.team,
            body.display,
        )
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


class PauseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field("break", max_length=40)


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    device: Literal[DEVICES] = "desk"  # type: ignore[valid-type]


async def live_members(request: Request, name: str) -> list[dict]:
    """Agent ``name``'s live member records (one per phone it is logged in with), from the
    statistics consumer's view in Redis; 503 when Redis cannot be read (a guess would act
    on the wrong phone)."""
    try:
        view = await _view(request, "agents")
    except (OSError, aioredis.RedisError) as exc:
        raise HTTPException(
            503,
            f"实时坐席状态不可用 / the agents' live state is unavailable (Redis; is `hotline stats` running?): {exc}",
        ) from None
    return [a for a in (view or []) if a.get("name") == name]


async def _live_interfaces(request: Request, name: str) -> list[str]:
    """The member interfaces agent ``name`` is logged in with now (none: the desk phone's)."""
    return [a["interface"] for a in await live_members(request, name)]


async def _act(request: Request, name: str, build, p: Principal, live: bool = True) -> dict:
    settings = settings_of(request)
    agent = await asyncio.to_thread(Registry(settings.database_url).get, name)
    if agent is None:
        raise HTTPException(404, f"no agent {name!r}")
    if p.role == "agent" and p.subject != agent["name"]:
        # an agent's token or session carries the agent's name: it changes only its own state
        raise HTTPException(403, f"{p.subject!r} may change only its own queue state, not {agent['name']!r}")
    actions = build(agent, await _live_interfaces(request, agent["name"]) if live else [])
    try:
        results = await ag.send_actions(settings, actions)
    except (TimeoutError, OSError, ConnectionError) as exc:
        raise HTTPException(503, f"Asterisk AMI unreachable: {exc}") from None
    bad = [r for r in results if not r.ok]
    if bad:
        raise HTTPException(
            409, "; ".join(f"{r.action['Action']} {r.action.get('Queue', '')}: {r.message}" for r in bad)
        )
    return {
        "agent": agent["name"],
        "done": [
            {"action": r.action["Action"], "queue": r.action.get("Queue"), "interface": r.action.get("Interface")}
            for r in results
        ],
    }


@router.post("/agents/{name}/login")
async def login(
    name: str, request: Request, body: LoginIn | None = None, p: Principal = Depends(require_roles("agent", *MANAGERS))
):
    device = (body or LoginIn()).device
    return await _act(request, name, lambda a, live: ag.login_actions(a, device=device), p, live=False)


@router.post("/agents/{name}/logout")
async def logout(name: str, request: Request, p: Principal = Depends(require_roles("agent", *MANAGERS))):
    return await _act(request, name, lambda a, live: ag.logout_actions(a, interfaces=live), p)


@router.post("/agents/{name}/pause")
async def pause(
    name: str, request: Request, body: PauseIn | None = None, p: Principal = Depends(require_roles("agent", *MANAGERS))
):
    reason = (body or PauseIn()).reason
    return await _act(request, name, lambda a, live: ag.pause_actions(a, True, reason, interfaces=live), p)


@router.post("/agents/{name}/unpause")
async def unpause(name: str, request: Request, p: Principal = Depends(require_roles("agent", *MANAGERS))):
    return await _act(request, name, lambda a, live: ag.pause_actions(a, False, interfaces=live), p)


@router.get("/sizing")
async def seat_sizing(
    population: int = Query(..., ge=0, le=2_000_000_000),
    calls_per_day: float | None = Query(None, ge=0, le=10_000_000),
    aht: float = Query(240.0, gt=0, le=7200),
    patience: float | None = Query(None, gt=0, le=7200),
    _: Principal = Depends(require_roles(*MANAGERS)),
):
    r = sizing.rule(population)
    out: dict = {"population": population, "seats": r.seats, "operators": r.operators}
    if calls_per_day is not None:
        v = await asyncio.to_thread(
            sizing.verdict, population, sizing.calls_by_hour_from_day(calls_per_day), aht, patience
        )
        out["verdict"] = {
            "answer_rate_24h": v.answer_rate_24h,
            "service_level_24h": v.service_level_24h,
            "meets": v.meets,
            "seats_needed": v.seats_needed,
            "hourly_needed": v.hourly_needed,
            "operators_needed": v.operators_needed,
            "model": "erlang_a" if patience else "erlang_c",
        }
    return out

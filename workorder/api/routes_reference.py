"""The API's knowledge base, reference data and statistics routes (/api/v1)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from hotline.auth import Principal, require_roles
from hotline.settings import local_zone
from workorder import stats as stats_mod
from workorder.api.routes import PEOPLE, OrderId, _aware, store
from workorder.api.schemas import (
    DepartmentCreate,
    KbCreate,
    KbUpdate,
    Text,
)
from workorder.models import Category, Department

router = APIRouter(prefix="/api/v1")


# -- knowledge base -------------------------------------------------------------------


def kb(request: Request):
    return request.app.state.kb


@router.get("/kb/search", tags=["knowledge"])
async def kb_search(
    request: Request,
    p: Principal = Depends(require_roles(*PEOPLE, "ivr")),
    q: Annotated[Text(100), Query()] = "",
    department: Annotated[str, Query(pattern=r"^[a-z][a-z0-9_]{0,31}$")] | None = None,
    include_expired: bool = False,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
):
    return {"items": await run_in_threadpool(kb(request).search, q, department, None, include_expired, limit)}


@router.get("/kb/articles/{article_id}", tags=["knowledge"])
async def kb_get(article_id: OrderId, request: Request, p: Principal = Depends(require_roles(*PEOPLE, "ivr"))):
    out = await run_in_threadpool(kb(request).get, article_id)
    if out is None:
        raise HTTPException(404, f"article {article_id} not found")
    return out


def _kb_owner_check(p: Principal, department: str | None):
    if p.role == "department" and department != p.department:
        raise HTTPException(403, "a department edits only its own articles")


@router.post("/kb/articles", status_code=201, tags=["knowledge"])
async def kb_create(
    body: KbCreate,
    request: Request,
    p: Principal = Depends(require_roles("dispatcher", "department", "supervisor", "admin")),
):
    _kb_owner_check(p, body.department)
    data = body.model_dump()
    data["valid_from"], data["valid_to"] = _aware(data["valid_from"]), _aware(data["valid_to"])
    return await run_in_threadpool(kb(request).create, data, p.subject)


@router.put("/kb/articles/{article_id}", tags=["knowledge"])
async def kb_update(
    article_id: OrderId,
    body: KbUpdate,
    request: Request,
    p: Principal = Depends(require_roles("dispatcher", "department", "supervisor", "admin")),
):
    current = await run_in_threadpool(kb(request).get, article_id)
    if current is None:
        raise HTTPException(404, f"article {article_id} not found")
    _kb_owner_check(p, current["department"])
    data = body.model_dump(exclude_unset=True)
    for k in ("valid_from", "valid_to"):
        if k in data:
            data[k] = _aware(data[k])
    if "department" in data:
        _kb_owner_check(p, data["department"])
    return await run_in_threadpool(kb(request).update, article_id, data, p.subject)


# -- reference data -----------------------------------------------------------------------


@router.get("/departments", tags=["reference"])
async def departments(request: Request, p: Principal = Depends(require_roles(*PEOPLE, "ivr", "calls"))):
    def q():
        with store(request).db.read() as s:
            return [
                {"code": d.code, "name": d.name, "kind": d.kind, "lines": d.lines, "active": d.active}
                for d in s.scalars(select(Department).order_by(Department.code))
            ]

    return {"items": await run_in_threadpool(q)}


@router.post("/departments", status_code=201, tags=["reference"])
async def add_department(body: DepartmentCreate, request: Request, p: Principal = Depends(require_roles("admin"))):
    def q():
        with store(request).db.write() as s:
            if s.get(Department, body.code) is not None:
                raise HTTPException(409, f"department {body.code} exists")
            s.add(Department(code=body.code, name=body.name, kind=body.kind, lines=body.lines))
        return body.model_dump()

    return await run_in_threadpool(q)


@router.get("/categories", tags=["reference"])
async def categories(request: Request, p: Principal = Depends(require_roles(*PEOPLE, "ivr"))):
    def q():
        with store(request).db.read() as s:
            return [
                {"code": c.code, "name": c.name, "parent": c.parent_code}
                for c in s.scalars(select(Category).order_by(Category.code))
            ]

    return {"items": await run_in_threadpool(q)}


@router.get("/time-limits", tags=["reference"])
async def time_limits(request: Request, p: Principal = Depends(require_roles(*PEOPLE))):
    cfg = store(request).cfg
    return {
        "warn_ratio": cfg.limits.warn_ratio,
        "rows": [
            {"type": r.type, "urgency": r.urgency, "sign_in": str(r.sign_in), "handling": str(r.handling)}
            for r in cfg.limits.rows
        ],
        "holidays": sorted(d.isoformat() for d in cfg.calendar.holidays),
        "adjusted_workdays": sorted(d.isoformat() for d in cfg.calendar.workdays),
    }


# -- statistics -----------------------------------------------------------------------


def _period(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    now = datetime.now(local_zone())
    until = _aware(until) or now
    since = _aware(since) or (until - timedelta(days=30))
    return since, until


@router.get("/stats", tags=["statistics"])
async def statistics(
    request: Request,
    p: Principal = Depends(require_roles("dispatcher", "supervisor", "admin", "department")),
    since: datetime | None = None,
    until: datetime | None = None,
):
    since, until = _period(since, until)
    out = await run_in_threadpool(stats_mod.compute, store(request).db, since, until)
    provider = getattr(request.app.state, "call_stats", None)
    out["overall"]["call_answer_rate"] = provider() if provider else None
    if p.role == "department":
        out = {
            **out,
            "overall": None,
            "departments": {k: v for k, v in out["departments"].items() if k == p.department},
        }
    return out


@router.get("/stats/ranking", tags=["statistics"])
async def statistics_ranking(
    request: Request,
    p: Principal = Depends(require_roles("dispatcher", "supervisor", "admin")),
    since: datetime | None = None,
    until: datetime | None = None,
):
    since, until = _period(since, until)
    out = await run_in_threadpool(stats_mod.compute, store(request).db, since, until)
    return {"since": out["since"], "until": out["until"], "ranking": stats_mod.ranking(out)}

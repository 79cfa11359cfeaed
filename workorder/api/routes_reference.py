"""The API's reference data and statistics routes (/api/v1); the knowledge base is in routes_kb.py."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from hotline.auth import Principal, require_roles
from hotline.settings import local_zone
from workorder import stats as stats_mod
from workorder.api.routes import PEOPLE, _aware, store
from workorder.api.schemas import DepartmentCreate
from workorder.models import Category, Department

router = APIRouter(prefix="/api/v1")


# -- reference data -----------------------------------------------------------------------


@router.get("/departments", tags=["reference"])
async def departments(request: Request, p: Principal = Depends(require_roles(*PEOPLE, "ivr", "calls"))):
    def q():
        with store(request).db.read() as s:
            return [
                {
                    "code": d.code,
                    "name": d.name,
                    "kind": d.kind,
                    "lines": d.lines,
                    "active": d.active,
                    "parent": d.parent,
                }
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

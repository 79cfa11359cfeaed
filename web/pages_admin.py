"""Admin pages: overview, users (add, disable, new password), seat-sizing what-if,
statistics and department ranking with CSV / XLSX export."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy import func, select

from hotline.settings import local_zone
from web.accounts import ROLES, AccountError, SessionInfo
from web.export import ranking_rows, to_csv, to_xlsx
from web.render import page
from web.session import page_user
from web.sizing_plot import curve, plot
from workorder import stats as stats_mod
from workorder.models import Department, Order

router = APIRouter(include_in_schema=False)
ADMIN = page_user("admin")
# the sizing curve is pure (Erlang A for every seat count, ~1 s): the same what-if is computed once
sizing_curve = lru_cache(maxsize=64)(curve)


def _departments(request: Request) -> dict[str, str]:
    with request.app.state.store.db.read() as s:
        return {d.code: d.name for d in s.scalars(select(Department).order_by(Department.code))}


@router.get("/admin")
async def admin_home(request: Request, info: SessionInfo = Depends(ADMIN)):
    def q():
        with request.app.state.store.db.read() as s:
            by_status = dict(s.execute(select(Order.status, func.count()).group_by(Order.status)).all())
        return by_status

    by_status = await run_in_threadpool(q)
    users = await run_in_threadpool(request.app.state.accounts.all)
    return page(request, "admin_home.html", by_status=by_status, users=users)


def _users_page(request: Request, status_code: int = 200, **ctx):
    return page(
        request,
        "admin_users.html",
        status_code=status_code,
        users=request.app.state.accounts.all(),
        departments=_departments(request),
        roles=ROLES,
        **{"error": "", "created": None, **ctx},
    )


@router.get("/admin/users")
async def users(request: Request, info: SessionInfo = Depends(ADMIN)):
    return await run_in_threadpool(_users_page, request)


@router.post("/admin/users")
async def add_user(
    request: Request,
    info: SessionInfo = Depends(ADMIN),
    name: str = Form("", max_length=40),
    role: str = Form(..., max_length=16),
    extension: str = Form("", max_length=8),
    department: str = Form("", max_length=32),
    display: str = Form("", max_length=80),
):
    try:
        account, password = await run_in_threadpool(
            request.app.state.accounts.add,
            name.strip() or None,
            role,
            None,
            extension=extension.strip() or None,
            department=department.strip() or None,
            display=display.strip(),
        )
    except AccountError as exc:
        return await run_in_threadpool(_users_page, request, 422, error=str(exc))
    return await run_in_threadpool(_users_page, request, 201, created={"name": account.name, "password": password})


@router.post("/admin/users/{name}/{action}")
async def user_action(name: str, action: str, request: Request, info: SessionInfo = Depends(ADMIN)):
    accounts = request.app.state.accounts
    try:
        if action in ("disable", "enable"):
            if name == info.account.name and action == "disable":
                raise AccountError("不能停用自己的账号")
            await run_in_threadpool(accounts.set_active, name, action == "enable")
            return await run_in_threadpool(_users_page, request)
        if action == "password":
            password = await run_in_threadpool(accounts.set_password, name)
            return await run_in_threadpool(_users_page, request, created={"name": name, "password": password})
    except AccountError as exc:
        return await run_in_threadpool(_users_page, request, 422, error=str(exc))
    return await run_in_threadpool(_users_page, request, 404, error=f"未知操作 {action}")


@router.get("/admin/sizing")
async def sizing_page(
    request: Request,
    info: SessionInfo = Depends(ADMIN),
    population: Annotated[int, Query(ge=1, le=200_000_000)] = 9_410_000,
    calls_per_day: Annotated[float, Query(ge=1, le=2_000_000)] = 30_000,
    aht: Annotated[float, Query(gt=0, le=3600)] = 240,
    patience: Annotated[float, Query(gt=0, le=3600)] = 90,
):
    result = await run_in_threadpool(sizing_curve, population, calls_per_day, aht, patience)
    v = result["verdict"]
    return page(
        request,
        "admin_sizing.html",
        population=population,
        calls_per_day=calls_per_day,
        aht=aht,
        patience=patience,
        verdict=v,
        points=result["points"],
        plot=plot(result["points"], v.rule.seats, v.seats_needed, v.target),
    )


def _period(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    until = (until.replace(tzinfo=local_zone()) if until and until.tzinfo is None else until) or datetime.now(
        local_zone()
    )
    since = (since.replace(tzinfo=local_zone()) if since and since.tzinfo is None else since) or until - timedelta(
        days=30
    )
    return since, until


def _stats(request: Request, since: datetime | None, until: datetime | None) -> tuple[dict, list[dict]]:
    s, u = _period(since, until)
    out = stats_mod.compute(request.app.state.store.db, s, u)
    return out, ranking_rows(stats_mod.ranking(out), _departments(request))


@router.get("/admin/stats")
async def stats_page(
    request: Request, info: SessionInfo = Depends(ADMIN), since: datetime | None = None, until: datetime | None = None
):
    out, ranking = await run_in_threadpool(_stats, request, since, until)
    return page(request, "admin_stats.html", stats=out, ranking=ranking, query=request.url.query)


@router.get("/admin/stats.{fmt}")
async def stats_export(
    fmt: str,
    request: Request,
    info: SessionInfo = Depends(ADMIN),
    since: datetime | None = None,
    until: datetime | None = None,
):
    out, ranking = await run_in_threadpool(_stats, request, since, until)
    if fmt == "csv":
        body, kind = await run_in_threadpool(to_csv, out, ranking), "text/csv; charset=utf-8"
    elif fmt == "xlsx":
        body = await run_in_threadpool(to_xlsx, out, ranking)
        kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        return Response("unknown format: csv or xlsx", status_code=404)
    return Response(
        body, media_type=kind, headers={"Content-Disposition": f'attachment; filename="hotline-stats.{fmt}"'}
    )

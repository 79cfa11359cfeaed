"""The monthly assessment (绩效管理) API: ``GET /api/v1/assessment?month=YYYY-MM`` (workorder/assess.py)."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import select

from hotline.auth import Principal, require_roles
from hotline.settings import local_zone
from hotline.transfer_map import load_map_for
from workorder.assess import month_of, next_month
from workorder.assess_data import report, seat_lines
from workorder.line_days import month_calls
from workorder.models import Department

router = APIRouter(prefix="/api/v1")
Month = Annotated[str, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM; default: the previous month")]


@lru_cache(maxsize=8)
def _seat_lines(settings, mtime_ns: int, day: date) -> dict[str, list[str]]:
    """The units' own seat lines of the map (parsed once per version of the file and day)."""
    return seat_lines(load_map_for(settings), day)


def map_seat_lines(settings, day: date) -> dict[str, list[str]]:
    try:
        mtime = settings.transfer_map.stat().st_mtime_ns
    except OSError:
        mtime = 0
    return _seat_lines(settings, mtime, day)


def previous_month(now: datetime | None = None) -> str:
    d = (now or datetime.now(local_zone())).astimezone(local_zone()).date().replace(day=1)
    return f"{d.year - (d.month == 1)}-{(d.month - 2) % 12 + 1:02d}"


def assessment_for(app: FastAPI, month: str | None) -> dict:
    """The report of ``month`` (default: the previous month) from the app's store, map and call figures."""
    store, settings = app.state.store, app.state.settings
    month = month or previous_month(store.now())
    with store.db.read() as s:
        names = {d.code: d.name for d in s.scalars(select(Department).order_by(Department.code))}
    tz = local_zone()
    lines = map_seat_lines(settings, store.now().astimezone(tz).date())
    first = month_of(month)
    calls = month_calls(store.db, first, next_month(first))
    return report(store.db, month, tz, store.cfg.assessment_classes, names, lines, calls, now=store.now())


@router.get("/assessment", tags=["statistics"])
async def assessment(
    request: Request,
    p: Principal = Depends(require_roles("dispatcher", "supervisor", "admin", "department")),
    month: Month | None = None,
):
    """Each handling unit's indicators and rank for the month; a department sees its own row."""
    try:
        out = await run_in_threadpool(assessment_for, request.app, month)
    except ValueError as exc:
        return JSONResponse(
            {"detail": [{"loc": ["query", "month"], "msg": str(exc), "type": "value_error"}]}, status_code=422
        )
    if p.role == "department":
        out["rows"] = [r for r in out["rows"] if r["unit"] == p.department]
    return JSONResponse(out)

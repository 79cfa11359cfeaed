"""分析研判 (analysis): the hot words and phrases of a period by area against the period before,
the sudden rises flagged, charted server-side (web/analysis_plot.py), exported as CSV / XLSX.
For supervisors and admins; the report is the API's (workorder/api/routes_analysis.py)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from hotline.settings import local_zone
from web.accounts import SessionInfo
from web.analysis_plot import bars, lines
from web.export import analysis_tables, write_csv, write_xlsx
from web.render import page
from web.session import page_user
from workorder import analysis
from workorder.api.routes_analysis import Area, Days, run_report

router = APIRouter(include_in_schema=False)
ANALYSTS = page_user("supervisor", "admin")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _until(day: date | None) -> datetime | None:
    """The chosen last day, through its end (local time); none: now."""
    if day is None:
        return None
    if day >= date.max:
        raise HTTPException(422, [{"loc": ["query", "until"], "msg": "until: no day after it", "type": "value_error"}])
    return datetime.combine(day + timedelta(days=1), time(), local_zone())


async def _report(request: Request, days: int, day: date | None, area: str) -> dict:
    return await run_in_threadpool(run_report, request, _until(day), days, area)


@router.get("/analysis")
async def analysis_page(
    request: Request,
    info: SessionInfo = Depends(ANALYSTS),
    days: Days = 7,
    until: date | None = None,
    area: Area = analysis.ALL,
):
    try:
        r, error = await _report(request, days, until, area), ""
    except HTTPException as exc:  # a bad area or day: the city's report (up to now), and why
        error, bad = exc.detail[0]["msg"], exc.detail[0]["loc"][-1]
        area, until = analysis.ALL, (None if bad == "until" else until)
        r = await _report(request, days, until, area)
    names = r["area_names"]
    return page(
        request,
        "analysis.html",
        status_code=422 if error else 200,
        report=r,
        error=error,
        days=days,
        choices=analysis.PERIOD_DAYS,
        until=until.isoformat() if until else "",
        area=area,
        names=names,
        query=request.url.query,
        terms_plot=bars(r["terms"]),
        areas_plot=bars(r["areas"], names, key="area"),
        trend_plot=lines(r["bins"], r["series"], r["period"]["since"]),
    )


@router.get("/analysis.{fmt}")
async def analysis_export(
    fmt: str,
    request: Request,
    info: SessionInfo = Depends(ANALYSTS),
    days: Days = 7,
    until: date | None = None,
    area: Area = analysis.ALL,
):
    if fmt not in ("csv", "xlsx"):
        return Response("unknown format: csv or xlsx", status_code=404)
    r = await _report(request, days, until, area)
    sheets = analysis_tables(r)
    if fmt == "csv":
        body, kind = await run_in_threadpool(write_csv, sheets), "text/csv; charset=utf-8"
    else:
        body, kind = await run_in_threadpool(write_xlsx, sheets), XLSX
    name = f"hotline-analysis-{area or 'city'}-{days}d.{fmt}"
    return Response(body, media_type=kind, headers={"Content-Disposition": f'attachment; filename="{name}"'})

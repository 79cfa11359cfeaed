"""The monthly assessment pages: the admin's report with XLSX / PDF export (/admin/assessment), and the
public ranking (/public/ranking: no login, unit names and indicators only; 定期排名并公开公布)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from web.accounts import SessionInfo
from web.assess_export import pct, to_csv, to_pdf, to_xlsx
from web.render import page
from web.session import page_user
from workorder.api.routes_assess import assessment_for
from workorder.assess import INDICATORS, public_rows

router = APIRouter(include_in_schema=False)
ASSESSORS = page_user("admin", "supervisor")
Month = Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")]
KINDS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def _report(request: Request, month: str | None) -> dict | None:
    try:
        return assessment_for(request.app, month)
    except ValueError:
        return None


def _bad_month(request: Request, month: str | None) -> Response:
    return page(request, "forbidden.html", status_code=422, message=f"月份 {month} 无效：请写 YYYY-MM")


@router.get("/admin/assessment")
async def assessment_page(request: Request, info: SessionInfo = Depends(ASSESSORS), month: Month = None):
    report = await run_in_threadpool(_report, request, month)
    if report is None:
        return _bad_month(request, month)
    return page(request, "admin_assessment.html", report=report, pct=pct)


@router.get("/admin/assessment.{fmt}")
async def assessment_export(fmt: str, request: Request, info: SessionInfo = Depends(ASSESSORS), month: Month = None):
    if fmt not in KINDS:
        return Response("unknown format: csv, xlsx or pdf", status_code=404)
    report = await run_in_threadpool(_report, request, month)
    if report is None:
        return _bad_month(request, month)
    body = await run_in_threadpool({"csv": to_csv, "xlsx": to_xlsx, "pdf": to_pdf}[fmt], report)
    name = f"hotline-assessment-{report['month']}.{fmt}"
    return Response(body, media_type=KINDS[fmt], headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/public/ranking")
async def public_ranking(request: Request, month: Month = None):
    report = await run_in_threadpool(_report, request, month)
    if report is None:
        return _bad_month(request, month)
    rows = [r for r in public_rows(report["rows"]) if r["rank"] is not None]
    return page(
        request,
        "public_ranking.html",
        month=report["month"],
        rows=rows,
        indicators=INDICATORS,
        call_window=report["call_window"],
        pct=pct,
    )

"""The analysis route (分析研判): GET /api/v1/analysis/hot-topics -> the hot words and phrases of
a period by area, against the period before, with the sudden rises flagged
(workorder/analysis.py, the method; workorder/analysis_service.py, the store's side).
Supervisors and admins; read-only; no caller data in the answer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool

from hotline.auth import Principal, require_roles
from hotline.settings import local_zone
from hotline.transfer_map import load_map_for
from workorder import analysis
from workorder.analysis_service import HotTopics, UnknownArea
from workorder.api.routes import _aware, store
from workorder.suggest import units_of_map

router = APIRouter(prefix="/api/v1", tags=["analysis"])
ANALYSTS = ("supervisor", "admin")
Area = Annotated[str, Query(max_length=32, pattern=r"^([a-z][a-z0-9_]{0,31})?$")]
Days = Annotated[int, Query(ge=1, le=analysis.MAX_DAYS)]


def hot_topics(request: Request) -> HotTopics:
    """The app's one HotTopics (its cache of segmented orders lives as long as the app)."""
    h = getattr(request.app.state, "hot_topics", None)
    if h is None:
        h = HotTopics(store(request).db, units_of_map(load_map_for(request.app.state.settings)))
        request.app.state.hot_topics = h
    return h


def run_report(request: Request, until: datetime | None, days: int, area: str) -> dict:
    """The report, or a 422 naming the bad field (an unknown area, an ``until`` at the end of time)."""
    h = hot_topics(request)
    try:
        return h.report(_aware(until) or datetime.now(local_zone()), days, area)
    except ValueError as exc:
        field = "area" if isinstance(exc, UnknownArea) else "until"
        raise HTTPException(422, [{"loc": ["query", field], "msg": str(exc), "type": "value_error"}]) from exc


@router.get("/analysis/hot-topics")
async def hot_topics_report(
    request: Request,
    p: Principal = Depends(require_roles(*ANALYSTS)),
    days: Days = 7,
    until: datetime | None = None,
    area: Area = analysis.ALL,
):
    """Hot words and phrases of the ``days`` before ``until`` (default now) in ``area`` (a district
    or county code; empty: the whole city) against the ``days`` before, and the spikes."""
    return await run_in_threadpool(run_report, request, until, days, area)

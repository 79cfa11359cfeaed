"""质检 (quality review): the newest recorded agent calls with their orders and a
player.  For quality reviewers, supervisors and admins; every playback goes
through ``GET /api/v1/orders/{id}/recording`` (role-checked and audit-logged
there, workorder/api/routes_recordings.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from web.accounts import SessionInfo
from web.render import page
from web.session import page_user
from workorder.api.routes_recordings import recordings_of
from workorder.models import CallRecording, Order

router = APIRouter(include_in_schema=False)
REVIEWERS = page_user("quality", "supervisor", "admin")
PAGE = 50


def _rows(request: Request, agent: str) -> list[dict]:
    recordings_of(request).sync()  # files written since the last jobs pass get their rows now
    with request.app.state.store.db.read() as s:
        q = (
            select(CallRecording, Order.number, Order.title, Order.status)
            .outerjoin(Order, Order.id == CallRecording.order_id)
            .where(CallRecording.purged_at.is_(None))
            .order_by(CallRecording.recorded_at.desc(), CallRecording.id.desc())
            .limit(PAGE)
        )
        if agent:
            q = q.where(CallRecording.agent == agent)
        return [
            {
                "name": r.name,
                "agent": r.agent or "",
                "at": r.recorded_at.isoformat(),
                "kb": max(1, r.size // 1024),
                "order_id": r.order_id,
                "number": number or "",
                "title": title or "",
                "status": status or "",
            }
            for r, number, title, status in s.execute(q)
        ]


@router.get("/quality")
async def quality_page(
    request: Request,
    info: SessionInfo = Depends(REVIEWERS),
    agent: Annotated[str, Query(max_length=40, pattern=r"^[A-Za-z0-9_.-]*$")] = "",
):
    try:
        rows, error = await run_in_threadpool(_rows, request, agent), ""
    except HTTPException as exc:  # no instance yet: the recordings directory is not known
        rows, error = [], f"录音目录不可用：{exc.detail}"
    return page(request, "quality.html", rows=rows, agent=agent, error=error)

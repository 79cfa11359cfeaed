"""Supervisor wallboard (监控大屏): queues, agents by state, the 24 h answer rate and the
15 s service level against the 95% target, live over the queues API's SSE stream."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from queues.sizing import SERVICE_LEVEL_SECONDS, TARGET_ANSWER_RATE
from web.accounts import SessionInfo
from web.render import page
from web.session import page_user

router = APIRouter(include_in_schema=False)
WATCH = page_user("supervisor", "dispatcher", "admin")


@router.get("/wallboard")
async def wallboard(request: Request, info: SessionInfo = Depends(WATCH)):
    return page(
        request,
        "wallboard.html",
        config={
            "target": TARGET_ANSWER_RATE,
            "sl_seconds": SERVICE_LEVEL_SECONDS,
            "stream": "/api/v1/queues/stream",
            "agents": "/api/v1/queues/agents",
        },
    )

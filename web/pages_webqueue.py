"""网上诉求待受理 — ``/appeals``: the citizens' web appeals waiting for the hotline, oldest first,
and a form per row for each step the state machine allows on it (web/webqueue.py).  The
hotline's roles only (agent, dispatcher, supervisor, admin); every form carries the session's
CSRF token; a refused step shows the queue again with the store's reason (409)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from web import webqueue
from web.accounts import SessionInfo
from web.render import page
from web.session import PageForbidden, page_user
from workorder.service import Conflict, NotFound
from workorder.states import DISPOSITIONS, EMERGENCY_LINES

router = APIRouter(include_in_schema=False)
HOTLINE = page_user("agent", "dispatcher", "supervisor", "admin")
FIELDS = ("version", "main_unit", "disposition", "transfer_to", "parent_number", "comment")
FIELD_MAX = 2000
DONE = {
    "accept": "已受理",
    "dispatch": "已派单",
    "reject": "已不予受理",
    "merge": "已并单",
}


def _queue_page(request: Request, info: SessionInfo, status_code: int = 200, notice: str = "", error: str = ""):
    data = webqueue.queue(request.app.state.store, info.account.principal)
    return page(
        request,
        "web_queue.html",
        status_code,
        notice=notice,
        error=error,
        dispositions=DISPOSITIONS,
        emergency_lines=EMERGENCY_LINES,
        **data,
    )


@router.get("/appeals")
async def appeals(request: Request, info: SessionInfo = Depends(HOTLINE), done: str = "", number: str = ""):
    notice = f"工单 {number} {DONE[done]}" if done in DONE and number.isdigit() else ""
    return await run_in_threadpool(_queue_page, request, info, 200, notice)


@router.post("/appeals/{order_id}/{action}")
async def appeal_act(
    request: Request, action: str, order_id: int = Path(ge=1, le=2**31), info: SessionInfo = Depends(HOTLINE)
):
    if action not in webqueue.ACTIONS:
        return await run_in_threadpool(_queue_page, request, info, 404, "", f"未知操作 {action[:32]}")
    form = await request.form(max_files=0, max_fields=len(FIELDS) + 2)
    values = {k: str(form.get(k) or "")[:FIELD_MAX] for k in FIELDS}
    request.state.audit_order_id = order_id
    try:
        out = await run_in_threadpool(
            webqueue.act, request.app.state.store, order_id, action, values, info.account.principal
        )
    except NotFound:
        raise PageForbidden("没有这张工单") from None
    except Conflict as exc:
        return await run_in_threadpool(_queue_page, request, info, 409, "", exc.message)
    return RedirectResponse(f"/appeals?done={action}&number={out['number']}", status_code=303)

"""The city's view of an order (工单全流程): the whole chain 市→县→县直部门, the first signer,
supervisions at each level, designations and joint meetings with the assisting units' parts.

Dispatchers, supervisors and admins record a joint meeting (联席会议) or designate a lead
(指定主办单位, 首接负责制) here; forms carry the session's CSRF token (web/session.py)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy import select

from web.accounts import SessionInfo
from web.render import page
from web.session import PageForbidden, page_user
from workorder.api.routes_chain import JointMeeting
from workorder.models import Department
from workorder.service import Conflict, NotFound, Store
from workorder.vocab import DESIGNATION_REASONS

router = APIRouter(include_in_schema=False)
VIEWERS = page_user("agent", "dispatcher", "supervisor", "admin")
DECIDERS = page_user("dispatcher", "supervisor", "admin")
DONE = {"joint_meeting": "联席会议已记录，工单按会议决定派发", "designate_lead": "已指定主办单位"}


def _store(request: Request) -> Store:
    return request.app.state.store


def _view(request: Request, info: SessionInfo, order_id: int, status_code: int = 200, error: str = "", notice=""):
    store, p = _store(request), info.account.principal
    try:
        order = store.get(order_id, p)
        chain = store.chain(order_id, p)
    except NotFound:
        raise PageForbidden(f"工单 {order_id} 不存在") from None
    with store.db.read() as s:
        depts = list(s.scalars(select(Department).order_by(Department.code)))
    return page(
        request,
        "order_chain.html",
        status_code=status_code,
        order=order,
        chain=chain,
        names={d.code: d.name for d in depts},
        # the city names top-level units only (a county department is reached through its county)
        units=[(d.code, d.name) for d in depts if d.parent is None and d.active],
        reasons=DESIGNATION_REASONS,
        error=error,
        notice=notice,
    )


@router.get("/orders")
async def find_order(request: Request, info: SessionInfo = Depends(VIEWERS), number: str = Query("", max_length=16)):
    if number:
        try:
            o = await run_in_threadpool(_store(request).get_by_number, number.strip(), info.account.principal)
        except NotFound:
            return page(request, "order_find.html", status_code=404, error=f"没有工单 {number}", number=number)
        return RedirectResponse(f"/orders/{o['id']}", status_code=303)
    return page(request, "order_find.html", error="", number="")


@router.get("/orders/{order_id}")
async def order_view(
    request: Request, order_id: int = Path(ge=1, le=2**31), info: SessionInfo = Depends(VIEWERS), done: str = ""
):
    return await run_in_threadpool(_view, request, info, order_id, notice=DONE.get(done, ""))


async def _act(request: Request, info: SessionInfo, order_id: int, action: str, payload: dict, version: int | None):
    try:
        await run_in_threadpool(_store(request).transition, order_id, action, payload, info.account.principal, version)
    except NotFound:
        raise PageForbidden(f"工单 {order_id} 不存在") from None
    except Conflict as exc:
        return await run_in_threadpool(_view, request, info, order_id, 409, exc.message)
    return RedirectResponse(f"/orders/{order_id}?done={action}", status_code=303)


@router.post("/orders/{order_id}/joint-meeting")
async def joint_meeting(request: Request, order_id: int = Path(ge=1, le=2**31), info: SessionInfo = Depends(DECIDERS)):
    form = await request.form()
    rows = zip(form.getlist("assist_unit"), form.getlist("assist_part"), strict=False)
    try:
        body = JointMeeting(
            held_on=form.get("held_on") or None,
            units_present=form.getlist("units_present"),
            decision=str(form.get("decision") or "").strip(),
            lead=form.get("lead") or "",
            assisting=[{"unit": u, "part": str(part).strip()} for u, part in rows if u],
            version=form.get("version") or None,
        )
    except ValidationError as exc:
        problems = "；".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return await run_in_threadpool(_view, request, info, order_id, 422, f"联席会议记录不完整：{problems}")
    return await _act(request, info, order_id, "joint_meeting", body.payload(), body.version)


@router.post("/orders/{order_id}/designate-lead")
async def designate_lead(
    request: Request,
    order_id: int = Path(ge=1, le=2**31),
    info: SessionInfo = Depends(DECIDERS),
    lead: str = Form("", max_length=32),
    reason: str = Form("", max_length=32),
    version: int | None = Form(None, ge=1),
):
    return await _act(request, info, order_id, "designate_lead", {"lead": lead, "reason": reason}, version)

"""Department portal (承办单位): its own orders only; sign, reply, ask for an extension
(延期) or a return (退单) with a reason.  Another unit's order is refused (403).

A county (县区) dispatches on to its own departments and reviews their returns and replies;
a county department (县直部门) signs, returns to the county and replies; an assisting unit
(协办) answers its part (workorder/states_chain.py)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from web.accounts import SessionInfo
from web.dept import alarms_of, unit_orders
from web.pages_citizen import desk_of
from web.render import page
from web.session import PageForbidden, page_user
from workorder.deadlines import UNITS
from workorder.models import Department, Order
from workorder.service import Conflict, NotFound, Store
from workorder.states_chain import TRANSITIONS as CHAIN

CHAIN_ACTIONS = tuple(a for a, t in CHAIN.items() if "department" in t.roles)

router = APIRouter(include_in_schema=False)
DEPT = page_user("department")
ACTIONS = ("sign", "reply", "request_extension", "return", *CHAIN_ACTIONS)
UNIT_TEXT = {"working_days": "个工作日", "calendar_days": "天", "minutes": "分钟"}
NOT_OURS = "此工单没有派给本单位，无权查看或办理"
DONE = {
    "sign": "已签收",
    "reply": "已答复，等待热线审核",
    "request_extension": "延期申请已提交，等待审批",
    "return": "退单申请已提交，等待热线审核",
    "sub_dispatch": "已转派县直部门",
    "sub_sign": "已签收县级交办",
    "sub_return": "已退回县级，等待县级审核",
    "sub_review_return": "已审核县直部门的退回",
    "sub_reply": "已答复县级，等待县级审核",
    "sub_review": "已审核县直部门的答复",
    "sub_supervise": "已督办县直部门",
    "part_reply": "协办答复已提交",
}
SUB_PAYLOAD = {
    "sub_dispatch": "unit",
    "sub_review_return": "decision",
    "sub_review": "decision",
    "sub_supervise": "kind",
}


def _store(request: Request) -> Store:
    return request.app.state.store


@router.get("/dept")
async def dept_home(request: Request, info: SessionInfo = Depends(DEPT), all: bool = False):
    p = info.account.principal
    orders = await run_in_threadpool(unit_orders, _store(request), p, not all)

    def name():
        with _store(request).db.read() as s:
            d = s.get(Department, p.department)
            return d.name if d else p.department

    return page(request, "dept_home.html", orders=orders, unit_name=await run_in_threadpool(name), show_all=all)


def _detail(
    request: Request, info: SessionInfo, order_id: int, status_code: int = 200, error: str = "", notice: str = ""
):
    store, p = _store(request), info.account.principal
    try:
        order = store.get(order_id, p)
        history = store.history(order_id, p)
    except NotFound:
        raise PageForbidden(NOT_OURS) from None
    with store.db.read() as s:
        row = s.scalars(select(Order).where(Order.id == order_id)).one()
        alarms = alarms_of(store, row, store.now(), p.department)
        depts = list(s.scalars(select(Department).order_by(Department.code)))
    names = {d.code: d.name for d in depts}
    parts = store.chain(order_id, p)["parts"] if order["co_units"] else []
    photos = desk_of(request).photos_of(order_id)  # a citizen's web appeal (web/pages_citizen.py)
    return page(
        request,
        "dept_order.html",
        status_code=status_code,
        order=order,
        history=history,
        alarms=alarms,
        names=names,
        error=error,
        notice=notice,
        units=UNIT_TEXT,
        lead=order["main_unit"] == p.department,
        photos=photos,
        # a county's own departments (县直部门), to dispatch on to
        children=[(d.code, d.name) for d in depts if d.parent == p.department and d.active],
        my_part=next((x["part"] for x in parts if x["unit"] == p.department), ""),
        sub_unit=order["sub_unit"] == p.department,
    )


@router.get("/dept/orders/{order_id}")
async def dept_order(
    request: Request, order_id: int = Path(ge=1, le=2**31), info: SessionInfo = Depends(DEPT), done: str = ""
):
    return await run_in_threadpool(_detail, request, info, order_id, notice=DONE.get(done, ""))


def _payload(action: str, content: str, reason: str, amount: int | None, unit: str, choice: str) -> dict:
    if action in ("reply", "sub_reply", "part_reply"):
        return {"content": content}
    if action in ("return", "sub_return"):
        return {"reason": reason}
    if action in SUB_PAYLOAD:
        return {SUB_PAYLOAD[action]: choice, **({"note": reason} if action == "sub_supervise" else {})}
    if action == "request_extension":
        return {"reason": reason, "extra": f"{amount} {unit}" if amount else ""}
    return {}


@router.post("/dept/orders/{order_id}/{action}")
async def dept_act(
    request: Request,
    action: str,
    order_id: int = Path(ge=1, le=2**31),
    info: SessionInfo = Depends(DEPT),
    version: int | None = Form(None, ge=1),
    content: str = Form("", max_length=10000),
    reason: str = Form("", max_length=2000),
    amount: int | None = Form(None, ge=1, le=365),
    unit: str = Form("working_days"),
    choice: str = Form("", max_length=32),
):
    if action not in ACTIONS:
        return await run_in_threadpool(_detail, request, info, order_id, 404, f"未知操作 {action}")
    if unit not in UNITS:
        return await run_in_threadpool(_detail, request, info, order_id, 422, f"时限单位应为 {', '.join(UNITS)}")
    payload = _payload(action, content.strip(), reason.strip(), amount, unit, choice.strip())
    comment = reason.strip() or None
    try:
        await run_in_threadpool(
            _store(request).transition, order_id, action, payload, info.account.principal, version, comment
        )
    except NotFound:
        raise PageForbidden(NOT_OURS) from None
    except Conflict as exc:
        return await run_in_threadpool(_detail, request, info, order_id, 409, exc.message)
    return RedirectResponse(f"/dept/orders/{order_id}?done={action}", status_code=303)

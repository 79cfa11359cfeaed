"""Agent desktop (坐席工作台): queue state, softphone, screen pop, order form, knowledge base."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from queues.agents import PAUSE_REASONS
from web import desk, desk_phone
from web.accounts import SessionInfo
from web.render import page
from web.session import page_user
from workorder.api.schemas import OrderFields, Text, UnitCode
from workorder.models import Category, Department
from workorder.states import DISPOSITIONS, EMERGENCY_LINES, REQUEST_TYPES, URGENCIES

router = APIRouter(include_in_schema=False)
AGENT = page_user("agent")
PAUSE_TEXT = {
    "break": "小休",
    "lunch": "用餐",
    "training": "培训",
    "meeting": "会议",
    "after-call": "话后整理",
    "other": "其他",
}


class Submit(BaseModel):
    """The order form: its fields, and the step to take after saving them."""

    model_config = ConfigDict(extra="forbid")
    step: Literal[desk.STEPS] = "save"  # type: ignore[valid-type]
    fields: OrderFields = Field(default_factory=OrderFields)
    version: Annotated[int, Field(ge=1, le=2**31)] | None = None
    main_unit: UnitCode | None = None
    co_units: list[UnitCode] = Field(default_factory=list, max_length=20)
    answer: Text(10000) | None = None
    kb_refs: list[Annotated[int, Field(ge=1, le=2**31)]] = Field(default_factory=list, max_length=50)
    disposition: Literal[tuple(DISPOSITIONS)] | None = None  # type: ignore[valid-type]
    transfer_to: Literal[EMERGENCY_LINES] | None = None  # type: ignore[valid-type]
    parent_id: Annotated[int, Field(ge=1, le=2**31)] | None = None
    comment: Text(2000) | None = None


def _reference(request: Request) -> dict:
    with request.app.state.store.db.read() as s:
        depts = [
            {"code": d.code, "name": d.name, "kind": d.kind}
            # the city dispatches to top-level units: a county department (parent) through its county
            for d in s.scalars(
                select(Department)
                .where(Department.active.is_(True), Department.parent.is_(None))
                .order_by(Department.code)
            )
        ]
        cats = [
            {"code": c.code, "name": c.name, "level": sum(c.code[i : i + 2] != "00" for i in (2, 4))}
            for c in s.scalars(select(Category).order_by(Category.code))
        ]
    return {"departments": depts, "categories": cats}


@router.get("/agent")
async def agent_page(request: Request, info: SessionInfo = Depends(AGENT)):
    ref = await run_in_threadpool(_reference, request)
    settings, ext = request.app.state.settings, info.account.extension or ""
    people = await run_in_threadpool(request.app.state.accounts.all)
    config = {
        "agent": info.account.name,
        "extension": ext,
        "softphone": desk_phone.softphone_config(
            settings, request.url.hostname or settings.bind, ext, info.account.display or info.account.name
        ),
        "transfers": await run_in_threadpool(desk_phone.transfer_targets, settings, people),
        "types": REQUEST_TYPES,
        "urgencies": URGENCIES,
        "dispositions": DISPOSITIONS,
        "emergency_lines": list(EMERGENCY_LINES),
        "pause_reasons": {r: PAUSE_TEXT.get(r, r) for r in PAUSE_REASONS},
        **ref,
    }
    return page(request, "agent.html", config=config)


@router.get("/agent/softphone")
async def agent_softphone(request: Request, info: SessionInfo = Depends(AGENT)):
    """The agent's own SIP password for the page's softphone (never cached, never in the HTML)."""
    settings = request.app.state.settings
    password = await run_in_threadpool(desk_phone.softphone_password, settings, info.account.extension or "")
    return JSONResponse({"password": password}, headers={"Cache-Control": "no-store"})


@router.get("/agent/pop")
async def agent_pop(
    request: Request,
    info: SessionInfo = Depends(AGENT),
    linkedid: Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:@-]+$")] = "",
):
    store, p = request.app.state.store, info.account.principal
    if linkedid:
        return JSONResponse(await run_in_threadpool(desk.call_pop, store, linkedid, p))
    return JSONResponse(await run_in_threadpool(desk.current_draft, store, p))


@router.get("/agent/recent")
async def agent_recent(request: Request, info: SessionInfo = Depends(AGENT)):
    return JSONResponse(
        {"items": await run_in_threadpool(desk.recent, request.app.state.store, info.account.principal)}
    )


@router.post("/agent/orders/{order_id}/submit")
async def agent_submit(
    body: Submit, request: Request, order_id: int = Path(ge=1, le=2**31), info: SessionInfo = Depends(AGENT)
):
    request.state.audit_order_id = order_id
    data = body.model_dump(exclude={"fields"})
    data["fields"] = body.fields.model_dump(exclude_unset=True)
    return JSONResponse(
        await run_in_threadpool(desk.submit, request.app.state.store, order_id, data, info.account.principal)
    )

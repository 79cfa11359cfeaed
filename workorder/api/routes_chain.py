"""The county chain and the joint meetings of an order (县级承办, 联席会议; workorder/states_chain.py).

``GET  /api/v1/orders/{id}/chain``           the whole chain 市→县→县直部门 (anyone who sees the order)
``POST /api/v1/orders/{id}/joint-meetings``  record a 联席会议; the order follows its decision
``GET  /api/v1/orders/{id}/joint-meetings``  the meetings and the assisting units' parts
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import Field

from hotline.auth import Principal, require_roles
from workorder.api.schemas import Text, UnitCode, _Body
from workorder.service import Store

router = APIRouter(prefix="/api/v1")
PEOPLE = ("agent", "dispatcher", "department", "supervisor", "admin")
OrderId = Annotated[int, Path(ge=1, le=2**31)]


class AssistingPart(_Body):
    unit: UnitCode
    part: Text(500, 1) = Field(description="what this assisting unit (协办单位) answers for")


class JointMeeting(_Body):
    """A 联席会议 on an order: who met, what they decided, the lead and the assisting units."""

    held_on: date
    units_present: list[UnitCode] = Field(min_length=2, max_length=30)
    decision: Text(2000, 1)
    lead: UnitCode
    assisting: list[AssistingPart] = Field(min_length=1, max_length=20)
    version: Annotated[int, Field(ge=1, le=2**31)] | None = None
    comment: Text(2000) | None = None

    def payload(self) -> dict:
        data = self.model_dump(exclude={"version", "comment"})
        data["held_on"] = self.held_on.isoformat()
        return data


def store(request: Request) -> Store:
    return request.app.state.store


@router.get("/orders/{order_id}/chain", tags=["orders"])
async def order_chain(order_id: OrderId, request: Request, p: Principal = Depends(require_roles(*PEOPLE))):
    request.state.audit_order_id = order_id
    return JSONResponse(await run_in_threadpool(store(request).chain, order_id, p))


@router.post("/orders/{order_id}/joint-meetings", status_code=201, tags=["orders"])
async def record_joint_meeting(
    order_id: OrderId,
    body: JointMeeting,
    request: Request,
    p: Principal = Depends(require_roles("dispatcher", "supervisor", "admin")),
):
    request.state.audit_order_id = order_id
    out = await run_in_threadpool(
        store(request).transition, order_id, "joint_meeting", body.payload(), p, body.version, body.comment
    )
    return JSONResponse(out, status_code=201)


@router.get("/orders/{order_id}/joint-meetings", tags=["orders"])
async def joint_meetings(order_id: OrderId, request: Request, p: Principal = Depends(require_roles(*PEOPLE))):
    request.state.audit_order_id = order_id
    chain = await run_in_threadpool(store(request).chain, order_id, p)
    return {"items": chain["joint_meetings"], "parts": chain["parts"]}

"""The /api/v1 routes.  Every route declares its roles with ``require_roles``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import select

from hotline.auth import Principal, require_roles
from hotline.settings import local_zone
from workorder import photos
from workorder.api.schemas import (
    CallAnswered,
    CallsAnswered,
    IvrDraft,
    IvrSurvey,
    OrderCreate,
    OrderPatch,
    Text,
    TokenCreate,
    TransitionBody,
    TypeCode,
)
from workorder.models import AuditLog
from workorder.service import Store
from workorder.states import ACTIONS, DISPOSITIONS, REQUEST_TYPES, SATISFACTION, STATUSES, TRANSITIONS, URGENCIES

router = APIRouter(prefix="/api/v1")

PEOPLE = ("agent", "dispatcher", "department", "supervisor", "admin")
HOTLINE = ("agent", "dispatcher", "supervisor", "admin")
OrderId = Annotated[int, Path(ge=1, le=2**31)]
StatusCode = Literal[tuple(STATUSES)]  # type: ignore[valid-type]


def store(request: Request) -> Store:
    return request.app.state.store


def _mark(request: Request, order_id: int | None) -> None:
    request.state.audit_order_id = order_id


def _aware(d: datetime | None) -> datetime | None:
    if d is None:
        return None
    return d.replace(tzinfo=local_zone()) if d.tzinfo is None else d


# -- orders ---------------------------------------------------------------------------


@router.post("/orders", status_code=201, tags=["orders"])
async def create_order(
    body: OrderCreate, request: Request, p: Principal = Depends(require_roles("agent", "dispatcher", "admin"))
):
    data = body.model_dump(exclude_none=True)
    accept = data.pop("accept", False)
    out = await run_in_threadpool(store(request).create, data, p, "accepted" if accept else "draft")
    _mark(request, out["id"])
    return JSONResponse(out, status_code=201)  # plain JSON types already: skip the generic encoder


@router.get("/orders", tags=["orders"])
async def list_orders(
    request: Request,
    p: Principal = Depends(require_roles(*PEOPLE)),
    status: StatusCode | None = None,
    type: TypeCode | None = None,
    unit: Annotated[str, Query(pattern=r"^[a-z][a-z0-9_]{0,31}$")] | None = None,
    phone: Annotated[str, Query(pattern=r"^\+?[0-9]{3,20}$")] | None = None,
    q: Annotated[Text(100, 1), Query()] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    overdue: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before_id: Annotated[int, Query(ge=1, le=2**31)] | None = None,
):
    """The newest orders first; ``phone`` looks them up by caller number (:mod:`workorder.privacy`:
    403 for a role that never sees numbers, and only orders whose caller the principal sees)."""
    return JSONResponse(
        await run_in_threadpool(
            store(request).list,
            p,
            status=status,
            type_=type,
            unit=unit,
            phone=phone,
            q=q,
            since=_aware(since),
            until=_aware(until),
            overdue=overdue,
            limit=limit,
            before_id=before_id,
        )
    )


@router.get("/orders/by-number/{number}", tags=["orders"])
async def get_order_by_number(
    number: Annotated[str, Path(pattern=r"^[0-9]{8,16}$")],
    request: Request,
    p: Principal = Depends(require_roles(*PEOPLE)),
):
    out = await run_in_threadpool(store(request).get_by_number, number, p)
    _mark(request, out["id"])
    return out


@router.get("/orders/{order_id}", tags=["orders"])
async def get_order(order_id: OrderId, request: Request, p: Principal = Depends(require_roles(*PEOPLE))):
    _mark(request, order_id)
    return await run_in_threadpool(store(request).get, order_id, p)


@router.patch("/orders/{order_id}", tags=["orders"])
async def patch_order(
    order_id: OrderId,
    body: OrderPatch,
    request: Request,
    p: Principal = Depends(require_roles("agent", "dispatcher", "admin")),
):
    _mark(request, order_id)
    data = body.model_dump(exclude_unset=True)
    version = data.pop("version", None)
    return await run_in_threadpool(store(request).update, order_id, data, p, version)


@router.delete("/orders/{order_id}", status_code=204, tags=["orders"])
async def delete_order(
    order_id: OrderId, request: Request, p: Principal = Depends(require_roles("agent", "dispatcher", "admin"))
):
    _mark(request, order_id)
    # the draft, then its photos' files (workorder/photos.py)
    await run_in_threadpool(photos.delete_order, store(request), request.app.state.settings.citizen_photos, order_id, p)
    return Response(status_code=204)


@router.post("/orders/{order_id}/transitions", tags=["orders"])
async def transition(
    order_id: OrderId, body: TransitionBody, request: Request, p: Principal = Depends(require_roles(*PEOPLE))
):
    _mark(request, order_id)
    return JSONResponse(
        await run_in_threadpool(
            store(request).transition, order_id, body.action, body.payload, p, body.version, body.comment
        )
    )


@router.get("/orders/{order_id}/history", tags=["orders"])
async def order_history(order_id: OrderId, request: Request, p: Principal = Depends(require_roles(*PEOPLE))):
    _mark(request, order_id)
    return await run_in_threadpool(store(request).history, order_id, p)


@router.get("/workflow", tags=["reference"])
async def workflow(p: Principal = Depends(require_roles(*PEOPLE))):
    """The transition table, statuses and codes (for the desktop)."""
    return {
        "statuses": STATUSES,
        "types": REQUEST_TYPES,
        "urgencies": URGENCIES,
        "dispositions": DISPOSITIONS,
        "satisfaction": {str(k): v for k, v in SATISFACTION.items()},
        "actions": {
            a: {"label": t.label, "from": sorted(t.sources), "roles": sorted(t.roles)} for a, t in TRANSITIONS.items()
        },
        "action_order": list(ACTIONS),
    }


# -- call hand-off and IVR ------------------------------------------------------------


@router.post("/calls/answered", status_code=201, tags=["calls"])
async def calls_answered(
    body: CallAnswered, request: Request, response: Response, p: Principal = Depends(require_roles("calls", "agent"))
):
    if body.peer_order and body.peer:  # a call from the other level: its order, mirrored here
        view, created = await run_in_threadpool(
            request.app.state.exchange.link_call, body.peer, body.peer_order, body.linkedid
        )
        response.status_code = 201 if created else 200
        _mark(request, None)
        return {"order": view, "open_orders": []}
    out, created = await run_in_threadpool(store(request).call_answered, body.model_dump(), p)
    if not created:
        response.status_code = 200
    _mark(request, out["order"]["id"])
    return out


@router.post("/calls/answered/batch", tags=["calls"])
async def calls_answered_batch(body: CallsAnswered, request: Request, p: Principal = Depends(require_roles("calls"))):
    """Several answered calls in one request and one transaction (the AMI hand-off's batch):
    ``{"results": [{"linkedid", "status", "order": {"id", "number"}}, ...]}`` in the order of
    ``calls``, each ``status`` what ``POST /calls/answered`` would have answered for that call
    (201 made, 200 the call had its order; 500 that call failed, the others stored).  Each
    order gets its own audit row.  A call from the other level is linked to its mirror, one by one."""
    calls = [c.model_dump() for c in body.calls]
    results: list[dict | None] = [None] * len(calls)
    local = [i for i, c in enumerate(calls) if not (c["peer_order"] and c["peer"])]
    if local:
        stored = await run_in_threadpool(store(request).calls_answered, [calls[i] for i in local], p)
        for i, res in zip(local, stored, strict=True):
            results[i] = res
    for i, c in enumerate(calls):
        if results[i] is None:  # a call from the other level: its order, mirrored here
            view, created = await run_in_threadpool(
                request.app.state.exchange.link_call, c["peer"], c["peer_order"], c["linkedid"]
            )
            order = {"number": view["number"], "mirrored": True}  # the other level's order
            results[i] = {"linkedid": c["linkedid"], "status": 201 if created else 200, "order": order}
    return {"results": results}


@router.get("/ivr/orders/{number}", tags=["ivr"])
async def ivr_order(
    number: Annotated[str, Path(max_length=32)],
    request: Request,
    caller: Annotated[str, Query(max_length=32, pattern=r"^[+0-9A-Za-z_-]*$")] = "",
    last4: Annotated[str, Query(max_length=8)] | None = None,
    p: Principal = Depends(require_roles("ivr")),
):
    return await run_in_threadpool(store(request).ivr_status, number, caller, last4)


@router.post("/ivr/surveys", status_code=201, tags=["ivr"])
async def ivr_survey(body: IvrSurvey, request: Request, p: Principal = Depends(require_roles("ivr"))):
    out = await run_in_threadpool(store(request).ivr_survey, body.linkedid, body.caller, body.score, p)
    _mark(request, out["order_id"])
    return out


@router.post("/ivr/drafts", status_code=201, tags=["ivr"])
async def ivr_draft(body: IvrDraft, request: Request, p: Principal = Depends(require_roles("ivr"))):
    out = await run_in_threadpool(store(request).ivr_draft, body.model_dump(), p)
    _mark(request, out["id"])
    return out


# -- tokens and audit -------------------------------------------------------------------


@router.post("/tokens", status_code=201, tags=["admin"])
async def issue_token(body: TokenCreate, request: Request, p: Principal = Depends(require_roles("admin"))):
    if body.role == "department" and not body.department:
        raise HTTPException(
            422,
            [{"loc": ["body", "department"], "msg": "a department token needs a department", "type": "value_error"}],
        )
    token = await run_in_threadpool(store(request).issue_token, body.subject, body.role, body.department)
    return {"token": token, "subject": body.subject, "role": body.role, "department": body.department}


@router.get("/audit", tags=["admin"])
async def audit(
    request: Request,
    p: Principal = Depends(require_roles("admin", "supervisor")),
    order_id: Annotated[int, Query(ge=1, le=2**31)] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
):
    def q():
        stmt = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
        if order_id:
            stmt = stmt.where(AuditLog.order_id == order_id)
        with store(request).db.read() as s:
            return [
                {
                    "id": a.id,
                    "at": a.at.isoformat(),
                    "subject": a.subject,
                    "role": a.role,
                    "method": a.method,
                    "path": a.path,
                    "what": a.what,
                    "status": a.status_code,
                    "order_id": a.order_id,
                }
                for a in s.scalars(stmt)
            ]

    return {"items": await run_in_threadpool(q)}

"""Agent calls' recordings of an order: list, play / download.

Who may listen: the agent of that call (its own calls only), supervisors, quality reviewers
(质检员) and admins; dispatchers and departments may not.  Every access, allowed or refused,
is one row of the audit log under the user's name (the audit middleware, with the order's id)
and one line of the API's log.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from hotline.auth import Principal, require_roles
from hotline.instance import read_instance_paths
from hotline.log import event
from workorder.models import CallRecording, Order
from workorder.recordings import Recordings

router = APIRouter(prefix="/api/v1", tags=["recordings"])
log = logging.getLogger("workorder.api.recordings")

LISTENERS = ("agent", "supervisor", "quality", "admin")
OrderId = Annotated[int, Path(ge=1, le=2**31)]


def recordings_of(request: Request) -> Recordings:
    rec = getattr(request.app.state, "recordings", None)
    if rec is None:
        try:
            directory = read_instance_paths(request.app.state.settings).calls_host
        except FileNotFoundError as exc:
            raise HTTPException(503, str(exc)) from None
        rec = request.app.state.recordings = Recordings(request.app.state.store.db, directory)
    return rec


def _may_listen(p: Principal, order: Order) -> bool:
    return p.role != "agent" or (bool(order.agent) and order.agent == p.subject)


async def _of_order(request: Request, order_id: int, p: Principal) -> tuple[Recordings, list[CallRecording]]:
    request.state.audit_order_id = order_id
    rec = recordings_of(request)
    order, rows = await run_in_threadpool(rec.of_order, order_id)
    if order is None:
        raise HTTPException(404, f"no order {order_id}")
    if not _may_listen(p, order):
        event(log, "recording refused", logging.WARNING, user=p.subject, role=p.role, order=order.number)
        raise HTTPException(403, "an agent may listen to its own calls only")
    return rec, rows


def _view(order_id: int, r: CallRecording) -> dict:
    return {
        "name": r.name,
        "linkedid": r.linkedid,
        "agent": r.agent,
        "size": r.size,
        "recorded_at": r.recorded_at.isoformat(),
        "purged": r.purged_at is not None,
        "purged_at": r.purged_at.isoformat() if r.purged_at else None,
        "url": f"/api/v1/orders/{order_id}/recording?name={r.name}",
    }


@router.get("/orders/{order_id}/recordings")
async def list_recordings(order_id: OrderId, request: Request, p: Principal = Depends(require_roles(*LISTENERS))):
    _, rows = await _of_order(request, order_id, p)
    return {"order_id": order_id, "recordings": [_view(order_id, r) for r in rows]}


@router.get("/orders/{order_id}/recording", response_class=FileResponse)
async def get_recording(
    order_id: OrderId,
    request: Request,
    name: Annotated[str | None, Query(max_length=120)] = None,
    download: bool = False,
    p: Principal = Depends(require_roles(*LISTENERS)),
):
    """The call's recording (audio/wav): the first agent's, or ``name``; ``download=1`` as an attachment."""
    rec, rows = await _of_order(request, order_id, p)
    row = next((r for r in rows if name in (None, r.name)), None)
    if row is None:
        raise HTTPException(404, "no recording of this call")
    path = rec.path(row)
    if path is None:
        raise HTTPException(410, f"recording {row.name} was purged (retention)")
    event(log, "recording played", user=p.subject, role=p.role, order_id=order_id, name=row.name)
    return FileResponse(
        path,
        media_type="audio/wav",
        filename=row.name,
        content_disposition_type="attachment" if download else "inline",
    )

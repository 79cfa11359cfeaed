"""The photos of the citizens' web appeals, for the staff: the handling department sees the
photos of the orders dispatched to it (the store's own visibility rule), the hotline's roles
those of every order.  A photo of an order the user may not see, or none, answers 403 alike."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from web.accounts import SessionInfo
from web.pages_citizen import desk_of
from web.session import PageForbidden, page_user

router = APIRouter(include_in_schema=False)
STAFF = page_user("department", "agent", "dispatcher", "supervisor", "admin")


@router.get("/dept/orders/{order_id}/photos/{photo_id}")
async def order_photo(
    request: Request,
    order_id: int = Path(ge=1, le=2**31),
    photo_id: int = Path(ge=1, le=2**31),
    info: SessionInfo = Depends(STAFF),
):
    found = await run_in_threadpool(desk_of(request).photo_file, order_id, photo_id, info.account.principal)
    if found is None:
        raise PageForbidden("照片不存在，或此工单不归本单位办理")
    request.state.audit_order_id = order_id
    path, content_type = found
    return FileResponse(
        path,
        media_type=content_type,
        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
    )

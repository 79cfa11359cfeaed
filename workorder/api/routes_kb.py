"""The API's knowledge-base routes (/api/v1/kb): search, entries, versions, lifecycle.

Who may do what is ``workorder/kb_rules.py``: agents and the IVR read published, unexpired
entries; department users write their own department's entries; supervisors and admins
(the hotline's KB editors) write any and publish.  Refusals are 403 (role, not the owner),
404, 409 (``invalid_state``, ``same_person``, ``version_conflict``) and 422 (bad fields),
with ``{"detail", "reason"}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from hotline.auth import Principal, require_roles
from workorder.api.routes import PEOPLE, OrderId, _aware
from workorder.api.schemas import KbAction, KbCreate, KbUpdate, Text
from workorder.kb import KbError, KnowledgeBase
from workorder.kb_rules import CURATOR_ROLES, STATUSES, WRITER_ROLES, Actor

router = APIRouter(prefix="/api/v1/kb", tags=["knowledge"])
READERS = (*PEOPLE, "ivr")
Dept = Annotated[str, Query(pattern=r"^[a-z][a-z0-9_]{0,31}$")]


def kb(request: Request) -> KnowledgeBase:
    return request.app.state.kb


def actor(p: Principal) -> Actor:
    return Actor(p.subject, p.role, p.department)


async def _call(fn, *args) -> Any:
    try:
        return await run_in_threadpool(fn, *args)
    except KbError as e:
        if e.status == 422:
            return JSONResponse({"detail": [{"loc": ["body"], "msg": e.message, "type": e.reason}]}, status_code=422)
        return JSONResponse({"detail": e.message, "reason": e.reason}, status_code=e.status)


@router.get("/search")
async def kb_search(
    request: Request,
    p: Principal = Depends(require_roles(*READERS)),
    q: Annotated[Text(100), Query()] = "",
    department: Dept | None = None,
    include_expired: bool = Query(False, description="editors and departments only: expired entries too, flagged"),
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
):
    if include_expired and p.role not in CURATOR_ROLES:
        raise HTTPException(403, f"role {p.role!r} sees only live entries")
    return {"items": await run_in_threadpool(kb(request).search, q, department, None, include_expired, limit)}


@router.get("/hot")
async def kb_hot(
    request: Request,
    p: Principal = Depends(require_roles(*READERS)),
    limit: Annotated[int, Query(ge=1, le=9)] = 5,
):
    """The hot questions (热点问题) the IVR reads: live entries tagged 热点, newest first, with the answer."""
    return {"items": await run_in_threadpool(kb(request).hot, limit)}


@router.get("/articles")
async def kb_list(
    request: Request,
    p: Principal = Depends(require_roles(*CURATOR_ROLES)),
    status: Literal[STATUSES] | None = None,  # type: ignore[valid-type]
    department: Dept | None = None,
    expired: bool | None = Query(None, description="true: only entries past their expiry date (to renew or archive)"),
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
):
    return {"items": await run_in_threadpool(kb(request).entries, status, department, expired, limit)}


@router.get("/articles/{article_id}")
async def kb_get(article_id: OrderId, request: Request, p: Principal = Depends(require_roles(*READERS))):
    out = await run_in_threadpool(kb(request).get, article_id, actor(p))
    if out is None:
        raise HTTPException(404, f"entry {article_id} not found")
    return out


@router.get("/articles/{article_id}/versions/{n}")
async def kb_version(
    article_id: OrderId,
    n: Annotated[int, Path(ge=1, le=2**31)],
    request: Request,
    p: Principal = Depends(require_roles(*CURATOR_ROLES)),
):
    out = await run_in_threadpool(kb(request).version, article_id, n)
    if out is None:
        raise HTTPException(404, f"entry {article_id} has no version {n}")
    return out


def _dates(data: dict[str, Any]) -> dict[str, Any]:
    if "valid_from" in data:
        v: datetime | None = data["valid_from"]
        data["valid_from"] = _aware(v)
    return data


@router.post("/articles", status_code=201)
async def kb_create(body: KbCreate, request: Request, p: Principal = Depends(require_roles(*WRITER_ROLES))):
    return await _call(kb(request).create, _dates(body.model_dump()), actor(p))


@router.put("/articles/{article_id}")
async def kb_update(
    article_id: OrderId, body: KbUpdate, request: Request, p: Principal = Depends(require_roles(*WRITER_ROLES))
):
    data = _dates(body.model_dump(exclude_unset=True))
    version = data.pop("version", None)
    if not data:
        raise HTTPException(422, "nothing to change")
    return await _call(kb(request).update, article_id, data, actor(p), version)


@router.post("/articles/{article_id}/transitions")
async def kb_transition(
    article_id: OrderId, body: KbAction, request: Request, p: Principal = Depends(require_roles(*WRITER_ROLES))
):
    return await _call(kb(request).act, article_id, body.action, actor(p), body.version)

"""The two-level exchange's routes (docs/province.md).

``POST /api/v1/exchange/events``: the province receives one event a city pushed
(workorder/outbox.py), format docs/exchange.schema.json, role ``exchange`` (the
token the province gives each city as its HOTLINE_UPSTREAM_TOKEN).  Only a platform
in the province role receives: a city answers 404, so a city misconfigured to push
to another city sees it at once and keeps its events.  ``GET
/api/v1/exchange/orders/{source}/{number}``: the mirror of an order of the other
level (what a transferred call's agent sees), with its event history.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.concurrency import run_in_threadpool

from hotline.auth import Principal, require_roles
from hotline.settings import EXCHANGE_NAME_RE
from workorder.api.schemas_exchange import ExchangeEventIn
from workorder.exchange_store import Exchange

router = APIRouter(prefix="/api/v1/exchange", tags=["exchange"])

READERS = ("agent", "dispatcher", "supervisor", "admin", "exchange")


def exchange(request: Request) -> Exchange:
    return request.app.state.exchange


@router.post("/events")
async def receive_event(body: ExchangeEventIn, request: Request, p: Principal = Depends(require_roles("exchange"))):
    role = request.app.state.settings.role
    if role != "province":
        raise HTTPException(404, f"this is a {role} platform: the province platform receives the exchange")
    return await run_in_threadpool(exchange(request).receive, body.event())


@router.get("/orders/{source}/{number}")
async def mirrored_order(
    source: Annotated[str, Path(pattern=EXCHANGE_NAME_RE.pattern)],
    number: Annotated[str, Path(pattern=r"^[0-9A-Za-z]{1,32}$")],
    request: Request,
    p: Principal = Depends(require_roles(*READERS)),
):
    return await run_in_threadpool(exchange(request).order, source, number)

"""The dispatch suggestions route: POST /api/v1/orders/suggest {content} -> ranked units and
categories (workorder/suggest.py).  Read-only: a suggestion never dispatches; the agent (or
dispatcher, supervisor) confirms by filling the order's fields."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict

from hotline.auth import Principal, require_roles
from hotline.transfer_map import load_map_for
from workorder import suggest
from workorder.api.routes import HOTLINE, store
from workorder.api.schemas import Text
from workorder.config import load_categories, load_category_keywords

router = APIRouter(prefix="/api/v1", tags=["orders"])


class SuggestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content: Text(4000, 1)  # type: ignore[valid-type]
    limit: int = 3


def suggester(request: Request) -> suggest.Suggester:
    s = getattr(request.app.state, "suggester", None)
    if s is None:
        cats = load_categories()
        s = suggest.Suggester(
            store(request).db,
            suggest.units_of_map(load_map_for(request.app.state.settings)),
            cats,
            load_category_keywords(categories=cats),
            kb=request.app.state.kb,
        )
        request.app.state.suggester = s
    return s


@router.post("/orders/suggest")
async def suggest_dispatch(body: SuggestBody, request: Request, p: Principal = Depends(require_roles(*HOTLINE))):
    """The handling units and categories the content points to, best first, with why."""
    limit = max(1, min(body.limit, 10))
    return await run_in_threadpool(suggester(request).suggest, body.content, limit)

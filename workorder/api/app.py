"""The work-order REST API: ``create_app(settings) -> FastAPI``.

Auth: ``Authorization: Bearer <token>``; the built-in per-role tokens from the
secrets file, then tokens issued by the store (``POST /api/v1/tokens``).
Every request made with a valid token is written to the audit log (who, role,
method, path, read/change, status, order).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

import redis
from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from sqlalchemy.exc import OperationalError

from hotline.auth import builtin_resolver, require_roles
from hotline.log import Outage, event
from hotline.secrets import load_secrets
from queues.api import router as queues_router
from queues.service import keys
from workorder.api.open311 import router as open311_router
from workorder.api.routes import router
from workorder.api.routes_analysis import router as analysis_router
from workorder.api.routes_assess import router as assess_router
from workorder.api.routes_chain import router as chain_router
from workorder.api.routes_exchange import router as exchange_router
from workorder.api.routes_kb import router as kb_router
from workorder.api.routes_recordings import router as recordings_router
from workorder.api.routes_reference import router as reference_router
from workorder.api.routes_suggest import router as suggest_router
from workorder.db import Database
from workorder.exchange_store import Exchange
from workorder.kb import KnowledgeBase
from workorder.repeat import rule_from
from workorder.service import AUDIT_CTX, Conflict, Forbidden, Invalid, NotFound, Store

log = logging.getLogger("workorder.api")


class AuditMiddleware:
    """Pure ASGI middleware: after each authenticated request, one audit row."""

    def __init__(self, app, get_store: Callable[[], Store]):
        self.app = app
        self.get_store = get_store

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        state = scope.setdefault("state", {})
        status = {"code": 500}
        token = AUDIT_CTX.set({"state": state, "method": scope["method"], "path": scope["path"]})

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            AUDIT_CTX.reset(token)
            principal = state.get("principal")
            if principal is not None and not (state.get("audited") and 200 <= status["code"] < 300):
                try:
                    store = self.get_store()
                    row = (principal, scope["method"], scope["path"], status["code"], state.get("audit_order_id"))
                    # on the group commit's future: no worker thread hop per request (SQLite)
                    fut = store.audit_submit(*row)
                    if fut is None:
                        await run_in_threadpool(store.audit, *row)
                    else:
                        await asyncio.wrap_future(fut)
                    outages = getattr(scope.get("app"), "state", None)
                    if outages is not None and hasattr(outages, "outages"):
                        outages.outages["database"].up()  # a write went through: the DB is back
                except Exception:  # the audit must not turn a served request into an error
                    log.exception("audit write failed")


def _call_view(settings) -> dict | None:
    """The call figures' view (kept in Redis by ``hotline stats``), or None."""
    try:
        client = redis.Redis.from_url(settings.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        try:
            raw = client.get(keys(settings.instance)["view"])
        finally:
            client.close()
    except Exception:  # no Redis, no consumer: the figures are simply unknown
        return None
    return json.loads(raw) if raw else None


def queue_answer_rate(settings) -> Callable[[], dict | None]:
    """The call answer rate from the queues statistics (kept in Redis by ``hotline stats``)."""

    def get() -> dict | None:
        view = _call_view(settings)
        if not view:
            return None
        total = view.get("total") or {}
        return {
            "today": (total.get("today") or {}).get("answer_rate"),
            "last_24h": (total.get("last_24h") or {}).get("answer_rate"),
            "offered_today": (total.get("today") or {}).get("offered"),
        }

    return get


def unavailable(dependency: str, detail: str) -> JSONResponse:
    """503 for a dependency that is down: JSON, which one, and when to ask again."""
    return JSONResponse(
        {"detail": detail, "reason": f"{dependency}_unavailable", "dependency": dependency},
        status_code=503,
        headers={"Retry-After": "2"},
    )


def create_app(
    settings,
    database_url: str | None = None,
    store: Store | None = None,
    call_stats: Callable[[], dict | None] | None = None,
) -> FastAPI:
    app = FastAPI(
        title="12345 work-order store",
        version="1.0",
        description="Work orders (工单) of the 12345 hotline: intake, dispatch, handling, reply, "
        "callback, evaluation; knowledge base; statistics; Open311 GeoReport v2.",
        # no unauthenticated routes: the schema is served under /api/v1 with a role check
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    if store is None:
        db = Database(database_url or settings.database_url)
        store = Store(db, repeat=rule_from(settings))  # a bad HOTLINE_REPEAT_* stops the start
    app.state.settings = settings
    app.state.store = store
    app.state.exchange = Exchange(store.db, now=store.now)
    app.state.kb = KnowledgeBase(store.db, now=store.now)
    app.state.call_stats = call_stats or queue_answer_rate(settings)
    tokens = load_secrets(settings.secrets_file)["api_tokens"]
    app.state.token_resolvers = [builtin_resolver(tokens), store.resolve_token]

    @app.exception_handler(NotFound)
    async def _nf(request: Request, exc: NotFound):
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(Conflict)
    async def _conflict(request: Request, exc: Conflict):
        event(log, "refused", path=request.url.path, reason=exc.reason)
        return JSONResponse({"detail": exc.message, "reason": exc.reason}, status_code=409)

    @app.exception_handler(Invalid)
    async def _invalid(request: Request, exc: Invalid):
        return JSONResponse(
            {"detail": [{"loc": ["body", exc.field], "msg": exc.message, "type": "value_error"}]}, status_code=422
        )

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden):
        return JSONResponse({"detail": str(exc)}, status_code=403)

    # a dependency down is a 503 with a JSON body saying which, and one log line per interval
    # (hotline.log.Outage), never a 500 with a traceback; the next request after it is back works
    outages = {"redis": Outage(log, "redis"), "database": Outage(log, "database")}
    app.state.outages = outages

    @app.exception_handler(RedisError)
    async def _redis_down(request: Request, exc: RedisError):
        outages["redis"].down(exc)
        return unavailable("redis", "实时数据暂不可用 / live figures unavailable: Redis does not answer; retry later")

    @app.exception_handler(OperationalError)
    async def _db_down(request: Request, exc: OperationalError):
        outages["database"].down(exc.orig if exc.orig is not None else exc)
        return unavailable("database", "数据库暂不可用 / the database is locked or down; retry later")

    app.include_router(suggest_router)  # before /orders/{id}
    app.include_router(router)
    app.include_router(chain_router)
    app.include_router(reference_router)
    app.include_router(assess_router)
    app.include_router(kb_router)
    app.include_router(recordings_router)
    app.include_router(open311_router)
    app.include_router(analysis_router)
    app.include_router(exchange_router)
    # other packages' routers, one line each
    app.include_router(queues_router)

    @app.get("/api/v1/openapi.json", include_in_schema=False)
    def openapi_schema(
        p=Depends(require_roles("agent", "dispatcher", "department", "supervisor", "admin", "ivr", "calls")),
    ):
        if app.openapi_schema is None:
            app.openapi_schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
        return app.openapi_schema

    app.add_middleware(AuditMiddleware, get_store=lambda: app.state.store)

    @app.on_event("shutdown")
    def _close():
        app.state.store.db.dispose()

    return app

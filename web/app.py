"""The API app with the people's pages: ``create_app(settings) -> FastAPI``.

The work-order API (workorder.api.app) stays as it is; this adds named accounts
(sessions in a cookie, :mod:`web.session`), the page routers and the static
files.  ``hotline api`` serves this app (web/serve.py)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from web import (
    pages_admin,
    pages_agent,
    pages_agents_admin,
    pages_analysis,
    pages_assess,
    pages_auth,
    pages_citizen,
    pages_citizen_photos,
    pages_dept,
    pages_map,
    pages_orders,
    pages_quality,
    pages_wallboard,
    pages_webqueue,
)
from web.accounts import Accounts
from web.maps import MapFile, run_reload
from web.render import STATIC, on_login_required, on_page_forbidden
from web.session import LoginRequired, PageForbidden, session_principal
from workorder.api.app import create_app as create_api
from workorder.service import Store


def create_app(
    settings,
    database_url: str | None = None,
    store: Store | None = None,
    call_stats: Callable[[], dict | None] | None = None,
    reloader: Callable[[], tuple[bool, str]] | None = None,
) -> FastAPI:
    app = create_api(settings, database_url=database_url, store=store, call_stats=call_stats)
    mount(app, settings, reloader)
    return app


def mount(app: FastAPI, settings, reloader: Callable[[], tuple[bool, str]] | None = None) -> None:
    store: Store = app.state.store
    app.state.accounts = Accounts(store.db, settings.database_url, now=store.now)
    app.state.transfer_map = MapFile(settings.transfer_map, settings.timezone)
    app.state.map_reloader = reloader or (lambda: run_reload(settings))
    # sessions as well as bearer tokens on every /api/v1 route (CSRF header on changes)
    app.state.principal_without_token = session_principal
    for module in (
        pages_auth,
        pages_agent,
        pages_wallboard,
        pages_dept,
        pages_admin,
        pages_map,
        pages_agents_admin,
        pages_quality,
        pages_citizen,
        pages_citizen_photos,
        pages_analysis,
        pages_orders,
        pages_assess,
        pages_webqueue,
    ):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(LoginRequired, on_login_required)
    app.add_exception_handler(PageForbidden, on_page_forbidden)

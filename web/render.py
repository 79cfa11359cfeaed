"""Server-side rendering: one Jinja2 environment (autoescape on for every template),
the pages' security headers, and the answers for "log in first" and "not for you"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from web.accounts import ROLES
from web.session import LoginRequired, PageForbidden, login_url, session_of
from workorder.states import STATUSES, TRANSITIONS

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
# the browser softphone needs JsSIP, bundled at set-up (frontend/softphone, git-ignored)
SOFTPHONE_VENDOR = STATIC / "softphone" / "vendor" / "jssip.min.js"

env = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
env.globals["ROLES"] = ROLES
env.globals["STATUS_TEXT"] = STATUSES
env.globals["ACTION_TEXT"] = {"create": "创建", **{a: t.label for a, t in TRANSITIONS.items()}}
env.filters["when"] = lambda iso: iso[:16].replace("T", " ") if iso else ""  # 2026-12-02T07:58:18+08:00 -> minutes

APPEALS = "/appeals"  # 网上诉求待受理 (web/pages_webqueue.py)
# where each role starts, and the pages in its menu
HOME = {
    "agent": "/agent",
    "dispatcher": "/wallboard",
    "supervisor": "/wallboard",
    "department": "/dept",
    "quality": "/quality",
    "admin": "/admin",
}
MENU = {
    "agent": [("/agent", "坐席工作台"), (APPEALS, "网上诉求")],
    "dispatcher": [("/wallboard", "监控大屏"), (APPEALS, "网上诉求"), ("/orders", "工单全流程")],
    "supervisor": [
        ("/wallboard", "监控大屏"),
        (APPEALS, "网上诉求"),
        ("/quality", "质检"),
        ("/orders", "工单全流程"),
        ("/analysis", "分析研判"),
        ("/admin/assessment", "绩效考核"),
    ],
    "quality": [("/quality", "质检")],
    "department": [("/dept", "承办工单")],
    "admin": [
        ("/admin", "管理"),
        ("/admin/map", "转接表"),
        ("/admin/users", "用户"),
        ("/admin/agents", "坐席"),
        ("/admin/sizing", "坐席测算"),
        ("/admin/stats", "统计"),
        ("/admin/assessment", "绩效考核"),
        ("/wallboard", "监控大屏"),
        (APPEALS, "网上诉求"),
        ("/quality", "质检"),
        ("/orders", "工单全流程"),
        ("/analysis", "分析研判"),
    ],
}


def csp(request: Request) -> str:
    """Scripts, styles and images only from the app itself; the softphone may open a
    WebSocket to Asterisk on the same host."""
    host = request.url.hostname or "127.0.0.1"
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' wss://{host}:* ws://{host}:*; media-src 'self' blob: mediastream:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )


def page(request: Request, template: str, status_code: int = 200, **ctx: Any) -> HTMLResponse:
    info = session_of(request)
    user = info.account if info else None
    html = env.get_template(template).render(
        user=user,
        csrf=info.csrf if info else "",
        menu=MENU.get(user.role, []) if user else [],
        path=request.url.path,
        softphone=SOFTPHONE_VENDOR.exists(),
        **ctx,
    )
    return HTMLResponse(
        html,
        status_code=status_code,
        headers={
            "Content-Security-Policy": csp(request),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
            "Cache-Control": "no-store",
            "X-Frame-Options": "DENY",
        },
    )


async def on_login_required(request: Request, exc: LoginRequired) -> RedirectResponse:
    return RedirectResponse(login_url(exc.next_path), status_code=303)


async def on_page_forbidden(request: Request, exc: PageForbidden) -> HTMLResponse:
    return page(request, "forbidden.html", status_code=403, message=exc.message)

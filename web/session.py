"""Who is asking: a session cookie (people) or a bearer token (machines).

* :func:`session_principal` is what :func:`hotline.auth.current_principal` asks
  when a request has no bearer token (``app.state.principal_without_token``): a bearer
  token works as before; without one, a session cookie does, and a state-changing
  request must then carry the session's CSRF token in ``X-CSRF-Token``.  So every
  ``/api/v1`` route, with its own role check, serves the pages' scripts too, audited
  under the user's name.
* :func:`page_user` guards the page routes: no session -> 303 to ``/login``; a
  wrong role -> 403; a form post without the CSRF token (field ``csrf`` or the
  header) -> 403.

Either way ``request.state.principal`` is the user, so the work-order audit
middleware writes every request under the user's name.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool

from hotline.auth import Principal
from web.accounts import ROLES, Accounts, SessionInfo, csrf_ok

COOKIE = "hotline_session"
CSRF_HEADER = "x-csrf-token"
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
_UNSEEN = object()


class LoginRequired(Exception):
    """No live session on a page route: answered with a redirect to the login page."""

    def __init__(self, next_path: str):
        self.next_path = next_path


class PageForbidden(Exception):
    """A page the user's role or department may not see: answered with a 403 page."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


def accounts(request: Request) -> Accounts:
    return request.app.state.accounts


def session_of(request: Request) -> SessionInfo | None:
    """The request's live session (looked up once per request)."""
    cached = getattr(request.state, "web_session", _UNSEEN)
    if cached is _UNSEEN:
        token = request.cookies.get(COOKIE, "")
        cached = request.state.web_session = accounts(request).session(token) if token else None
    return cached


async def _csrf_given(request: Request) -> str | None:
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()  # cached by Starlette: the route's Form() fields still read it
        value = form.get("csrf")
        given = value if isinstance(value, str) else None
    return given


def session_principal(request: Request) -> Principal:
    """A request without a bearer token: the session cookie's user (``app.state.principal_without_token``,
    called by :func:`hotline.auth.current_principal` in the thread pool)."""
    info = session_of(request)
    if info is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "missing bearer token or session", headers={"WWW-Authenticate": "Bearer"}
        )
    if request.method not in SAFE and not csrf_ok(info.csrf, request.headers.get(CSRF_HEADER)):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "CSRF token missing or wrong (X-CSRF-Token)")
    request.state.principal = info.account.principal
    return request.state.principal


def page_user(*roles: str):
    """Dependency for a page route: the session's user, of one of ``roles``."""
    allowed = frozenset(roles)

    async def check(request: Request) -> SessionInfo:
        info = await run_in_threadpool(session_of, request)
        if info is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise LoginRequired(target)
        request.state.principal = info.account.principal
        if info.account.role not in allowed:
            raise PageForbidden(f"{ROLES[info.account.role]}（{info.account.role}）无权打开此页面")
        if request.method not in SAFE and not csrf_ok(info.csrf, await _csrf_given(request)):
            raise PageForbidden("表单缺少有效的 CSRF 令牌，请刷新页面后重试")
        return info

    return check


def login_url(next_path: str) -> str:
    return "/login?next=" + quote(next_path, safe="/")


def safe_next(value: str | None, default: str = "/") -> str:
    """Only a local path may follow the login (no //host, no scheme)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value

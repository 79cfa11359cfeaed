"""Log in, log out, change one's own password, and the start page of each role."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from hotline.auth import Principal
from web.accounts import ROLES, AccountError, SessionInfo, Throttled, csrf_ok
from web.render import HOME, page
from web.session import COOKIE, accounts, page_user, safe_next, session_of

router = APIRouter(include_in_schema=False)
EVERYONE = tuple(ROLES)
LOGIN_CSRF = "hotline_login_csrf"  # double-submit token for the login form (no session yet)


def _cookie(response: Response, request: Request, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(
        name, value, httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/", max_age=max_age
    )


def _address(request: Request) -> str:
    return request.client.host if request.client else ""


@router.get("/")
async def home(request: Request):
    info = await run_in_threadpool(session_of, request)
    return RedirectResponse(HOME[info.account.role] if info else "/login", status_code=303)


def _login_page(request: Request, next_path: str, status_code: int = 200, error: str = "", name: str = ""):
    token = secrets.token_urlsafe(24)
    response = page(
        request, "login.html", status_code=status_code, next=next_path, error=error, login_csrf=token, name=name
    )
    _cookie(response, request, LOGIN_CSRF, token, max_age=3600)
    return response


@router.get("/login")
async def login_form(request: Request, next: str = ""):
    return _login_page(request, safe_next(next, ""))


@router.post("/login")
async def login(
    request: Request,
    name: str = Form("", max_length=64),
    password: str = Form("", max_length=200),
    csrf: str = Form(""),
    next: str = Form(""),
):
    next_path = safe_next(next, "")
    if not csrf_ok(request.cookies.get(LOGIN_CSRF, ""), csrf):
        return _login_page(request, next_path, 403, "登录表单已过期，请重新提交", name)
    try:
        result = await run_in_threadpool(accounts(request).login, name.strip(), password, _address(request))
    except Throttled as exc:
        request.state.principal = Principal(subject=name[:64], role="anonymous")
        return _login_page(request, next_path, 429, str(exc), name)
    if result is None:
        request.state.principal = Principal(subject=name[:64], role="anonymous")
        return _login_page(request, next_path, 401, "用户名或密码错误，或账号已停用", name)
    token, info = result
    request.state.principal = info.account.principal
    response = RedirectResponse(next_path or HOME[info.account.role], status_code=303)
    _cookie(response, request, COOKIE, token)
    response.delete_cookie(LOGIN_CSRF, path="/")
    return response


@router.post("/logout")
async def logout(request: Request, info: SessionInfo = Depends(page_user(*EVERYONE))):
    await run_in_threadpool(accounts(request).logout, request.cookies.get(COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/account/password")
async def password_form(request: Request, info: SessionInfo = Depends(page_user(*EVERYONE))):
    return page(request, "password.html", error="")


@router.post("/account/password")
async def change_password(
    request: Request,
    info: SessionInfo = Depends(page_user(*EVERYONE)),
    old: str = Form("", max_length=200),
    new: str = Form("", max_length=200),
    again: str = Form("", max_length=200),
):
    if new != again:
        return page(request, "password.html", status_code=422, error="两次输入的新密码不一致")
    try:
        await run_in_threadpool(accounts(request).change_password, info.account.name, old, new)
    except AccountError as exc:
        return page(request, "password.html", status_code=422, error=str(exc))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response

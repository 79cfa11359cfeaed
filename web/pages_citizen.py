"""The citizens' web channel (网上诉求), a mobile page in Chinese, no login: submit an appeal
(category, place, content, contact, an optional photo) and get its order number; check the
progress with the number and the last 4 digits of the phone; rate the result.

Every form works without JavaScript; it carries a double-submit CSRF token (a cookie of its own
and the field ``csrf``).  The abuse guard, with no CAPTCHA: appeals per address per hour and per
phone per day, progress queries and ratings per address per hour (``HOTLINE_CITIZEN_*``, counted
in the store's database, so every node of the platform counts the same), the body's and the
photo's size, the photo's type by its first bytes (JPEG or PNG only).  A wrong last 4 digits and
an unknown number get the same answer."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException

from web.accounts import csrf_ok
from web.citizen import CitizenDesk, citizen
from web.citizen_rules import LIMITS, TYPES, check_appeal, lookup_ok, over, photo_type, rating
from web.render import page
from workorder.service import Conflict
from workorder.vocab import SATISFACTION

router = APIRouter(include_in_schema=False)
CSRF_COOKIE = "hotline_citizen_csrf"
FORM_ROOM = 64 * 1024  # the text fields' share of a post, besides the photo
NOT_FOUND = "未查询到该工单，或手机号后四位不符。请核对后重试。"
EXPIRED = "页面已过期，请重新提交（如有照片请重新选择）"
FIELDS = ("type", "category", "address", "content", "name", "phone", "confidential")


def desk_of(request: Request) -> CitizenDesk:
    desk = getattr(request.app.state, "citizen_desk", None)
    if desk is None:
        desk = request.app.state.citizen_desk = CitizenDesk(
            request.app.state.store, request.app.state.settings.citizen_photos
        )
    return desk


def _address(request: Request) -> str:
    return request.client.host if request.client else ""


def _token(request: Request) -> str:
    return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)


def _answer(request: Request, template: str, status_code: int = 200, **ctx) -> HTMLResponse:
    token = _token(request)
    response = page(request, template, status_code=status_code, citizen_csrf=token, **ctx)
    response.set_cookie(
        CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/citizen",
        max_age=4 * 3600,
    )
    return response


async def _form_page(request: Request, status_code: int = 200, error: str = "", errors=None, values=None):
    s = request.app.state.settings
    return _answer(
        request,
        "citizen_form.html",
        status_code,
        categories=await run_in_threadpool(desk_of(request).categories),
        types=TYPES,
        limits=LIMITS,
        photo_max_kb=s.citizen_photo_max_kb,
        error=error,
        errors=errors or {},
        v={k: (values or {}).get(k, "") for k in FIELDS},
    )


@router.get("/citizen")
async def citizen_form(request: Request):
    return await _form_page(request)


@router.post("/citizen/appeals")
async def citizen_appeal(request: Request):
    s, desk, address = request.app.state.settings, desk_of(request), _address(request)
    if over(await run_in_threadpool(desk.count, "appeal", address), s.citizen_address_per_hour):
        return await _form_page(request, 429, "本网络提交过于频繁，请一小时后再试，或拨打 12345")
    await run_in_threadpool(desk.hit, "appeal", address)
    max_bytes = s.citizen_photo_max_kb * 1024
    length = request.headers.get("content-length", "")
    if not length.isdigit() or int(length) > max_bytes + FORM_ROOM:
        return await _form_page(request, 413, f"提交内容过大：照片不能超过 {s.citizen_photo_max_kb} KB")
    try:
        form = await request.form(max_files=1, max_fields=len(FIELDS) + 2)
    except MultiPartException:
        return await _form_page(request, 400, "表单无法读取，请重新提交")
    try:
        return await _appeal(request, form)
    finally:
        await form.close()  # the spooled upload goes now, not when the request is collected


async def _appeal(request: Request, form: FormData) -> HTMLResponse:
    s, desk = request.app.state.settings, desk_of(request)
    max_bytes = s.citizen_photo_max_kb * 1024
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    if not csrf_ok(request.cookies.get(CSRF_COOKIE, ""), values.get("csrf")):
        return await _form_page(request, 403, EXPIRED, values=values)
    appeal = check_appeal(values, {code for _, items in await run_in_threadpool(desk.categories) for code, _ in items})
    if appeal.errors:
        return await _form_page(request, 422, "请修改标出的内容后重新提交", appeal.errors, values)
    photo = None
    upload = form.get("photo")
    if isinstance(upload, UploadFile) and upload.filename:
        body = await upload.read(max_bytes + 1)
        if len(body) > max_bytes:
            return await _form_page(request, 413, f"照片不能超过 {s.citizen_photo_max_kb} KB", values=values)
        kind = photo_type(upload.content_type or "", body[:16])
        if kind is None:
            return await _form_page(request, 415, "照片只能是 JPEG 或 PNG 图片", values=values)
        photo = (kind, body)
    phone = str(appeal.data["caller_phone"] or "")
    if over(await run_in_threadpool(desk.count, "phone", phone), s.citizen_phone_per_day):
        return await _form_page(request, 429, "该号码今日提交的诉求已达上限，请拨打 12345 或明日再试", values=values)
    request.state.principal = citizen(phone)  # the store's audit row of the new order
    out = await run_in_threadpool(desk.submit, appeal.data, photo)
    await run_in_threadpool(desk.hit, "phone", phone)
    return _answer(request, "citizen_done.html", 201, number=out["number"], last4=phone[-4:])


async def _lookup_allowed(request: Request) -> bool:
    desk, address = desk_of(request), _address(request)
    if over(
        await run_in_threadpool(desk.count, "lookup", address), request.app.state.settings.citizen_lookups_per_hour
    ):
        return False
    await run_in_threadpool(desk.hit, "lookup", address)
    return True


def _progress_page(request: Request, status_code: int = 200, order=None, error="", notice="", number="", last4=""):
    return _answer(
        request,
        "citizen_progress.html",
        status_code,
        order=order,
        error=error,
        notice=notice,
        number=number,
        last4=last4,
        levels=SATISFACTION,
    )


@router.get("/citizen/progress")
async def citizen_progress_form(request: Request, number: str = ""):
    return _progress_page(request, number=number if number.isdigit() else "")


async def _lookup_form(request: Request) -> tuple[dict[str, str], HTMLResponse | None]:
    form = await request.form(max_files=0, max_fields=6)
    v = {k: str(form.get(k) or "").strip() for k in ("number", "last4", "satisfaction", "csrf")}
    if not csrf_ok(request.cookies.get(CSRF_COOKIE, ""), v["csrf"]):
        return v, _progress_page(request, 403, error="页面已过期，请重新查询", number=v["number"])
    if not await _lookup_allowed(request):
        return v, _progress_page(request, 429, error="查询过于频繁，请一小时后再试", number=v["number"])
    return v, None


async def _find(request: Request, v: dict[str, str]) -> dict | None:
    if not lookup_ok(v["number"], v["last4"]):
        return None  # the same answer as an unknown number, without a query
    return await run_in_threadpool(desk_of(request).progress, v["number"], v["last4"])


@router.post("/citizen/progress")
async def citizen_progress(request: Request):
    v, refused = await _lookup_form(request)
    if refused is not None:
        return refused
    order = (
        await run_in_threadpool(desk_of(request).progress, v["number"], v["last4"])
        if lookup_ok(v["number"], v["last4"])
        else None
    )
    if order is None:
        return _progress_page(request, 404, error=NOT_FOUND, number=v["number"])
    request.state.principal = citizen(order["caller_phone"])
    request.state.audit_order_id = order["id"]
    return _progress_page(request, order=order, number=v["number"], last4=v["last4"])


@router.post("/citizen/rate")
async def citizen_rate(request: Request):
    v, refused = await _lookup_form(request)
    if refused is not None:
        return refused
    desk, score = desk_of(request), rating(v["satisfaction"])
    order = (
        await run_in_threadpool(desk.progress, v["number"], v["last4"]) if lookup_ok(v["number"], v["last4"]) else None
    )
    if order is None:
        return _progress_page(request, 404, error=NOT_FOUND, number=v["number"])
    if score is None:
        return _progress_page(request, 422, order, "请选择满意程度", number=v["number"], last4=v["last4"])
    request.state.principal = citizen(order["caller_phone"])
    try:
        rated = await run_in_threadpool(desk.rate, v["number"], v["last4"], score)
    except Conflict:
        return _progress_page(request, 409, order, "该工单当前不在待评价状态", number=v["number"], last4=v["last4"])
    return _progress_page(request, order=rated, notice="感谢您的评价！", number=v["number"], last4=v["last4"])

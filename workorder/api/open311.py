"""Open311 GeoReport v2 face for web and app intake, mapped onto the store.

* services      = the category tree (6-digit codes), group = the top-level category;
* requests      = work orders; ``service_request_id`` = the order number;
* POST requests = a new order on channel ``app`` (with device_id) or ``web``, waiting for 受理 by the
  hotline (status ``draft`` in the store, "open" / 已提交，待受理 here);
* tokens/{t}    = the order number (requests are created synchronously, so the token is the id).

Auth: the bearer token, or Open311's ``api_key`` parameter holding a token; roles open311
(issued by an admin), agent, dispatcher, supervisor, admin.  JSON only (``.json``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import or_, select

from hotline.auth import Principal
from hotline.log import mask_text
from hotline.settings import local_zone
from workorder.api.schemas import Text
from workorder.config import parent_code
from workorder.models import Category, Order
from workorder.service import Invalid, order_dict

router = APIRouter(prefix="/open311/v2", tags=["open311"])
_bearer = HTTPBearer(auto_error=False)
READ = ("open311", "agent", "dispatcher", "supervisor", "admin")
WRITE = ("open311", "agent", "dispatcher", "admin")
CLOSED = {"rejected", "merged", "closed", "archived", "appeal_review"}
# phone drafts are an agent's working copy; web/app submissions are visible from the start
VISIBLE = or_(Order.status != "draft", Order.channel.in_(("web", "app")))


def open311_roles(*roles: str):
    allowed = frozenset(roles)

    async def check(
        request: Request,
        cred: HTTPAuthorizationCredentials | None = Depends(_bearer),
        api_key: Annotated[str, Query(max_length=200)] | None = None,
    ) -> Principal:
        token = cred.credentials if cred and cred.credentials else api_key
        ctype = request.headers.get("content-type", "")
        if (
            not token
            and request.method == "POST"
            and ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))
        ):
            try:
                token = (await request.form()).get("api_key")  # GeoReport v2 puts it in the POST body
            except Exception:
                token = None
            token = token if isinstance(token, str) else None
        if not token:
            raise HTTPException(401, "missing bearer token or api_key", headers={"WWW-Authenticate": "Bearer"})
        for resolve in request.app.state.token_resolvers:
            p = resolve(token)
            if p is not None:
                request.state.principal = p
                if p.role not in allowed:
                    raise HTTPException(403, f"role {p.role!r} may not do this")
                return p
        raise HTTPException(401, "unknown token", headers={"WWW-Authenticate": "Bearer"})

    return check


def _service(c: Category, names: dict[str, str]) -> dict:
    top = c.code[:2] + "0000"
    return {
        "service_code": c.code,
        "service_name": c.name,
        "description": c.name,
        "metadata": False,
        "type": "realtime",
        "keywords": "",
        "group": names.get(top, c.name),
    }


# Open311 never carries the caller's name or number (an app key is a masked role in workorder.privacy);
# a confidential order (保密, e.g. a 举报 whose reporter must stay unknown) shows an
# Open311 client its number, service and status only: never its content or place; in the
# content of the others a number the citizen wrote down (7 digits or more) is masked too
CONFIDENTIAL_NOTE = "保密工单：内容与地点不公开"


def _request(o: Order) -> dict:
    d = order_dict(o)
    out = {
        "service_request_id": o.number,
        "status": "closed" if o.status in CLOSED else "open",
        "status_notes": "已提交，待受理" if o.status == "draft" else d["status_text"],
        "service_name": None,
        "service_code": o.category_code,
        "description": mask_text(o.content) if o.content else o.content,
        "agency_responsible": o.main_unit,
        "service_notice": None,
        "requested_datetime": d["received_at"],
        "updated_datetime": d["updated_at"],
        "expected_datetime": d["handling_deadline"],
        "address": o.address,
        "address_id": None,
        "zipcode": None,
        "lat": o.lat,
        "long": o.lon,
        "media_url": None,
    }
    if o.confidential:
        out.update(description=CONFIDENTIAL_NOTE, address=None, lat=None, long=None, agency_responsible=None)
    return out


@router.get("/services.json")
async def services(request: Request, p: Principal = Depends(open311_roles(*READ))):
    def q():
        with request.app.state.store.db.read() as s:
            cats = list(s.scalars(select(Category).order_by(Category.code)))
        names = {c.code: c.name for c in cats}
        return [_service(c, names) for c in cats if parent_code(c.code) is not None]

    return await run_in_threadpool(q)


@router.get("/services/{service_code}.json")
async def service_definition(
    service_code: Annotated[str, Path(pattern=r"^[0-9]{6}$")],
    request: Request,
    p: Principal = Depends(open311_roles(*READ)),
):
    def q():
        with request.app.state.store.db.read() as s:
            return s.get(Category, service_code)

    c = await run_in_threadpool(q)
    if c is None:
        raise HTTPException(404, f"service {service_code} not found")
    return {
        "service_code": c.code,
        "attributes": [
            {
                "variable": True,
                "code": "type",
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": "诉求类型",
                "order": 1,
                "description": "request type",
                "values": [
                    {"key": k, "name": v}
                    for k, v in (
                        ("consult", "咨询"),
                        ("help", "求助"),
                        ("complaint", "投诉"),
                        ("report", "举报"),
                        ("suggestion", "意见建议"),
                        ("praise", "表扬"),
                    )
                ],
            }
        ],
    }


@router.get("/requests.json")
async def list_requests(
    request: Request,
    p: Principal = Depends(open311_roles(*READ)),
    service_request_id: Annotated[str, Query(max_length=400, pattern=r"^[0-9,]*$")] | None = None,
    service_code: Annotated[str, Query(pattern=r"^[0-9]{6}$")] | None = None,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
    status: Annotated[str, Query(pattern=r"^(open|closed)$")] | None = None,
):
    def q():
        stmt = select(Order).where(Order.channel.in_(("web", "app", "wechat", "phone", "letter")))
        if service_request_id:
            stmt = stmt.where(Order.number.in_([x for x in service_request_id.split(",") if x][:50]))
        if service_code:
            stmt = stmt.where(Order.category_code == service_code)
        if start_date:
            stmt = stmt.where(
                Order.received_at >= (start_date if start_date.tzinfo else start_date.replace(tzinfo=local_zone()))
            )
        if end_date:
            stmt = stmt.where(
                Order.received_at < (end_date if end_date.tzinfo else end_date.replace(tzinfo=local_zone()))
            )
        if status == "closed":
            stmt = stmt.where(Order.status.in_(CLOSED))
        elif status == "open":
            stmt = stmt.where(Order.status.not_in(CLOSED))
        stmt = stmt.where(VISIBLE).order_by(Order.id.desc()).limit(1000)
        with request.app.state.store.db.read() as s:
            return [_request(o) for o in s.scalars(stmt)]

    return await run_in_threadpool(q)


def _field(form: dict, name: str, max_length: int) -> str | None:
    v = form.get(name)
    if v is None or v == "":
        return None
    v = str(v)
    try:
        TypeAdapter(Text(max_length)).validate_python(v)
    except ValidationError as exc:
        raise Invalid(name, exc.errors()[0]["msg"]) from None
    return v


@router.post("/requests.json", status_code=201)
async def create_request(request: Request, p: Principal = Depends(open311_roles(*WRITE))):
    """Form-encoded (as GeoReport v2 specifies) or JSON body."""
    ctype = request.headers.get("content-type", "")
    try:
        if ctype.startswith("application/json"):
            raw = await request.json()
            if not isinstance(raw, dict):
                raise Invalid("body", "expected a JSON object")
        else:
            raw = dict(await request.form())
    except (ValueError, UnicodeDecodeError):
        raise Invalid("body", "unreadable body") from None
    store = request.app.state.store
    code = _field(raw, "service_code", 6)
    if not code:
        raise Invalid("service_code", "required")
    description = _field(raw, "description", 4000)
    if not description:
        raise Invalid("description", "required")
    data = {
        "category_code": code,
        "content": description,
        "title": description[:40],
        "address": _field(raw, "address_string", 300),
        "channel": "app" if raw.get("device_id") else "web",
        "type": raw.get("attribute[type]") or "help",
    }
    if data["type"] not in ("consult", "help", "complaint", "report", "suggestion", "praise"):
        raise Invalid("attribute[type]", "unknown request type")
    name = " ".join(x for x in (_field(raw, "last_name", 50), _field(raw, "first_name", 50)) if x)
    data["caller_name"] = name or None
    phone = _field(raw, "phone", 20)
    if phone is not None:
        if not phone.lstrip("+").isdigit() or len(phone) < 3:
            raise Invalid("phone", "not a phone number")
        data["caller_phone"] = phone
    for k, key in (("lat", "lat"), ("lon", "long")):
        v = raw.get(key)
        if v not in (None, ""):
            try:
                f = float(v)
            except (TypeError, ValueError):
                raise Invalid(key, "not a number") from None
            if not -180 <= f <= 180:
                raise Invalid(key, "out of range")
            data[k] = f
    if not data["address"] and "lat" not in data:
        raise Invalid("address_string", "a location is required: lat/long or address_string")
    out = await run_in_threadpool(store.create, data, p, "draft")
    request.state.audit_order_id = out["id"]
    return [{"service_request_id": out["number"], "service_notice": "已提交，待受理", "account_id": None}]


@router.get("/requests/{request_id}.json")
async def get_request(
    request_id: Annotated[str, Path(pattern=r"^[0-9]{8,16}$")],
    request: Request,
    p: Principal = Depends(open311_roles(*READ)),
):
    def q():
        with request.app.state.store.db.read() as s:
            o = s.scalars(select(Order).where(Order.number == request_id, VISIBLE)).first()
            return _request(o) if o else None

    out = await run_in_threadpool(q)
    if out is None:
        raise HTTPException(404, f"request {request_id} not found")
    return [out]


@router.get("/tokens/{token}.json")
async def token_status(
    token: Annotated[str, Path(pattern=r"^[0-9]{8,16}$")],
    request: Request,
    p: Principal = Depends(open311_roles(*READ)),
):
    def q():
        with request.app.state.store.db.read() as s:
            return s.scalar(select(Order.number).where(Order.number == token, VISIBLE))

    number = await run_in_threadpool(q)
    if number is None:
        raise HTTPException(404, f"token {token} not found")
    return [{"token": token, "service_request_id": number}]

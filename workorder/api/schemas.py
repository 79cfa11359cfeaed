"""Request bodies: strict pydantic models, so bad input gets 422 with field-level messages."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from workorder.states import ACTIONS, CHANNELS, REQUEST_TYPES, URGENCIES


def _clean(v: str) -> str:
    if "\x00" in v:
        raise ValueError("must not contain NUL characters")
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no lone surrogates)") from None
    return v


def Text(max_length: int, min_length: int = 0):  # noqa: N802 - a type factory
    return Annotated[str, Field(max_length=max_length, min_length=min_length), AfterValidator(_clean)]


Phone = Annotated[str, Field(pattern=r"^\+?[0-9]{3,20}$", examples=["13812345678"])]
Id64 = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:@-]+$")]
UnitCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
CategoryCode = Annotated[str, Field(pattern=r"^[0-9]{6}$")]
Coord = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
TypeCode = Literal[tuple(REQUEST_TYPES)]  # type: ignore[valid-type]
Urgency = Literal[tuple(URGENCIES)]  # type: ignore[valid-type]
Channel = Literal[CHANNELS]  # type: ignore[valid-type]
Action = Literal[ACTIONS]  # type: ignore[valid-type]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrderFields(_Body):
    channel: Channel | None = None
    caller_name: Text(100) | None = None
    caller_phone: Phone | None = None
    anonymous: bool | None = None
    confidential: bool | None = None
    no_callback: bool | None = Field(None, description="the citizen asked for no call-back (不需要回访)")
    type: TypeCode | None = None
    category_code: CategoryCode | None = None
    title: Text(200) | None = None
    content: Text(10000) | None = None
    address: Text(300) | None = None
    district: Text(64) | None = None
    lat: Coord | None = None
    lon: Coord | None = None
    urgency: Urgency | None = None
    kb_refs: list[Annotated[int, Field(ge=1, le=2**31)]] | None = Field(None, max_length=50)


class OrderCreate(OrderFields):
    channel: Channel = "phone"
    urgency: Urgency = "normal"
    origin: Annotated[str, Field(pattern=r"^[0-9]{3,8}$")] | None = None  # None: the map's hotline number
    mode: Literal["direct", "merge", "dual", "subcenter"] = "direct"
    accept: bool = Field(False, description="受理 at once (the order leaves draft)")


class OrderPatch(OrderFields):
    version: Annotated[int, Field(ge=1, le=2**31)] | None = None


class TransitionBody(_Body):
    action: Action
    payload: dict[str, Any] = Field(default_factory=dict)
    version: Annotated[int, Field(ge=1, le=2**31)] | None = Field(
        None, description="the version the client saw; 409 if the order changed since"
    )
    comment: Text(2000) | None = None


class CallAnswered(_Body):
    uniqueid: Id64
    linkedid: Id64
    caller: Annotated[str, Field(max_length=32, pattern=r"^[+0-9A-Za-z_-]*$")] = ""
    origin: Annotated[str, Field(max_length=16, pattern=r"^[0-9]*$")] = ""  # "": the map's hotline number
    mode: Annotated[str, Field(max_length=16, pattern=r"^[a-z]*$")] = "direct"
    # a department code, or its name as the transfer map writes it (HOTLINE_DEPT: 市民政局)
    department: Annotated[str, Field(max_length=64, pattern=r"^[^\x00-\x1f]*$")] = ""
    agent: Text(64) = ""
    queue: Text(64) = ""
    # a call from the other level (X-Hotline-Order / X-Hotline-Source over the trunk): its order
    # there; the hand-off links the call to that order's mirror (docs/province.md)
    peer_order: Annotated[str, Field(max_length=32, pattern=r"^[0-9A-Za-z]*$")] = ""
    peer: Annotated[str, Field(max_length=32, pattern=r"^[a-z0-9_]*$")] = ""


ANSWERED_BATCH_MAX = 100  # calls in one POST /calls/answered/batch (the hand-off sends up to this)


class CallsAnswered(_Body):
    """Several answered calls at once (the hand-off's batch): one request, one transaction."""

    calls: Annotated[list[CallAnswered], Field(min_length=1, max_length=ANSWERED_BATCH_MAX)]


class IvrSurvey(_Body):
    linkedid: Id64
    caller: Annotated[str, Field(max_length=32, pattern=r"^[+0-9A-Za-z_-]*$")] = ""
    score: Annotated[int, Field(ge=1, le=5, description="1 非常满意 … 5 非常不满意")]


class IvrDraft(_Body):
    linkedid: Id64
    caller: Annotated[str, Field(max_length=32, pattern=r"^[+0-9A-Za-z_-]*$")] = ""
    origin: Annotated[str, Field(max_length=16, pattern=r"^[0-9]*$")] = ""  # "": the map's hotline number
    transcript: Text(10000) = ""
    recording: Text(300) = ""


class _KbBody(_Body):
    @model_validator(mode="before")
    @classmethod
    def _moved(cls, data: Any) -> Any:
        if isinstance(data, dict) and "valid_to" in data:
            raise ValueError("valid_to moved: send expires_on, the local date from which the entry no longer answers")
        return data


class KbCreate(_KbBody):
    title: Text(200, 1)
    body: Text(20000, 1)
    tags: list[Text(32, 1)] = Field(default_factory=list, max_length=20, description="keywords and synonyms")
    department: UnitCode = Field(description="the owning department, a code of the transfer map")
    valid_from: datetime | None = None
    expires_on: date | None = Field(None, description="from this local date on the entry no longer answers")


class KbUpdate(_KbBody):
    title: Text(200, 1) | None = None
    body: Text(20000, 1) | None = None
    tags: list[Text(32, 1)] | None = Field(None, max_length=20)
    department: UnitCode | None = None
    valid_from: datetime | None = None
    expires_on: date | None = None
    version: Annotated[int, Field(ge=1, le=2**31)] | None = Field(
        None, description="the version the client saw; 409 if the entry changed since"
    )


class KbAction(_Body):
    action: Literal["review", "publish", "archive"]
    version: Annotated[int, Field(ge=1, le=2**31)] | None = Field(
        None, description="the version the client saw; 409 if the entry changed since"
    )


class DepartmentCreate(_Body):
    code: UnitCode
    name: Text(100, 1)
    kind: Literal["department", "district", "subcenter", "hotline"] = "department"
    lines: list[Annotated[str, Field(pattern=r"^[0-9]{3,8}$")]] = Field(default_factory=list, max_length=10)


class TokenCreate(_Body):
    subject: Text(64, 1)
    role: Literal["agent", "dispatcher", "department", "supervisor", "admin", "ivr", "calls", "open311"]
    department: UnitCode | None = None

"""The citizens' web channel's decisions (pure, no I/O): what a valid appeal is, a valid phone,
a photo's real type, when a throttle refuses, what a citizen is told of an order's progress.

The adapters (web/citizen.py, web/pages_citizen.py) read the form, count and store."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from workorder.vocab import REQUEST_TYPES, SATISFACTION, STATUSES

# the request types a citizen picks from (the store's vocabulary)
TYPES: dict[str, str] = dict(REQUEST_TYPES)
MOBILE = re.compile(r"1[3-9][0-9]{9}")
LANDLINE = re.compile(r"0[1-9][0-9]{1,2}[0-9]{7,8}")  # area code + number, the dash taken out
NUMBER = re.compile(r"[0-9]{8,16}")  # an order number: YYYYMMDD + the day's sequence
LAST4 = re.compile(r"[0-9]{4}")
LIMITS = {"address": 300, "content": 2000, "name": 50}
MIN_CONTENT = 5
# what a photo's first bytes are, per accepted type (its declared type must agree)
MAGIC: dict[str, bytes] = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n"}
EXTENSION = {"image/jpeg": "jpg", "image/png": "png"}
DECLARED_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg"}
# the progress the citizen reads: a draft is an appeal waiting for 受理 by the hotline
SUBMITTED = "已提交，待受理"
REPLY_SHOWN = frozenset({"callback", "evaluation", "closed", "archived", "appeal_review"})


def normal_phone(raw: str) -> str | None:
    """The phone as digits (spaces and dashes removed), or None when it is no mobile or landline
    number of the mainland (11-digit mobile, or 0 + area code + 7-8 digits)."""
    digits = re.sub(r"[\s-]", "", raw or "")
    if MOBILE.fullmatch(digits) or LANDLINE.fullmatch(digits):
        return digits
    return None


@dataclass(frozen=True)
class Appeal:
    """A checked appeal: the store's fields, or the problems per form field (Chinese)."""

    data: dict[str, str | bool | None]
    errors: dict[str, str]


def check_appeal(form: Mapping[str, str], categories: Collection[str]) -> Appeal:
    """The fields of a new order of channel ``web`` from the form, every problem at once."""
    v = {k: (form.get(k) or "").strip() for k in ("type", "category", "address", "content", "name", "phone")}
    # 保密: the caller is shown masked to everyone but the hotline's supervisors (workorder/privacy.py)
    confidential = (form.get("confidential") or "") == "1"
    errors: dict[str, str] = {}
    if v["type"] not in TYPES:
        errors["type"] = "请选择诉求类型"
    if v["category"] not in categories:
        errors["category"] = "请选择诉求分类"
    if not v["address"]:
        errors["address"] = "请填写事发地点"
    if len(v["content"]) < MIN_CONTENT:
        errors["content"] = f"请描述诉求内容（至少 {MIN_CONTENT} 个字）"
    for key, most in LIMITS.items():
        if len(v[key]) > most:
            errors[key] = f"不能超过 {most} 个字"
    phone = normal_phone(v["phone"])
    if phone is None:
        errors["phone"] = "请填写正确的手机号码或固定电话（含区号）"
    data: dict[str, str | bool | None] = {
        "channel": "web",
        "type": v["type"],
        "category_code": v["category"],
        "address": v["address"],
        "content": v["content"],
        "title": v["content"][:40],
        "caller_name": v["name"] or None,
        "caller_phone": phone,
        "confidential": confidential,
    }
    return Appeal(data, errors)


def photo_type(declared: str, head: bytes) -> str | None:
    """The photo's type when its first bytes are a JPEG or PNG and the declared type says the same;
    None otherwise (a renamed file, a type the page does not take)."""
    kind = (declared or "").split(";")[0].strip().lower()
    kind = DECLARED_ALIASES.get(kind, kind)
    magic = MAGIC.get(kind)
    return kind if magic is not None and head.startswith(magic) else None


def over(count: int, limit: int) -> bool:
    """A throttle refuses once ``count`` earlier hits in the window reached ``limit``."""
    return count >= limit


def lookup_ok(number: str, last4: str) -> bool:
    """Worth a look in the store at all (else the same "not found" answer, no query)."""
    return bool(NUMBER.fullmatch(number or "")) and bool(LAST4.fullmatch(last4 or ""))


def progress_text(status: str) -> str:
    return SUBMITTED if status == "draft" else STATUSES.get(status, status)


def rating(raw: str) -> int | None:
    """A 1..5 satisfaction score of the form, or None."""
    try:
        score = int(raw)
    except (TypeError, ValueError):
        return None
    return score if score in SATISFACTION else None

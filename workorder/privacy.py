"""Who sees a caller's number and name in clear: the one home of the rule (pure, no I/O).

What a 12345 center does (信息安全: 个人隐私, HD 二(二)5; 对举报人信息严格保密):

* the hand-off service (``calls``), supervisors (班长: 督办, 回访 spot checks, complaints about
  an agent) and admins see every number, confidential orders too;
* agents, dispatchers and the handling departments (承办单位) see the number of an ordinary
  order: they call the citizen back (回访, 联系诉求人);
* an order is *protected* when it is confidential (保密, e.g. a 举报 whose reporter must stay
  unknown) or anonymous (匿名): then only the roles above and the agent who took the call or
  made the order see the caller; everyone else gets the number masked (``138****5678``) and
  the name cut to its first character (``张*``);
* everyone else (quality reviewers 质检员, Open311 app keys, the IVR, any other role) gets the
  caller masked always.

A lookup by caller number (``GET /api/v1/orders?phone=``, the desk's earlier orders of the
caller, the open orders of an answered call) is for :data:`SEARCHERS` only, and finds only
the orders whose caller the searcher sees in clear: a match on a masked order would tell
who filed it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from hotline.auth import Principal
from hotline.log import mask_number

ALL_CALLERS = frozenset({"calls", "supervisor", "admin"})
ORDINARY_CALLERS = frozenset({"agent", "dispatcher", "department"})
SEARCHERS = ALL_CALLERS | ORDINARY_CALLERS
# the one role that also sees the orders it handled itself (order.agent or order.created_by)
OWN_ORDERS = "agent"


class CallerFacts(Protocol):
    """What the rule reads of an order (an :class:`~workorder.models.Order` or a summary row)."""

    confidential: bool | None
    anonymous: bool | None
    agent: str | None
    created_by: str | None


def is_protected(confidential: bool | None, anonymous: bool | None) -> bool:
    return bool(confidential) or bool(anonymous)


def sees_caller(role: str, subject: str, protected: bool, handled_by: Iterable[str | None] = ()) -> bool:
    """Does a principal of ``role`` (named ``subject``) see the caller of an order in clear?"""
    if role in ALL_CALLERS:
        return True
    if role == OWN_ORDERS and subject in {h for h in handled_by if h}:
        return True
    return role in ORDINARY_CALLERS and not protected


def sees(p: Principal, o: CallerFacts) -> bool:
    return sees_caller(p.role, p.subject, is_protected(o.confidential, o.anonymous), (o.agent, o.created_by))


def mask_name(name: str | None) -> str | None:
    return name[0] + "*" * (len(name) - 1) if name else name


def caller_of(phone: str | None, name: str | None, clear: bool) -> tuple[str | None, str | None]:
    """(phone, name) as shown: as they are, or masked."""
    if clear:
        return phone, name
    return (mask_number(phone) if phone else phone), mask_name(name)


# what a principal who sees the caller masked may not change: the caller, and the protection
# (lifting 保密 / 匿名 would show it the number on the next read)
CALLER_FIELDS = ("caller_phone", "caller_name", "confidential", "anonymous")


def edit_refusal(p: Principal, o: CallerFacts, data: dict[str, Any]) -> str | None:
    """Why ``p`` may not make this edit of ``o`` (``None``: it may)."""
    if sees(p, o):
        return None
    changed = [k for k in CALLER_FIELDS if k in data and data[k] != getattr(o, k, None)]
    if not changed:
        return None
    return f"the caller of this order is masked for role {p.role!r}: it may not change {', '.join(changed)}"

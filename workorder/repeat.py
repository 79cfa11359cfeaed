"""无理重复诉求处置: the repeated-complaint rule, pure (Handan plan 二(二)3 "优化…无理重复诉求处置…处理规则").

An order, when it is accepted (受理), is a **repeat** of an earlier order when

* the same caller: the same caller number (digits only; anonymous orders and orders without a
  number are never repeats), and
* the same matter: the same category (``category_code``, both set) and similar content: the
  cosine of their token sets (title + content, segmented by :func:`workorder.kb_text.tokens`)
  ``|A ∩ B| / sqrt(|A| · |B|)`` is at least ``similarity`` (``HOTLINE_REPEAT_SIMILARITY``), and
* within the window: the earlier order was received at most ``window_days``
  (``HOTLINE_REPEAT_WINDOW_DAYS``) before this one, and was accepted (not a draft).

It is linked to the **first** order of the matter: an earlier order that is itself linked
(merged or closed as a repeat) leads to its own parent.  The disposition follows the first order:

* answered (a unit's reply accepted, or a direct answer: 待回访, 待评价, 已办结, 已归档, 申诉审核中):
  ``close`` (不予受理, disposition ``unreasonable_repeat``) with the earlier answer (its newest
  reply), recorded on the repeat;
* still being handled (受理 … 已答复待审核): ``merge`` (并单) into it, the matter is handled once;
* finished without an answer (e.g. itself 不予受理): ``link`` only; the agent decides.

``window_days = 0`` turns the rule off.  The store applies it (workorder/service_repeat.py);
each step is a transition and a ``repeat`` record (the audit), undone by ``undo_repeat``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from workorder.kb_text import tokens
from workorder.vocab import OPEN_STATUSES

DISPOSITIONS = ("merge", "close", "link")
ANSWERED = frozenset({"callback", "evaluation", "closed", "archived", "appeal_review"})


@dataclass(frozen=True)
class RepeatRule:
    window_days: float = 30.0  # 0: the rule is off
    similarity: float = 0.6  # the least cosine of the token sets

    @property
    def active(self) -> bool:
        return self.window_days > 0


def rule_from(settings: Any) -> RepeatRule:
    """The rule of ``settings`` (HOTLINE_REPEAT_WINDOW_DAYS, HOTLINE_REPEAT_SIMILARITY); ValueError names the
    variable that is out of range."""
    days, sim = float(settings.repeat_window_days), float(settings.repeat_similarity)
    if not 0 <= days <= 366:
        raise ValueError(f"HOTLINE_REPEAT_WINDOW_DAYS={days:g}: use 0 (off) .. 366 days")
    if not 0 < sim <= 1:
        raise ValueError(f"HOTLINE_REPEAT_SIMILARITY={sim:g}: use a number in (0, 1]")
    return RepeatRule(window_days=days, similarity=sim)


def caller_key(phone: str | None) -> str:
    """The caller number's digits, without a +86 / 0086 country prefix ('' when there is none)."""
    digits = re.sub(r"\D", "", phone or "")
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) >= 11:
            digits = digits[len(prefix) :]
    return digits


def matter_tokens(title: str | None, content: str | None) -> frozenset[str]:
    return frozenset(tokens(f"{title or ''} {content or ''}"))


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Cosine of two token sets: |A ∩ B| / sqrt(|A| · |B|) (0 when either is empty)."""
    if not a or not b:
        return 0.0
    return len(a & b) / math.sqrt(len(a) * len(b))


@dataclass(frozen=True)
class Match:
    parent_id: int  # the first order of the matter
    matched_id: int  # the earlier order that matched (the parent or one linked to it)
    similarity: float
    disposition: str  # merge | close | link
    answer: str | None  # close: the earlier answer


def find_repeat(order: Mapping[str, Any], earlier: Iterable[Mapping[str, Any]], rule: RepeatRule) -> Match | None:
    """The repeat ``order`` is of, among ``earlier`` orders (dicts with id, caller_phone, anonymous,
    category_code, title, content, received_at, status, parent_id and answer: the newest reply's
    text or None), or None.  ``earlier`` must hold every order a parent link may lead to."""
    if not rule.active or order.get("anonymous") or not order.get("category_code"):
        return None
    caller = caller_key(order.get("caller_phone"))
    if not caller:
        return None
    at: datetime = order["received_at"]
    since = at - timedelta(days=rule.window_days)
    mine = matter_tokens(order.get("title"), order.get("content"))
    by_id = {e["id"]: e for e in earlier}
    best: tuple[float, datetime, int] | None = None
    for e in by_id.values():
        if e["id"] == order.get("id") or e.get("status") == "draft" or e.get("anonymous"):
            continue
        if caller_key(e.get("caller_phone")) != caller or e.get("category_code") != order["category_code"]:
            continue
        if not since <= e["received_at"] <= at:
            continue
        sim = similarity(mine, matter_tokens(e.get("title"), e.get("content")))
        if sim + 1e-9 < rule.similarity:
            continue
        key = (-sim, e["received_at"], e["id"])  # the most similar; of equals, the earliest
        if best is None or key < (best[0], best[1], best[2]):
            best = key
    if best is None:
        return None
    matched = by_id[best[2]]
    first = matched
    seen = {first["id"]}
    while first.get("parent_id") in by_id and first["parent_id"] not in seen:
        seen.add(first["parent_id"])
        first = by_id[first["parent_id"]]
    return Match(first["id"], matched["id"], round(-best[0], 4), *disposition_for(first))


def disposition_for(first: Mapping[str, Any]) -> tuple[str, str | None]:
    """(disposition, earlier answer) for a repeat of the order ``first``."""
    if first.get("status") in ANSWERED and first.get("answer"):
        return "close", first["answer"]
    if first.get("status") in OPEN_STATUSES:
        return "merge", None
    return "link", None

"""Pure helpers of the IVR engine: speech keywords, the work-order read-back, opening hours."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from ari_apps import flow as F
from hotline.calendar import Calendar


def match_speech(text: str, choices: Sequence[F.SpeechChoice]) -> int | None:
    """Index of the first choice whose keyword occurs in ``text``."""
    t = "".join(text.split())
    if not t:
        return None
    for i, c in enumerate(choices):
        for k in c.keywords:
            if "".join(k.split()) in t:
                return i
    return None


def readback_text(data: Mapping[str, Any]) -> str:
    """Mandarin read-back of a work order's status; digits spelled one by one."""
    number = " ".join(str(data.get("number", "")))
    text = f"工单号 {number}，当前状态：{data.get('status_text') or data.get('status') or '未知'}。"
    deadline = data.get("deadline")
    if deadline:
        try:
            d = datetime.fromisoformat(str(deadline).replace("Z", "+00:00"))
            text += f"办理时限：{d.year}年{d.month}月{d.day}日{d.hour}时。"
        except ValueError:
            pass
    return text


def is_open(node: F.Hours, now: datetime, calendar: Calendar) -> bool:
    """Open at ``now`` (local time): a working day and inside an open interval.

    With ``calendar: platform`` a public holiday is closed all day and a 调休
    workday counts as a Monday; with ``calendar: none`` only the weekly hours count."""
    today: date = now.date()
    weekday = now.weekday()
    if node.calendar == "platform":
        if calendar.is_holiday(today):
            return False
        weekday = calendar.weekday(today)
    if weekday not in node.weekday_numbers():
        return False
    t = now.time().replace(tzinfo=None)
    return any(a <= t < b for a, b in node.open_at)

"""Pure helpers of the IVR engine: speech keywords, the work-order read-back, opening hours."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from ari_apps import flow as F
from ari_apps.engine_types import State
from hotline.calendar import Calendar

ZH_ORDINAL = "一二三四五六七八九"


def next_token(st: State) -> tuple[State, int]:
    st = replace(st, token=st.token + 1)
    return st, st.token


def is_stale(st: State, ev: Any) -> bool:
    return bool(getattr(ev, "token", st.token) != st.token)


def prompt_ref(st: State, node: str, suffix: str, text: str) -> tuple[str, str]:
    """(prompt name, text) of a node's fixed text."""
    return (F.prompt_name(st.flow, node, suffix), text)


def say_name(text: str) -> str:
    """The prompt name of a text made at run time: by content hash, so it is made once."""
    return "say-" + hashlib.sha1(text.encode()).hexdigest()[:16]


def say_ref(text: str) -> tuple[str, str]:
    return (say_name(text), text)


def hot_menu_text(titles: Sequence[str], agent: bool) -> str:
    """The hot questions as a menu: 第一条，<title>，请按1。 ... (at most 9)."""
    parts = [f"第{ZH_ORDINAL[i]}条，{t.strip()}，请按{i + 1}。" for i, t in enumerate(titles[:9])]
    parts.append("重听请按星号键。")
    if agent:
        parts.append("人工服务请按0。")
    return "".join(parts)


def hot_answer_text(entry: Mapping[str, Any]) -> str:
    """What the IVR reads of a knowledge-base entry: its title, then its answer."""
    title = str(entry.get("title", "")).strip().rstrip("。")
    return f"{title}。{str(entry.get('body', '')).strip()}"


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

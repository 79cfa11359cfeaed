"""The ``hot`` node of the IVR engine: the knowledge base's hot questions (pure, no I/O).

Entering asks the store for the list (``HotList``); the titles are read as a menu (the
node's fixed intro, then the titles, a text made at run time and named by its content
hash); a key 1..n asks the store for that entry again (``KbRead``: the ``ivr`` role gets
only a live entry, so one that expired since the list is not read) and reads its
published answer; then ``next``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from ari_apps import flow as F
from ari_apps.engine_text import hot_answer_text, hot_menu_text, is_stale, next_token, prompt_ref, say_name, say_ref
from ari_apps.engine_types import (
    Digit,
    HotList,
    HotListed,
    KbAnswer,
    KbRead,
    Log,
    Play,
    PromptDone,
    State,
    StopPlay,
    Timeout,
    Timer,
)

Result = tuple[State, list[Any]]
Goto = Callable[[F.Flow, State, str, datetime, list[Any]], Result]


def enter_hot(st: State, node: F.Hot, acts: list[Any]) -> Result:
    st, t = next_token(st)
    return replace(st, phase="query"), acts + [HotList(node.limit, t)]


def _ids(st: State) -> list[str]:
    return [i for i in st.vars.get("hot_ids", "").split(",") if i]


def _menu(st: State, node: F.Hot, notice: str, acts: list[Any]) -> Result:
    prompts: list[tuple[str, str]] = []
    if notice:
        suffix = notice + "_prompt"
        prompts.append(prompt_ref(st, st.node, suffix, getattr(node, suffix)))
    if node.prompt:
        prompts.append(prompt_ref(st, st.node, "prompt", node.prompt))
    prompts.append(say_ref(st.vars.get("hot_menu", "")))
    st, t = next_token(replace(st, phase="list"))
    return st, acts + [Play(tuple(prompts), t)]


def _notice(st: State, node: F.Hot, what: str, acts: list[Any]) -> Result:
    suffix = what + "_prompt"
    st, t = next_token(replace(st, phase=what))
    return st, acts + [Play((prompt_ref(st, st.node, suffix, getattr(node, suffix)),), t)]


def _retry(flow: F.Flow, st: State, node: F.Hot, why: str, now: datetime, acts: list[Any], goto: Goto) -> Result:
    if st.retries < node.max_retries:
        return _menu(replace(st, retries=st.retries + 1), node, why, acts)
    return goto(flow, st, node.failure, now, acts + [Log(f"{why}: retries exhausted", {"node": st.node})])


def on_hot(flow: F.Flow, st: State, node: F.Hot, ev: Any, now: datetime, goto: Goto) -> Result:
    if isinstance(ev, HotListed) and not is_stale(st, ev) and st.phase == "query":
        items = [i for i in ev.items if str(i.get("id", "")).isdigit()][: node.limit]
        if not items:
            return _notice(st, node, "empty" if ev.ok else "error", [])
        menu = hot_menu_text([str(i.get("title", "")) for i in items], node.agent is not None)
        ids = ",".join(str(i["id"]) for i in items)
        st = replace(st, vars={**st.vars, "hot_ids": ids, "hot_menu": menu})
        return _menu(st, node, "", [Log("hot questions offered", {"ids": ids, "prompt": say_name(menu)})])
    if isinstance(ev, PromptDone) and not is_stale(st, ev):
        if st.phase == "list":
            st, t = next_token(replace(st, phase="wait"))
            return st, [Timer(node.timeout, t)]
        if st.phase in ("empty", "error"):
            return goto(flow, st, node.empty or node.next, now, [])
        if st.phase == "answer":
            return goto(flow, st, node.next, now, [Log("hot answer played", {"id": st.vars.get("hot_id", "")})])
        if st.phase in ("gone", "fetch_error"):
            return goto(flow, st, node.next, now, [])
    if isinstance(ev, Timeout) and not is_stale(st, ev) and st.phase == "wait":
        return _retry(flow, st, node, "timeout", now, [], goto)
    if isinstance(ev, Digit) and st.phase in ("list", "wait"):
        acts: list[Any] = [StopPlay()] if st.phase == "list" else []
        offered = _ids(st)
        if ev.digit.isdigit() and 1 <= int(ev.digit) <= len(offered):
            chosen = offered[int(ev.digit) - 1]
            st, t = next_token(replace(st, phase="fetch", vars={**st.vars, "hot_id": chosen}))
            return st, acts + [KbRead(int(chosen), t)]
        if ev.digit == "0" and node.agent:
            return goto(flow, st, node.agent, now, acts)
        if ev.digit == "*":
            return _menu(st, node, "", acts)
        return _retry(flow, st, node, "invalid", now, acts, goto)
    if isinstance(ev, KbAnswer) and not is_stale(st, ev) and st.phase == "fetch":
        if ev.outcome == "ok":
            text = hot_answer_text(ev.data)
            st, t = next_token(replace(st, phase="answer"))
            fields = {"id": ev.data.get("id"), "version": ev.data.get("version"), "prompt": say_name(text)}
            return st, [Log("hot answer read", fields), Play((say_ref(text),), t)]
        if ev.outcome == "not_found":
            return _notice(st, node, "gone", [Log("hot answer gone", {"id": st.vars.get("hot_id", "")})])
        st, t = next_token(replace(st, phase="fetch_error"))
        return st, [Play((prompt_ref(st, st.node, "error_prompt", node.error_prompt),), t)]
    return st, []

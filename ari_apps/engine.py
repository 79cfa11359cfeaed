"""The flow interpreter: a pure state machine, ``step(flow, state, event, now)``.

No I/O here.  The ARI adapter (``ari_apps/app.py``) turns ARI events into the
events below, calls :func:`step`, and carries out the actions it returns.
Every playback, timer, recording or listen carries a token; an event with a
stale token (a playback that finished after the caller already pressed a key,
a timer of a node already left) is ignored.
"""

# ruff: noqa: F405
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from ari_apps import flow as F
from ari_apps.engine_hot import enter_hot, on_hot
from ari_apps.engine_text import is_open, is_stale, match_speech, next_token, prompt_ref, readback_text
from ari_apps.engine_types import *  # noqa: F403 (the engine's vocabulary, re-exported)

MAX_PASS_THROUGH = 32  # node changes in one step before we call it a loop


# ---------------------------------------------------------------- actions
Handler = Callable[[F.Flow, State, Any, Any, datetime], tuple[State, list[Any]]]

QUEUE_CONTEXT = "hotline-ivr-queue"
TRANSFER_CONTEXT = "hotline-ivr-transfer"


def start(
    flow_name: str, flow: F.Flow, variables: Mapping[str, str], now: datetime, node: str | None = None
) -> tuple[State, list[Any]]:
    st = State(flow=flow_name, vars=dict(variables))
    return _enter(flow, st, node or flow.start, now, [])


def step(flow: F.Flow, st: State, ev: Any, now: datetime) -> tuple[State, list[Any]]:
    """Advance ``st`` by ``ev``; return the new state and the actions to carry out."""
    if st.done:
        return st, []
    node = flow.nodes[st.node]
    handler: Handler = _HANDLERS[type(node)]  # each takes its own node type
    return handler(flow, st, node, ev, now)


# ---------------------------------------------------------------- helpers
_tok = next_token
_stale = is_stale
_p = prompt_ref


def _goto(flow: F.Flow, st: State, target: str, now: datetime, acts: list[Any]) -> tuple[State, list[Any]]:
    return _enter(flow, st, target, now, acts)


def _enter(
    flow: F.Flow, st: State, nid: str, now: datetime, acts: list[Any], depth: int = 0
) -> tuple[State, list[Any]]:
    if depth > MAX_PASS_THROUGH:
        acts.append(Log("flow loops without waiting; hanging up", {"flow": st.flow, "node": nid}))
        return replace(st, done=True), acts + [Hangup()]
    node = flow.nodes[nid]
    st = replace(st, node=nid, phase="", retries=0, digits="")
    if isinstance(node, F.Hours):
        target = node.open if is_open(node, now, flow.calendar) else node.closed
        return _enter(flow, st, target, now, acts, depth + 1)
    if isinstance(node, F.Play):
        prompts = []
        if node.sound:
            snd = F.expand(node.sound, st.vars)
            if snd:
                prompts.append(("sound:" + snd, ""))
        if node.prompt:
            prompts.append(_p(st, nid, "prompt", node.prompt))
        if not prompts:
            return _enter(flow, st, node.next, now, acts, depth + 1)
        st, t = _tok(st)
        return replace(st, phase="play"), acts + [Play(tuple(prompts), t)]
    if isinstance(node, (F.Menu, F.Read, F.Speech, F.Survey)):
        st, t = _tok(st)
        return replace(st, phase="prompt"), acts + [Play((_p(st, nid, "prompt", node.prompt),), t)]
    if isinstance(node, F.Lookup):
        number = st.vars.get(node.number_var, "")
        st, t = _tok(st)
        return replace(st, phase="query"), acts + [Lookup(number, None, t)]
    if isinstance(node, F.Hot):
        return enter_hot(st, node, acts)
    if isinstance(node, F.Record):
        st, t = _tok(st)
        return replace(st, phase="prompt"), acts + [Play((_p(st, nid, "prompt", node.prompt),), t)]
    if isinstance(node, F.Queue):
        if node.callback_after and st.vars.get("HOTLINE_CALLBACK") != "1":
            st, t = _tok(st)
            return replace(st, phase="estimate"), acts + [OfferCallback(_skill(node, st), t)]
        return _to_queue(st, node, acts)
    if isinstance(node, F.Transfer):
        # the dialplan plays the prompt before dialing; nothing waits here
        to = F.expand(node.to, st.vars)
        variables: dict[str, str] = {"HOTLINE_TRANSFER_KIND": node.kind}
        if node.prompt:
            variables["HOTLINE_TRANSFER_PROMPT"] = F.prompt_name(st.flow, nid)
        return replace(st, done=True), list(acts) + [Continue(TRANSFER_CONTEXT, to or "invalid", variables)]
    if isinstance(node, F.Hangup):
        if node.prompt:
            st, t = _tok(st)
            return replace(st, phase="bye"), acts + [Play((_p(st, nid, "prompt", node.prompt),), t)]
        return replace(st, done=True), acts + [Hangup()]
    raise TypeError(f"unknown node type {type(node).__name__}")


def _skill(node: F.Queue, st: State) -> str:
    return F.expand(node.skill, st.vars) or "hotline"


def _priority(node: F.Queue, st: State) -> int:
    p = node.priority
    if isinstance(p, str):
        p = F.expand(p, st.vars)
    try:
        return max(0, int(p))
    except (TypeError, ValueError):
        return 0


def _to_queue(st: State, node: F.Queue, acts: list[Any]) -> tuple[State, list[Any]]:
    variables = {
        "HOTLINE_QUEUE": _skill(node, st),
        "HOTLINE_PRIORITY": str(_priority(node, st)),
        "HOTLINE_AFTER": node.after,
    }
    if node.prompt:
        variables["HOTLINE_QUEUE_PROMPT"] = F.prompt_name(st.flow, st.node)
    return replace(st, done=True), list(acts) + [Continue(QUEUE_CONTEXT, "s", variables)]


def _retry(flow: F.Flow, st: State, node: Any, why: str, now: datetime, acts: list[Any]) -> tuple[State, list[Any]]:
    """Timeout or invalid input on a retrying node: replay with a notice, or fail."""
    if st.retries < node.max_retries:
        notice = node.timeout_prompt if why == "timeout" else node.invalid_prompt
        st, t = _tok(replace(st, retries=st.retries + 1, digits="", phase="prompt"))
        prompts: list[tuple[str, str]] = []
        if notice:
            prompts.append(_p(st, st.node, why + "_prompt", notice))
        prompts.append(_p(st, st.node, "prompt", node.prompt))
        return st, list(acts) + [Play(tuple(prompts), t)]
    acts = list(acts) + [Log(f"{why}: retries exhausted", {"flow": st.flow, "node": st.node})]
    return _goto(flow, st, node.failure, now, acts)


def _wait_timer(st: State, seconds: float, acts: list[Any], phase: str = "wait") -> tuple[State, list[Any]]:
    st, t = _tok(st)
    return replace(st, phase=phase), list(acts) + [Timer(seconds, t)]


# ---------------------------------------------------------------- handlers
def _on_play(flow: F.Flow, st: State, node: F.Play, ev: Any, now: datetime) -> tuple[State, list[Any]]:
    if isinstance(ev, PromptDone) and not _stale(st, ev):
        return _goto(flow, st, node.next, now, [])
    return st, []


def _on_hangup(flow: F.Flow, st: State, node: F.Hangup, ev: Any, now: datetime) -> tuple[State, list[Any]]:
    if isinstance(ev, PromptDone) and not _stale(st, ev):
        return replace(st, done=True), [Hangup()]
    return st, []


def _on_menu(flow: F.Flow, st: State, node: F.Menu, ev: Any, now: datetime) -> tuple[State, list[Any]]:
    if isinstance(ev, PromptDone) and not _stale(st, ev) and st.phase == "prompt":
        return _wait_timer(st, node.timeout, [])
    if isinstance(ev, Timeout) and not _stale(st, ev):
        if node.no_input:
            return _goto(flow, st, node.no_input, now, [])
        return _retry(flow, st, node, "timeout", now, [])
    if isinstance(ev, Digit):
        acts = [StopPlay()] if st.phase == "prompt" else []
        if ev.digit in node.choices:
            return _goto(flow, st, node.choices[ev.digit], now, acts)
        if node.invalid:
            return _goto(flow, st, node.invalid, now, acts)
        return _retry(flow, st, node, "invalid", now, acts)
    return st, []


def _on_read(flow: F.Flow, st: State, node: F.Read, ev: Any, now: datetime) -> tuple[State, list[Any]]:
    if isinstance(ev, PromptDone) and not _stale(st, ev) and st.phase == "prompt":
        return _wait_timer(st, node.timeout, [])
    if isinstance(ev, Digit):
        acts = [StopPlay()] if st.phase == "prompt" and not st.digits else []
        if node.terminator and ev.digit == node.terminator:
            return _read_done(flow, st, node, now, acts)
        if not ev.digit.isdigit():
            return st, acts
        st = replace(st, digits=st.digits + ev.digit)
        if len(st.digits) >= node.max_length:
            return _read_done(flow, st, node, now, acts)
        return _wait_timer(st, node.timeout, acts, phase="digits")
    if isinstance(ev, Timeout) and not _stale(st, ev):
        if st.digits:
            return _read_done(flow, st, node, now, [])
        return _retry(flow, st, node, "timeout", now, [])
    return st, []


def _read_done(flow: F.Flow, st: State, node: F.Read, now: datetime, acts: list[Any]) -> tuple[State, list[Any]]:
    if len(st.digits) < node.min_length:
        return _retry(flow, st, node, "invalid", now, acts)
    st = replace(st, vars={**st.vars, node.var: st.digits})
    return _goto(flow, st, node.next, now, acts)


def _on_speech(flow: F.Flow, st: State, node: F.Speech, ev: Any, now: datetime) -> tuple[State, list[Any]]:
    if isinstance(ev, PromptDone) and not _stale(st, ev) and st.phase == "prompt":
        st, t = _tok(st)
        return replace(st, phase="listen"), [Listen(tuple(node.grammar()), node.timeout, t, st.node)]
    if isinstance(ev, Speech) and not _stale(st, ev):
        i = match_speech(ev.text, node.choices)
        if i is None:
            return _retry(
                flow,
                st,
                node,
                "timeout" if not ev.text.strip() else "invalid",
                now,
                [Log("speech not matched", {"node": st.node, "heard": ev.text})],
            )
        return _goto(
            flow,
            st,
            node.choices[i].next,
            now,
            [Log("speech matched", {"node": st.node, "heard": ev.text, "choice": i})],
        )
    if isinstance(ev, Timeout) and not _stale(st, ev):
        return _retry(flow, st, node, "timeout", now, [])
    if isinstance(ev, Digit):
        acts = [StopPlay()] if st.phase == "prompt" else []
        for c in node.choices:
            if c.digit and c.digit == ev.digit:
                return _goto(flow, st, c.next, now, acts)
        return _retry(flow, st, node, "invalid", now, acts)
    return st, []


def _on_lookup(flow: F.Flow, st: State, node: F.Lookup, ev: Any, now: datetime) -> tuple[State, list[Any]]:
    if isinstance(ev, Looked) and not _stale(st, ev):
        if ev.outcome == "ok":
            st, t = _tok(replace(st, phase="readback"))
            return st, [Say(readback_text(ev.data), t)]
        if ev.outcome == "needs_last4" and st.phase == "query":
            st, t = _tok(replace(st, phase="last4", digits=""))
            return st, [Play((_p(st, st.node, "last4_prompt", node.last4_prompt),), t)]
        if ev.outcome == "needs_last4":
            st, t = _tok(replace(st, phase="denied"))
            return st, [Play((_p(st, st.node, "denied_prompt", node.denied_prompt),), t)]
        if ev.outcome == "not_found":
            st, t = _tok(replace(st, phase="not_found"))
            return st, [Play((_p(st, st.node, "not_found_prompt", node.not_found_prompt),), t)]
        st, t = _tok(replace(st, phase="error"))
        return st, [Play((_p(st, st.node, "error_prompt", node.error_prompt),), t)]
    if isinstance(ev, PromptDone) and not _stale(st, ev):
        if st.phase == "last4":
            return _wait_timer(st, node.timeout, [], phase="last4_wait")
        if st.phase == "not_found" and node.not_found:
            return _goto(flow, st, node.not_found, now, [])
        if st.phase in ("readback", "denied", "not_found", "error"):
            return _goto(flow, st, node.next, now, [])
    if isinstance(ev, Digit) and st.phase in ("last4", "last4_wait") and ev.digit.isdigit():
        acts = [StopPlay()] if st.phase == "last4" and not st.digits else []
        digits = st.digits + ev.digit
        if len(digits) == 4:
            st, t = _tok(replace(st, phase="query2", digits=""))
            return st, acts + [Lookup(st.vars.get(node.number_var, ""), digits, t)]
        return _wait_timer(replace(st, digits=digits), node.timeout, acts, phase="last4_wait")
    if isinstance(ev, Timeout) and not _stale(st, ev) and st.phase == "last4_wait":
        st, t = _tok(replace(st, phase="denied"))
        return st, [Play((_p(st, st.node, "denied_prompt", node.denied_prompt),), t)]
    return st, []


def _on_record(flow: F.Flow, st: State, node: F.Record, ev: Any, now: datetime) -> tuple[State, list[Any]]:
    if isinstance(ev, PromptDone) and not _stale(st, ev):
        if st.phase == "prompt":
            st, t = _tok(replace(st, phase="recording"))
            return st, [Record(node.max_seconds, node.transcribe, t)]
        if st.phase in ("done", "error"):
            return _goto(flow, st, node.next, now, [])
    if isinstance(ev, Recorded) and not _stale(st, ev):
        if not ev.recording:
            st, t = _tok(replace(st, phase="error"))
            return st, [Play((_p(st, st.node, "error_prompt", node.error_prompt),), t)]
        st, t = _tok(replace(st, phase="saving"))
        return st, [SaveDraft(ev.recording, ev.transcript, t)]
    if isinstance(ev, Saved) and not _stale(st, ev):
        phase, text, suffix = (
            ("done", node.done_prompt, "done_prompt") if ev.ok else ("error", node.error_prompt, "error_prompt")
        )
        st, t = _tok(replace(st, phase=phase))
        if ev.ok:
            st = replace(st, vars={**st.vars, "draft_number": str(ev.data.get("number", ""))})
        return st, [Play((_p(st, st.node, suffix, text),), t)]
    return st, []


def _on_survey(flow: F.Flow, st: State, node: F.Survey, ev: Any, now: datetime) -> tuple[State, list[Any]]:
    if isinstance(ev, PromptDone) and not _stale(st, ev):
        if st.phase == "prompt":
            return _wait_timer(st, node.timeout, [])
        if st.phase == "thanks":
            return _goto(flow, st, node.next, now, [])
    if isinstance(ev, Digit) and st.phase in ("prompt", "wait"):
        acts: list[Any] = [StopPlay()] if st.phase == "prompt" else []
        if ev.digit.isdigit() and 1 <= int(ev.digit) <= 5:
            st, t = _tok(replace(st, phase="saving"))
            return st, acts + [SaveSurvey(int(ev.digit), t)]
        return _retry(flow, st, node, "invalid", now, acts)
    if isinstance(ev, Timeout) and not _stale(st, ev) and st.phase == "wait":
        return _retry(flow, st, node, "timeout", now, [])
    if isinstance(ev, Saved) and not _stale(st, ev):
        st, t = _tok(replace(st, phase="thanks"))
        acts = [] if ev.ok else [Log("survey not stored", {"node": st.node, **dict(ev.data)})]
        return st, acts + [Play((_p(st, st.node, "thanks_prompt", node.thanks_prompt),), t)]
    return st, []


def _on_queue(flow: F.Flow, st: State, node: F.Queue, ev: Any, now: datetime) -> tuple[State, list[Any]]:
    if isinstance(ev, Wait) and not _stale(st, ev) and st.phase == "estimate":
        if ev.seconds < node.callback_after:
            return _to_queue(st, node, [])
        st, t = _tok(replace(st, phase="offer"))
        return st, [Play((_p(st, st.node, "callback_prompt", node.callback_prompt),), t)]
    if isinstance(ev, PromptDone) and not _stale(st, ev):
        if st.phase == "offer":
            return _wait_timer(st, 5, [], phase="offer_wait")
        if st.phase == "placed":
            return replace(st, done=True), [Hangup()]
    if isinstance(ev, Digit) and st.phase in ("offer", "offer_wait"):
        acts = [StopPlay()] if st.phase == "offer" else []
        if ev.digit == "1":
            st, t = _tok(replace(st, phase="placing"))
            return st, acts + [PlaceCallback(_skill(node, st), _priority(node, st), t)]
        return _to_queue(st, node, acts)
    if isinstance(ev, Timeout) and not _stale(st, ev) and st.phase == "offer_wait":
        return _to_queue(st, node, [])
    if isinstance(ev, Saved) and not _stale(st, ev) and st.phase == "placing":
        if not ev.ok:
            return _to_queue(st, node, [Log("callback not placed; queueing", dict(ev.data))])
        st, t = _tok(replace(st, phase="placed"))
        return st, [Play((_p(st, st.node, "callback_done_prompt", node.callback_done_prompt),), t)]
    return st, []


def _on_hot(flow: F.Flow, st: State, node: F.Hot, ev: Any, now: datetime) -> tuple[State, list[Any]]:
    return on_hot(flow, st, node, ev, now, _goto)


def _never(flow: F.Flow, st: State, node: Any, ev: Any, now: datetime) -> tuple[State, list[Any]]:
    return st, []


_HANDLERS: dict[type, Any] = {
    F.Play: _on_play,
    F.Menu: _on_menu,
    F.Read: _on_read,
    F.Speech: _on_speech,
    F.Lookup: _on_lookup,
    F.Hot: _on_hot,
    F.Record: _on_record,
    F.Survey: _on_survey,
    F.Queue: _on_queue,
    F.Hangup: _on_hangup,
    F.Hours: _never,
    F.Transfer: _never,
}

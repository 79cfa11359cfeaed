"""The work-order state machine: a pure function over plain data.

``apply(state, action, actor_role, payload, actor_department=None, rules=RULES)``
returns a :class:`Result` (the new :class:`OrderState` and a list of event
dicts) or raises :class:`TransitionError` with a machine-readable ``reason``
and a human message.  The API maps that error to 409.  No I/O here: the
service layer (workorder/service.py) turns events into records, deadlines
and outbox rows.

The loop follows the Handan plan (受理、派单、办理、答复、督办、办结、回访、评价):

    draft --accept--> accepted --dispatch--> dispatched --sign--> handling
      |                  |  \\--direct_answer--> evaluation --evaluate--> closed --archive--> archived
      |                  |--reject--> rejected (不予受理, disposition code)
      |                  \\--merge--> merged (并单, parent order) --undo_repeat--> accepted
    handling --reply--> replied --review_reply(accept)--> callback --callback(reached)--> evaluation
    replied --review_reply(accept), no_callback (不需要回访)--> evaluation (no call, no rating needed)
    evaluation --evaluate(dissatisfied, unit at fault)--> dispatched (重办, next round)
    dispatched|handling --return--> return_review --review_return--> dispatched | back
    closed --appeal--> appeal_review --review_appeal--> closed

The county chain (县级承办), 首接负责制, 联席会议 and 主办/协办 parts: workorder/states_chain.py.
"""

# ruff: noqa: F405
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from workorder import states_chain as chain
from workorder.states_base import HOTLINE, REVIEWERS, Events, Payload, _choice, _need, _t, refusal
from workorder.states_base import RULES as RULES  # re-exported: the store and the tests use states.*
from workorder.states_base import OrderState as OrderState
from workorder.states_base import Result as Result
from workorder.states_base import Rules as Rules
from workorder.states_base import Transition as Transition
from workorder.states_base import TransitionError as TransitionError
from workorder.vocab import *  # noqa: F403 (the vocabularies, re-exported)

# the transition table: data, read by apply() and by docs/tests
TRANSITIONS: dict[str, Transition] = {
    "accept": _t({"draft"}, HOTLINE, "受理"),
    "direct_answer": _t({"draft", "accepted"}, HOTLINE, "直接答复"),
    "reject": _t({"draft", "accepted"}, HOTLINE, "不予受理"),
    "merge": _t({"draft", "accepted"}, HOTLINE, "并单"),
    # a merge or a 无理重复诉求 close taken back (workorder/repeat.py): accepted again, unlinked
    "undo_repeat": _t({"merged", "rejected"}, REVIEWERS, "撤销并单/重复认定"),
    "dispatch": _t({"accepted"}, HOTLINE, "派单"),
    "sign": _t({"dispatched"}, {"department"}, "签收", unit_only=True),
    "return": _t({"dispatched", "handling"}, {"department"}, "退单", unit_only=True),
    "review_return": _t({"return_review"}, REVIEWERS, "退单审核"),
    "request_extension": _t({"dispatched", "handling"}, {"department"}, "延期申请", unit_only=True),
    "decide_extension": _t({"dispatched", "handling"}, REVIEWERS, "延期审批"),
    "reply": _t({"handling"}, {"department"}, "答复", unit_only=True),
    "review_reply": _t({"replied"}, REVIEWERS, "审核"),
    # SYSTEM: the outbound 回访 dialer (workorder/revisit_service.py) records its calls and the survey
    "callback": _t({"callback"}, HOTLINE | {SYSTEM}, "回访"),
    # CITIZEN: the citizen rates their own order on the web channel (number + last 4 digits)
    "evaluate": _t({"evaluation"}, HOTLINE | {"ivr", SYSTEM, CITIZEN}, "评价"),
    "appeal": _t({"closed"}, {"department"}, "申诉", unit_only=True),
    "review_appeal": _t({"appeal_review"}, {"supervisor", "admin"}, "申诉审核"),
    "archive": _t({"closed"}, {"supervisor", "admin", SYSTEM}, "归档"),
    "supervise": _t(
        {"dispatched", "handling", "return_review", "replied", "callback"},
        {"dispatcher", "supervisor", "admin", SYSTEM},
        "督办/催办",
    ),
    **chain.TRANSITIONS,  # 县级承办, 首接负责制, 联席会议, 主办/协办 (workorder/states_chain.py)
}
ACTIONS = tuple(TRANSITIONS)


def allowed_actions(state: OrderState, actor_role: str, actor_department: str | None = None) -> list[str]:
    """Actions this actor may try now (for the desktop's buttons)."""
    out = []
    for name, t in TRANSITIONS.items():
        if state.status in t.sources and actor_role in t.roles:
            if refusal(t, state, name, actor_role, actor_department) is None:
                out.append(name)
    return out


def apply(
    state: OrderState,
    action: str,
    actor_role: str,
    payload: Payload | None = None,
    actor_department: str | None = None,
    rules: Rules = RULES,
) -> Result:
    """Apply ``action`` by an actor of ``actor_role``; pure."""
    payload = dict(payload or {})
    t = TRANSITIONS.get(action)
    if t is None:
        raise TransitionError("unknown_action", f"unknown action {action!r}; known: {', '.join(ACTIONS)}")
    if actor_role not in t.roles:
        raise TransitionError("role_not_allowed", f"role {actor_role!r} may not {action} ({t.label})")
    if state.status not in t.sources:
        raise TransitionError(
            "invalid_state",
            f"cannot {action} ({t.label}) an order in status {state.status} ({STATUSES.get(state.status, '?')}); "
            f"allowed from: {', '.join(sorted(t.sources))}",
        )
    refused = refusal(t, state, action, actor_role, actor_department)
    if refused is not None:
        raise refused
    events: Events = []
    if action in chain.HANDLERS:
        new = chain.HANDLERS[action](state, payload, events, actor_department)
    else:
        new = _HANDLERS[action](state, payload, rules, events, actor_role)
    if new.status != state.status:
        events.insert(0, {"type": "status_changed", "from": state.status, "to": new.status, "action": action})
    return Result(new, events)


# -- handlers ------------------------------------------------------------------


def _accept(s: OrderState, p: Payload, r: Rules, ev: Events, role: str) -> OrderState:
    return replace(s, status="accepted")


def _direct_answer(s: OrderState, p: Payload, r: Rules, ev: Events, role: str) -> OrderState:
    answer = _need(p, "answer", "direct_answer")
    ev.append({"type": "reply", "unit": None, "content": answer, "kb_refs": list(p.get("kb_refs") or [])})
    return replace(s, status="evaluation")


def _reject(s: OrderState, p: Payload, r: Rules, ev: Events, role: str) -> OrderState:
    code = _choice(p, "disposition", DISPOSITIONS, "reject")
    if code == "emergency":
        line = _choice(p, "transfer_to", EMERGENCY_LINES, "reject")
        ev.append({"type": "transfer", "to": line})
    if code == "unreasonable_repeat":
        _need(p, "parent_id", "reject")
    return replace(s, status="rejected", disposition=code, parent_id=p.get("parent_id"))


def _merge(s: OrderState, p: Payload, r: Rules, ev: Events, role: str) -> OrderState:
    parent = _need(p, "parent_id", "merge")
    return replace(s, status="merged", parent_id=int(parent))


def _undo_repeat(s: OrderState, p: Payload, r: Rules, ev: Events, role: str) -> OrderState:
    if s.status == "rejected" and s.disposition != "unreasonable_repeat":
        raise TransitionError("not_repeat", "only a merge or a 无理重复诉求 close can be undone, not this 不予受理")
    ev.append({"type": "repeat_undone", "parent_id": s.parent_id, "reason": _need(p, "reason", "undo_repeat")})
    return replace(s, status="accepted", parent_id=None, disposition=None)


def _units(p: Payload, action: str) -> tuple[str, tuple[str, ...]]:
    main = _need(p, "main_unit", action)
    co = tuple(u for u in (p.get("co_units") or []) if u != main)
    if len(set(co)) != len(co):
        raise TransitionError("bad_field", f"{action}: co_units repeat a unit")
    return main, co


def _dispatch(s: OrderState, p: Payload, r: Rules, ev: Events, role: str) -> OrderState:
    main, co = _units(p, "dispatch")
    ev.append({"type": "dispatch", "main_unit": main, "co_units": list(co), "round": s.round})
    return replace(s, status="dispatched", main_unit=main, co_units=co, dispatched_ever=True, **chain.CLEARED)


def _sign(s: OrderState, p: Payload, r: Rules, ev: Events, role: str) -> OrderState:
    ev.append({"type": "signed", "unit": s.main_unit, "first": s.first_unit is None})
    return replace(s, status="handling", first_unit=s.first_unit or s.main_unit)


def _return(s: OrderState, p: Payload, r: Rules, ev: Events, role: str) -> OrderState:
    if s.designated:
        raise TransitionError(
            "designated",
            "the hotline designated this unit after "
            f"{r.returns_before_designation} returns; it may not return the order again",
        )
    chain.check_no_open_sub(s, "return")
    reason = _need(p, "reason", "return")
    ev.append({"type": "return_requested", "unit": s.main_unit, "reason": reason})
    return replace(s, status="return_review", status_before_return=s.status)


def _review_return(s: OrderState, p: Payload, r: Rules, ev: Events, role: str) -> OrderState:
    decision = _choice(p, "decision", ("redispatch", "refuse"), "review_return")
    if decision == "refuse":
        ev.append({"type": "return_refused", "unit": s.main_unit})
        return replace(s, status=s.status_before_return or "dispatched", status_before_return=None)
    chain.check_not_first_unit(s)
    main, co = _units(p, "review_return")
    count = s.return_count + 1
    designated = count >= r.returns_before_designation
    ev.append({"type": "return_approved", "unit": s.main_unit, "count": count})
    ev.append({"type": "dispatch", "main_unit": main, "co_units": list(co), "round": s.round, "designated": designated})
    return replace(
        s,
        status="dispatched",
        main_unit=main,
        co_units=co,
        return_count=count,
        designated=designated,
        status_before_return=None,
        extension_pending=False,
        **chain.CLEARED,
    )


def _request_extension(s: OrderState, p: Payload, r: Rules, ev: Events, role: str) -> OrderState:
    if s.extension_pending:
        raise TransitionError("extension_pending", "an extension request is already waiting for a decision")
    reason = _need(p, "reason", "request_extension")
    limit = _need(p, "extra", "request_extension")
    ev.append({"type": "extension_requested", "unit": s.main_unit, "reason": reason, "extra": limit})
    return replace(s, extension_pending=True)


def _decide_extension(s: OrderState, p: Payload, r: Rules, ev: Events, role: str) -> OrderState:
    if not s.extension_pending:
        raise TransitionError("no_extension", "there is no extension request to decide")
    decision = _choice(p, "decision", ("approve", "refuse"), "decide_extension")
    ev.append({"type": "extension_decided", "decision": decision})
    ev.append({"type": "inform_caller", "about": f"extension_{decision}"})
    return replace(s, extension_pending=False)


def _reply(s: OrderState, p: Payload, r: Rules, ev: Events, role: str) -> OrderState:
    content = _need(p, "content", "reply")
    chain.check_reply(s)
    ev.append({"type": "reply", "unit": s.main_unit, "content": content})
    return replace(s, status="replied", extension_pending=False)


def _review_reply(s: OrderState, p: Payload, r: Rules, ev: Events, role: str) -> OrderState:
    decision = _choice(p, "decision", ("accept", "send_back"), "review_reply")
    ev.append({"type": "reply_reviewed", "decision": decision})
    if decision == "accept":
        if s.no_callback:
            # 不需要回访: no call; the order waits for its 评价 (办结) without a rating
            ev.append({"type": "callback_waived"})
            return replace(s, status="evaluation", callback_attempts=0)
        return replace(s, status="callback", callback_attempts=0)
    return replace(s, status="handling")


def _callback(s: OrderState, p: Payload, r: Rules, ev: Events, role: str) -> OrderState:
    reached = p.get("reached")
    if not isinstance(reached, bool):
        raise TransitionError("missing_field", "callback needs 'reached' (true or false)")
    attempts = s.callback_attempts + 1
    ev.append(
        {
            "type": "callback",
            "reached": reached,
            "attempt": attempts,
            "resolved": p.get("resolved"),
            "note": p.get("note"),
        }
    )
    if reached:
        return replace(s, status="evaluation", callback_attempts=attempts)
    if attempts >= r.callback_max_tries:
        ev.append({"type": "callback_failed", "attempts": attempts})
        return replace(s, status="evaluation", callback_attempts=attempts, callback_failed=True)
    return replace(s, callback_attempts=attempts)


def _evaluate(s: OrderState, p: Payload, r: Rules, ev: Events, role: str) -> OrderState:
    score = p.get("satisfaction")
    if score is None and not (s.callback_failed or s.no_callback):
        raise TransitionError("missing_field", "evaluate needs 'satisfaction' 1..5 (the callback reached the caller)")
    if score is not None and score not in SATISFACTION:
        raise TransitionError("bad_field", f"satisfaction must be 1..5 ({'/'.join(SATISFACTION.values())})")
    at_fault = bool(p.get("unit_at_fault"))
    ev.append({"type": "evaluated", "satisfaction": score, "resolved": p.get("resolved"), "unit_at_fault": at_fault})
    if score in DISSATISFIED and at_fault and s.dispatched_ever and s.main_unit and s.round < r.max_rounds:
        nxt = s.round + 1
        ev.append({"type": "reopened", "round": nxt})
        ev.append({"type": "dispatch", "main_unit": s.main_unit, "co_units": list(s.co_units), "round": nxt})
        return replace(
            s,
            status="dispatched",
            round=nxt,
            satisfaction=score,
            callback_attempts=0,
            callback_failed=False,
            extension_pending=False,
            **chain.CLEARED,
        )
    return replace(s, status="closed", satisfaction=score)


def _appeal(s: OrderState, p: Payload, r: Rules, ev: Events, role: str) -> OrderState:
    reason = _need(p, "reason", "appeal")
    ev.append({"type": "appeal", "unit": s.main_unit, "reason": reason})
    return replace(s, status="appeal_review")


def _review_appeal(s: OrderState, p: Payload, r: Rules, ev: Events, role: str) -> OrderState:
    decision = _choice(p, "decision", ("uphold", "refuse"), "review_appeal")
    ev.append({"type": "appeal_reviewed", "decision": decision})
    # an upheld appeal voids the rating: it no longer counts in the statistics
    return replace(s, status="closed", satisfaction=None if decision == "uphold" else s.satisfaction)


def _archive(s: OrderState, p: Payload, r: Rules, ev: Events, role: str) -> OrderState:
    return replace(s, status="archived")


def _supervise(s: OrderState, p: Payload, r: Rules, ev: Events, role: str) -> OrderState:
    kind = _choice(p, "kind", ("supervise", "urge"), "supervise")
    level = _choice(p, "level", ("city", "county"), "supervise") if p.get("level") else "city"
    note = p.get("note") or ""
    if level == "county":  # the city supervises the county's department directly (the whole chain)
        return chain.supervise_county(s, kind, p.get("stage") or "manual", note, ev)
    ev.append({"type": "supervision", "kind": kind, "stage": p.get("stage") or "manual", "note": note})
    return s


_HANDLERS: dict[str, Callable[[OrderState, Payload, Rules, Events, str], OrderState]] = {
    "accept": _accept,
    "direct_answer": _direct_answer,
    "reject": _reject,
    "merge": _merge,
    "undo_repeat": _undo_repeat,
    "dispatch": _dispatch,
    "sign": _sign,
    "return": _return,
    "review_return": _review_return,
    "request_extension": _request_extension,
    "decide_extension": _decide_extension,
    "reply": _reply,
    "review_reply": _review_reply,
    "callback": _callback,
    "evaluate": _evaluate,
    "appeal": _appeal,
    "review_appeal": _review_appeal,
    "archive": _archive,
    "supervise": _supervise,
}
assert set(_HANDLERS) | set(chain.HANDLERS) == set(TRANSITIONS)

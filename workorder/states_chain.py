"""The county chain, first responsibility and joint handling: transitions of the state machine.

Pure, like workorder/states.py (which merges ``TRANSITIONS`` and ``HANDLERS`` into its table).

县级承办 (Shanxi plan 三(二): 属于县级部门职责范围的事项，由各市12345热线受理并派发县级责任部门转县有关部门办理):
the city dispatches to the county government (a unit of kind district); once the county has
signed (order ``handling``) it dispatches on to one of its own departments (县直部门, a map
department with ``parent: <county>``) with ``sub_dispatch``.  That level has its own status
(``sub_status``), its own deadlines (time_limits.yaml ``county:``), its own return to the county
and its own supervision; the county answers the city only when its department's reply is in
and accepted::

    (order handling) --sub_dispatch--> dispatched --sub_sign--> handling --sub_reply--> replied
    dispatched|handling --sub_return--> return_review --sub_review_return--> back | taken back
    replied --sub_review(accept)--> done | (send_back)--> handling

首接负责制 (Shanxi plan 三(二)): the unit that signs an order first (``first_unit``) may ask to
return it, but the center cannot simply re-dispatch it elsewhere: it refuses the return, or it
designates a lead (``designate_lead`` with a reason code, or a ``joint_meeting``) that takes the
responsibility over; a designated unit may not return the order.

联席会议 / 主办单位和协办单位: a ``joint_meeting`` records the date, the units present, the
decision, the lead and the assisting units with their parts; the order follows it (main unit =
lead, co units = the assisting units).  Each assisting unit answers its part (``part_reply``);
the lead's ``reply`` is refused while a part is missing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from workorder.states_base import (
    REVIEWERS,
    Events,
    OrderState,
    Payload,
    Transition,
    TransitionError,
    _choice,
    _need,
    _t,
)
from workorder.vocab import DESIGNATION_REASONS, SUB_OPEN

DEPT = {"department"}
OPEN = tuple(SUB_OPEN)

TRANSITIONS: dict[str, Transition] = {
    "sub_dispatch": _t({"handling"}, DEPT, "转派县直部门", unit_only=True, sub_sources=("", "done")),
    "sub_sign": _t({"handling"}, DEPT, "县直部门签收", acts_as="sub", sub_sources=("dispatched",)),
    "sub_return": _t({"handling"}, DEPT, "县直部门退回", acts_as="sub", sub_sources=("dispatched", "handling")),
    "sub_review_return": _t({"handling"}, DEPT, "县级退回审核", unit_only=True, sub_sources=("return_review",)),
    "sub_reply": _t({"handling"}, DEPT, "县直部门答复", acts_as="sub", sub_sources=("handling",)),
    "sub_review": _t({"handling"}, DEPT, "县级审核答复", unit_only=True, sub_sources=("replied",)),
    "sub_supervise": _t({"handling"}, DEPT, "县级督办", unit_only=True, sub_sources=OPEN),
    "designate_lead": _t({"dispatched", "handling", "return_review"}, REVIEWERS, "指定主办单位"),
    "joint_meeting": _t({"accepted", "dispatched", "handling", "return_review"}, REVIEWERS, "联席会议"),
    "part_reply": _t({"dispatched", "handling"}, DEPT, "协办答复", acts_as="co"),
}

# what a new dispatch of the order (by the city) resets: the county level and the parts
CLEARED: dict[str, Any] = {"sub_unit": None, "sub_status": None, "sub_signed": False, "parts_due": ()}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# -- checks the core loop makes (states.py) -------------------------------------------


def check_no_open_sub(s: OrderState, action: str) -> None:
    if s.sub_status in SUB_OPEN:
        raise TransitionError(
            "sub_open",
            f"cannot {action}: the order is with the county's department {s.sub_unit!r} ({s.sub_status}); "
            "take it back first (sub_review_return take_back) or finish that level",
        )


def check_not_first_unit(s: OrderState) -> None:
    """首接负责制: a return by the unit that signed first is not re-dispatched; only a lead takes over."""
    if s.first_unit is not None and s.main_unit == s.first_unit:
        raise TransitionError(
            "first_responsibility",
            f"首接负责制: {s.first_unit!r} signed this order first and stays responsible; refuse the return, "
            "or designate a lead unit (designate_lead with a reason, or a joint_meeting)",
        )


def check_reply(s: OrderState) -> None:
    check_no_open_sub(s, "reply")
    if s.parts_due:
        raise TransitionError(
            "parts_pending",
            f"主办/协办: the lead replies when every assisting unit's part is in; missing: {', '.join(s.parts_due)}",
        )


def supervise_county(s: OrderState, kind: str, stage: str, note: str, ev: Events) -> OrderState:
    """督办 one level down: the supervision goes to the county's department (city or county)."""
    if s.sub_status not in SUB_OPEN:
        raise TransitionError("invalid_sub_state", "supervise at level county: no open dispatch to a county department")
    ev.append(
        {"type": "supervision", "kind": kind, "stage": stage, "note": note, "unit": s.sub_unit, "level": "county"}
    )
    return s


# -- handlers (state, payload, events, actor's department) -------------------------------


def _sub_dispatch(s: OrderState, p: Payload, ev: Events, dept: str | None) -> OrderState:
    unit = _need(p, "unit", "sub_dispatch")
    if unit == s.main_unit:
        raise TransitionError("bad_field", "sub_dispatch: the county dispatches on to one of its departments")
    ev.append({"type": "sub_dispatch", "unit": unit, "county": s.main_unit, "round": s.round})
    return replace(s, sub_unit=unit, sub_status="dispatched", sub_signed=False)


def _sub_sign(s: OrderState, p: Payload, ev: Events, dept: str | None) -> OrderState:
    ev.append({"type": "sub_signed", "unit": s.sub_unit})
    return replace(s, sub_status="handling", sub_signed=True)


def _sub_return(s: OrderState, p: Payload, ev: Events, dept: str | None) -> OrderState:
    reason = _need(p, "reason", "sub_return")
    ev.append({"type": "sub_return_requested", "unit": s.sub_unit, "reason": reason})
    return replace(s, sub_status="return_review")


def _sub_review_return(s: OrderState, p: Payload, ev: Events, dept: str | None) -> OrderState:
    decision = _choice(p, "decision", ("refuse", "take_back"), "sub_review_return")
    ev.append({"type": "sub_return_reviewed", "unit": s.sub_unit, "decision": decision})
    if decision == "refuse":
        return replace(s, sub_status="handling" if s.sub_signed else "dispatched")
    return replace(s, sub_unit=None, sub_status=None, sub_signed=False)


def _sub_reply(s: OrderState, p: Payload, ev: Events, dept: str | None) -> OrderState:
    content = _need(p, "content", "sub_reply")
    ev.append({"type": "sub_reply", "unit": s.sub_unit, "content": content})
    return replace(s, sub_status="replied")


def _sub_review(s: OrderState, p: Payload, ev: Events, dept: str | None) -> OrderState:
    decision = _choice(p, "decision", ("accept", "send_back"), "sub_review")
    ev.append({"type": "sub_reply_reviewed", "unit": s.sub_unit, "decision": decision})
    return replace(s, sub_status="done" if decision == "accept" else "handling")


def _sub_supervise(s: OrderState, p: Payload, ev: Events, dept: str | None) -> OrderState:
    kind = _choice(p, "kind", ("supervise", "urge"), "sub_supervise")
    return supervise_county(s, kind, "manual", p.get("note") or "", ev)


def _assisting(p: Payload, lead: str, action: str) -> list[dict[str, str]]:
    raw = p.get("assisting") or []
    if not isinstance(raw, list):
        raise TransitionError("bad_field", f"{action}: assisting is a list of {{unit, part}}")
    out: list[dict[str, str]] = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("unit"), str) or not item["unit"]:
            raise TransitionError("bad_field", f"{action}: every assisting entry needs a 'unit'")
        part = item.get("part")
        if not isinstance(part, str) or not part.strip():
            raise TransitionError("missing_field", f"{action}: assisting unit {item['unit']!r} needs its 'part'")
        if item["unit"] == lead or item["unit"] in {x["unit"] for x in out}:
            raise TransitionError("bad_field", f"{action}: {item['unit']!r} is the lead or repeated")
        out.append({"unit": item["unit"], "part": part.strip()})
    return out


def _take_over(s: OrderState, lead: str, co: tuple[str, ...], parts_due: tuple[str, ...]) -> OrderState:
    return replace(
        s,
        status="dispatched",
        main_unit=lead,
        co_units=co,
        designated=True,
        dispatched_ever=True,
        status_before_return=None,
        extension_pending=False,
        **{**CLEARED, "parts_due": parts_due},
    )


def _designate_lead(s: OrderState, p: Payload, ev: Events, dept: str | None) -> OrderState:
    lead = _need(p, "lead", "designate_lead")
    reason = _choice(p, "reason", DESIGNATION_REASONS, "designate_lead")
    ev.append({"type": "lead_designated", "unit": lead, "previous": s.main_unit, "reason": reason})
    if lead == s.main_unit:  # the center confirms the unit: it stays, and may no longer return
        back = s.status_before_return if s.status == "return_review" else s.status
        return replace(s, status=back or "dispatched", designated=True, status_before_return=None)
    co = tuple(u for u in s.co_units if u != lead)
    ev.append({"type": "dispatch", "main_unit": lead, "co_units": list(co), "round": s.round, "designated": True})
    return _take_over(s, lead, co, tuple(u for u in s.parts_due if u != lead))


def _joint_meeting(s: OrderState, p: Payload, ev: Events, dept: str | None) -> OrderState:
    held_on = _need(p, "held_on", "joint_meeting")
    if not isinstance(held_on, str) or not _DATE.match(held_on):
        raise TransitionError("bad_field", f"joint_meeting: held_on is a date YYYY-MM-DD, not {held_on!r}")
    present = p.get("units_present")
    if not isinstance(present, list) or len(set(present)) < 2 or not all(isinstance(u, str) for u in present):
        raise TransitionError("bad_field", "joint_meeting: units_present lists the units at the meeting (two or more)")
    decision = _need(p, "decision", "joint_meeting")
    lead = _need(p, "lead", "joint_meeting")
    assisting = _assisting(p, lead, "joint_meeting")
    if not assisting:
        raise TransitionError("missing_field", "joint_meeting: name the assisting units and their parts")
    co = tuple(a["unit"] for a in assisting)
    ev.append(
        {
            "type": "joint_meeting",
            "held_on": held_on,
            "units_present": sorted(set(present)),
            "decision": decision,
            "lead": lead,
            "assisting": assisting,
            "previous": s.main_unit,
        }
    )
    parts = {a["unit"]: a["part"] for a in assisting}
    ev.append(
        {
            "type": "dispatch",
            "main_unit": lead,
            "co_units": list(co),
            "round": s.round,
            "designated": True,
            "parts": parts,
        }
    )
    return _take_over(s, lead, co, co)


def _part_reply(s: OrderState, p: Payload, ev: Events, dept: str | None) -> OrderState:
    content = _need(p, "content", "part_reply")
    ev.append({"type": "part_reply", "unit": dept, "content": content})
    return replace(s, parts_due=tuple(u for u in s.parts_due if u != dept))


HANDLERS: dict[str, Callable[[OrderState, Payload, Events, str | None], OrderState]] = {
    "sub_dispatch": _sub_dispatch,
    "sub_sign": _sub_sign,
    "sub_return": _sub_return,
    "sub_review_return": _sub_review_return,
    "sub_reply": _sub_reply,
    "sub_review": _sub_review,
    "sub_supervise": _sub_supervise,
    "designate_lead": _designate_lead,
    "joint_meeting": _joint_meeting,
    "part_reply": _part_reply,
}
assert set(HANDLERS) == set(TRANSITIONS)
__all__ = ["TRANSITIONS", "HANDLERS", "CLEARED"]

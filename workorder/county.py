"""The county chain's rules over the departments, and the chain as the city sees it (pure).

* The city dispatches to top-level units only: a county department (县直部门, a map department
  with ``parent: <county>``) is reached through its county (市→县→县直部门).
* A county dispatches on (``sub_dispatch``) only to its own departments.
* :func:`chain_view` assembles an order's whole chain from its records: the city's dispatch,
  the county's dispatches on with their deadlines and outcomes, supervisions at each level,
  the joint meetings and the assisting units' parts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from workorder.views import _iso
from workorder.vocab import STATUSES, SUB_STATUSES

CITY_ACTIONS = ("dispatch", "review_return", "designate_lead", "joint_meeting")


class RecordLike(Protocol):
    kind: str
    unit: str | None
    at: datetime
    actor: str | None
    round: int
    data: dict[str, Any]


def unit_refusal(
    action: str, county: str | None, named: Iterable[str], parents: Mapping[str, str | None]
) -> tuple[str, str] | None:
    """(reason, message) when ``action`` names a unit it may not; None when all is well.
    ``parents``: unit -> its county (None for a top-level unit)."""
    for u in named:
        parent = parents.get(u)
        if action in CITY_ACTIONS and parent is not None:
            return (
                "county_department",
                f"{u} is a department of the county {parent}: the city dispatches to {parent}, "
                "which dispatches on to it (县级承办, sub_dispatch)",
            )
        if action == "sub_dispatch" and parent != county:
            return (
                "not_county_department",
                f"{u} is not a department of {county}; a county dispatches on only to its own (parent: {county})",
            )
    return None


def _name(names: Mapping[str, str], code: str | None) -> str | None:
    return names.get(code, code) if code else None


def _assignments(recs: list[RecordLike], names: Mapping[str, str]) -> list[dict[str, Any]]:
    """One entry per dispatch on to a county department, with what became of it."""
    out: list[dict[str, Any]] = []
    outcome = {"accept": "accepted", "send_back": "sent_back", "refuse": "return_refused", "take_back": "taken_back"}
    for r in recs:
        if r.kind == "sub_dispatch":
            out.append(
                {
                    "unit": r.unit,
                    "unit_name": _name(names, r.unit),
                    "county": r.data.get("county"),
                    "round": r.round,
                    "dispatched_at": _iso(r.at),
                    "sign_deadline": r.data.get("sign_deadline"),
                    "handling_deadline": r.data.get("handling_deadline"),
                    "signed_at": None,
                    "returns": [],
                    "replies": [],
                    "supervisions": 0,
                    "outcome": "open",
                }
            )
        elif out and r.unit == out[-1]["unit"]:
            a = out[-1]
            if r.kind == "sub_sign":
                a["signed_at"] = _iso(r.at)
            elif r.kind == "sub_return_requested":
                a["returns"].append({"at": _iso(r.at), "reason": r.data.get("reason")})
            elif r.kind == "sub_reply":
                a["replies"].append({"at": _iso(r.at), "content": r.data.get("content")})
            elif r.kind == "supervision" and r.data.get("level") == "county":
                a["supervisions"] += 1
            elif r.kind in ("sub_reply_reviewed", "sub_return_reviewed"):
                a["outcome"] = outcome.get(r.data.get("decision", ""), a["outcome"])
                if a["outcome"] in ("sent_back", "return_refused"):
                    a["outcome"] = "open"
    return out


def _parts(recs: list[RecordLike], names: Mapping[str, str]) -> list[dict[str, Any]]:
    """The assisting units' parts of the latest joint meeting, with their answers."""
    meetings = [i for i, r in enumerate(recs) if r.kind == "joint_meeting"]
    if not meetings:
        return []
    last = meetings[-1]
    parts = []
    for a in recs[last].data.get("assisting") or []:
        answers = [r for r in recs[last:] if r.kind == "part_reply" and r.unit == a["unit"]]
        parts.append(
            {
                "unit": a["unit"],
                "unit_name": _name(names, a["unit"]),
                "part": a["part"],
                "replied_at": _iso(answers[-1].at) if answers else None,
                "content": answers[-1].data.get("content") if answers else None,
            }
        )
    return parts


def chain_view(o: Any, recs: list[RecordLike], names: Mapping[str, str]) -> dict[str, Any]:
    """The order's chain: the levels now, every dispatch on, meetings, parts and supervisions."""
    city = {
        "level": "city",
        "unit": o.main_unit,
        "unit_name": _name(names, o.main_unit),
        "co_units": list(o.co_units or []),
        "status": o.status,
        "status_text": STATUSES.get(o.status),
        "dispatched_at": _iso(o.dispatched_at),
        "sign_deadline": _iso(o.sign_deadline),
        "handling_deadline": _iso(o.handling_deadline),
        "signed_at": _iso(o.signed_at),
        "first_unit": o.first_unit,
        "designated": o.designated,
        "parts_due": list(o.parts_due or []),
    }
    levels = [city]
    if o.sub_unit:
        levels.append(
            {
                "level": "county",
                "county": o.main_unit,
                "unit": o.sub_unit,
                "unit_name": _name(names, o.sub_unit),
                "status": o.sub_status,
                "status_text": SUB_STATUSES.get(o.sub_status or ""),
                "dispatched_at": _iso(o.sub_dispatched_at),
                "sign_deadline": _iso(o.sub_sign_deadline),
                "handling_deadline": _iso(o.sub_handling_deadline),
                "signed_at": _iso(o.sub_signed_at),
            }
        )
    meetings = [
        {"at": _iso(r.at), "by": r.actor, **{k: r.data.get(k) for k in ("held_on", "units_present", "decision")}}
        | {"lead": r.data.get("lead"), "assisting": r.data.get("assisting") or []}
        for r in recs
        if r.kind == "joint_meeting"
    ]
    supervisions = [
        {"at": _iso(r.at), "level": r.data.get("level", "city"), "unit": r.unit, "kind": r.data.get("kind")}
        | {"stage": r.data.get("stage")}
        for r in recs
        if r.kind == "supervision"
    ]
    designations = [
        {"at": _iso(r.at), "unit": r.unit, "previous": r.data.get("previous"), "reason": r.data.get("reason")}
        for r in recs
        if r.kind == "lead_designated"
    ]
    return {
        "order_id": o.id,
        "number": o.number,
        "levels": levels,
        "county_assignments": _assignments(recs, names),
        "joint_meetings": meetings,
        "parts": _parts(recs, names),
        "designations": designations,
        "supervisions": supervisions,
    }

"""The store's part of the county chain, first responsibility and joint meetings.

The state machine decides (workorder/states_chain.py); this mixin checks the units against the
departments (the map's ``parent:``, workorder/county.py), turns the chain's events into records
and the county level's deadlines, and reads the chain and the joint meetings of an order.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.auth import Principal
from workorder import county
from workorder import deadlines as dl
from workorder.errors import Conflict
from workorder.models import Department, Order, Record
from workorder.views import _iso

# the units named by each action's payload (the store checks them against the departments)
_UNIT_KEYS = {
    "dispatch": ("main_unit", "co_units"),
    "review_return": ("main_unit", "co_units"),
    "designate_lead": ("lead",),
    "joint_meeting": ("lead", "units_present", "assisting"),
    "sub_dispatch": ("unit",),
}
# a department sees the orders dispatched to it, by the city or by its county
VISIBLE_KINDS = ("dispatch", "sub_dispatch")
# records written as they come (the event's fields are the record's data)
_PLAIN = ("sub_return_requested", "sub_return_reviewed", "sub_reply_reviewed", "lead_designated", "part_reply")


_LISTS = ("co_units", "units_present", "assisting")  # the keys that hold lists of units


def _named_units(action: str, payload: dict, keys: tuple[str, ...] | None = None) -> list:
    """The units the payload names (a unit that is not a string is returned as it is: refused)."""
    out: list = []
    for key in _UNIT_KEYS.get(action, ()) if keys is None else keys:
        value = payload.get(key)
        for v in value if key in _LISTS and isinstance(value, (list, str)) else [value]:
            u = v.get("unit") if key == "assisting" and isinstance(v, dict) else v
            if u is not None:
                out.append(u)
    return out


class ChainMixin:
    def _check_units(self, s: Session, o: Order, action: str, payload: dict) -> None:
        """Every unit named exists; the city dispatches only to top-level units; a county only
        to its own departments (县直部门)."""
        named = _named_units(action, payload)
        parents: dict[str, str | None] = {}
        for u in named:
            if not isinstance(u, str):
                raise Conflict("bad_field", f"{action}: a unit is a department code, not {u!r}")
            d = s.get(Department, u)
            if d is None:
                raise Conflict("unknown_unit", f"unknown department {u!r}")
            parents[u] = d.parent
        # a county department may sit in a joint meeting; it is assigned only through its county
        assigned = _named_units(action, payload, ("lead", "assisting")) if action == "joint_meeting" else named
        refusal = county.unit_refusal(action, o.main_unit, assigned, parents)
        if refusal:
            raise Conflict(*refusal)

    def _on_chain_event(self, s: Session, o: Order, ev: dict, p: Principal, now: datetime) -> bool:
        """Records for the chain's events; False: not one of them (the core handles it)."""
        t = ev["type"]
        rec = self._rec  # type: ignore[attr-defined]
        if t == "sub_dispatch":
            cfg = self.cfg  # type: ignore[attr-defined]
            d = dl.compute(
                now, o.type or "consult", o.urgency or "normal", cfg.limits, cfg.calendar, "county", o.handling_deadline
            )
            o.sub_dispatched_at, o.sub_sign_deadline, o.sub_handling_deadline = now, d.sign_in, d.handling
            o.sub_signed_at = None
            sign, handle = _iso(d.sign_in), _iso(d.handling)
            rec(
                s,
                o,
                "sub_dispatch",
                p,
                now,
                unit=ev["unit"],
                county=ev["county"],
                sign_deadline=sign,
                handling_deadline=handle,
            )
        elif t == "sub_signed":
            o.sub_signed_at = now
            rec(s, o, "sub_sign", p, now, unit=ev["unit"])
        elif t == "sub_reply":
            rec(s, o, "sub_reply", p, now, unit=ev["unit"], content=ev["content"])
        elif t == "supervision" and ev.get("level") == "county":
            data = {k: ev[k] for k in ("kind", "stage", "note")}
            rec(s, o, "supervision", p, now, unit=ev["unit"], dedup=ev.get("dedup"), level="county", **data)
        elif t == "joint_meeting":
            rec(s, o, "joint_meeting", p, now, unit=ev["lead"], **{k: v for k, v in ev.items() if k != "type"})
        elif t in _PLAIN:
            rec(s, o, t, p, now, unit=ev.get("unit"), **{k: v for k, v in ev.items() if k not in ("type", "unit")})
        else:
            return False
        return True

    def _offered(self, s: Session, actions: list[str], p: Principal) -> list[str]:
        """The actions to offer: a unit without departments of its own (not a county) has no
        dispatch on (the state machine cannot know which units are counties)."""
        if (
            "sub_dispatch" in actions
            and s.scalar(select(Department.code).where(Department.parent == p.department).limit(1)) is None
        ):
            return [a for a in actions if a != "sub_dispatch"]
        return actions

    def chain(self, order_id: int, p: Principal) -> dict:
        """The whole chain of an order (市→县→县直部门) and its joint meetings, for the city's view."""
        with self.db.read() as s:  # type: ignore[attr-defined]
            o = self._load(s, order_id, p)  # type: ignore[attr-defined]
            recs = list(s.scalars(select(Record).where(Record.order_id == o.id).order_by(Record.id)))
            names = {code: name for code, name in s.execute(select(Department.code, Department.name))}
            return county.chain_view(o, recs, names)

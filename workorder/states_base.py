"""The state machine's building blocks: the order's state, the rules, the error, a transition row.

Shared by the core loop (workorder/states.py) and the county chain and joint handling
(workorder/states_chain.py); pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Payload = dict[str, Any]  # an action's parameters, as the API passes them
Events = list[dict[str, Any]]  # what an action records (the store adapts them)


@dataclass(frozen=True)
class Rules:
    """Tunable policy numbers (config items in docs/policy_workorder.md)."""

    callback_max_tries: int = 3  # a callback counts as failed after this many unreached tries
    returns_before_designation: int = 3  # after this many returns the hotline designates the unit
    max_rounds: int = 3  # 重办 at most this many rounds; after that a dissatisfied rating just closes


RULES = Rules()


@dataclass(frozen=True)
class OrderState:
    status: str = "draft"
    round: int = 1
    main_unit: str | None = None
    co_units: tuple[str, ...] = ()
    return_count: int = 0
    designated: bool = False
    extension_pending: bool = False
    callback_attempts: int = 0
    callback_failed: bool = False
    dispatched_ever: bool = False
    status_before_return: str | None = None
    satisfaction: int | None = None
    disposition: str | None = None
    parent_id: int | None = None
    no_callback: bool = False  # the citizen asked for no call-back (不需要回访)
    # 首接负责制: the unit that signed the order first (it stays responsible until a lead is designated)
    first_unit: str | None = None
    # 主办/协办: the assisting units whose part reply is still missing (the lead may not reply before)
    parts_due: tuple[str, ...] = ()
    # 县级承办: the county's dispatch on to one of its departments (县→县直部门) and its status
    sub_unit: str | None = None
    sub_status: str | None = None  # vocab.SUB_STATUSES; None: none yet or taken back
    sub_signed: bool = False


@dataclass(frozen=True)
class Result:
    state: OrderState
    events: list[dict[str, Any]] = field(default_factory=list)


class TransitionError(Exception):
    """An action that is not allowed now; ``reason`` is a stable code."""

    def __init__(self, reason: str, message: str):
        self.reason = reason
        self.message = message
        super().__init__(f"{reason}: {message}")


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    roles: frozenset[str]
    label: str
    unit_only: bool = False  # department actors must be the main unit
    # department actors must be: "sub" the county's department (sub_unit), "co" an assisting unit
    acts_as: str = ""
    # the county level's statuses this action starts from ("" = no open dispatch on); None: any
    sub_sources: frozenset[str] | None = None


def _t(
    sources: Iterable[str],
    roles: Iterable[str],
    label: str,
    unit_only: bool = False,
    acts_as: str = "",
    sub_sources: Iterable[str] | None = None,
) -> Transition:
    subs = frozenset(sub_sources) if sub_sources is not None else None
    return Transition(frozenset(sources), frozenset(roles), label, unit_only, acts_as, subs)


HOTLINE = {"agent", "dispatcher", "supervisor", "admin"}
REVIEWERS = {"dispatcher", "supervisor", "admin"}


def _need(payload: Payload, key: str, action: str) -> Any:
    value = payload.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise TransitionError("missing_field", f"{action} needs {key!r}")
    return value


def _choice(payload: Payload, key: str, choices: Mapping[str, str] | Iterable[str], action: str) -> Any:
    value = _need(payload, key, action)
    if value not in choices:
        raise TransitionError("bad_field", f"{action}: {key} must be one of {sorted(choices)}, not {value!r}")
    return value


def refusal(t: Transition, s: OrderState, action: str, actor_role: str, dept: str | None) -> TransitionError | None:
    """Why this department actor may not take ``action`` now (unit and county level), or None."""
    if actor_role == "department":
        if t.unit_only and dept != s.main_unit:
            return TransitionError("not_main_unit", f"only the main unit {s.main_unit!r} may {action}, not {dept!r}")
        if t.acts_as == "sub" and (s.sub_unit is None or dept != s.sub_unit):
            return TransitionError(
                "not_sub_unit", f"only the county's department {s.sub_unit!r} may {action} ({t.label}), not {dept!r}"
            )
        if t.acts_as == "co" and dept not in s.co_units:
            return TransitionError(
                "not_co_unit", f"only an assisting unit ({', '.join(s.co_units) or 'none'}) may {action}, not {dept!r}"
            )
    if t.sub_sources is not None and (s.sub_status or "") not in t.sub_sources:
        return TransitionError(
            "invalid_sub_state",
            f"cannot {action} ({t.label}): the county's dispatch on is {s.sub_status or 'not open'}; "
            f"allowed when: {', '.join(sorted(x or 'none' for x in t.sub_sources))}",
        )
    return None


__all__ = [
    "Payload",
    "Events",
    "Rules",
    "RULES",
    "OrderState",
    "Result",
    "TransitionError",
    "Transition",
    "HOTLINE",
    "REVIEWERS",
    "refusal",
]

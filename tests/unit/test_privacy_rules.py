"""The one rule of who sees a caller in clear (workorder/privacy.py), as a table."""

from __future__ import annotations

import pytest

from hotline.auth import Principal
from workorder.privacy import SEARCHERS, caller_of, edit_refusal, sees_caller

# role -> (sees an ordinary order's caller, sees a protected (保密 / 匿名) order's caller)
TABLE = {
    "calls": (True, True),
    "supervisor": (True, True),
    "admin": (True, True),
    "agent": (True, False),  # not its own order
    "dispatcher": (True, False),
    "department": (True, False),
    "quality": (False, False),
    "open311": (False, False),
    "ivr": (False, False),
    "nobody": (False, False),
}


@pytest.mark.parametrize("role", sorted(TABLE))
def test_who_sees_the_caller(role):
    ordinary, protected = TABLE[role]
    assert sees_caller(role, "x", protected=False, handled_by=("wang", None)) is ordinary
    assert sees_caller(role, "x", protected=True, handled_by=("wang", None)) is protected
    assert (role in SEARCHERS) is ordinary


def test_the_agent_of_an_order_sees_its_caller_and_no_one_else_by_name():
    assert sees_caller("agent", "wang", protected=True, handled_by=(None, "wang"))
    assert sees_caller("agent", "wang", protected=True, handled_by=("wang", "builtin:calls"))
    assert not sees_caller("dispatcher", "wang", protected=True, handled_by=("wang",))
    assert not sees_caller("agent", "", protected=True, handled_by=(None, ""))  # no name matches no name


def test_masked_caller():
    assert caller_of("13812345678", "张三", clear=False) == ("138****5678", "张*")
    assert caller_of("13812345678", "张三", clear=True) == ("13812345678", "张三")
    assert caller_of(None, None, clear=False) == (None, None)


class _O:
    confidential, anonymous, agent, created_by = True, False, "wang", "wang"
    caller_phone, caller_name = "13812345678", "张三"


def test_a_masked_caller_cannot_be_changed_or_unprotected():
    other = Principal("li", "agent")
    assert edit_refusal(other, _O(), {"title": "x", "confidential": True}) is None  # no change
    for change in ({"confidential": False}, {"anonymous": True}, {"caller_phone": "1"}, {"caller_name": None}):
        assert edit_refusal(other, _O(), change), change
    assert edit_refusal(Principal("wang", "agent"), _O(), {"confidential": False}) is None

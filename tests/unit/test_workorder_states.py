"""The pure work-order state machine: every path of the loop, and every refusal."""

import pytest

from workorder.states import (
    DISPOSITIONS,
    RULES,
    STATUSES,
    TRANSITIONS,
    OrderState,
    Rules,
    TransitionError,
    allowed_actions,
    apply,
)


def run(state, *steps):
    """steps: (action, role, payload[, department])"""
    events = []
    for step in steps:
        action, role, payload = step[:3]
        dept = step[3] if len(step) > 3 else None
        r = apply(state, action, role, payload, actor_department=dept)
        state = r.state
        events.extend(r.events)
    return state, events


def dispatched(unit="mzj"):
    s, _ = run(
        OrderState(), ("accept", "agent", {}), ("dispatch", "dispatcher", {"main_unit": unit, "co_units": ["wjw"]})
    )
    return s


def test_full_loop_to_archive():
    s = dispatched()
    assert s.status == "dispatched" and s.main_unit == "mzj" and s.co_units == ("wjw",)
    s, ev = run(
        s,
        ("sign", "department", {}, "mzj"),
        ("reply", "department", {"content": "已处理"}, "mzj"),
        ("review_reply", "dispatcher", {"decision": "accept"}),
        ("callback", "agent", {"reached": True, "resolved": True}),
        ("evaluate", "agent", {"satisfaction": 1}),
        ("archive", "system", {}),
    )
    assert s.status == "archived" and s.satisfaction == 1 and s.round == 1
    kinds = [e["type"] for e in ev]
    assert kinds.count("status_changed") == 6
    assert "reply" in kinds and "callback" in kinds and "evaluated" in kinds


def test_direct_answer_then_rated_and_closed():
    s, ev = run(
        OrderState(), ("accept", "agent", {}), ("direct_answer", "agent", {"answer": "按知识库答复", "kb_refs": [3]})
    )
    assert s.status == "evaluation"
    assert any(e["type"] == "reply" and e["kb_refs"] == [3] for e in ev)
    s, _ = run(s, ("evaluate", "ivr", {"satisfaction": 5, "unit_at_fault": True}))
    assert s.status == "closed"  # no unit to reopen with


def test_direct_answer_needs_an_answer():
    with pytest.raises(TransitionError) as e:
        apply(OrderState(status="accepted"), "direct_answer", "agent", {})
    assert e.value.reason == "missing_field"


@pytest.mark.parametrize("code", sorted(set(DISPOSITIONS) - {"emergency", "unreasonable_repeat"}))
def test_reject_with_each_disposition(code):
    r = apply(OrderState(status="accepted"), "reject", "agent", {"disposition": code})
    assert r.state.status == "rejected" and r.state.disposition == code


def test_reject_emergency_needs_an_emergency_line():
    with pytest.raises(TransitionError) as e:
        apply(OrderState(), "reject", "agent", {"disposition": "emergency"})
    assert "transfer_to" in e.value.message
    with pytest.raises(TransitionError):
        apply(OrderState(), "reject", "agent", {"disposition": "emergency", "transfer_to": "12345"})
    r = apply(OrderState(), "reject", "agent", {"disposition": "emergency", "transfer_to": "119"})
    assert {"type": "transfer", "to": "119"} in r.events


def test_reject_unknown_disposition_and_repeat_needs_parent():
    with pytest.raises(TransitionError) as e:
        apply(OrderState(), "reject", "agent", {"disposition": "boring"})
    assert e.value.reason == "bad_field"
    with pytest.raises(TransitionError):
        apply(OrderState(), "reject", "agent", {"disposition": "unreasonable_repeat"})
    r = apply(OrderState(), "reject", "agent", {"disposition": "unreasonable_repeat", "parent_id": 7})
    assert r.state.parent_id == 7


def test_merge_sets_parent():
    r = apply(OrderState(status="accepted"), "merge", "dispatcher", {"parent_id": 42})
    assert r.state.status == "merged" and r.state.parent_id == 42


def test_only_main_unit_may_sign_reply_return():
    s = dispatched("mzj")
    for action, payload in (
        ("sign", {}),
        ("return", {"reason": "x"}),
        ("request_extension", {"reason": "x", "extra": "3 working_days"}),
    ):
        with pytest.raises(TransitionError) as e:
            apply(s, action, "department", payload, actor_department="wjw")
        assert e.value.reason == "not_main_unit"


def test_role_not_allowed_and_invalid_state_and_unknown_action():
    with pytest.raises(TransitionError) as e:
        apply(OrderState(), "accept", "department", {})
    assert e.value.reason == "role_not_allowed"
    with pytest.raises(TransitionError) as e:
        apply(OrderState(), "sign", "department", {}, actor_department="mzj")
    assert e.value.reason == "invalid_state" and "draft" in e.value.message
    with pytest.raises(TransitionError) as e:
        apply(OrderState(), "fly", "admin", {})
    assert e.value.reason == "unknown_action"


def test_review_reply_send_back():
    s, _ = run(
        dispatched(),
        ("sign", "department", {}, "mzj"),
        ("reply", "department", {"content": "c"}, "mzj"),
        ("review_reply", "supervisor", {"decision": "send_back"}),
    )
    assert s.status == "handling"


def test_return_refused_goes_back_to_previous_status():
    s, _ = run(
        dispatched(), ("sign", "department", {}, "mzj"), ("return", "department", {"reason": "非本单位职责"}, "mzj")
    )
    assert s.status == "return_review" and s.status_before_return == "handling"
    s, ev = run(s, ("review_return", "dispatcher", {"decision": "refuse"}))
    assert s.status == "handling" and s.main_unit == "mzj" and s.return_count == 0


def test_three_returns_then_the_unit_is_designated():
    s = dispatched("mzj")
    units = ["wjw", "rsj", "gjj"]
    cur = "mzj"
    for i, nxt in enumerate(units, 1):
        s, ev = run(
            s,
            ("return", "department", {"reason": "非本单位"}, cur),
            ("review_return", "dispatcher", {"decision": "redispatch", "main_unit": nxt}),
        )
        assert s.status == "dispatched" and s.main_unit == nxt and s.return_count == i
        cur = nxt
    assert s.designated is True
    with pytest.raises(TransitionError) as e:
        apply(s, "return", "department", {"reason": "again"}, actor_department="gjj")
    assert e.value.reason == "designated"


def test_extension_request_and_decision_informs_caller():
    s, ev = run(
        dispatched(), ("request_extension", "department", {"reason": "需现场勘查", "extra": "5 working_days"}, "mzj")
    )
    assert s.extension_pending and s.status == "dispatched"
    with pytest.raises(TransitionError) as e:
        apply(s, "request_extension", "department", {"reason": "r", "extra": "1 working_days"}, actor_department="mzj")
    assert e.value.reason == "extension_pending"
    s, ev = run(s, ("decide_extension", "supervisor", {"decision": "approve"}))
    assert not s.extension_pending
    assert {"type": "inform_caller", "about": "extension_approve"} in ev
    with pytest.raises(TransitionError) as e:
        apply(s, "decide_extension", "supervisor", {"decision": "approve"})
    assert e.value.reason == "no_extension"


def to_callback():
    s, _ = run(
        dispatched(),
        ("sign", "department", {}, "mzj"),
        ("reply", "department", {"content": "c"}, "mzj"),
        ("review_reply", "dispatcher", {"decision": "accept"}),
    )
    return s


def test_callback_fails_after_n_tries():
    s = to_callback()
    for i in range(RULES.callback_max_tries - 1):
        s = apply(s, "callback", "agent", {"reached": False}).state
        assert s.status == "callback" and s.callback_attempts == i + 1
    r = apply(s, "callback", "agent", {"reached": False})
    assert r.state.status == "evaluation" and r.state.callback_failed
    assert any(e["type"] == "callback_failed" for e in r.events)
    # with the callback failed, the evaluation may close without a score
    assert apply(r.state, "evaluate", "agent", {}).state.status == "closed"


def test_callback_needs_reached_flag_and_rules_are_tunable():
    s = to_callback()
    with pytest.raises(TransitionError):
        apply(s, "callback", "agent", {})
    r = apply(s, "callback", "agent", {"reached": False}, rules=Rules(callback_max_tries=1))
    assert r.state.status == "evaluation"


def test_dissatisfied_and_unit_at_fault_reopens_next_round():
    s = apply(to_callback(), "callback", "agent", {"reached": True}).state
    r = apply(s, "evaluate", "agent", {"satisfaction": 4, "unit_at_fault": True})
    assert r.state.status == "dispatched" and r.state.round == 2 and r.state.main_unit == "mzj"
    assert {"type": "reopened", "round": 2} in r.events
    assert any(e["type"] == "dispatch" and e["round"] == 2 for e in r.events)


def test_dissatisfied_not_at_fault_closes():
    s = apply(to_callback(), "callback", "agent", {"reached": True}).state
    assert apply(s, "evaluate", "agent", {"satisfaction": 5, "unit_at_fault": False}).state.status == "closed"


def test_reopen_stops_at_max_rounds():
    s = apply(to_callback(), "callback", "agent", {"reached": True}).state
    from dataclasses import replace

    s = replace(s, round=RULES.max_rounds)
    assert apply(s, "evaluate", "agent", {"satisfaction": 5, "unit_at_fault": True}).state.status == "closed"


def test_evaluate_rejects_bad_score():
    s = apply(to_callback(), "callback", "agent", {"reached": True}).state
    for bad in (0, 6, None, "1"):
        with pytest.raises(TransitionError):
            apply(s, "evaluate", "agent", {"satisfaction": bad})


def test_appeal_upheld_voids_rating():
    s = apply(to_callback(), "callback", "agent", {"reached": True}).state
    s = apply(s, "evaluate", "agent", {"satisfaction": 4}).state
    s = apply(s, "appeal", "department", {"reason": "评价与事实不符"}, actor_department="mzj").state
    assert s.status == "appeal_review"
    s = apply(s, "review_appeal", "supervisor", {"decision": "uphold"}).state
    assert s.status == "closed" and s.satisfaction is None


def test_supervise_keeps_status_and_records():
    s = dispatched()
    r = apply(s, "supervise", "system", {"kind": "urge", "stage": "sign_warning"})
    assert r.state == s
    assert r.events == [{"type": "supervision", "kind": "urge", "stage": "sign_warning", "note": ""}]
    with pytest.raises(TransitionError):
        apply(OrderState(status="closed"), "supervise", "supervisor", {"kind": "supervise"})


def test_allowed_actions_respects_unit():
    s = dispatched("mzj")
    assert "sign" in allowed_actions(s, "department", "mzj")
    assert "sign" not in allowed_actions(s, "department", "wjw")
    assert allowed_actions(OrderState(), "agent") == ["accept", "direct_answer", "reject", "merge"]


def test_table_is_consistent():
    for name, t in TRANSITIONS.items():
        assert t.sources <= set(STATUSES), name
        assert t.roles, name
    # every non-initial status is reachable from some transition source list or target
    assert set(STATUSES) - {"draft"}


def test_dispatch_refuses_repeated_co_units():
    with pytest.raises(TransitionError):
        apply(OrderState(status="accepted"), "dispatch", "dispatcher", {"main_unit": "a", "co_units": ["b", "b"]})
    r = apply(OrderState(status="accepted"), "dispatch", "dispatcher", {"main_unit": "a", "co_units": ["a", "b"]})
    assert r.state.co_units == ("b",)

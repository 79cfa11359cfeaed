"""The county chain (县级承办), first responsibility (首接负责制), joint meetings and parts: pure rules."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hotline.settings import Settings, load_calendar
from workorder import config
from workorder.county import unit_refusal
from workorder.deadlines import compute, county_alarms
from workorder.states import OrderState, TransitionError, allowed_actions, apply

CST = ZoneInfo("Asia/Shanghai")
CAL = load_calendar(Settings.from_env({}))
COUNTY, DEPT, OTHER = "shexian", "shexian_zjj", "shexian_jyj"


def run(state, *steps):
    """steps: (action, role, payload[, department])"""
    events = []
    for action, role, payload, *dept in steps:
        r = apply(state, action, role, payload, actor_department=dept[0] if dept else None)
        state = r.state
        events.extend(r.events)
    return state, events


def county_handling():
    s, _ = run(
        OrderState(),
        ("accept", "agent", {}),
        ("dispatch", "dispatcher", {"main_unit": COUNTY}),
        ("sign", "department", {}, COUNTY),
    )
    return s


def refused(state, action, role, payload, dept=None) -> str:
    with pytest.raises(TransitionError) as e:
        apply(state, action, role, payload, actor_department=dept)
    return e.value.reason


# -- 县级承办: 市→县→县直部门 ----------------------------------------------------------


def test_county_dispatches_on_signs_replies_and_the_county_answers_the_city():
    s = county_handling()
    assert s.first_unit == COUNTY
    s, ev = run(s, ("sub_dispatch", "department", {"unit": DEPT}, COUNTY))
    assert (s.status, s.sub_unit, s.sub_status) == ("handling", DEPT, "dispatched")
    assert ev == [{"type": "sub_dispatch", "unit": DEPT, "county": COUNTY, "round": 1}]
    # the county may not answer the city while its department has the order
    assert refused(s, "reply", "department", {"content": "x"}, COUNTY) == "sub_open"
    assert refused(s, "return", "department", {"reason": "x"}, COUNTY) == "sub_open"
    # only the county's department signs and replies at that level; only the county reviews
    assert refused(s, "sub_sign", "department", {}, OTHER) == "not_sub_unit"
    assert refused(s, "sub_sign", "department", {}, COUNTY) == "not_sub_unit"
    assert refused(s, "sub_reply", "department", {"content": "x"}, DEPT) == "invalid_sub_state"
    assert allowed_actions(s, "department", DEPT) == ["sub_sign", "sub_return"]
    s, _ = run(s, ("sub_sign", "department", {}, DEPT), ("sub_reply", "department", {"content": "已整改"}, DEPT))
    assert s.sub_status == "replied" and s.sub_signed
    assert refused(s, "sub_review", "department", {"decision": "accept"}, DEPT) == "not_main_unit"
    s, _ = run(s, ("sub_review", "department", {"decision": "send_back"}, COUNTY))
    assert s.sub_status == "handling"
    s, _ = run(
        s,
        ("sub_reply", "department", {"content": "已整改完毕"}, DEPT),
        ("sub_review", "department", {"decision": "accept"}, COUNTY),
        ("reply", "department", {"content": "经县住建局整改，问题已解决"}, COUNTY),
    )
    assert (s.status, s.sub_status) == ("replied", "done")


def test_county_department_returns_to_the_county_which_refuses_or_takes_back():
    s, _ = run(county_handling(), ("sub_dispatch", "department", {"unit": DEPT}, COUNTY))
    s, _ = run(s, ("sub_return", "department", {"reason": "非本部门职责"}, DEPT))
    assert s.sub_status == "return_review"
    back, _ = run(s, ("sub_review_return", "department", {"decision": "refuse"}, COUNTY))
    assert back.sub_status == "dispatched"  # it had not signed
    s, _ = run(
        s,
        ("sub_review_return", "department", {"decision": "take_back"}, COUNTY),
        ("sub_dispatch", "department", {"unit": OTHER}, COUNTY),
        ("sub_sign", "department", {}, OTHER),
        ("sub_return", "department", {"reason": "x"}, OTHER),
        ("sub_review_return", "department", {"decision": "refuse"}, COUNTY),
    )
    assert (s.sub_unit, s.sub_status) == (OTHER, "handling")
    assert refused(s, "sub_dispatch", "department", {"unit": DEPT}, COUNTY) == "invalid_sub_state"
    assert refused(s, "sub_review_return", "department", {"decision": "bogus"}, COUNTY) == "invalid_sub_state"


def test_supervision_at_each_level():
    s, _ = run(county_handling(), ("sub_dispatch", "department", {"unit": DEPT}, COUNTY))
    _, ev = run(s, ("sub_supervise", "department", {"kind": "urge", "note": "请加快"}, COUNTY))
    assert ev == [
        {"type": "supervision", "kind": "urge", "stage": "manual", "note": "请加快", "unit": DEPT, "level": "county"}
    ]
    _, ev = run(s, ("supervise", "supervisor", {"kind": "supervise", "level": "county"}))
    assert ev[0]["unit"] == DEPT and ev[0]["level"] == "county"
    _, ev = run(s, ("supervise", "supervisor", {"kind": "supervise"}))
    assert "level" not in ev[0]  # the city level: the county itself
    assert refused(county_handling(), "supervise", "supervisor", {"kind": "urge", "level": "county"}) == (
        "invalid_sub_state"
    )


def test_a_new_dispatch_by_the_city_clears_the_county_level():
    s, _ = run(county_handling(), ("sub_dispatch", "department", {"unit": DEPT}, COUNTY))
    s, _ = run(s, ("sub_sign", "department", {}, DEPT), ("sub_reply", "department", {"content": "c"}, DEPT))
    s, _ = run(
        s,
        ("sub_review", "department", {"decision": "accept"}, COUNTY),
        ("reply", "department", {"content": "c"}, COUNTY),
        ("review_reply", "dispatcher", {"decision": "accept"}),
        ("callback", "agent", {"reached": True}),
        ("evaluate", "agent", {"satisfaction": 5, "unit_at_fault": True}),
    )
    assert (s.status, s.round, s.sub_unit, s.sub_status) == ("dispatched", 2, None, None)


def test_units_the_city_and_a_county_may_name():
    parents = {COUNTY: None, DEPT: COUNTY, "mzj": None, "wuan_zjj": "wuan"}
    assert unit_refusal("dispatch", None, [COUNTY, "mzj"], parents) is None
    assert unit_refusal("dispatch", None, [DEPT], parents)[0] == "county_department"
    assert unit_refusal("joint_meeting", "mzj", ["mzj", DEPT], parents)[0] == "county_department"
    assert unit_refusal("sub_dispatch", COUNTY, [DEPT], parents) is None
    assert unit_refusal("sub_dispatch", COUNTY, ["wuan_zjj"], parents)[0] == "not_county_department"
    assert unit_refusal("sub_dispatch", COUNTY, ["mzj"], parents)[0] == "not_county_department"


def test_county_deadlines_come_from_their_own_rows_and_end_with_the_county_s():
    table = config.load_time_limits()
    assert table.lookup("complaint", "normal", "county").handling.unit == "working_days"
    start = datetime(2026, 11, 23, 9, 0, tzinfo=CST)  # Monday
    city = compute(start, "complaint", "normal", table, CAL)
    d = compute(start, "complaint", "normal", table, CAL, "county", city.handling)
    assert d.sign_in == start + timedelta(minutes=60)
    assert d.handling == datetime(2026, 11, 26, 23, 59, 59, tzinfo=CST)  # 3 working days, before the city's 10
    # never beyond the county's own deadline
    tight = compute(start, "complaint", "normal", table, CAL, "county", start + timedelta(minutes=30))
    assert tight.sign_in == tight.handling == start + timedelta(minutes=30)
    # a table without county rows uses the city's
    bare = type(table)(table.rows, table.warn_ratio)
    assert bare.lookup("complaint", "normal", "county") == table.lookup("complaint", "normal")


def test_county_alarms_follow_the_county_level_status():
    start = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    sign, handle = start + timedelta(minutes=60), start + timedelta(days=3)
    late = start + timedelta(minutes=61)
    assert [a.stage for a in county_alarms(late, "dispatched", start, sign, handle, 0.8)] == ["county_sign_overdue"]
    assert county_alarms(late, "handling", start, sign, handle, 0.8) == []
    assert county_alarms(late, "done", start, sign, handle, 0.8) == []
    assert county_alarms(late, None, start, sign, handle, 0.8) == []
    over = start + timedelta(days=4)
    assert [a.stage for a in county_alarms(over, "handling", start, sign, handle, 0.8)] == ["county_handling_overdue"]


# -- 首接负责制 ----------------------------------------------------------------------


def test_the_first_signer_is_not_bounced_until_a_lead_is_designated():
    s, _ = run(
        OrderState(),
        ("accept", "agent", {}),
        ("dispatch", "dispatcher", {"main_unit": "mzj"}),
        ("return", "department", {"reason": "未签收前退回"}, "mzj"),
        ("review_return", "dispatcher", {"decision": "redispatch", "main_unit": "wjw"}),
    )
    assert s.first_unit is None  # a unit that never signed was not the first responsible one
    s, ev = run(s, ("sign", "department", {}, "wjw"), ("return", "department", {"reason": "涉及多部门"}, "wjw"))
    assert s.first_unit == "wjw" and ev[1]["first"] is True
    assert refused(s, "review_return", "dispatcher", {"decision": "redispatch", "main_unit": "rsj"}) == (
        "first_responsibility"
    )
    kept, _ = run(s, ("review_return", "dispatcher", {"decision": "refuse"}))
    assert (kept.status, kept.main_unit) == ("handling", "wjw")
    # the center designates a lead: responsibility moves, and the lead may not return it
    assert refused(s, "designate_lead", "dispatcher", {"lead": "rsj", "reason": "whim"}) == "bad_field"
    s, ev = run(s, ("designate_lead", "dispatcher", {"lead": "rsj", "reason": "jurisdiction"}))
    assert (s.status, s.main_unit, s.designated, s.first_unit) == ("dispatched", "rsj", True, "wjw")
    assert ev[1] == {"type": "lead_designated", "unit": "rsj", "previous": "wjw", "reason": "jurisdiction"}
    assert refused(s, "return", "department", {"reason": "x"}, "rsj") == "designated"
    s, _ = run(s, ("sign", "department", {}, "rsj"))
    assert s.first_unit == "wjw"  # the first signer stays on record


def test_designating_the_same_unit_confirms_it():
    s, _ = run(
        OrderState(),
        ("accept", "agent", {}),
        ("dispatch", "dispatcher", {"main_unit": "mzj"}),
        ("sign", "department", {}, "mzj"),
        ("return", "department", {"reason": "x"}, "mzj"),
        ("designate_lead", "supervisor", {"lead": "mzj", "reason": "jurisdiction"}),
    )
    assert (s.status, s.main_unit, s.designated) == ("handling", "mzj", True)


# -- 联席会议, 主办/协办 ---------------------------------------------------------------

MEETING = {
    "held_on": "2026-12-01",
    "units_present": ["zjj", "cgj", "hbj"],
    "decision": "住建局牵头，城管局、环保局配合",
    "lead": "zjj",
    "assisting": [{"unit": "cgj", "part": "拆除违建"}, {"unit": "hbj", "part": "扬尘监测"}],
}


def test_joint_meeting_sets_lead_and_parts_and_the_lead_waits_for_every_part():
    s, _ = run(
        OrderState(),
        ("accept", "agent", {}),
        ("dispatch", "dispatcher", {"main_unit": "mzj"}),
        ("sign", "department", {}, "mzj"),
    )
    s, ev = run(s, ("joint_meeting", "dispatcher", MEETING))
    assert (s.status, s.main_unit, s.co_units, s.parts_due, s.designated) == (
        "dispatched",
        "zjj",
        ("cgj", "hbj"),
        ("cgj", "hbj"),
        True,
    )
    assert ev[1]["type"] == "joint_meeting" and ev[1]["previous"] == "mzj"
    assert ev[2]["parts"] == {"cgj": "拆除违建", "hbj": "扬尘监测"}
    s, _ = run(s, ("sign", "department", {}, "zjj"))
    assert refused(s, "reply", "department", {"content": "x"}, "zjj") == "parts_pending"
    assert refused(s, "part_reply", "department", {"content": "x"}, "mzj") == "not_co_unit"
    s, _ = run(s, ("part_reply", "department", {"content": "违建已拆除"}, "cgj"))
    assert s.parts_due == ("hbj",)
    with pytest.raises(TransitionError) as e:
        apply(s, "reply", "department", {"content": "x"}, actor_department="zjj")
    assert "hbj" in e.value.message
    s, _ = run(
        s,
        ("part_reply", "department", {"content": "扬尘达标"}, "hbj"),
        ("reply", "department", {"content": "三部门联合处置完毕"}, "zjj"),
    )
    assert s.status == "replied" and s.parts_due == ()


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"held_on": "1 Dec"}, "bad_field"),
        ({"units_present": ["zjj"]}, "bad_field"),
        ({"decision": " "}, "missing_field"),
        ({"lead": None}, "missing_field"),
        ({"assisting": []}, "missing_field"),
        ({"assisting": [{"unit": "cgj"}]}, "missing_field"),
        ({"assisting": [{"unit": "zjj", "part": "p"}]}, "bad_field"),
        ({"assisting": [{"unit": "cgj", "part": "p"}, {"unit": "cgj", "part": "q"}]}, "bad_field"),
    ],
)
def test_joint_meeting_refuses_an_incomplete_record(change, reason):
    assert refused(OrderState(status="accepted"), "joint_meeting", "dispatcher", {**MEETING, **change}) == reason


def test_joint_meeting_before_any_dispatch_and_who_may_hold_it():
    s, _ = run(OrderState(status="accepted"), ("joint_meeting", "supervisor", MEETING))
    assert s.status == "dispatched" and s.dispatched_ever
    assert refused(OrderState(status="accepted"), "joint_meeting", "agent", MEETING) == "role_not_allowed"
    assert refused(OrderState(status="accepted"), "joint_meeting", "department", MEETING, "zjj") == "role_not_allowed"

"""The routing decision (agi/routing.py): every row of the default map, every mode."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from agi.routing import Route, decide, static_routes
from hotline import transfer_map as tm
from hotline.calendar import build_calendar

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 24, 10, 0)  # a Tuesday morning, inside the transition period
CALLER = "13812345678"


@pytest.fixture(scope="module")
def handan():
    return tm.load_map(ROOT / "transfer_map.yaml", TODAY)


# number -> (kind, queue, dial target, mode, level, department, transition announcement?)
EXPECTED = {
    # 整体并入 1-5: 12345 answers with the department's skill, after the 过渡期 announcement
    "12349": ("queue", "minzheng", "", "merge", "city", "mzj", True),
    "96119": ("queue", "xiaofang", "", "merge", "city", "xfjy", True),
    "12336": ("queue", "ziran", "", "merge", "city", "zrzy", True),
    "12312": ("queue", "shangwu", "", "merge", "city", "swj", True),
    "12356": ("queue", "weijian", "", "merge", "city", "wjw", True),
    # 整体并入 6-9: 热线在省有关部门设置 -> province trunk, back to the skill queue
    "12396": ("dial", "keji", "PJSIP/12396@province", "merge", "province", "kjj", False),
    "12300": ("dial", "tongxin", "PJSIP/12300@province", "merge", "province", "txb", False),
    "12301": ("dial", "wenlv", "PJSIP/12301@province", "merge", "province", "wglj", False),
    "12322": ("dial", "yingji", "PJSIP/12322@province", "merge", "province", "yjj", False),
    # 双号并行 1: seats cancelled -> 12345 agents of the skill
    "12329": ("queue", "gongjijin", "", "dual", "city", "gjj", True),
    # 双号并行 2-4: seats kept for now -> department seats first, overflow to 12345
    "12350": ("dial", "yingji", "PJSIP/12350@seats-12350", "dual", "city", "yjj", False),
    "12320": ("dial", "weijian", "PJSIP/12320@seats-12320", "dual", "city", "wjw", False),
    "12348": ("dial", "sifa", "PJSIP/12348@seats-12348", "dual", "city", "sfj", False),
    # 双号并行 5-10: number kept, merged into 12345
    "12333": ("queue", "renshe", "", "dual", "city", "rsj", True),
    "12369": ("queue", "shengtai", "", "dual", "city", "sthj", True),
    "12319": ("queue", "chengguan", "", "dual", "city", "cgzf", True),
    "12328": ("queue", "jiaotong", "", "dual", "city", "jtj", True),
    "12318": ("queue", "wenlv", "", "dual", "city", "wglj", True),
    "12315": ("queue", "shichang", "", "dual", "city", "scjg", True),
    # 双号并行 11-14: province
    "12316": ("dial", "nongye", "PJSIP/12316@province", "dual", "province", "nyj", False),
    "12393": ("dial", "yibao", "PJSIP/12393@province", "dual", "province", "ybj", False),
    "12317": ("dial", "fupin", "PJSIP/12317@province", "dual", "province", "fpb", False),
    "12385": ("dial", "canlian", "PJSIP/12385@province", "dual", "province", "cl", False),
    # 设分中心 1: the city sub-center 7x24; 2-5: sub-centers on the province platform
    "12313": ("dial", "yancao", "PJSIP/12313@subcenter-12313", "subcenter", "city", "ycj", False),
    "12360": ("dial", "haiguan", "PJSIP/12360@province", "subcenter", "province", "hg", False),
    "12366": ("dial", "shuiwu", "PJSIP/12366@province", "subcenter", "province", "swu", False),
    "12367": ("dial", "gongan", "PJSIP/12367@province", "subcenter", "province", "gaj", False),
    "12305": ("dial", "youzheng", "PJSIP/12305@province", "subcenter", "province", "yzj", False),
}


def test_expected_table_covers_the_whole_default_map(handan):
    assert set(EXPECTED) == {ln.number for ln in handan.lines}


@pytest.mark.parametrize("number", sorted(EXPECTED))
def test_every_row_of_the_default_map(handan, number):
    kind, queue, target, mode, level, dept, announced = EXPECTED[number]
    r = decide(number, NOW, handan)
    assert (r.kind, r.queue, r.target, r.mode, r.level, r.department) == (kind, queue, target, mode, level, dept)
    assert r.origin == number
    assert r.announce == (f"transition-{number}" if announced else "")
    assert r.row == handan.line(number).row
    cv = r.channel_vars()
    assert cv["__HOTLINE_ORIGIN"] == number and cv["__HOTLINE_MODE"] == mode
    assert cv["__HOTLINE_DEPT"] == dept and cv["__HOTLINE_LEVEL"] == level
    if kind == "dial":
        assert r.timeout >= 5 and r.flag
        want = (
            "province_noanswer"
            if level == "province"
            else {"subcenter": "subcenter_noanswer", "dual": "seats_noanswer"}[mode]
        )
        assert r.flag == want


def test_subcenter_no_answer_comes_back_with_priority(handan):
    r = decide("12313", NOW, handan)
    assert r.kind == "dial" and r.timeout == 25
    assert r.queue == "yancao" and r.priority == 10 and r.flag == "subcenter_noanswer"
    assert r.channel_vars()["HOTLINE_OVERFLOW_FLAG"] == "subcenter_noanswer"
    # 7x24: the same at 3 a.m. on a holiday
    assert decide("12313", datetime(2027, 10, 1, 3, 0), handan) == r


def test_hotline_itself_and_the_catch_all(handan):
    # the shipped map greets 12345 callers with the IVR flow "12345"
    r = decide("12345", NOW, handan)
    assert (r.kind, r.flow, r.queue, r.origin) == ("ivr", "12345", handan.hotline.queue, "12345")
    # the queue-direct option: flow ""
    direct = handan.model_copy(update={"hotline": handan.hotline.model_copy(update={"flow": ""})})
    r = decide("12345", NOW, direct)
    assert (r.kind, r.queue, r.mode, r.origin) == ("queue", handan.hotline.queue, "direct", "12345")
    assert decide("", NOW, handan).origin == "12345"
    other = decide("03103012345", NOW, handan)  # a department's old local line: row 10
    assert (other.kind, other.queue, other.mode, other.department, other.row) == (
        "queue",
        handan.catch_all.queue,
        "merge",
        "others",
        "整体并入 10",
    )
    assert other.origin == "03103012345"


@pytest.mark.parametrize("number", ["110", "119", "120", "122", "12395"])
def test_emergency_numbers_are_never_queued(handan, number):
    r = decide(number, NOW, handan)
    assert r.kind == "hangup" and r.queue == "" and r.announce == f"emergency-{number}"
    assert "never integrated" in r.reason


def test_transition_announcement_stops_after_its_end_date(handan):
    until = handan.line("12349").transition.until
    assert decide("12349", datetime.combine(until, datetime.max.time()), handan).announce
    after = decide("12349", datetime.combine(until + timedelta(days=1), datetime.min.time()), handan)
    assert after.announce == "" and after.queue == "minzheng"


def test_aware_time_is_taken_in_the_maps_zone(handan):
    # 2027-06-30 15:30 UTC is 23:30 in Shanghai: still the last day of the period;
    # an hour later it is 2027-07-01 there, though still 2027-06-30 in UTC
    utc = datetime(2027, 6, 30, 15, 30, tzinfo=UTC)
    assert decide("12349", utc, handan).announce == "transition-12349"
    assert decide("12349", utc + timedelta(hours=1), handan).announce == ""


HOURS_MAP = """version: 1
hotline: {number: "12345", queue: hotline}
queues: {hotline: 综合, yingji: 应急, sifa: 司法}
departments: {yjj: {name: 市应急管理局, skill: yingji}, sfj: {name: 市司法局, skill: sifa}}
trunks:
  seats-a: {kind: seats, contact: "sip:127.0.0.1:5091"}
  seats-b: {kind: seats, contact: "sip:127.0.0.1:5092"}
lines:
  - number: "12350"
    name: 安全生产
    department: yjj
    mode: dual
    seats: retained_temporarily
    target: seats-a
    hours: ["mon-fri 08:30-17:30"]
    overflow: {to: "12348", timeout: 15}
  - number: "12348"
    name: 公共法律服务
    department: sfj
    mode: 并行接听
    seats: retained
    target: seats-b
    overflow: {to: hotline, timeout: 30, priority: 5}
"""


@pytest.fixture(scope="module")
def hours_map():
    # the one calendar says 2027-10-01 is a holiday (holidays/2027.yaml does too)
    cal = build_calendar([(2027, "test", {date(2027, 10, 1): "国庆节"}, set())])
    return tm.loads_map(HOURS_MAP, "hours.yaml", TODAY, calendar=cal)


def test_dual_seats_kept_open_hours_dial_first(hours_map):
    r = decide("12350", datetime(2027, 3, 2, 9, 0), hours_map)
    assert (r.kind, r.target, r.timeout, r.queue, r.overflow) == ("dial", "PJSIP/12350@seats-a", 15, "yingji", "12348")
    assert r.channel_vars()["HOTLINE_OVERFLOW"] == "12348"


@pytest.mark.parametrize(
    "when",
    [datetime(2027, 3, 2, 18, 0), datetime(2027, 3, 6, 10, 0), datetime(2027, 10, 1, 10, 0)],
    ids=["evening", "saturday", "holiday"],
)
def test_dual_seats_kept_closed_goes_to_its_overflow(hours_map, when):
    r = decide("12350", when, hours_map)
    # 12348's seats (7x24) take the call; the origin stays what the citizen dialed
    assert (r.kind, r.target, r.origin, r.department) == ("dial", "PJSIP/12348@seats-b", "12350", "sfj")
    assert "12350 closed (hours): routed as 12348" in r.reason


def test_closed_without_overflow_number_goes_to_12345(hours_map):
    from dataclasses import replace as dc_replace

    line = hours_map.line("12348")
    tmap = hours_map.model_copy(
        update={
            "lines": [
                hours_map.line("12350").model_copy(
                    update={"overflow": line.overflow.model_copy(update={"to": "12345"})}
                ),
                line,
            ]
        }
    )
    tmap.model_post_init(None)
    r = decide("12350", datetime(2027, 3, 6, 10, 0), tmap)
    assert (r.kind, r.queue, r.target, r.origin) == ("queue", "yingji", "", "12350")
    assert "closed" in r.reason
    assert dc_replace(r, reason="") != decide("12350", datetime(2027, 3, 2, 9, 0), tmap)


def test_overflow_to_a_named_queue_with_priority(hours_map):
    r = decide("12348", datetime(2027, 3, 6, 3, 0), hours_map)
    assert (r.kind, r.queue, r.priority, r.flag) == ("dial", "hotline", 5, "seats_noanswer")


def test_the_shipped_calendar_closes_lines_on_public_holidays(handan):
    """The map's lines use the platform's calendar (holidays/<year>.yaml)."""
    assert handan.calendar.is_holiday(date(2027, 10, 1)) and handan.calendar.timezone == "Asia/Shanghai"


def test_static_routes_cover_every_number(handan):
    routes = dict(static_routes(handan, TODAY))
    assert set(routes) == set(EXPECTED) | {"12345"}
    for number, r in routes.items():
        assert isinstance(r, Route)
        assert r == decide(number, None, handan)
    assert routes["12350"].kind == "dial"  # no time rule in the fallback: the seats are tried


def test_static_routes_drop_the_announcements_that_ended(handan):
    until = handan.line("12349").transition.until
    assert dict(static_routes(handan, until))["12349"].announce == "transition-12349"
    after = dict(static_routes(handan, until + timedelta(days=1)))
    assert after["12349"].announce == "" and after["12349"].queue == "minzheng"
    assert all(r.announce == "" for n, r in after.items() if handan.line(n) is not None)


def test_decide_is_pure(handan):
    a = [decide(n, NOW, handan) for n in EXPECTED]
    b = [decide(n, NOW, handan) for n in EXPECTED]
    assert a == b


def test_a_line_may_go_through_an_ivr_flow(handan):
    line = handan.line("12349").model_copy(update={"flow": "legacy"})
    tmap = handan.model_copy(update={"lines": [line]})
    tmap.model_post_init(None)
    r = decide("12349", NOW, tmap)
    assert (r.kind, r.flow, r.queue, r.announce, r.origin) == ("ivr", "legacy", "minzheng", "transition-12349", "12349")
    assert r.channel_vars()["HOTLINE_FLOW"] == "legacy"


@pytest.mark.parametrize("delivered", ["031012349", "+8631012349", "008631012349", "12349"])
def test_the_area_code_in_front_of_a_service_number_is_dropped(handan, delivered):
    r = decide(delivered, NOW, handan)
    assert (r.origin, r.queue, r.mode) == ("12349", "minzheng", "merge")


def test_area_code_variants_of_12345_and_emergency_numbers(handan):
    assert decide("031012345", NOW, handan).mode == "direct"
    assert decide("0310110", NOW, handan).kind == "hangup"
    # a department's local line (not a service number) keeps its digits: row 10
    other = decide("03103012345", NOW, handan)
    assert other.origin == "03103012345" and other.row == "整体并入 10"

"""transfer_map.yaml settings that change a call (issue #11 items 4 and 7): the schema, the
validation, the routing decision with the day made explicit, and what is rendered for Asterisk.

End-to-end counterparts: tests/e2e/test_map_settings.py.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import pytest

from agi.routing import decide, static_routes, static_seat_ends
from asterisk_conf import render as R
from deploy.configure import gather
from hotline import transfer_map as tm
from hotline.calendar import Calendar, build_calendar
from hotline.settings import Settings
from hotline.transfer_map import check_file_all, loads_map
from hotline.yamlsrc import ConfigError
from queues.config import SKILL_EMPTY, build_specs, queue_specs

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 23)
CAL = build_calendar([(2027, "test", {}, set())])

MAP = """version: 1
hotline: {number: "12345", queue: hotline}
queues:
  hotline: 综合
  yingji: {name: 应急, overflow_after: 60}
  gongjijin: 住房公积金
  minzheng: {name: 民政, overflow_after: 30, overflow_to: yingji}
departments:
  yjj: {name: 市应急管理局, skill: yingji}
  gjj: {name: 市住房公积金管理中心, skill: gongjijin}
  mzj: {name: 市民政局, skill: minzheng}
trunks:
  seats-a: {kind: seats, contact: "sip:127.0.0.1:5091"}
lines:
  - number: "12350"
    name: 安全生产
    department: yjj
    mode: dual
    seats: retained_temporarily
    seats_until: 2027-06-30
    target: seats-a
    hours: ["mon-fri 08:30-17:30"]
  - number: "12329"
    name: 住房公积金
    department: gjj
    mode: 双号并行
    seats: cancelled
    expert_seats: true
  - number: "12349"
    name: 民政
    department: mzj
    mode: 整体并入
    transition: {text: 已并入12345, until: 2027-06-30}
"""


def _load(text: str = MAP, today: date = TODAY):
    return loads_map(text, "map.yaml", today, calendar=CAL)


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        _load(text)
    return [str(p) for p in exc.value.problems]


@pytest.fixture(scope="module")
def tmap():
    return _load()


def _rendered(tmap, monkeypatch, today: date = TODAY) -> str:
    monkeypatch.setattr(Calendar, "today", lambda self: today)  # the render's day, made explicit
    settings = Settings.from_env({})
    paths = R.AstPaths.under("/srv/h")
    inputs = gather(settings, {}, tmap, agents=[], paths=paths)
    ctx = R.build_context(settings, {"ami_user": "u", "ami_secret": "x"}, paths, inputs)
    env = R._env()
    names = ("extensions.conf", "extensions_routes.conf", "queues.conf")
    return "\n".join(env.get_template(f"{n}.j2").render(**ctx) for n in names)


def _context(text: str, name: str) -> str:
    m = re.search(rf"^\[{re.escape(name)}\]\n(.*?)(?=^\[|\Z)", text, re.S | re.M)
    assert m, name
    return m.group(1)


# --- max-wait overflow (item 4) --------------------------------------------------------------


def test_queues_take_the_plain_and_the_mapping_form(tmap):
    assert tmap.queue_description("hotline") == "综合" and tmap.queue_description("yingji") == "应急"
    assert tmap.queue_overflow("yingji") == (60, "hotline")  # the hotline's queue by default
    assert tmap.queue_overflow("minzheng") == (30, "yingji")
    assert tmap.queue_overflow("gongjijin") == (None, "hotline")  # no limit; empty -> hotline at once
    assert tmap.queue_overflow("hotline") == (None, "")  # the hotline never hands a caller on


@pytest.mark.parametrize(
    "change, words",
    [
        ("  yingji: {name: 应急, overflow_after: 0}", "greater than or equal to 1"),
        ("  yingji: {name: 应急, overflow_after: 60, overflow_to: nowhere}", "unknown queue 'nowhere'"),
        ("  yingji: {name: 应急, overflow_after: 60, overflow_to: minzheng}", "queue overflow loop: "),
        ("  yingji: {name: 应急, overflow_after: 60, overflow_to: yingji}", "queue overflow loop: yingji -> yingji"),
        ("  yingji: {name: 应急, overflow_afer: 60}", "overflow_afer"),
    ],
)
def test_queue_overflow_is_validated(change, words):
    text = MAP.replace("  yingji: {name: 应急, overflow_after: 60}", change)
    problems = _problems(text)
    assert any(words in p and p.startswith("map.yaml:") for p in problems), problems


def test_the_hotline_queue_has_no_max_wait():
    problems = _problems(MAP.replace("  hotline: 综合", "  hotline: {name: 综合, overflow_after: 60}"))
    assert any("it never sends a caller on" in p for p in problems), problems


def test_queue_specs_and_the_dialplan_carry_the_max_wait(tmap, monkeypatch):
    specs = {q["name"]: q for q in queue_specs(tmap, Settings.from_env({}))}
    assert (specs["yingji"]["max_wait"], specs["yingji"]["overflow"]) == (60, "hotline")
    assert (specs["minzheng"]["max_wait"], specs["minzheng"]["overflow"]) == (30, "yingji")
    assert (specs["gongjijin"]["max_wait"], specs["gongjijin"]["overflow"]) == (None, "hotline")
    assert specs["hotline"]["overflow"] == "" and specs["hotline"]["joinempty"] == "yes"
    text = _rendered(tmap, monkeypatch)
    enqueue = _context(text, "hotline-enqueue")
    # each queue's limits are globals, looked up in one step (no step per queue on a call's path)
    assert "\nHOTLINE_QWAIT_yingji = 60\n" in text and "\nHOTLINE_QWAIT_minzheng = 30\n" in text
    assert "\nHOTLINE_QNEXT_minzheng = yingji\n" in text
    assert "HOTLINE_QNEXT_yingji" not in text.split("[hotline-enqueue]")[0]  # the hotline's queue: the default
    assert "_gongjijin" not in text.split("[hotline-enqueue]")[0]  # the default: no limit, the hotline's queue next
    assert enqueue.startswith(
        'exten => s,1,MSet(HOTLINE_QWAIT=${HOTLINE_QWAIT_${HOTLINE_QUEUE}},HOTLINE_QNEXT=${IF($["${HOTLINE_QUEUE}" = '
        '"hotline"]?:${IF($["${HOTLINE_QNEXT_${HOTLINE_QUEUE}}" = ""]?hotline:${HOTLINE_QNEXT_${HOTLINE_QUEUE}})})})'
    ), enqueue
    # Queue()'s own timeout argument (the 5th), and one priority up after a timeout
    # and the route's facts as its URL argument (the 3rd), for queue_log's ENTERQUEUE line
    facts = "o=${URIENCODE(${HOTLINE_ORIGIN})}&m=${URIENCODE(${HOTLINE_MODE})}&d=${URIENCODE(${HOTLINE_DEPT})}"
    assert f"Queue(${{HOTLINE_QUEUE}},${{ARG1}}b(agent-predial^s^1),{facts}&l=" in enqueue, enqueue
    assert "},,${HOTLINE_QWAIT})" in enqueue
    assert 'ExecIf($["${QUEUESTATUS}" = "TIMEOUT"]?Set(QUEUE_PRIO=$[${QUEUE_PRIO} + 1]))' in enqueue
    # both ways into a queue use it: a routed call (FastAGI or static) and an IVR flow's queue node
    assert "Gosub(hotline-enqueue,s,1(t))" in _context(text, "route-queue")
    ivr = (ROOT / "asterisk_conf/templates/extensions_ivr.conf.j2").read_text()
    node = _context(ivr, "hotline-ivr-queue")
    assert "Gosub(hotline-enqueue,s,1(tc))" in node and "Queue(" not in node
    assert "60 s waited (overflow_after) -> the dialplan (hotline-enqueue) hands the caller on to hotline" in text


def test_the_shipped_map_keeps_the_plain_form_valid():
    shipped = tm.load_map(ROOT / "transfer_map.yaml", TODAY)
    assert all(shipped.queue_overflow(q)[0] is None for q in shipped.queues)
    assert build_specs("hotline", {"hotline": "x", "a": "y"})[1]["overflow"] == "hotline"


# --- expert seats (item 7) -------------------------------------------------------------------


def test_expert_seats_make_an_expert_queue_and_a_consult_extension(tmap, monkeypatch):
    assert tmap.expert_queues() == {"gongjijin-expert": "住房公积金 行业专家"}
    specs = {q["name"]: q for q in queue_specs(tmap, Settings.from_env({}))}
    expert = specs["gongjijin-expert"]
    # a consult finds out at once that no expert is there, and never goes on to another queue
    assert (expert["joinempty"], expert["overflow"], expert["max_wait"]) == (SKILL_EMPTY, "", None)
    text = _rendered(tmap, monkeypatch)
    assert "\n[gongjijin-expert]\n" in text
    xfer = _context(text, "hotline-transfer")
    assert "exten => *812329,1,Set(__HOTLINE_TRANSFER=to-gongjijin-expert)" in xfer
    assert "Queue(gongjijin-expert,tb(agent-predial^s^1),,,60)" in xfer


def test_an_expert_queue_has_one_home():
    text = MAP.replace("  gongjijin: 住房公积金\n", "  gongjijin: 住房公积金\n  gongjijin-expert: 专家\n")
    problems = _problems(text)
    assert any("expert_seats makes the queue 'gongjijin-expert'; remove it from queues" in p for p in problems)


# --- keep_number: removed, the transition is the home (item 7) -------------------------------


def test_keep_number_is_refused_with_where_its_fact_lives():
    problems = _problems(MAP.replace("    mode: 整体并入\n", "    mode: 整体并入\n    keep_number: true\n"))
    assert any("keep_number is no longer a setting: the mode says whether the number is kept" in p for p in problems)


@pytest.mark.parametrize(
    "day, announced",
    [(date(2027, 6, 29), True), (date(2027, 6, 30), True), (date(2027, 7, 1), False), (date(2028, 1, 1), False)],
    ids=str,
)
def test_a_cancelled_number_announces_then_connects_until_its_last_day(tmap, day, announced):
    r = decide("12349", datetime.combine(day, datetime.min.time()).replace(hour=10), tmap)
    # it connects on every day: after the 过渡期 without the announcement (docs/modes.md)
    assert (r.kind, r.queue, r.mode) == ("queue", "minzheng", "merge")
    assert bool(r.announce) is announced
    assert tmap.line("12349").number_kept is False and tmap.line("12329").number_kept is True


# --- retained_temporarily seats_until (item 7) -----------------------------------------------


@pytest.mark.parametrize(
    "when, kind",
    [
        (datetime(2027, 6, 30, 10, 0), "dial"),  # the last day: the seats still answer (a Wednesday, open)
        (datetime(2027, 6, 30, 23, 59), "queue"),  # ... but the seats' hours are over: 12345
        (datetime(2027, 7, 1, 10, 0), "queue"),  # the day after: 12345 agents of the skill
        (datetime(2027, 7, 3, 10, 0), "queue"),  # a Saturday after: the hours no longer matter
    ],
    ids=str,
)
def test_seats_until_switches_the_line_to_its_skill_queue(tmap, when, kind):
    r = decide("12350", when, tmap)
    assert (r.kind, r.queue, r.origin, r.mode) == (kind, "yingji", "12350", "dual")
    if when.date() > date(2027, 6, 30):
        assert r.target == "" and r.flag == "" and "seats ended 2027-06-30" in r.reason


def test_seats_until_in_the_static_fallback(tmap, monkeypatch):
    before = dict(static_routes(tmap, date(2027, 6, 30)))["12350"]
    assert before.kind == "dial" and before.target == "PJSIP/12350@seats-a"
    after = dict(static_routes(tmap, date(2027, 7, 1)))["12350"]
    assert (after.kind, after.queue, after.target) == ("queue", "yingji", "")
    # rendered on or before the last day: the dialplan itself switches at midnight
    ends = static_seat_ends(tmap, date(2027, 6, 30))
    assert list(ends) == ["12350"] and ends["12350"]["last_day"] == "20270630"
    assert ends["12350"]["after"] == after
    assert static_seat_ends(tmap, date(2027, 7, 1)) == {}
    text = _rendered(tmap, monkeypatch, date(2027, 6, 30))
    static = _context(text, "hotline-static")
    tz = tmap.calendar.timezone
    assert (
        f"GotoIf($[${{STRFTIME(${{EPOCH}},{tz},%Y%m%d)}} > 20270630]?hotline-static-seats-ended,${{EXTEN}},1)"
        in static.split("exten => 12350,1,")[1].split("exten =>")[0]
    )
    ended = _context(text, "hotline-static-seats-ended")
    assert "exten => 12350,1,MSet(HOTLINE_KIND=queue,HOTLINE_QUEUE=yingji," in ended, ended
    # rendered after the last day: the plain route, no date test left
    text = _rendered(tmap, monkeypatch, date(2027, 7, 1))
    assert "hotline-static-seats-ended" not in text
    assert _context(text, "hotline-static").split("exten => 12350,1,")[1].startswith("MSet(HOTLINE_KIND=queue,")


def test_seats_until_needs_temporary_seats():
    text = MAP.replace("    seats: retained_temporarily\n", "    seats: retained\n")
    problems = _problems(text)
    assert any("seats_until is the last day of temporarily retained seats" in p for p in problems), problems


def test_a_past_seats_until_is_a_warning_never_a_rejection(tmp_path):
    path = tmp_path / "map.yaml"
    path.write_text(MAP, encoding="utf-8")
    problems, warnings = check_file_all(path, date(2027, 7, 1))
    assert problems == []
    seats = [str(w) for w in warnings if "temporarily retained seats" in str(w)]
    assert len(seats) == 1 and seats[0].startswith(f"{path}:") and "ended on 2027-06-30" in seats[0]
    assert "its calls go to the 12345 agents of queue yingji" in seats[0]
    _, warnings = check_file_all(path, date(2027, 6, 30))
    assert not [w for w in warnings if "temporarily retained seats" in str(w)]


def test_the_desktop_offers_the_experts(tmp_path):
    from web.desk_phone import transfer_targets

    path = tmp_path / "map.yaml"
    path.write_text(MAP, encoding="utf-8")
    settings = Settings.from_env({}, home=tmp_path / "home", transfer_map=path)
    targets = transfer_targets(settings, [])
    assert {"number": "*812329", "name": "住房公积金", "kind": "expert", "kind_text": "行业专家"} in targets
    assert targets[0]["kind"] == "expert"

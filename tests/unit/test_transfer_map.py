"""The transfer map schema and its whole-file validation (hotline/transfer_map.py)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from hotline import transfer_map as tm
from hotline.calendar import build_calendar
from hotline.yamlsrc import ConfigError, loads

ROOT = Path(__file__).resolve().parents[2]
MAPS = ROOT / "tests" / "maps"
DEFAULT = ROOT / "transfer_map.yaml"
TODAY = date(2026, 11, 23)

BASE = """version: 1
hotline: {number: "12345", queue: hotline}
queues: {hotline: 综合受理, minzheng: 民政, yingji: 应急管理}
departments:
  mzj: {name: 市民政局, skill: minzheng}
  yjj: {name: 市应急管理局, skill: yingji}
trunks:
  province: {kind: province, contact: "sip:127.0.0.1:5090"}
  seats-12350: {kind: seats, contact: "sip:127.0.0.1:5091"}
lines:
"""


def _check(text: str, today: date = TODAY):
    data, src = loads(text, "m.yaml")
    return tm.check(data, src, today)


# --- the corpus of broken maps: each rejected with the right file:line:col ----------

CORPUS = sorted(MAPS.glob("*.yaml"))


def test_corpus_is_there():
    assert len(CORPUS) >= 20


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_broken_map_rejected_at_the_right_place(path: Path):
    expected = []
    for row in path.with_suffix(".expect").read_text(encoding="utf-8").splitlines():
        if row.strip():
            file, line, col, message = row.split(":", 3)
            expected.append((file, int(line), int(col), message.strip()))
    assert expected, f"{path.name}: its .expect sidecar is empty"
    with pytest.raises(ConfigError) as exc:
        tm.load_map(path, TODAY)
    got = exc.value.problems
    # exactly the expected places, each with the expected words
    assert sorted((Path(p.file).name, p.line, p.column) for p in got) == sorted(e[:3] for e in expected), "\n".join(
        map(str, got)
    )
    for file, line, col, words in expected:
        here = [p for p in got if (Path(p.file).name, p.line, p.column) == (file, line, col)]
        assert any(words in p.message for p in here), f"{file}:{line}:{col}: wanted {words!r}, got {here}"
    for p in got:
        assert str(p).startswith(f"{path}:{p.line}:{p.column}: ")


def test_check_file_never_raises_on_a_broken_file():
    problems = tm.check_file(MAPS / "yaml_syntax.yaml", TODAY)
    assert problems and "YAML syntax" in problems[0].message
    assert tm.check_file(MAPS / "nope.yaml", TODAY)[0].message == "file not found"


# --- the default map: Handan's whole annex -----------------------------------------------


@pytest.fixture(scope="module")
def handan():
    return tm.load_map(DEFAULT, TODAY)


ANNEX = {  # number -> (section, row, department) as written in the annex of 邯政办字〔2021〕24号
    "12349": ("整体并入", 1, "mzj"),
    "96119": ("整体并入", 2, "xfjy"),
    "12336": ("整体并入", 3, "zrzy"),
    "12312": ("整体并入", 4, "swj"),
    "12356": ("整体并入", 5, "wjw"),
    "12396": ("整体并入", 6, "kjj"),
    "12300": ("整体并入", 7, "txb"),
    "12301": ("整体并入", 8, "wglj"),
    "12322": ("整体并入", 9, "yjj"),
    "12329": ("双号并行", 1, "gjj"),
    "12350": ("双号并行", 2, "yjj"),
    "12320": ("双号并行", 3, "wjw"),
    "12348": ("双号并行", 4, "sfj"),
    "12333": ("双号并行", 5, "rsj"),
    "12369": ("双号并行", 6, "sthj"),
    "12319": ("双号并行", 7, "cgzf"),
    "12328": ("双号并行", 8, "jtj"),
    "12318": ("双号并行", 9, "wglj"),
    "12315": ("双号并行", 10, "scjg"),
    "12316": ("双号并行", 11, "nyj"),
    "12393": ("双号并行", 12, "ybj"),
    "12317": ("双号并行", 13, "fpb"),
    "12385": ("双号并行", 14, "cl"),
    "12313": ("设分中心", 1, "ycj"),
    "12360": ("设分中心", 2, "hg"),
    "12366": ("设分中心", 3, "swu"),
    "12367": ("设分中心", 4, "gaj"),
    "12305": ("设分中心", 5, "yzj"),
}
SECTION_MODE = {"整体并入": "merge", "双号并行": "dual", "设分中心": "subcenter"}
PROVINCE = {
    "12396",
    "12300",
    "12301",
    "12322",
    "12316",
    "12393",
    "12317",
    "12385",
    "12360",
    "12366",
    "12367",
    "12305",
}  # 热线在省有关部门设置


def test_default_map_passes_check(handan):
    assert tm.check_file(DEFAULT, TODAY) == []


def test_default_map_has_every_annex_row(handan):
    assert {ln.number for ln in handan.lines} == set(ANNEX)
    assert len(handan.lines) == 28
    for ln in handan.lines:
        section, row, dept = ANNEX[ln.number]
        assert ln.canonical_mode == SECTION_MODE[section], ln.number
        assert ln.row == f"{section} {row}"
        assert ln.department == dept
        assert ln.level == ("province" if ln.number in PROVINCE else "city"), ln.number
        assert ln.notes, f"{ln.number}: the 备注 is kept"


def test_default_map_honours_the_notes(handan):
    seats = {ln.number: ln.seats for ln in handan.lines}
    kept = {ln.number: ln.number_kept for ln in handan.lines}
    # 整体并入 1-5: number (and seats) cancelled
    for n in ("12349", "96119", "12336", "12312", "12356"):
        assert seats[n] == "cancelled" and kept[n] is False
    # 双号并行 1 and 5-10: number kept, seats cancelled; row 1 brings expert seats
    for n in ("12329", "12333", "12369", "12319", "12328", "12318", "12315"):
        assert seats[n] == "cancelled" and kept[n] is True
    assert handan.line("12329").expert_seats is True
    # 双号并行 2-4: seats kept for now, with a target to ring first
    for n in ("12350", "12320", "12348"):
        assert seats[n] == "retained_temporarily"
        assert handan.trunks[handan.target_of(handan.line(n))].kind == "seats"
    # 设分中心 1: a city sub-center, 7x24, records collected by 12345
    yc = handan.line("12313")
    assert yc.seats == "retained" and yc.always_open and yc.collect_records
    assert handan.trunks[handan.target_of(yc)].kind == "subcenter"
    # province rows go over the province trunk
    for n in PROVINCE:
        assert handan.trunks[handan.target_of(handan.line(n))].kind == "province"
    # row 10 is the catch-all, a handling unit of its own
    assert handan.catch_all.row == "整体并入 10" and handan.catch_all.department in handan.departments


def test_default_map_queues_are_asterisk_names(handan):
    for ln in handan.lines:
        assert handan.skill_of(ln) in handan.queues


# --- single rules ------------------------------------------------------------------------


def test_shanxi_aliases_mean_the_same():
    tmap, problems = _check(
        BASE
        + """\
  - {number: "12349", name: a, department: mzj, mode: 直接合并}
  - {number: "12329", name: b, department: mzj, mode: 来电转移, seats: cancelled}
  - {number: "12350", name: c, department: yjj, mode: 并行接听, seats: retained, target: seats-12350}
  - {number: "12396", name: d, department: mzj, mode: MERGE, level: 省级}
"""
    )
    assert problems == []
    assert [ln.canonical_mode for ln in tmap.lines] == ["merge", "dual", "dual", "merge"]
    assert tmap.lines[3].level == "province"


def test_every_problem_is_reported_not_just_the_first():
    _, problems = _check(
        BASE
        + """\
  - {number: "12349", name: a, department: 不存在, mode: merge}
  - {number: "12349", name: b, department: mzj, mode: nope}
  - {number: "122", name: c, department: mzj, mode: merge}
  - {number: "12350", name: d, department: yjj, mode: dual, seats: retained}
"""
    )
    assert [p.line for p in problems] == [11, 12, 13, 14]
    assert "unknown department" in problems[0].message
    assert "unknown mode" in problems[1].message
    assert "122 is the traffic accident emergency number" in problems[2].message
    assert "needs a target" in problems[3].message


@pytest.mark.parametrize("number", sorted(tm.NEVER_INTEGRATED))
def test_emergency_and_excluded_numbers_are_refused_with_the_reason(number):
    _, problems = _check(BASE + f'  - {{number: "{number}", name: x, department: mzj, mode: merge}}\n')
    assert len(problems) == 1
    assert "never integrated" in problems[0].message and (
        "紧急" in problems[0].message or "不含人大" in problems[0].message
    )


def test_transition_end_date_is_checked_against_the_given_day():
    text = (
        BASE
        + """\
  - number: "12349"
    name: a
    department: mzj
    mode: merge
    transition: {text: 已并入12345, until: 2027-01-31}
"""
    )
    data, src = loads(text, "m.yaml")
    assert tm.check_all(data, src, date(2027, 1, 31))[1:] == ([], [])
    # the day after: still a valid map, with a warning at the date (time passing never rejects a map)
    tmap, problems, warnings = tm.check_all(data, src, date(2027, 2, 1))
    assert tmap is not None and problems == []
    assert len(warnings) == 1 and (warnings[0].line, warnings[0].column) == (15, 34)
    assert warnings[0].message.startswith("warning: ") and "ended on 2027-01-31" in warnings[0].message


def test_hours_parse_and_open_close():
    cal = build_calendar([(2027, "test", {date(2027, 10, 1): "国庆节"}, {date(2027, 9, 26)})])
    text = (
        BASE
        + """\
  - number: "12350"
    name: a
    department: yjj
    mode: dual
    seats: retained_temporarily
    target: seats-12350
    hours: ["mon-fri 08:30-12:00", "mon-fri 14:30-17:30", "sat 09:00-12:00"]
"""
    )
    tmap = tm.loads_map(text, "m.yaml", TODAY, calendar=cal)
    hours = tmap.lines[0].weekly_hours
    is_open = tmap.calendar.is_open
    assert is_open(hours, datetime(2027, 9, 27, 9, 0))  # Monday morning
    assert not is_open(hours, datetime(2027, 9, 27, 12, 0))  # lunch
    assert not is_open(hours, datetime(2027, 9, 27, 17, 30))  # end is exclusive
    assert is_open(hours, datetime(2027, 9, 25, 10, 0))  # Saturday morning
    assert not is_open(hours, datetime(2027, 9, 25, 13, 0))
    assert is_open(hours, datetime(2027, 9, 26, 15, 0))  # Sunday worked (调休)
    assert not is_open(hours, datetime(2027, 10, 1, 9, 0))  # national day, a Friday
    assert is_open(hours, None)


@pytest.mark.parametrize(
    "key, value, where",
    [
        ("timezone", "Asia/Shanghai", "HOTLINE_TIMEZONE"),
        ("holidays", "[2027-10-01]", "holidays/<year>.yaml"),
        ("workdays", "[2027-09-26]", "holidays/<year>.yaml"),
    ],
)
def test_facts_that_moved_out_of_the_map_are_refused_with_where_they_went(key, value, where):
    text = BASE.replace("lines:\n", f"{key}: {value}\nlines:\n")
    _, problems = _check(text)
    assert len(problems) == 1 and problems[0].line == text.splitlines().index(f"{key}: {value}") + 1
    assert where in problems[0].message


def test_hours_on_a_line_12345_answers_is_a_problem():
    _, problems = _check(
        BASE + '  - {number: "12349", name: a, department: mzj, mode: merge, hours: ["mon-fri 08:00-18:00"]}\n'
    )
    assert len(problems) == 1 and "7x24" in problems[0].message


def test_overflow_loop_over_three_lines():
    text = (
        BASE.replace("lines:\n", "")
        + """\
  s2: {kind: seats, contact: "sip:127.0.0.1:5092"}
  s3: {kind: seats, contact: "sip:127.0.0.1:5093"}
lines:
  - {number: "1001", name: a, department: mzj, mode: dual, seats: retained, target: seats-12350, overflow: {to: "1002"}}
  - {number: "1002", name: b, department: mzj, mode: dual, seats: retained, target: s2, overflow: {to: "1003"}}
  - {number: "1003", name: c, department: mzj, mode: dual, seats: retained, target: s3, overflow: {to: "1001"}}
"""
    )
    text = text.replace("trunks:\n", "trunks:\n", 1)
    # the two new trunks belong under trunks:, which is the section right before them
    _, problems = _check(text)
    assert len(problems) == 1, problems
    assert problems[0].message == "overflow loop: 1001 -> 1002 -> 1003 -> 1001"
    # a chain that ends in a queue-answered line is not a loop
    _, ok = _check(text.replace('overflow: {to: "1001"}', 'overflow: {to: "12345"}'))
    assert ok == []


def test_load_or_keep_keeps_the_last_good_map(tmp_path):
    good = tm.load_map(DEFAULT, TODAY)
    bad = tmp_path / "map.yaml"
    bad.write_text((MAPS / "unknown_mode.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    kept, problems = tm.load_or_keep(bad, good, TODAY)
    assert kept is good and problems and "unknown mode" in problems[0].message
    new, problems = tm.load_or_keep(DEFAULT, None, TODAY)
    assert problems == [] and new is not None and len(new.lines) == 28


# --- the CLI -----------------------------------------------------------------------------


def test_cli_map_check(capsys):
    from deploy.cli import main

    assert main(["map", "check", str(DEFAULT), "--today", "2026-11-23"]) == 0
    assert "ok, 28 numbers" in capsys.readouterr().out
    assert main(["map", "check", str(MAPS / "many_problems.yaml"), "--today", "2026-11-23"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{MAPS / 'many_problems.yaml'}:13:50: ")
    assert len([e for e in err if ".yaml:" in e and "rejected" not in e]) == 4
    assert "keeps its last good map" in err[-1]


def test_cli_map_show(capsys):
    from deploy.cli import main

    assert main(["map", "show", str(DEFAULT), "--at", "2027-03-01T10:00"]) == 0
    out = capsys.readouterr().out
    rows = {r.split("\t")[0]: r.split("\t") for r in out.splitlines() if r[:1].isdigit()}
    assert set(rows) == set(ANNEX) | {"12345"}
    assert rows["12313"][3] == "PJSIP/12313@subcenter-12313"
    assert "flag subcenter_noanswer" in rows["12313"][5]
    assert rows["12349"][3] == "queue minzheng" and rows["12349"][6] == "transition-12349"
    assert "(any other)" in out

"""The one calendar: holidays, 调休, opening hours, working days, coverage warnings."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hotline.calendar import ALWAYS, WARN_DAYS, Calendar, load_calendar, parse_hours
from hotline.settings import PROJECT_ROOT, Settings
from hotline.settings import load_calendar as settings_calendar
from hotline.yamlsrc import ConfigError

SHIPPED = PROJECT_ROOT / "holidays"


@pytest.fixture(scope="module")
def cal() -> Calendar:
    return load_calendar(SHIPPED)


def test_shipped_calendar_loads_and_says_its_sources(cal):
    assert {2026, 2027} <= set(cal.years)
    assert "国办发明电〔2025〕7号" in cal.sources[2026]
    assert cal.names[date(2026, 10, 1)] == "国庆节"


@pytest.mark.parametrize("path", sorted(SHIPPED.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_year_file_says_where_it_comes_from(path, cal):
    """The header and `source` name the State Council notice, or say plainly that the year is provisional."""
    year = int(path.stem)
    header = "\n".join(ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.startswith("#"))
    source = cal.sources[year]
    if source.startswith("provisional"):
        assert "PROVISIONAL" in header and "was not available" in header, header
        assert year in cal.provisional_years
    else:
        assert re.fullmatch(r"国办发明电〔\d{4}〕\d+号", source), source
        assert source in header and f"{year}年部分节假日安排" in header, header
        assert any(d.year == year for d in cal.workdays), "a notice always has its 调休 days"


def test_mid_autumn_and_national_day_2026(cal):
    # the IVR's old calendar made this Sunday a workday and left 10-06/07 open
    assert not cal.is_working_day(date(2026, 9, 27))
    assert not cal.is_working_day(date(2026, 10, 6))
    assert not cal.is_working_day(date(2026, 10, 7))
    assert cal.is_working_day(date(2026, 10, 10))  # Saturday 调休
    assert cal.is_working_day(date(2026, 9, 20))  # Sunday 调休


def test_is_open_follows_holidays_and_workdays(cal):
    hours = parse_hours(["mon-fri 08:30-17:30"])
    tz = ZoneInfo("Asia/Shanghai")
    assert cal.is_open(hours, datetime(2026, 9, 21, 9, 0, tzinfo=tz))  # Monday
    assert not cal.is_open(hours, datetime(2026, 10, 1, 9, 0, tzinfo=tz))  # 国庆
    assert cal.is_open(hours, datetime(2026, 10, 10, 9, 0, tzinfo=tz))  # Saturday worked
    assert not cal.is_open(hours, datetime(2026, 9, 21, 8, 0, tzinfo=tz))
    # an aware time elsewhere is converted into the calendar's zone
    assert cal.is_open(hours, datetime(2026, 9, 21, 1, 0, tzinfo=ZoneInfo("UTC")))  # 09:00 in Beijing
    assert cal.is_open(ALWAYS, datetime(2026, 10, 1, 3, 0, tzinfo=tz))
    assert cal.is_open(hours, None)


def test_add_working_days_skips_the_golden_week(cal):
    # dispatched on Wednesday 2026-09-30: 1st working day after is Thursday 10-08
    assert cal.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert cal.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)
    with pytest.raises(ValueError):
        cal.add_working_days(date(2026, 1, 1), -1)


def test_a_year_without_data_is_plain_weekdays(cal):
    assert cal.is_working_day(date(2030, 10, 1)) is (date(2030, 10, 1).weekday() < 5)
    assert not cal.is_working_day(date(2030, 10, 5))  # Saturday


def test_coverage_warning_sixty_days_before_the_end(cal):
    end = cal.covered_until
    assert end == date(2027, 12, 31)
    assert cal.coverage_warning(date(2027, 6, 1)) is None
    w = cal.coverage_warning(end - timedelta(days=WARN_DAYS))
    assert w and "holidays/2028.yaml" in w
    assert "plain weekdays" in cal.coverage_warning(date(2028, 1, 1))
    assert "no holiday data" in Calendar().coverage_warning(date(2026, 1, 1))


def test_missing_directory_is_an_empty_calendar(tmp_path):
    c = load_calendar(tmp_path / "nope")
    assert c.years == frozenset() and c.is_working_day(date(2026, 10, 1))


@pytest.mark.parametrize(
    "text, where, what",
    [
        ("year: 2026\nsource: x\nholidays:\n  - {name: a, from: 2026-10-02, to: 2026-10-01}\n", ":4:", "before"),
        ("year: 2026\nsource: x\nworkdays: [2026-10-08]\n", ":3:", "weekday already"),
        ("year: 2026\nsource: x\nholidays:\n  - {name: a, from: 2027-01-01}\n", ":4:", "not in year 2026"),
        ("year: 2026\nholidays: []\n", ":1:", "where the dates come from"),
        ("year: 2026\nsource: x\nholliday: []\n", ":3:", "unknown field 'holliday'"),
        (
            "year: 2026\nsource: x\nholidays:\n  - {name: a, from: 2026-10-10}\nworkdays: [2026-10-10]\n",
            ":5:",
            "both a holiday and a workday",
        ),
    ],
)
def test_bad_year_file_is_rejected_whole_with_file_line(tmp_path, text, where, what):
    (tmp_path / "2026.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_calendar(tmp_path)
    msg = str(exc.value)
    assert "2026.yaml" + where in msg and what in msg, msg


def test_file_name_must_match_its_year(tmp_path):
    (tmp_path / "2025.yaml").write_text("year: 2026\nsource: x\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="name it 2026.yaml"):
        load_calendar(tmp_path)


def test_unknown_time_zone_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="unknown time zone 'Mars/Olympus'"):
        load_calendar(tmp_path, "Mars/Olympus")


def test_settings_give_the_one_calendar():
    s = Settings.from_env({})
    assert s.timezone == "Asia/Shanghai" and s.holidays_dir == SHIPPED
    assert settings_calendar(s).years >= {2026}


def test_bad_hours_are_refused():
    for bad in (["mon-fri 17:00-08:00"], ["someday 08:00-09:00"], ["mon-fri 25:00-26:00"]):
        with pytest.raises(ValueError):
            parse_hours(bad)
    assert parse_hours("7x24") is ALWAYS

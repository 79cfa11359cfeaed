"""Deadlines over the time-limit table and the 2026 calendar with 调休."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hotline.calendar import Calendar
from hotline.settings import Settings, load_calendar
from hotline.yamlsrc import ConfigError
from workorder import config
from workorder.deadlines import Limit, LimitRow, LimitTable, add_limit, alarms, compute, extend, parse_limit

CAL = load_calendar(Settings.from_env({}))  # the platform's one calendar
CST = ZoneInfo("Asia/Shanghai")


def at(*a):
    return datetime(*a, tzinfo=CST)


def test_2026_holidays_and_adjusted_workdays():
    assert not CAL.is_working_day(date(2026, 10, 1))  # 国庆
    assert not CAL.is_working_day(date(2026, 2, 17))  # 春节
    assert CAL.is_working_day(date(2026, 10, 10))  # Saturday, 调休 working day
    assert CAL.is_working_day(date(2026, 2, 14))  # Saturday before 春节
    assert CAL.is_working_day(date(2026, 1, 4))  # Sunday after 元旦
    assert not CAL.is_working_day(date(2026, 11, 21))  # plain Saturday
    assert CAL.is_working_day(date(2026, 11, 23))  # plain Monday


def test_working_days_skip_national_day_and_count_adjusted_saturday():
    # dispatched Wed 30 Sep 2026: 1-7 Oct off, 8 Oct Thu, 9 Fri, 10 Sat (working), 11 Sun off, 12 Mon
    d = add_limit(at(2026, 9, 30, 15, 0), Limit(3, "working_days"), CAL)
    assert d == at(2026, 10, 10, 23, 59, 59)
    d = add_limit(at(2026, 9, 30, 15, 0), Limit(4, "working_days"), CAL)
    assert d == at(2026, 10, 12, 23, 59, 59)


def test_working_days_over_spring_festival():
    # Fri 13 Feb; 14 Feb Sat is a working day; 15-23 off; 24 Tue
    assert add_limit(at(2026, 2, 13, 9), Limit(1, "working_days"), CAL) == at(2026, 2, 14, 23, 59, 59)
    assert add_limit(at(2026, 2, 13, 9), Limit(2, "working_days"), CAL) == at(2026, 2, 24, 23, 59, 59)


def test_plain_calendar_without_holidays():
    plain = Calendar()
    # Friday + 1 working day -> Monday
    assert add_limit(at(2026, 11, 20, 10), Limit(1, "working_days"), plain) == at(2026, 11, 23, 23, 59, 59)


def test_minutes_and_calendar_days_and_utc_input():
    start = datetime(2026, 11, 23, 16, 30, tzinfo=CST)
    assert add_limit(start, Limit(90, "minutes"), CAL) == start + timedelta(minutes=90)
    assert add_limit(start, Limit(1, "calendar_days"), CAL) == at(2026, 11, 24, 23, 59, 59)
    # 23:30 UTC is already the next day in Beijing
    utc = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
    assert add_limit(utc, Limit(1, "calendar_days"), CAL) == at(2026, 11, 25, 23, 59, 59)


def test_naive_start_refused_and_bad_limits():
    with pytest.raises(ValueError):
        add_limit(datetime(2026, 1, 1), Limit(1, "minutes"), CAL)
    with pytest.raises(ValueError):
        Limit(0, "minutes")
    with pytest.raises(ValueError):
        Limit(1, "hours")
    assert parse_limit("5 working_days") == Limit(5, "working_days")
    assert parse_limit({"minutes": 30}) == Limit(30, "minutes")
    with pytest.raises(ValueError):
        parse_limit("5")


def test_table_lookup_most_specific_wins():
    table = config.load_time_limits()
    assert table.lookup("complaint", "normal").handling == Limit(10, "working_days")
    assert table.lookup("complaint", "critical").handling == Limit(120, "minutes")
    assert table.lookup("report", "normal").handling == Limit(15, "working_days")
    with pytest.raises(LookupError):
        LimitTable((LimitRow("consult", "normal", Limit(1, "minutes"), Limit(1, "minutes")),)).lookup("help", "normal")


def test_compute_and_extend():
    table = config.load_time_limits()
    start = at(2026, 11, 23, 10, 0)  # Monday
    d = compute(start, "consult", "normal", table, CAL)
    assert d.sign_in == start + timedelta(minutes=120)
    assert d.handling == at(2026, 11, 26, 23, 59, 59)
    assert start < d.sign_warn < d.sign_in and start < d.handling_warn < d.handling
    assert extend(d.handling, Limit(2, "working_days"), CAL) == at(2026, 11, 30, 23, 59, 59)


def test_alarms_by_status_and_time():
    start = at(2026, 11, 23, 10, 0)
    sign, handle = start + timedelta(minutes=100), start + timedelta(days=3)
    assert alarms(start + timedelta(minutes=10), "dispatched", start, sign, handle, 0.8) == []
    a = alarms(start + timedelta(minutes=85), "dispatched", start, sign, handle, 0.8)
    assert [x.stage for x in a] == ["sign_warning"]
    a = alarms(start + timedelta(minutes=101), "dispatched", start, sign, handle, 0.8)
    assert [x.stage for x in a] == ["sign_overdue"]
    a = alarms(start + timedelta(days=4), "handling", start, sign, handle, 0.8)
    assert [x.stage for x in a] == ["handling_overdue"]
    assert alarms(start + timedelta(days=4), "closed", start, sign, handle, 0.8) == []
    # the dedup key changes with the deadline (an extension allows a new warning)
    k1 = alarms(start + timedelta(days=4), "handling", start, sign, handle, 0.8)[0].key
    k2 = alarms(start + timedelta(days=9), "handling", start, sign, handle + timedelta(days=5), 0.8)[0].key
    assert k1 != k2


def test_config_errors_are_positioned(tmp_path):
    p = tmp_path / "time_limits.yaml"
    p.write_text("limits:\n  - {type: nope, urgency: normal, sign_in: '1 minutes', handling: '1 minutes'}\n")
    with pytest.raises(ConfigError) as e:
        config.load_time_limits(p)
    assert str(e.value).startswith(f"{p}:2:")
    p.write_text("limits:\n  - {type: consult, urgency: normal, sign_in: '1 minutes', handling: '1 minutes'}\n")
    with pytest.raises(ConfigError) as e:
        config.load_time_limits(p)
    assert "cover every type" in str(e.value)
    h = tmp_path / "2027.yaml"
    h.write_text(
        "year: 2027\nsource: x\nholidays:\n  - {name: x, from: 2027-01-05, to: 2027-01-01}\nworkdays: [2027-01-06]\n"
    )
    with pytest.raises(ConfigError) as e:
        config.load_all(Settings.from_env({}, holidays_dir=tmp_path))
    msgs = str(e.value)
    assert f"{h}:4:" in msgs and "before" in msgs and "weekday already" in msgs


def test_categories_and_departments(tmp_path):
    cats = config.load_categories()
    assert cats["400100"] and config.parent_code("400101") == "400100" and config.parent_code("400000") is None
    depts = {d["name"] for d in config.load_departments()}
    for unit in (
        "市民政局",
        "市消防救援支队",
        "市住房公积金管理中心",
        "市烟草局",
        "邯郸海关",
        "市残联",
        "市扶贫开发办",
    ):
        assert unit in depts
    c = tmp_path / "categories.yaml"
    c.write_text("categories:\n  '400101': x\n  '12': y\n")
    with pytest.raises(ConfigError) as e:
        config.load_categories(c)
    assert "parent 400100" in str(e.value) and "not 6 digits" in str(e.value)

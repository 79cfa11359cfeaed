"""Dates never break the platform (issue #11 item 5).

The clock is set to the days the shipped data goes stale: 2027-07-01 (the day
after every transition announcement of the shipped map ended), 2027-11-15
(the holiday data ends within 60 days) and 2028-01-01 (no holiday data for
the year).  Pure functions get ``today`` / ``now``; the start-up path (which
reads the wall clock) gets a fixed :meth:`Calendar.now`.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from agi.routing import decide, static_routes
from asterisk_conf.render import AstPaths
from deploy import commands_up
from deploy.platform import Platform
from hotline.calendar import Calendar, load_calendar
from hotline.settings import Settings
from hotline.transfer_map import date_warnings, load_map, load_map_for
from tests.dbutil import migrated
from workorder.deadlines import Limit, add_limit

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "transfer_map.yaml"
STALE = [date(2027, 7, 1), date(2028, 1, 1)]


def _clock(monkeypatch, day: date) -> None:
    """The hotline's wall clock says 10:00 on ``day``."""
    monkeypatch.setattr(
        Calendar, "now", lambda self: datetime.combine(day, datetime.min.time(), self.tz) + timedelta(hours=10)
    )


@pytest.fixture(scope="module")
def cal() -> Calendar:
    return load_calendar(ROOT / "holidays")


def test_the_shipped_map_has_transitions_that_end_before_the_stale_days():
    # the premise: without it these tests would prove nothing
    tmap = load_map(DEFAULT, date(2026, 12, 1))
    ends = {ln.transition.until for ln in tmap.lines if ln.transition}
    assert ends and max(ends) < STALE[0]


@pytest.mark.parametrize("today", STALE, ids=str)
def test_the_shipped_map_stays_valid_and_routes_without_announcements(today, cal):
    tmap = load_map(DEFAULT, today, calendar=cal)
    now = datetime.combine(today, datetime.min.time()) + timedelta(hours=10)
    for line in tmap.lines:
        r = decide(line.number, now, tmap)
        assert r.announce == "", (line.number, r)
        assert r.kind in ("queue", "dial", "ivr"), (line.number, r)
        if line.canonical_mode == "merge" and line.level == "city":
            # after the 过渡期 a merged number simply goes to 12345's agents of its skill
            assert (r.kind, r.queue) == ("queue", tmap.skill_of(line)), (line.number, r)
    for number, r in static_routes(tmap, today):
        assert r.announce == "" or r.kind == "hangup", (number, r)


@pytest.mark.parametrize("today", STALE, ids=str)
def test_map_check_exits_0_with_warnings_at_the_dates(today, capsys):
    from deploy.cli import main

    assert main(["map", "check", str(DEFAULT), "--today", today.isoformat()]) == 0
    out = capsys.readouterr()
    assert "ok, 28 numbers" in out.out
    ended = [e for e in out.err.splitlines() if "transition announcement" in e]
    assert ended and all(e.startswith(f"{DEFAULT}:") and ": warning: " in e for e in ended), out.err
    assert len(ended) == len([ln for ln in load_map(DEFAULT, today).lines if ln.transition])
    if today.year == 2028:
        assert "warning: the holiday data ended on 2027-12-31: 2028 is plain weekdays" in out.err


@pytest.mark.parametrize("today", STALE, ids=str)
def test_hotline_up_start_up_path_does_not_refuse(today, tmp_path, monkeypatch):
    """What `hotline up` does before Asterisk runs: warnings, load, validate, render, keep the map."""
    _clock(monkeypatch, today)
    home = tmp_path / "home"
    shutil.copy(DEFAULT, tmp_path / "transfer_map.yaml")
    settings = migrated(
        Settings.from_env({}, home=home, transfer_map=tmp_path / "transfer_map.yaml", holidays_dir=ROOT / "holidays")
    )
    warnings = commands_up.startup_warnings(settings)
    assert any("transition announcement" in w for w in warnings)
    assert load_map_for(settings).calendar.today() == today  # the real default path, no `today` given
    platform = Platform(settings)
    platform.asterisk = SimpleNamespace(
        paths=AstPaths.under(str(tmp_path / "ast")), sounds=None, etc=tmp_path / "etc", run_as=lambda: None
    )
    (tmp_path / "etc").mkdir()
    files = platform.render(agents=[{"name": "1001", "password": "pw", "skills": {}}])
    assert settings.accepted_map.exists()
    routes = files["extensions_routes.conf"]
    assert "transition-" not in routes, "the fallback dialplan still plays an ended announcement"


def test_the_fallback_dialplan_plays_the_announcement_during_the_transition(tmp_path, monkeypatch):
    # the counterpart of the test above: the render does put it in while it runs
    _clock(monkeypatch, date(2027, 6, 30))
    settings = migrated(Settings.from_env({}, home=tmp_path / "home", holidays_dir=ROOT / "holidays"))
    platform = Platform(settings)
    platform.asterisk = SimpleNamespace(
        paths=AstPaths.under(str(tmp_path / "ast")), sounds=None, etc=tmp_path / "etc", run_as=lambda: None
    )
    (tmp_path / "etc").mkdir()
    files = platform.render(agents=[])
    assert "transition-12349" in files["extensions_routes.conf"]


@pytest.mark.parametrize(
    "today, words",
    [
        (date(2027, 11, 15), "the holiday data ends on 2027-12-31 (46 days): add holidays/2028.yaml"),
        (date(2028, 1, 1), "the holiday data ended on 2027-12-31: 2028 is plain weekdays and weekends"),
    ],
    ids=str,
)
def test_up_and_map_check_warn_before_the_calendar_runs_out(today, words, tmp_path, monkeypatch, capsys):
    _clock(monkeypatch, today)
    settings = Settings.from_env({}, home=tmp_path, holidays_dir=ROOT / "holidays")
    assert any(w.startswith(f"warning: {words}") for w in commands_up.startup_warnings(settings))
    from deploy.cli import main

    assert main(["map", "check", str(DEFAULT), "--today", today.isoformat()]) == 0
    assert f"warning: {words}" in capsys.readouterr().err


def test_no_calendar_warning_well_before_the_end_but_provisional_data_is_said(cal):
    assert cal.provisional_years == (2027,)  # until the State Council's 2027 notice replaces it
    assert date_warnings(DEFAULT, cal, date(2027, 3, 1)) == [
        "warning: the holiday data of 2027 is provisional (festival days only, no 调休 workdays): "
        "replace holidays/2027.yaml with the State Council's notice"
    ]
    assert not any("provisional" in w for w in date_warnings(DEFAULT, cal, date(2028, 1, 1)))


def test_2028_without_data_is_plain_weekdays_and_weekends(cal):
    assert 2028 not in cal.years
    assert cal.is_working_day(date(2028, 1, 3))  # Monday, whatever the 2028 notice will say
    assert not cal.is_working_day(date(2028, 1, 1))  # Saturday
    assert cal.is_working_day(date(2028, 10, 2))  # a Monday of 国庆 once the notice is in
    assert cal.is_holiday(date(2027, 10, 1)) and not cal.is_working_day(date(2027, 10, 1))


def test_deadlines_across_the_end_of_the_data_count_plain_weekdays(cal):
    tz = cal.tz
    # Thursday 2027-12-30: Fri 12-31, then 2028 with no data: Mon 01-03 .. Thu 01-06
    start = datetime(2027, 12, 30, 9, 0, tzinfo=tz)
    assert add_limit(start, Limit(5, "working_days"), cal) == cal.end_of_day(date(2028, 1, 6))
    # inside 2028: a week of weekdays is five working days, weekends skipped
    start = datetime(2028, 9, 29, 9, 0, tzinfo=tz)  # Friday
    assert add_limit(start, Limit(5, "working_days"), cal) == cal.end_of_day(date(2028, 10, 6))
    # the same count over 国庆 2027 (data) is longer: the holidays are skipped
    start = datetime(2027, 9, 30, 9, 0, tzinfo=tz)
    assert add_limit(start, Limit(1, "working_days"), cal) == cal.end_of_day(date(2027, 10, 8))

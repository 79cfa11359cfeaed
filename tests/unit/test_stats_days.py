"""The call figures per line and local day (queues/stats_days.py): only days whose every hour is kept."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from queues.stats_days import line_days

TZ = ZoneInfo("Asia/Shanghai")


def test_the_complete_days_of_the_buckets():
    now = datetime(2026, 11, 20, 10, 30, tzinfo=TZ).timestamp()
    h = int(now // 3600)
    dump = {
        "buckets": {
            "line:12313": {
                str(h): {"offered": 5, "answered": 4},
                str(h - 10): {"offered": 2, "answered": 2},  # 00:xx today
                str(h - 11): {"offered": 3, "answered": 3},  # 23:xx yesterday
                str(h - 34): {"offered": 4, "answered": 1},  # 00:xx yesterday
                str(h - 40): {"offered": 7, "answered": 6},  # the 18th, its morning already pruned
            },
            "line:12350": {str(h - 20): {"offered": 1, "answered": 0}},
            "*": {str(h): {"offered": 100, "answered": 90}},  # not a line
            "mode:subcenter": {str(h): {"offered": 5, "answered": 4}},
        }
    }
    assert line_days(dump, TZ, now) == {
        ("2026-11-20", "12313"): (7, 6),
        ("2026-11-19", "12313"): (7, 4),
        ("2026-11-19", "12350"): (1, 0),
    }
    # at 23:59 the 19th is still whole (its first hour 47 h ago), at 01:00 the next day it is not
    late = datetime(2026, 11, 20, 23, 59, tzinfo=TZ).timestamp()
    assert ("2026-11-19", "12313") in line_days(dump, TZ, late)
    next_day = datetime(2026, 11, 21, 1, 0, tzinfo=TZ).timestamp()
    assert ("2026-11-19", "12313") not in line_days(dump, TZ, next_day)
    assert line_days({}, TZ, now) == {}

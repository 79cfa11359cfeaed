"""The pure parts of 网上诉求待受理 and the photos' retention (web/webqueue.py, workorder/photos.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hotline.settings import Settings
from web.webqueue import excerpt, waited_text
from workorder.photos import remove_files, retention_cutoff


def test_waited_text():
    assert waited_text(0) == "不到1分钟"
    assert waited_text(-5) == "不到1分钟"  # a clock a little ahead
    assert waited_text(59) == "不到1分钟"
    assert waited_text(12 * 60 + 30) == "12分"
    assert waited_text(2 * 3600 + 5 * 60) == "2小时5分"
    assert waited_text(3 * 86400 + 2 * 3600 + 59) == "3天2小时"


def test_excerpt():
    assert excerpt(None) == ""
    assert excerpt("路灯\n不亮  三天") == "路灯 不亮 三天"
    assert excerpt("字" * 80) == "字" * 80
    assert excerpt("字" * 81) == "字" * 80 + "…"


def test_retention_cutoff():
    now = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    assert retention_cutoff(now, 0) is None  # kept for ever
    assert retention_cutoff(now, 30) == now - timedelta(days=30)
    with pytest.raises(ValueError):
        retention_cutoff(now, -1)


def test_remove_files_only_in_its_directory(tmp_path):
    d = tmp_path / "photos"
    d.mkdir()
    (d / "a.png").write_bytes(b"x")
    outside = tmp_path / "secret.txt"
    outside.write_text("keep")
    assert remove_files(d, ["a.png", "missing.png", "../secret.txt"]) == 1
    assert not (d / "a.png").exists() and outside.exists()


@pytest.mark.parametrize("value", ["-1", "3651", "x"])
def test_the_retention_setting_is_checked(value):
    with pytest.raises(ValueError, match="HOTLINE_CITIZEN_PHOTO_RETENTION_DAYS"):
        Settings.from_env({"HOTLINE_CITIZEN_PHOTO_RETENTION_DAYS": value})


def test_the_retention_setting_default_and_env():
    assert Settings().citizen_photo_retention_days == 180
    assert Settings.from_env({"HOTLINE_CITIZEN_PHOTO_RETENTION_DAYS": "0"}).citizen_photo_retention_days == 0

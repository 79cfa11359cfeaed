"""The citizens' web channel's pure decisions (web/citizen_rules.py)."""

from __future__ import annotations

import pytest

from hotline.settings import Settings
from web.citizen_rules import (
    SUBMITTED,
    check_appeal,
    lookup_ok,
    normal_phone,
    over,
    photo_type,
    progress_text,
    rating,
)

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
GOOD = {
    "type": "complaint",
    "category": "400201",
    "address": "邯郸市丛台区中华北大街 1 号",
    "content": "小区门口垃圾三天没有清运",
    "name": "张三",
    "phone": "138 0013 8000",
}


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("13800138000", "13800138000"),
        ("138-0013-8000", "13800138000"),
        ("0310-3012345", "03103012345"),
        ("010 12345678", "01012345678"),
        ("12800138000", None),  # no mobile prefix 12
        ("1380013800", None),  # 10 digits
        ("138001380001", None),
        ("+8613800138000", None),
        ("abc", None),
        ("", None),
        ("03101234", None),  # area code without a number
    ],
)
def test_phone_numbers(raw, expected):
    assert normal_phone(raw) == expected


def test_a_good_appeal_becomes_a_web_order():
    a = check_appeal(GOOD, {"400201"})
    assert a.errors == {}
    assert a.data["channel"] == "web"
    assert a.data["caller_phone"] == "13800138000"
    assert a.data["category_code"] == "400201" and a.data["type"] == "complaint"
    assert a.data["title"] == GOOD["content"][:40]
    assert a.data["confidential"] is False
    assert check_appeal({**GOOD, "confidential": "1"}, {"400201"}).data["confidential"] is True


def test_every_problem_at_once():
    bad = {"type": "gossip", "category": "999999", "address": " ", "content": "短", "phone": "12345"}
    a = check_appeal(bad, {"400201"})
    assert set(a.errors) == {"type", "category", "address", "content", "phone"}
    assert "手机号码" in a.errors["phone"]


def test_lengths_are_limited():
    a = check_appeal({**GOOD, "content": "长" * 2001, "name": "名" * 51, "address": "地" * 301}, {"400201"})
    assert set(a.errors) == {"content", "name", "address"}


@pytest.mark.parametrize(
    "declared,head,expected",
    [
        ("image/jpeg", JPEG, "image/jpeg"),
        ("image/jpg", JPEG, "image/jpeg"),
        ("image/png", PNG, "image/png"),
        ("image/png", JPEG, None),  # the declared type and the bytes disagree
        ("image/jpeg", PNG, None),
        ("image/gif", b"GIF89a", None),
        ("image/jpeg", b"<svg xmlns=", None),  # a script dressed as a photo
        ("text/html", b"<html>", None),
        ("", JPEG, None),
    ],
)
def test_photo_type_by_its_first_bytes(declared, head, expected):
    assert photo_type(declared, head) == expected


def test_throttle_refuses_at_the_limit():
    assert not over(2, 3) and over(3, 3) and over(4, 3)


def test_lookup_needs_a_number_and_four_digits():
    assert lookup_ok("2026120200001", "8000")
    assert not lookup_ok("2026120200001", "800")
    assert not lookup_ok("20261202' OR 1=1", "8000")
    assert not lookup_ok("", "8000")


def test_progress_text_and_rating():
    assert progress_text("draft") == SUBMITTED
    assert progress_text("handling") == "办理中"
    assert rating("1") == 1 and rating("5") == 5
    assert rating("0") is None and rating("6") is None and rating("x") is None


@pytest.mark.parametrize(
    "name,value",
    [
        ("CITIZEN_ADDRESS_PER_HOUR", "0"),
        ("CITIZEN_PHONE_PER_DAY", "-1"),
        ("CITIZEN_LOOKUPS_PER_HOUR", "0"),
        ("CITIZEN_PHOTO_MAX_KB", "1"),
        ("CITIZEN_PHOTO_MAX_KB", "999999"),
    ],
)
def test_settings_out_of_range_are_refused_by_name(name, value):
    with pytest.raises(ValueError, match=f"HOTLINE_{name}={value}"):
        Settings.from_env({f"HOTLINE_{name}": value})


def test_settings_defaults_and_photo_dir(tmp_path):
    s = Settings(home=tmp_path)
    assert s.citizen_photos == tmp_path / "citizen_photos"
    assert Settings.from_env({"HOTLINE_CITIZEN_PHOTO_DIR": str(tmp_path / "p")}).citizen_photos == tmp_path / "p"
    assert Settings.from_env({"HOTLINE_CITIZEN_PHONE_PER_DAY": "5"}).citizen_phone_per_day == 5

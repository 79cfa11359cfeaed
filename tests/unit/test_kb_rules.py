"""The knowledge base's pure parts: lifecycle and rights (kb_rules), segmentation (kb_text)."""

from __future__ import annotations

from datetime import date

import pytest

from workorder.kb_rules import Actor, KbRuleError, is_expired, is_live, transition
from workorder.kb_text import load_synonyms, query_terms, tokens

SUP, ADMIN = Actor("li", "supervisor"), Actor("wang", "admin")
GJJ, RSJ = Actor("unit-gjj", "department", "gjj"), Actor("unit-rsj", "department", "rsj")


def refused(reason, *args):
    with pytest.raises(KbRuleError) as e:
        transition(*args)
    assert e.value.reason == reason


def test_draft_reviewed_published_by_more_than_one_person():
    assert transition("draft", "review", SUP, "gjj", "unit-gjj") == "reviewed"
    assert transition("draft", "review", GJJ, "gjj", "li") == "reviewed"
    refused("same_person", "draft", "review", GJJ, "gjj", "unit-gjj")
    refused("invalid_state", "reviewed", "review", SUP, "gjj", "x")
    assert transition("reviewed", "publish", ADMIN, "gjj", "wang") == "published"
    refused("role_not_allowed", "reviewed", "publish", GJJ, "gjj", "li")
    refused("invalid_state", "draft", "publish", ADMIN, "gjj", "x")
    assert transition("published", "archive", GJJ, "gjj", "x") == "archived"
    refused("invalid_state", "archived", "archive", SUP, "gjj", "x")
    refused("not_owner", "draft", "review", RSJ, "gjj", "x")
    refused("role_not_allowed", "draft", "review", Actor("a", "agent"), "gjj", "x")
    refused("bad_field", "draft", "delete", SUP, "gjj", "x")


def test_expiry_and_liveness():
    d = date(2026, 12, 1)
    assert not is_expired(None, d) and not is_expired(date(2026, 12, 2), d) and is_expired(d, d)
    assert is_live(1, "draft", None, d)  # a newer draft: the published version still answers
    assert not is_live(None, "reviewed", None, d)
    assert not is_live(1, "archived", None, d) and not is_live(1, "published", d, d)


def test_segmentation_drops_particles_and_is_deterministic():
    assert query_terms("公积金怎么提取") == ["公积", "积金", "公积金", "提取"]
    assert set(query_terms("如何提取住房公积金")) >= {"公积金", "提取"}
    assert "如何" not in tokens("如何提取公积金") and "吗" not in tokens("能取吗")
    assert tokens("拨打12345热线！") == ["拨打", "热线", "12345"]
    assert tokens("暖气不热") == tokens("暖气不热") and tokens("暖气不热")[0] == "供暖"  # a synonym is kept as one word
    assert tokens("社保卡丢了") == ["社保", "社保卡", "丢失"]
    assert tokens("") == [] and tokens("，。！") == []


def test_a_word_in_two_synonym_groups_is_refused(tmp_path):
    p = tmp_path / "syn.txt"
    p.write_text("甲 乙\n丙 乙\n", encoding="utf-8")
    with pytest.raises(ValueError, match="syn.txt:2: 乙"):
        load_synonyms(p)

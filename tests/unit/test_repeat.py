"""The repeated-complaint rule (workorder/repeat.py): same caller, same matter, within the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from workorder.repeat import RepeatRule, caller_key, find_repeat, matter_tokens, rule_from, similarity

T = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
NOISE = "楼下烧烤店每天夜里噪音扰民，严重影响休息"


def order(id_, days_before=0.0, **kw):
    base = {
        "id": id_,
        "caller_phone": "13800138000",
        "anonymous": False,
        "category_code": "500300",
        "title": "噪音扰民",
        "content": NOISE,
        "received_at": T - timedelta(days=days_before),
        "status": "handling",
        "parent_id": None,
        "answer": None,
    }
    base.update(kw)
    return base


def test_similarity_is_the_cosine_of_the_token_sets():
    a, b = frozenset("abcd"), frozenset("cdef")
    assert similarity(a, b) == pytest.approx(2 / 4)
    assert similarity(frozenset("ab"), frozenset("abcdefgh")) == pytest.approx(2 / 4)
    assert similarity(frozenset(), b) == 0.0
    # segmented text: the same words in another order are the same matter
    x = matter_tokens("噪音扰民", "烧烤店夜里噪音")
    y = matter_tokens(None, "夜里烧烤店噪音扰民")
    assert similarity(x, y) == pytest.approx(1.0)


def test_caller_key_drops_the_country_prefix_and_punctuation():
    assert caller_key("+86 138-0013-8000") == caller_key("008613800138000") == "13800138000"
    assert caller_key("0310-12345") == "031012345"
    assert caller_key(None) == ""


def test_a_repeat_of_an_open_order_is_merged_into_it():
    new = order(9, content="楼下烧烤店夜里噪音扰民，影响休息")
    m = find_repeat(new, [order(3, days_before=5)], RepeatRule())
    assert m is not None and (m.parent_id, m.matched_id, m.disposition, m.answer) == (3, 3, "merge", None)
    assert m.similarity >= 0.6


def test_a_repeat_of_an_answered_order_is_closed_with_the_earlier_answer():
    first = order(3, days_before=10, status="closed", answer="已责令烧烤店22点后停止营业")
    m = find_repeat(order(9), [first], RepeatRule())
    assert m is not None and m.disposition == "close" and m.answer == "已责令烧烤店22点后停止营业"
    assert m.similarity == 1.0
    # answered directly, waiting for the rating: answered all the same
    m = find_repeat(order(9), [order(3, status="evaluation", answer="按知识库答复")], RepeatRule())
    assert m is not None and m.disposition == "close"
    # a reply under review (or sent back) is no answer yet: merged
    m = find_repeat(order(9), [order(3, status="replied", answer="草稿答复")], RepeatRule())
    assert m is not None and m.disposition == "merge"


def test_the_first_order_of_the_matter_is_the_parent():
    # 3 was answered; 5 (a repeat of 3) was closed with 3's answer; 9 matches 5 best -> linked to 3
    first = order(3, days_before=20, status="closed", answer="已处理", content="烧烤店噪音")
    second = order(5, days_before=2, status="rejected", parent_id=3)
    m = find_repeat(order(9), [second, first], RepeatRule())
    assert m is not None and (m.parent_id, m.matched_id, m.disposition, m.answer) == (3, 5, "close", "已处理")


def test_a_finished_order_without_an_answer_is_linked_only():
    m = find_repeat(order(9), [order(3, days_before=1, status="rejected")], RepeatRule())
    assert m is not None and m.disposition == "link"


@pytest.mark.parametrize(
    "new, earlier",
    [
        (order(9), order(3, days_before=31)),  # outside the 30-day window
        (order(9), order(3, days_before=-1)),  # received after this one
        (order(9), order(3, caller_phone="13900139000")),  # another caller
        (order(9, anonymous=True), order(3)),  # an anonymous caller is nobody's repeat
        (order(9, caller_phone=None), order(3)),
        (order(9), order(3, category_code="500100")),  # another category
        (order(9, category_code=None), order(3, category_code=None)),
        (order(9), order(3, content="小区门口违章搭建彩钢房", title="违建")),  # other content
        (order(9), order(3, status="draft")),  # a draft was never accepted
        (order(9), order(9)),  # itself
    ],
)
def test_not_a_repeat(new, earlier):
    assert find_repeat(new, [earlier], RepeatRule()) is None


def test_the_window_and_the_threshold_are_the_settings():
    new, old = order(9), order(3, days_before=31)
    assert find_repeat(new, [old], RepeatRule(window_days=31)) is not None
    assert find_repeat(new, [order(3, days_before=1)], RepeatRule(window_days=0)) is None  # off
    partly = order(3, content="烧烤店噪音扰民", title=None)
    sim = similarity(matter_tokens("噪音扰民", NOISE), matter_tokens(None, "烧烤店噪音扰民"))
    assert 0 < sim < 1
    assert find_repeat(new, [partly], RepeatRule(similarity=sim)) is not None
    assert find_repeat(new, [partly], RepeatRule(similarity=min(1.0, sim + 0.01))) is None


def test_the_most_similar_earlier_order_wins_then_the_earliest():
    a = order(3, days_before=9, content="烧烤店噪音扰民")
    b = order(4, days_before=8)  # the same text
    c = order(5, days_before=7)
    m = find_repeat(order(9), [c, a, b], RepeatRule(similarity=0.3))
    assert m is not None and m.matched_id == 4


def test_rule_from_settings_rejects_out_of_range_values():
    assert rule_from(SimpleNamespace(repeat_window_days=7, repeat_similarity=0.8)) == RepeatRule(7, 0.8)
    with pytest.raises(ValueError, match="HOTLINE_REPEAT_WINDOW_DAYS"):
        rule_from(SimpleNamespace(repeat_window_days=-1, repeat_similarity=0.8))
    with pytest.raises(ValueError, match="HOTLINE_REPEAT_SIMILARITY"):
        rule_from(SimpleNamespace(repeat_window_days=7, repeat_similarity=0))

"""Emergency linkage (紧急热线联动): the map's linkage trunks and the pure decisions built on them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ari_apps.render_context import emergency_transfers
from asterisk_conf import prompts as P
from hotline.map_check import check
from hotline.transfer_map import load_map
from hotline.yamlsrc import loads
from queues.linkage import linkage_context, linkage_redirect, redirect_action

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = (ROOT / "transfer_map.yaml").read_text(encoding="utf-8")
TRUNK = """  linkage-110:
    kind: emergency
    numbers: {numbers}
    contact: sip:127.0.0.1:5310
"""


def _with(trunks: str, text: str = SHIPPED) -> str:
    return text.replace("\ntrunks:\n", "\ntrunks:\n" + trunks, 1)


def _check(text: str, tmp_path=None):
    data, src = loads(text, "map.yaml")
    return check(data, src, date(2026, 12, 2))


def test_shipped_map_has_no_linkage_trunk():
    tmap = load_map(ROOT / "transfer_map.yaml")
    assert tmap.linkage_trunks() == {}
    assert all(not e["dial"] for e in emergency_transfers(tmap))
    assert linkage_context(tmap)["linkage"] == [] and linkage_context(tmap)["linkage_features"] == ""


def test_a_linkage_trunk_is_accepted_and_reaches_its_numbers(tmp_path):
    tmap, problems = _check(_with(TRUNK.format(numbers='["110", 122]')), tmp_path)
    assert problems == [] and tmap is not None
    assert tmap.linkage_trunks() == {"110": "linkage-110", "122": "linkage-110"}
    plan = {e["number"]: e["dial"] for e in emergency_transfers(tmap)}
    assert plan == {"110": "PJSIP/110@linkage-110", "119": "", "120": "", "122": "PJSIP/122@linkage-110"}
    ctx = linkage_context(tmap)
    assert [r["code"] for r in ctx["linkage"]] == ["*0110", "*0122"]
    assert ctx["linkage_features"] == "hotline-linkage-110#hotline-linkage-122"


@pytest.mark.parametrize(
    "trunks, needle",
    [
        (TRUNK.format(numbers='["911"]'), "a linkage trunk reaches only 110, 119, 120, 122"),
        (TRUNK.format(numbers='["110", "110"]'), "110 listed twice"),
        (TRUNK.format(numbers="[]"), "needs numbers"),
        ("  odd:\n    kind: seats\n    numbers: ['110']\n    contact: sip:127.0.0.1:5311\n", "numbers are for"),
        (
            TRUNK.format(numbers='["110"]')
            + "  second:\n    kind: emergency\n    numbers: ['110']\n    contact: sip:127.0.0.1:5311\n",
            "110 is already reached by the linkage trunk 'linkage-110'",
        ),
    ],
)
def test_bad_linkage_trunks_are_refused_with_a_reason(tmp_path, trunks, needle):
    tmap, problems = _check(_with(trunks), tmp_path)
    assert tmap is None
    assert any(needle in p.message for p in problems), problems


def test_a_line_cannot_target_a_linkage_trunk(tmp_path):
    text = _with(TRUNK.format(numbers='["110"]')).replace("target: seats-12350", "target: linkage-110", 1)
    assert "target: linkage-110" in text
    tmap, problems = _check(text, tmp_path)
    assert tmap is None and any("emergency linkage trunk" in p.message for p in problems), problems


def test_the_ivr_never_says_it_connects_without_a_trunk():
    for number in ("110", "119", "120", "122"):
        text = P.linkage_text(number)
        assert "正在为您转接" not in text and f"直接拨打{number}" in text
    texts = P.map_prompts(load_map(ROOT / "transfer_map.yaml"))
    assert {"linkage-110", "linkage-119", "linkage-120", "linkage-122"} <= set(texts)


def test_redirect_action_only_for_numbers_with_a_trunk(tmp_path):
    tmap, _ = _check(_with(TRUNK.format(numbers='["110"]')), tmp_path)
    a = redirect_action(tmap, "110", "PJSIP/1011-0001", "1733.42", "PJSIP/pstn-0002")
    assert a["Exten"] == "c-173342" and a["ExtraExten"] == "a-110-173342" and a["ExtraChannel"] == "PJSIP/1011-0001"
    with pytest.raises(ValueError, match="119 has no linkage trunk"):
        redirect_action(tmap, "119", "PJSIP/1011-0001", "1733.42", "PJSIP/pstn-0002")


def test_the_hotline_linkage_user_event_becomes_one_redirect_of_both_channels():
    ev = {
        "Event": "UserEvent",
        "UserEvent": "HotlineLinkage",
        "Number": "110",
        "Conference": "linkage-173342",
        "AgentChannel": "PJSIP/1011-0001",
        "CallerChannel": "PJSIP/pstn-0002",
        "Caller": "137****1110",
    }
    a = linkage_redirect(ev)
    assert a is not None
    assert (a["Channel"], a["Exten"]) == ("PJSIP/pstn-0002", "c-173342")
    assert (a["ExtraChannel"], a["ExtraExten"]) == ("PJSIP/1011-0001", "a-110-173342")
    assert a["Context"] == a["ExtraContext"] == "hotline-linkage-conf"
    assert linkage_redirect({**ev, "UserEvent": "Other"}) is None
    assert linkage_redirect({**ev, "CallerChannel": ""}) is None
    assert linkage_redirect({**ev, "Conference": "linkage-x"}) is None

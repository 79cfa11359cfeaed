"""queues/spy.py: the Originate of listen / whisper / barge, and what it refuses."""

from __future__ import annotations

import pytest

from asterisk_conf.render import TEMPLATES
from queues import spy


@pytest.mark.parametrize("mode", sorted(spy.MODES))
def test_the_originate_rings_the_supervisor_and_spies_on_the_agents_interface(mode):
    a = spy.originate("PJSIP/webrtc-1001", spy.phone("1009"), mode)
    assert a["Action"] == "Originate" and a["Async"] == "true"
    assert a["Channel"] == "PJSIP/1009"
    assert (a["Context"], a["Exten"], a["Priority"]) == ("supervisor-spy", mode, "1")
    assert a["Variable"] == "SPY_TARGET=PJSIP/webrtc-1001"
    assert a["CallerID"] == f'"{spy.MODES[mode]} 1001" <1001>'


@pytest.mark.parametrize(
    "interface,ext,mode,why",
    [
        ("PJSIP/1001", "1009", "snoop", "无效"),
        ("SIP/1001", "1009", "listen", "not an agent's PJSIP endpoint"),
        ("PJSIP/1001,qB", "1009", "listen", "not an agent's PJSIP endpoint"),
        ("PJSIP/1001", "Local/1009@x", "listen", "not a supervisor's PJSIP endpoint"),
        ("PJSIP/1009", "PJSIP/1009", "barge", "不能强插自己"),
    ],
)
def test_bad_input_is_refused(interface, ext, mode, why):
    with pytest.raises(spy.SpyError, match=why):
        spy.originate(interface, ext, mode)


def test_the_rendered_dialplan_has_one_spy_extension_per_mode():
    text = (TEMPLATES / "extensions_agents.conf.j2").read_text()
    assert f"[{spy.SPY_CONTEXT}]" in text
    for mode, opts in (("listen", "qbES"), ("whisper", "qbESw"), ("barge", "qbESB")):
        assert f"exten => {mode},1,ChanSpy(${{SPY_TARGET}}-,{opts})" in text


def test_the_phone_of_a_bound_extension_is_its_desk_endpoint():
    assert spy.phone("1009") == "PJSIP/1009"
    with pytest.raises(spy.SpyError, match="3 to 8 digits"):
        spy.phone("10&9")

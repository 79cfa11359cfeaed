"""The loopback placeholders of the shipped map, what is said of them, the demo peers'
configuration and `hotline status`'s trunk lines (deploy/demo_peers.py, deploy/commands_status.py)."""

from __future__ import annotations

from asterisk_conf.prompts import map_prompts, unreachable_text
from asterisk_conf.render import AstPaths
from deploy.commands_status import contact_states, trunk_lines
from deploy.demo_peers import is_loopback, label_of, placeholders, render_peers, startup_lines
from hotline.settings import PROJECT_ROOT
from hotline.transfer_map import load_map

SHIPPED = load_map(PROJECT_ROOT / "transfer_map.yaml")

CONTACTS = """
Contact:  <Aor/ContactUri..............................> <Hash....> <Status> <RTT(ms)..>
==========================================================================================

  Contact:  province/sip:127.0.0.1:5190                  1c8f0e7a5c Avail         0.412
  Contact:  seats-12350/sip:127.0.0.1:5192               0b3e9e1f77 Unavail         nan
  Contact:  1001/sip:1001@127.0.0.1:41234;ob             4f0a3c2d11 NonQual         nan
"""


def test_every_trunk_of_the_shipped_map_is_a_loopback_placeholder():
    found = {p.trunk: p for p in placeholders(SHIPPED)}
    assert set(found) == {"province", "subcenter-12313", "seats-12350", "seats-12320", "seats-12348"}
    assert found["province"].port == 5190 and found["province"].label == "河北省政务服务便民热线平台"
    assert set(found["province"].numbers) >= {"12366", "12396", "12305"} and len(found["province"].numbers) == 12
    assert found["subcenter-12313"].numbers == ("12313",)
    assert found["seats-12350"].numbers == ("12350",)


def test_loopback_is_127_8_ipv6_and_localhost_only():
    assert is_loopback("127.0.0.1") and is_loopback("127.0.0.2") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("198.18.0.2") and not is_loopback("province.example") and not is_loopback("10.13.0.1")
    assert label_of("12313 烟草专卖品市场监管举报 分中心（市烟草局）", "x") == "12313 烟草专卖品市场监管举报 分中心"
    assert label_of("", "seats-12350") == "seats-12350"


def test_startup_says_each_placeholder_and_what_its_calls_do():
    found = placeholders(SHIPPED)
    off = startup_lines(found, demo=False, hotline_number="12345")
    on = startup_lines(found, demo=True, hotline_number="12345")
    assert len(off) == len(on) == 5
    seats = next(l for l in off if l.startswith("trunk seats-12350 "))
    assert "sip:127.0.0.1:5192 is a loopback placeholder" in seats
    assert "calls to 12350 come back to 12345 after the caller hears why" in seats and "--demo-peers" in seats
    assert all("answered by the demo peers" in l and "real peer's address" in l for l in on)


def test_the_demo_peers_listen_on_each_placeholder_and_greet_per_number():
    paths = AstPaths.under("/srv/hotline/peers")
    files = render_peers(placeholders(SHIPPED), paths, (20001, 20400))
    pjsip, ext = files["pjsip.conf"], files["extensions.conf"]
    for port in range(5190, 5195):
        assert f"bind = 127.0.0.1:{port}\n" in pjsip
    assert "match = 127.0.0.0/8" in pjsip and "rtpstart = 20001" in files["rtp.conf"]
    assert "exten => 12366,1,Goto(peer-province,s,1)" in ext
    assert "exten => 12313,1,Goto(peer-subcenter-12313,s,1)" in ext
    assert "Playback(/srv/hotline/peers/sounds/demo-seats-12348)" in ext
    assert "autoload = no" in files["modules.conf"] and "load => chan_pjsip.so" in files["modules.conf"]


def test_a_caller_is_told_when_a_peer_cannot_be_reached():
    prompts = map_prompts(SHIPPED)
    assert prompts["unreachable-province"] == unreachable_text("province", "12345")
    assert prompts["unreachable-province"] == "省级平台无法接通，为您转接12345。"
    assert prompts["unreachable-seats-12350"].startswith("该热线坐席无法接通")
    assert "unreachable-subcenter-12313" in prompts


def test_status_shows_reachability_and_placeholders():
    states = contact_states(CONTACTS)
    assert states["province"] == ("Avail", "0.412") and states["seats-12350"] == ("Unavail", "")
    assert "<Aor" not in states
    lines = {l.split()[0]: l for l in trunk_lines(SHIPPED, states)}
    assert "reachable (0.412 ms); loopback placeholder" in lines["province"]
    assert "UNREACHABLE" in lines["seats-12350"]
    assert "no contact" in lines["seats-12320"]
    assert all("unknown (Asterisk not running)" in l for l in trunk_lines(SHIPPED, None))

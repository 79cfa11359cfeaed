"""The dialplan and trunks rendered from the default map (no Asterisk needed)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from asterisk_conf import render as R
from asterisk_conf.escape import callerid_name, comment, conf_value, dialplan_arg
from deploy.configure import gather, render_instance
from deploy.platform import Platform
from hotline.names import call_facts_expression
from hotline.secrets import load_secrets
from hotline.settings import Settings
from hotline.transfer_map import load_map
from queues.config import FEATURE_CODES
from tests.dbutil import migrated

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    settings = Settings.from_env({}, home=tmp_path_factory.mktemp("home"))
    tmap = load_map(ROOT / "transfer_map.yaml", date(2026, 11, 23))
    paths = R.AstPaths.under("/srv/h")
    ctx = R.build_context(
        settings, {"ami_user": "u", "ami_secret": "x"}, paths, gather(settings, {}, tmap, agents=[], paths=paths)
    )
    env = R._env()
    names = ("extensions_routes.conf", "pjsip_trunks.conf", "extensions_ivr.conf")
    return {name: env.get_template(f"{name}.j2").render(**ctx) for name in names}, tmap


def _context(text: str, name: str) -> str:
    m = re.search(rf"^\[{re.escape(name)}\]\n(.*?)(?=^\[|\Z)", text, re.S | re.M)
    assert m, name
    return m.group(1)


def test_every_number_has_a_static_fallback(rendered):
    files, tmap = rendered
    static = _context(files["extensions_routes.conf"], "hotline-static")
    for number in [tmap.hotline.number] + [ln.number for ln in tmap.lines]:
        assert f"exten => {number},1," in static, number
    assert "exten => 031012349,1,Goto(hotline-static,12349,1)" in static  # area code variants
    block = static.split("exten => 12313,1,")[1].split("exten =>")[0]
    # every variable of the route in one step (a step costs Asterisk a snapshot and an AMI event),
    # the route's facts for the statistics (no channelvars), then the Goto
    mset, routed, goto = block.strip().split("\n")
    assert mset.startswith("MSet(") and mset.endswith(")")
    assert routed.strip() == f"same => n,UserEvent(HotlineRouted,Facts: {call_facts_expression()})"
    assert goto.strip() == "same => n,Goto(route-${HOTLINE_KIND},s,1)"
    pairs = dict(pair.split("=", 1) for pair in mset[len("MSet(") : -1].split(","))
    assert pairs["HOTLINE_TARGET"] == "PJSIP/12313@subcenter-12313" and pairs["__HOTLINE_ROUTER"] == "static"
    assert pairs["HOTLINE_OVERFLOW_FLAG"] == "subcenter_noanswer" and pairs["HOTLINE_PRIORITY"] == "10"


def test_agents_can_transfer_to_every_target(rendered):
    files, tmap = rendered
    xfer = _context(files["extensions_routes.conf"], "hotline-transfer")
    targets = [ln for ln in tmap.lines if tmap.target_of(ln)]
    assert len(targets) == 16  # 3 department seats, the 12313 sub-center, 12 province rows
    for ln in targets:
        assert f"exten => {ln.number},1," in xfer
        assert f"Dial(PJSIP/{ln.number}@{tmap.target_of(ln)},60," in xfer


def test_seats_and_subcenter_send_callers_back_to_their_skill(rendered):
    files, _ = rendered
    back = _context(files["extensions_routes.conf"], "from-trunk-seats-12350")
    assert "exten => 12345,1," in back and "Set(HOTLINE_QUEUE=yingji)" in back
    assert "Set(__HOTLINE_FLAG=transfer_from_seats-12350)" in back
    sub = _context(files["extensions_routes.conf"], "from-trunk-subcenter-12313")
    assert "Set(HOTLINE_QUEUE=yancao)" in sub


def test_route_dial_overflows_back_to_12345(rendered):
    files, _ = rendered
    dial = _context(files["extensions_routes.conf"], "route-dial")
    assert "Dial(${HOTLINE_TARGET},${HOTLINE_TIMEOUT}" in dial
    assert 'GotoIf($["${DIALSTATUS}" = "ANSWER"]?done)' in dial
    assert "Set(__HOTLINE_FLAG=${HOTLINE_OVERFLOW_FLAG})" in dial
    assert "Goto(route-queue,s,1)" in dial


def test_trunks_identified_by_address_and_port(rendered):
    files, tmap = rendered
    text = files["pjsip_trunks.conf"]
    for name in tmap.trunks:
        assert f"[{name}]\ntype = endpoint" in text and f"context = from-trunk-{name}" in text
    assert "match = 127.0.0.1:5191" in text


@pytest.mark.parametrize(
    "value, want",
    [
        ("a,b", "a\\,b"),
        ("a;b", "a\\;b"),
        ('say "hi"', 'say \\"hi\\"'),
        ("x\\y", "x\\\\y"),
        ("${EVIL}", "＄{EVIL}"),
        ("two\nlines\r\n", "two lines  "),
    ],
)
def test_dialplan_arguments_are_escaped(value, want):
    assert dialplan_arg(value) == want


def test_conf_values_and_comments_stay_on_their_line():
    assert conf_value("a;b\nc") == "a\\;b c"
    assert "\n" not in comment("部门\n[evil]\nsecret = x")
    assert callerid_name('张"三" <1>;x') == "张'三' (1)\\;x"


def test_feature_codes_have_one_home_the_dialplan_and_the_banner(tmp_path):
    """The banner once told agents *11 while the dialplan's login code was *71."""
    settings = migrated(Settings.from_env({}, home=tmp_path))
    agents = [{"name": "1001", "password": "pw", "skills": {}}]
    files = render_instance(
        settings,
        load_secrets(settings.secrets_file),
        R.AstPaths.under("/srv/h"),
        load_map(ROOT / "transfer_map.yaml"),
        agents=agents,
    )
    login = re.search(
        r"^exten => (\*\d+),1,Answer\(\)\n same => n,Gosub\(agent-login,", files["extensions_agents.conf"], re.M
    )
    banner = Platform(settings).banner()
    told = re.search(r"dial (\*\d+) from the", banner)
    assert login and told and told.group(1) == login.group(1) == FEATURE_CODES["login"]


def test_the_static_twin_of_12345_enters_the_ivr_greeting(rendered):
    """With FastAGI down, 12345 of the shipped map takes the same decision from the dialplan: the
    IVR flow of ``hotline:`` (route-ivr, the Stasis app's greeting), not the queue directly; the
    end-to-end bench (bench/bench_e2e.py) relies on it for its twin."""
    files, tmap = rendered
    assert tmap.hotline.flow == "12345"
    static = _context(files["extensions_routes.conf"], "hotline-static")
    mset, _, goto = static.split("exten => 12345,1,")[1].split("exten =>")[0].strip().split("\n")
    pairs = dict(pair.split("=", 1) for pair in mset[len("MSet(") : -1].split(","))
    assert pairs["HOTLINE_KIND"] == "ivr" and pairs["HOTLINE_FLOW"] == "12345"
    assert goto.strip() == "same => n,Goto(route-${HOTLINE_KIND},s,1)"


def test_a_caller_back_from_an_agent_is_never_queued_again_by_the_ivr_fallback(rendered):
    """The survey after the agent call is a Stasis entry too: when the app sheds it (or lets it
    go), hotline-ivr-fallback ends the call instead of queueing the caller for a second agent."""
    files, _ = rendered
    ivr = files["extensions_ivr.conf"]
    queue_node = _context(ivr, "hotline-ivr-queue")
    assert queue_node.index("Set(HOTLINE_AFTER_CALL=1)") < queue_node.index("Stasis(")
    fallback = _context(ivr, "hotline-ivr-fallback").splitlines()
    assert fallback[0] == 'exten => s,1,GotoIf($["${HOTLINE_AFTER_CALL}" != ""]?after)'
    after = next(i for i, line in enumerate(fallback) if "n(after)," in line)
    assert "Goto(route-queue,s,1)" in "\n".join(fallback[:after])
    assert fallback[after + 1].strip() == "same => n,Hangup()"
    assert "route-queue" not in "\n".join(fallback[after:])

"""The two levels (docs/province.md): the exchange's rules, the role setting, the exchange
format (docs/exchange.schema.json) and the dialplan that carries the order across (pure)."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import jsonschema_rs
import pytest
from pydantic import ValidationError

from asterisk_conf import render as R
from deploy.cli import main
from deploy.configure import gather
from hotline.secrets import load_secrets
from hotline.settings import Settings
from hotline.transfer_map import loads_map
from hotline.yamlsrc import ConfigError
from tests.e2e import netns
from workorder.api.schemas_exchange import ExchangeEventIn
from workorder.exchange import applied_state, decide, mirror_view, order_number
from workorder.handoff import answered_body

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs" / "exchange.schema.json").read_text(encoding="utf-8"))
PROVINCE_TRUNK = "  province:\n    kind: province\n    contact: sip:127.0.0.1:5190\n"
CITY_TRUNK = "  handan:\n    kind: city\n    contact: sip:127.0.0.1:5290\n"


# -- the rule -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "seen, mirror_seq, seq, want",
    [
        (False, None, 7, "applied"),  # the first event of an order
        (False, 6, 7, "applied"),  # the next one
        (False, 0, 1, "applied"),  # a call named the order before any event came
        (True, 6, 7, "duplicate"),  # the same event again (a crash between 2xx and mark)
        (True, None, 7, "duplicate"),
        (False, 7, 7, "stale"),  # another event with a seq already applied
        (False, 9, 7, "stale"),  # an older event after a newer one: never over the newer state
    ],
)
def test_decide(seen, mirror_seq, seq, want):
    assert decide(seen, mirror_seq, seq) == want


def test_the_mirror_keeps_no_caller_and_a_deleted_draft_its_last_state():
    ev = {"kind": "order.updated", "order": {"number": "2026120200001", "status": "draft", "caller_phone": "138"}}
    snap, status = applied_state(ev, None)
    assert status == "draft" and "caller_phone" not in snap and snap["number"] == "2026120200001"
    assert order_number(ev) == "2026120200001"
    gone = {"kind": "order.deleted", "number": "2026120200001", "order_id": 3}
    assert order_number(gone) == "2026120200001"
    assert applied_state(gone, snap) == (snap, "deleted")
    assert order_number({"kind": "order.updated"}) is None
    view = mirror_view("handan", "2026120200001", {"snapshot": snap, "status": "draft", "last_seq": 4})
    assert view["mirrored"] is True and view["last_seq"] == 4 and view["source"] == "handan"


# -- the format: docs/exchange.schema.json and the API's model give the same answers -----------

GOOD = [
    {
        "source": "handan",
        "event_id": "0b5e1c1e-7c1d-4d0e-9d3c-6f1f3f0e2a11",
        "seq": 12,
        "kind": "order.created",
        "at": "2026-12-02T14:00:00+00:00",
        "order": {"number": "2026120200001", "status": "draft", "title": None, "caller_phone": "13800138000"},
    },
    {
        "source": "handan",
        "event_id": "e1",
        "seq": 13,
        "kind": "order.survey",
        "at": "2026-12-02T14:01:00",
        "score": 1,
        "order": {"number": "2026120200001", "status": "closed"},
    },  # fmt: skip
    {
        "source": "handan",
        "event_id": "e2",
        "seq": 14,
        "kind": "order.deleted",
        "at": "2026-12-02T14:02:00",
        "number": "2026120200002",
        "order_id": 5,
    },  # fmt: skip
]
BAD = [
    {k: v for k, v in GOOD[0].items() if k != "source"},  # who sent it?
    {**GOOD[0], "source": "Han Dan"},
    {**GOOD[0], "seq": 0},
    {**GOOD[0], "seq": "12"},
    {**GOOD[0], "kind": "order.exploded"},
    {**GOOD[0], "event_id": ""},
    {k: v for k, v in GOOD[0].items() if k != "order"},  # an order event without its order
    {**GOOD[2], "number": None},
    {**GOOD[0], "order": {"number": "2026-12-02 1", "status": "draft"}},
]


@pytest.mark.parametrize("body", GOOD)
def test_good_events_pass_the_schema_and_the_model(body):
    jsonschema_rs.validate(SCHEMA, body)
    ExchangeEventIn.model_validate(body)


@pytest.mark.parametrize("body", BAD)
def test_bad_events_fail_the_schema_and_the_model(body):
    assert not jsonschema_rs.is_valid(SCHEMA, body)
    with pytest.raises(ValidationError):
        ExchangeEventIn.model_validate(body)


def test_the_schema_knows_every_kind_the_store_pushes():
    kinds = set()
    for path in (ROOT / "workorder").glob("*.py"):
        kinds |= set(re.findall(r'_outbox\(s, \w+, "([a-z.]+)"', path.read_text(encoding="utf-8")))
    assert kinds and kinds == set(SCHEMA["properties"]["kind"]["enum"])


# -- the role -----------------------------------------------------------------------------


def test_the_role_is_city_or_province():
    assert Settings.from_env({}).role == "city"
    assert Settings.from_env({"HOTLINE_ROLE": "province"}).role == "province"
    with pytest.raises(ValueError, match="HOTLINE_ROLE='county': one of city, province"):
        Settings.from_env({"HOTLINE_ROLE": "county"})


def test_the_exchange_name_defaults_to_the_instance_and_is_checked():
    assert Settings.from_env({}).exchange_source == "hotline"
    assert Settings.from_env({"HOTLINE_EXCHANGE_NAME": "handan"}).exchange_source == "handan"
    with pytest.raises(ValueError, match="HOTLINE_EXCHANGE_NAME"):
        Settings.from_env({"HOTLINE_EXCHANGE_NAME": "Han-Dan"})


def test_an_older_secrets_file_gets_the_exchange_token(tmp_path):
    path = tmp_path / "secrets.json"
    data = load_secrets(path)
    del data["api_tokens"]["exchange"]
    path.write_text(json.dumps(data))
    again = load_secrets(path)
    assert again["api_tokens"]["exchange"] and again["api_tokens"]["agent"] == data["api_tokens"]["agent"]


# -- the hand-off ---------------------------------------------------------------------------


def test_a_call_from_the_other_level_names_its_order():
    ev = {
        "Event": "AgentConnect",
        "Uniqueid": "1.2",
        "Linkedid": "1.1",
        "CallerIDNum": "13800138000",
        "MemberName": "1001",
        # the facts of its HotlineAnswered UserEvent (the variables the trunk's context set)
        "HOTLINE_ORIGIN": "12396",
        "HOTLINE_PEER_ORDER": "2026120200001",
        "HOTLINE_PEER": "handan",
    }
    body = answered_body(ev)
    assert body["peer_order"] == "2026120200001" and body["peer"] == "handan"
    del ev["HOTLINE_PEER"]  # no source: an ordinary call, a draft of its own
    assert "peer_order" not in answered_body(ev)


# -- the map and the dialplan ------------------------------------------------------------------


def _province_map_text() -> str:
    text = (ROOT / "transfer_map.yaml").read_text(encoding="utf-8")
    assert PROVINCE_TRUNK in text
    return text.replace(PROVINCE_TRUNK, CITY_TRUNK)


def test_a_province_map_answers_its_province_lines_a_city_map_needs_the_trunk():
    tmap = loads_map(_province_map_text(), today=date(2026, 12, 2))
    assert tmap.city_trunks() == ["handan"] and tmap.target_of(tmap.line("12396")) is None
    seats = "  seats-x:\n    kind: seats\n    contact: sip:127.0.0.1:5199\n"  # neither province nor city
    without = (ROOT / "transfer_map.yaml").read_text(encoding="utf-8").replace(PROVINCE_TRUNK, seats)
    with pytest.raises(ConfigError, match="province line without a province trunk"):
        loads_map(without, today=date(2026, 12, 2))


def _routes(tmap, **settings) -> str:
    s = Settings.from_env({}, **settings)
    paths = R.AstPaths.under("/srv/h")
    ctx = R.build_context(s, {"ami_user": "u", "ami_secret": "x"}, paths, gather(s, {}, tmap, agents=[], paths=paths))
    return R._env().get_template("extensions_routes.conf.j2").render(**ctx)


def _context(text: str, name: str) -> str:
    m = re.search(rf"^\[{re.escape(name)}\]\n(.*?)(?=^\[|\Z)", text, re.S | re.M)
    assert m, name
    return m.group(1)


def test_the_order_goes_out_with_the_transfer_and_is_read_only_from_the_other_level(tmp_path):
    city = loads_map((ROOT / "transfer_map.yaml").read_text(encoding="utf-8"), today=date(2026, 12, 2))
    text = _routes(city, home=tmp_path, exchange_name="handan")
    xfer = _context(text, "hotline-transfer")
    assert (
        "exten => 12396,1,Set(__HOTLINE_TRANSFER=to-province)\n same => n,Set(__HOTLINE_ORDER=${HOTLINE_ORDER})" in xfer
    )
    pre = _context(text, "target-predial")
    assert "Set(PJSIP_HEADER(add,X-Hotline-Order)=${HOTLINE_ORDER})" in pre
    assert "Set(PJSIP_HEADER(add,X-Hotline-Source)=handan)" in pre
    from_province = _context(text, "from-trunk-province")
    assert "${FILTER(0-9A-Za-z,${PJSIP_HEADER(read,X-Hotline-Order)})}" in from_province
    # department seats and sub-centers are not the other level: what they send is not read
    assert "X-Hotline-Order" not in _context(text, "from-trunk-seats-12350")
    assert "X-Hotline-Order" not in _context(text, "from-trunk-subcenter-12313")
    prov = loads_map(_province_map_text(), today=date(2026, 12, 2))
    ptext = _routes(prov, home=tmp_path, role="province", exchange_name="province")
    assert "PJSIP_HEADER(read,X-Hotline-Source)" in _context(ptext, "from-trunk-handan")
    assert "Set(PJSIP_HEADER(add,X-Hotline-Order)=${HOTLINE_PEER_ORDER})" in _context(ptext, "agent-predial")


def test_a_trunk_between_the_levels_authenticates_both_ways_by_digest(tmp_path):
    text = _province_map_text().replace(CITY_TRUNK, CITY_TRUNK + "    digest_user: handan\n")
    tmap = loads_map(text, today=date(2026, 12, 2))
    s = Settings.from_env({}, home=tmp_path, role="province")
    paths = R.AstPaths.under("/srv/h")
    ctx = R.build_context(s, {"ami_user": "u", "ami_secret": "x"}, paths, gather(s, {}, tmap, agents=[], paths=paths))
    trunks = R._env().get_template("pjsip_trunks.conf.j2").render(**ctx)
    password = load_secrets(s.secrets_file)["trunks"]["handan"]  # generated by the render, kept in the secrets
    assert len(password) >= 32 and password not in text
    endpoint = _context(trunks, "handan")
    assert "auth = handan-auth\noutbound_auth = handan-auth" in endpoint
    auth = _context(trunks, "handan-auth")
    assert f"username = handan\npassword = {password}\n" in auth
    assert "auth =" not in _context(trunks, "seats-12350")  # the other trunks: by address only
    seats = text.replace("  seats-12350:\n    kind: seats\n", "  seats-12350:\n    kind: seats\n    digest_user: x\n")
    with pytest.raises(ConfigError, match="digest_user is for the trunks between the levels"):
        loads_map(seats, today=date(2026, 12, 2))


def test_the_province_dispatches_a_city_matter_over_the_city_trunk(tmp_path):
    line = (
        '  - number: "96310"\n    name: 邯郸市12345热线（省级派往市级）\n    department: kjj\n'
        "    mode: 整体并入\n    target: handan\n"
    )
    tmap = loads_map(_province_map_text() + line, today=date(2026, 12, 2))
    assert tmap.target_of(tmap.line("96310")) == "handan"
    xfer = _context(_routes(tmap, home=tmp_path, role="province"), "hotline-transfer")
    assert "exten => 96310,1,Set(__HOTLINE_TRANSFER=to-handan)" in xfer
    assert "Dial(PJSIP/96310@handan,60,b(target-predial^s^1))" in xfer


def test_the_cli_refuses_a_bad_role_by_name(monkeypatch, capsys):
    monkeypatch.setenv("HOTLINE_ROLE", "county")
    assert main(["map", "check"]) == 2
    assert "HOTLINE_ROLE='county': one of city, province" in capsys.readouterr().err


def test_without_root_the_two_level_test_fails_saying_why(monkeypatch):
    monkeypatch.setattr(netns.os, "geteuid", lambda: 1000)
    with pytest.raises(netns.NetnsUnavailable, match="network namespaces need root"):
        netns.Pair().up()

"""The nodes file (which skill on which Asterisk node) and the Kamailio config rendered from it."""

from __future__ import annotations

import pytest

from deploy import kamailio
from deploy.scale_nodes import dispatcher_list, loads_plan, number_skills, routes
from hotline.settings import PROJECT_ROOT
from hotline.transfer_map import load_map
from hotline.yamlsrc import ConfigError

GOOD = """\
kamailio:
  listen: 127.0.0.1:5960
  probe_interval: 1
  probe_timeout: 1.5
nodes:
  - name: node1
    sip: 127.0.0.1:5971
    skills: [hotline]
  - name: node2
    sip: 127.0.0.1:5972
    skills: ["*"]
"""


@pytest.fixture(scope="module")
def tmap():
    return load_map(PROJECT_ROOT / "transfer_map.yaml")


def problems(text: str, tmap) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        loads_plan(text, tmap, "nodes.yaml")
    return [str(p) for p in exc.value.problems]


def test_the_rest_star_takes_every_skill_not_named_elsewhere(tmap):
    plan = loads_plan(GOOD, tmap, "nodes.yaml")
    assert plan.nodes[0].skills == ("hotline",)
    assert set(plan.nodes[1].skills) == set(tmap.queues) - {"hotline"}
    assert plan.node_of("minzheng").name == "node2"
    assert (plan.listen_host, plan.listen_port, plan.probe_interval, plan.probe_timeout) == ("127.0.0.1", 5960, 1, 1.5)


def test_every_number_of_the_map_goes_to_its_skill_and_the_rest_to_the_catch_all(tmap):
    table = number_skills(tmap)
    assert table["12345"] == "hotline"
    assert table["12349"] == "minzheng"  # 全国统一民政服务电话 -> 市民政局 -> minzheng
    assert table["031012349"] == "minzheng"  # the long form a carrier may deliver
    assert table["+8631012349"] == "minzheng"
    plan = loads_plan(GOOD, tmap)
    rows, default_set = routes(plan, tmap)
    assert ("12345", 1) in rows and ("12349", 2) in rows
    assert default_set == 1  # the catch-all's queue is hotline's, on node1


def test_each_node_s_set_tries_it_first_and_the_others_after(tmap):
    text = dispatcher_list(loads_plan(GOOD, tmap))
    rows = [r.split() for r in text.splitlines() if not r.startswith("#")]
    assert rows == [
        ["1", "sip:127.0.0.1:5971", "0", "2", "name=node1"],
        ["1", "sip:127.0.0.1:5972", "0", "1", "name=node2"],
        ["2", "sip:127.0.0.1:5972", "0", "2", "name=node2"],
        ["2", "sip:127.0.0.1:5971", "0", "1", "name=node1"],
    ]


@pytest.mark.parametrize(
    "old,new,expected",
    [
        ("skills: [hotline]", "skills: [hotline, nosuch]", "nodes.yaml:8:23: 'nosuch' is not a skill queue of the map"),
        ('skills: ["*"]', "skills: [minzheng]", "skills of the map on no node: xiaofang, ziran,"),
        ('skills: ["*"]', 'skills: [hotline, "*"]', "'hotline' is already on node 'node1'"),
        ("skills: [hotline]", 'skills: ["*"]', '"*" is already on node'),
        ("127.0.0.1:5972", "127.0.0.1:5971", "is another node's address"),
        ("127.0.0.1:5972", "127.0.0.1:5960", "cannot be Kamailio's own listen address"),
        ("127.0.0.1:5972", "localhost:5972", "'localhost:5972' is not an IPv4 address:port"),
        ("127.0.0.1:5960", "127.0.0.1:70000", "is not an IPv4 address:port"),
        ("probe_interval: 1", "probe_interval: 30", "probe_interval: 30: a number of seconds from 1 to 5"),
        ("probe_interval: 1", "probe_interval: 1.5", "whole seconds"),
        ("probe_timeout: 1.5", "probe_timeout: 9", "a number of seconds from 0.5 to 4.0"),
        ("name: node2", "name: node1", "node 'node1' written twice"),
        ("name: node2", "name: Node 2", "a node name is"),
        ("    sip: 127.0.0.1:5972\n", "    sip: 127.0.0.1:5972\n    weight: 3\n", "unknown key 'weight'"),
    ],
)
def test_a_bad_nodes_file_is_rejected_whole_with_file_line_column(tmap, old, new, expected):
    assert old in GOOD
    found = problems(GOOD.replace(old, new, 1), tmap)
    assert any(expected in p for p in found), found
    assert all(p.startswith("nodes.yaml:") for p in found)


def test_no_nodes_and_no_kamailio_section_are_both_reported(tmap):
    found = problems("nodes: []\n", tmap)
    assert any("`kamailio:` must be a mapping" in p for p in found)
    assert any("at least one node" in p for p in found)


def test_the_rendered_kamailio_config_routes_numbers_to_the_sets_and_probes_every_second(tmap, tmp_path):
    plan = loads_plan(GOOD, tmap)
    files = kamailio.render(plan, tmap, tmp_path)
    cfg = files["kamailio.cfg"]
    assert "listen=udp:127.0.0.1:5960" in cfg
    assert 'case "12345": $var(set) = 1; break;' in cfg
    assert 'case "12349": $var(set) = 2; break;' in cfg
    assert "$var(set) = 1;\n\tswitch" in cfg  # numbers not in the map: the catch-all's node
    assert 'modparam("dispatcher", "ds_ping_interval", 1)' in cfg
    assert 'modparam("tm", "fr_timer", 1500)' in cfg
    assert f'modparam("dispatcher", "list_file", "{tmp_path}/dispatcher.list")' in cfg
    assert files["dispatcher.list"] == dispatcher_list(plan)
    assert kamailio.render(plan, tmap, tmp_path) == files  # deterministic

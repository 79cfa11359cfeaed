"""Queue specs and the rendered queues / agents configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from asterisk_conf.render import AstPaths, load_map, render
from hotline.secrets import load_secrets
from hotline.settings import Settings
from queues import config


def test_specs_one_queue_per_skill_general_first():
    specs = config.build_specs("hotline", {"hotline": "12345", "minzheng": "民政", "gongjijin": "公积金"})
    assert [s["name"] for s in specs] == ["hotline", "gongjijin", "minzheng"]
    g, k = specs[0], specs[1]
    assert (g["joinempty"], g["leavewhenempty"], g["overflow"]) == ("yes", "no", "")
    assert k["overflow"] == "hotline" and "paused" in k["joinempty"] and "unavailable" in k["leavewhenempty"]
    assert all(s["strategy"] == "rrmemory" and s["servicelevel"] == 15 for s in specs)


def test_knobs_from_environment(monkeypatch):
    monkeypatch.setenv("HOTLINE_QUEUE_STRATEGY", "leastrecent")
    monkeypatch.setenv("HOTLINE_QUEUE_WRAPUPTIME", "3")
    assert config.knobs()["strategy"] == "leastrecent" and config.knobs()["wrapuptime"] == 3
    monkeypatch.setenv("HOTLINE_QUEUE_STRATEGY", "roundrobin-ish")
    with pytest.raises(ValueError, match="HOTLINE_QUEUE_STRATEGY"):
        config.knobs()
    monkeypatch.setenv("HOTLINE_QUEUE_STRATEGY", "rrmemory")
    monkeypatch.setenv("HOTLINE_QUEUE_WRAPUPTIME", "-1")
    with pytest.raises(ValueError, match="WRAPUPTIME"):
        config.knobs()


def _render(tmp_path, agents=None):
    s = Settings(home=tmp_path)
    return render(s, load_secrets(s.secrets_file), AstPaths.under("/srv/t"), tmap=load_map(s), agents=agents)


def test_rendered_queues_follow_the_map(tmp_path):
    s = Settings(home=tmp_path)
    tmap = load_map(s)
    text = _render(tmp_path)["queues.conf"]
    for name in tmap.queues:
        assert f"\n[{name}]\n" in text
    assert text.count("servicelevel = 15") == len(tmap.queues)
    assert text.count("autofill = yes") == len(tmap.queues) + 1
    assert "wrapuptime = 5" in text and "strategy = rrmemory" in text


def test_rendered_agents_register_with_generated_secrets(tmp_path):
    agents = [{"name": "1001", "agent": "alice", "display": "张三", "password": "pw-1",
               "skills": {"hotline": 0, "gongjijin": 2}}]
    files = _render(tmp_path, agents=agents)
    pj = files["pjsip_agents.conf"]
    assert "password = pw-1" in pj and "identify_by = username" in pj
    assert "type = identify" not in pj  # nothing trusted by address
    ext = files["extensions_agents.conf"]
    assert "AddQueueMember(gongjijin,PJSIP/1001,2,,alice,PJSIP/1001)" in ext
    assert "RemoveQueueMember(hotline,PJSIP/1001)" in ext
    assert "exten => *732,1" in ext and "lunch" in ext


def test_agents_for_render_from_registry(tmp_path):
    from queues.models import Registry

    s = Settings(home=tmp_path)
    demo = config.agents_for_render(s, {})
    assert [a["name"] for a in demo] == list(config.DEMO_AGENTS)
    Registry(s.database_url).add("alice", "2001", {"hotline": 0}, display="张三")
    got = config.agents_for_render(s, {})
    assert [(a["name"], a["agent"], a["display"]) for a in got] == [("2001", "alice", "张三")]
    assert got[0]["password"] == load_secrets(s.secrets_file)["sip"]["2001"]

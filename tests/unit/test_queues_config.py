"""Queue specs and the rendered queues / agents configuration."""

from __future__ import annotations

import pytest

from asterisk_conf.render import AstPaths
from deploy.configure import render_instance
from hotline.secrets import load_secrets
from hotline.settings import Settings
from hotline.transfer_map import load_map_for
from queues import config
from queues.models import Registry
from tests.dbutil import migrated


def test_specs_one_queue_per_skill_general_first():
    specs = config.build_specs("hotline", {"hotline": "12345", "minzheng": "民政", "gongjijin": "公积金"})
    assert [s["name"] for s in specs] == ["hotline", "gongjijin", "minzheng"]
    g, k = specs[0], specs[1]
    assert (g["joinempty"], g["leavewhenempty"], g["overflow"]) == ("yes", "no", "")
    assert k["overflow"] == "hotline" and "paused" in k["joinempty"] and "unavailable" in k["leavewhenempty"]
    assert all(s["strategy"] == "rrmemory" and s["servicelevel"] == 15 for s in specs)


def test_knobs_through_the_settings():
    s = Settings.from_env({"HOTLINE_QUEUE_STRATEGY": "leastrecent", "HOTLINE_QUEUE_WRAPUPTIME": "3"})
    assert config.knobs(s)["strategy"] == "leastrecent" and config.knobs(s)["wrapuptime"] == 3
    with pytest.raises(ValueError, match="HOTLINE_QUEUE_STRATEGY"):
        config.knobs(Settings.from_env({"HOTLINE_QUEUE_STRATEGY": "roundrobin-ish"}))
    with pytest.raises(ValueError, match="WRAPUPTIME"):
        config.knobs(Settings.from_env({"HOTLINE_QUEUE_WRAPUPTIME": "-1"}))
    with pytest.raises(ValueError, match="HOTLINE_QUEUE_WRAPUPTIME='soon': not a whole number"):
        Settings.from_env({"HOTLINE_QUEUE_WRAPUPTIME": "soon"})
    with pytest.raises(ValueError, match="HOTLINE_FORCE_ROOTFS='maybe'"):
        Settings.from_env({"HOTLINE_FORCE_ROOTFS": "maybe"})
    assert Settings.from_env({"HOTLINE_IVR_MAX_LAG": "0.25", "HOTLINE_FORCE_ROOTFS": "1"}).ivr_max_lag == 0.25


def _render(tmp_path, agents=None):
    s = migrated(Settings(home=tmp_path))
    return render_instance(s, load_secrets(s.secrets_file), AstPaths.under("/srv/t"), load_map_for(s), agents=agents)


def test_rendered_queues_follow_the_map(tmp_path):
    s = Settings(home=tmp_path)
    tmap = load_map_for(s)
    text = _render(tmp_path)["queues.conf"]
    names = [*tmap.queues, *tmap.expert_queues()]
    assert tmap.expert_queues() == {"gongjijin-expert": "住房公积金 行业专家"}  # 12329 expert_seats
    for name in names:
        assert f"\n[{name}]\n" in text
    assert text.count("servicelevel = 15") == len(names)
    assert text.count("autofill = yes") == len(names) + 1
    assert "wrapuptime = 5" in text and "strategy = rrmemory" in text


def test_rendered_agents_register_with_generated_secrets(tmp_path):
    agents = [
        {
            "name": "1001",
            "agent": "alice",
            "display": "张三",
            "password": "pw-1",
            "skills": {"hotline": 0, "gongjijin": 2},
        }
    ]
    files = _render(tmp_path, agents=agents)
    pj = files["pjsip_agents.conf"]
    assert "password = pw-1" in pj and "identify_by = username" in pj
    assert "type = identify" not in pj  # nothing trusted by address
    ext = files["extensions_agents.conf"]
    assert "AddQueueMember(gongjijin,PJSIP/1001,2,,alice,PJSIP/1001)" in ext
    assert "RemoveQueueMember(hotline,PJSIP/1001)" in ext
    assert "exten => *732,1" in ext and "lunch" in ext


def test_agents_for_render_from_registry(tmp_path):
    s = migrated(Settings(home=tmp_path))
    assert config.agents_for_render(s, {}) == []  # an empty registry renders no agent (`hotline up` seeds it)
    Registry(s.database_url).add("alice", "2001", {"hotline": 0}, display="张三")
    got = config.agents_for_render(s, {})
    assert [(a["name"], a["agent"], a["display"]) for a in got] == [("2001", "alice", "张三")]
    assert got[0]["password"] == load_secrets(s.secrets_file)["sip"]["2001"]


def test_an_unreadable_registry_is_an_error_not_demo_agents(tmp_path):
    """A reload during a database outage must not replace the real agents with demo ones."""
    (tmp_path / "db").mkdir()
    s = Settings(home=tmp_path, db_url=f"sqlite:///{tmp_path / 'db'}")  # a directory: not a database
    with pytest.raises(config.RegistryUnavailable, match="agent registry .* cannot be read"):
        config.agents_for_render(s, {})
    with pytest.raises(config.RegistryUnavailable):  # and so nothing is rendered
        render_instance(s, load_secrets(s.secrets_file), AstPaths.under("/srv/t"), load_map_for(s))


def test_database_passwords_stay_out_of_the_message(tmp_path):
    s = Settings(home=tmp_path, db_url="postgresql+psycopg://hot:s3cret@127.0.0.1:1/x?connect_timeout=1")
    with pytest.raises(config.RegistryUnavailable) as exc:
        config.agents_for_render(s, {})
    assert "s3cret" not in str(exc.value) and "hot:***@" in str(exc.value)


def test_queue_maxlen_knob_and_render(tmp_path):
    """HOTLINE_QUEUE_MAXLEN: every queue's maxlen; the hotline's queue full -> the busy announcement."""
    assert config.knobs(Settings.from_env({}))["maxlen"] == 200
    assert config.knobs(Settings.from_env({"HOTLINE_QUEUE_MAXLEN": "0"}))["maxlen"] == 0  # no limit
    with pytest.raises(ValueError, match="HOTLINE_QUEUE_MAXLEN=-1: must be 0..100000"):
        config.knobs(Settings.from_env({"HOTLINE_QUEUE_MAXLEN": "-1"}))
    specs = config.build_specs("hotline", {"hotline": "12345", "minzheng": "民政"}, maxlen=7)
    assert [s["maxlen"] for s in specs] == [7, 7]
    files = _render(tmp_path)
    tmap = load_map_for(Settings(home=tmp_path))
    assert files["queues.conf"].count("maxlen = 200") == len(tmap.queues) + len(tmap.expert_queues())
    routes = files["extensions_routes.conf"]
    # only when nothing is next (the hotline's queue): a full skill queue hands on as when empty
    assert '"${QUEUESTATUS}" = "FULL" & "${HOTLINE_QNEXT}" = ""]?full)' in routes
    assert "n(full),UserEvent(HotlineQueueFull," in routes
    # no prompts synthesised here: the announcement is left out, the hang-up is not
    assert "Playback(/srv/t/sounds/queue-full)" not in routes
    full = routes[routes.index("n(full)") :]
    assert full.splitlines()[1] == " same => n,Hangup()"
    ctx = config.queue_context(tmap, [], {"queue-full": "/srv/t/sounds/queue-full"})
    assert ctx["queue_full_prompt"] == "/srv/t/sounds/queue-full"
    assert "queue-full" in config.prompt_texts(tmap)

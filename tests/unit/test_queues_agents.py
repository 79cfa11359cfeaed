"""Agents: the registry, the AMI actions of login/logout/pause, the CLI."""

from __future__ import annotations

import argparse
import asyncio
import threading

import pytest

from hotline.settings import Settings
from queues import agents as ag
from queues import agents_cli
from queues.models import Registry, parse_skills, validate
from tests.dbutil import migrated
from tests.fakes.amifeed import FeedServer

ALICE = {"name": "alice", "extension": "1001", "skills": {"hotline": 0, "housing": 2}, "team": "A", "display": "张三"}


def test_parse_skills():
    assert parse_skills("hotline:0, housing:1,tax") == {"hotline": 0, "housing": 1, "tax": 0}
    for bad in ("", "General:0", "general:x", "general:100", "a:1,a:2"):
        with pytest.raises(ValueError):
            parse_skills(bad)


def test_validate():
    assert validate("alice", "1001", {"hotline": 0}) == []
    assert len(validate("Alice", "01", {})) == 3


def test_login_logout_pause_actions():
    add = ag.login_actions(ALICE)
    assert add == [
        {
            "Action": "QueueAdd",
            "Queue": "hotline",
            "Interface": "PJSIP/1001",
            "Penalty": "0",
            "MemberName": "alice",
            "StateInterface": "PJSIP/1001",
            "Paused": "false",
        },
        {
            "Action": "QueueAdd",
            "Queue": "housing",
            "Interface": "PJSIP/1001",
            "Penalty": "2",
            "MemberName": "alice",
            "StateInterface": "PJSIP/1001",
            "Paused": "false",
        },
    ]
    assert [a["Queue"] for a in ag.login_actions(ALICE, queues=["housing"])] == ["housing"]
    assert ag.logout_actions(ALICE) == [
        {"Action": "QueueRemove", "Queue": q, "Interface": "PJSIP/1001"} for q in ("hotline", "housing")
    ]
    assert ag.pause_action(ALICE, True, "lunch") == {
        "Action": "QueuePause",
        "Interface": "PJSIP/1001",
        "Paused": "true",
        "Reason": "lunch",
    }
    assert "Reason" not in ag.pause_action(ALICE, False, "lunch")


def test_the_browser_softphone_is_the_agents_second_phone():
    add = ag.login_actions(ALICE, device="browser")
    assert {(a["Interface"], a["StateInterface"], a["MemberName"]) for a in add} == {
        ("PJSIP/webrtc-1001", "PJSIP/webrtc-1001", "alice")
    }
    with pytest.raises(ValueError, match="device 'fax'"):
        ag.login_actions(ALICE, device="fax")
    # logout and pause follow the phones the agent is logged in with
    live = ["PJSIP/webrtc-1001", "PJSIP/1001"]
    assert [(a["Interface"], a["Queue"]) for a in ag.logout_actions(ALICE, interfaces=live)] == [
        ("PJSIP/webrtc-1001", "hotline"),
        ("PJSIP/webrtc-1001", "housing"),
        ("PJSIP/1001", "hotline"),
        ("PJSIP/1001", "housing"),
    ]
    assert [(a["Interface"], a["Reason"]) for a in ag.pause_actions(ALICE, True, "lunch", interfaces=live)] == [
        ("PJSIP/webrtc-1001", "lunch"),
        ("PJSIP/1001", "lunch"),
    ]


def test_check_responses_idempotent():
    acts = [{"Action": "QueueAdd"}, {"Action": "QueueRemove"}, {"Action": "QueuePause"}]
    res = ag.check_responses(
        acts,
        [
            [{"Response": "Error", "Message": "Unable to add interface: Already there"}],
            {"Response": "Error", "Message": "Unable to remove interface: Not there"},
            {"Response": "Error", "Message": "Interface not found"},
        ],
    )
    assert [r.ok for r in res] == [True, True, False]


def test_registry(tmp_path):
    reg = Registry(migrated(Settings(home=tmp_path, db_url=f"sqlite:///{tmp_path}/a.db")).database_url)
    reg.add("alice", "1001", {"hotline": 0, "housing": 2}, team="A", display="张三")
    reg.add("bob", "1002", {"hotline": 1})
    with pytest.raises(ValueError, match="extension already used"):
        reg.add("carol", "1001", {"hotline": 0})
    with pytest.raises(ValueError, match="name already used"):
        reg.add("alice", "1009", {"hotline": 0})
    with pytest.raises(ValueError):
        reg.add("dave", "x", {"hotline": 0})
    assert [a["name"] for a in reg.all()] == ["alice", "bob"]
    assert reg.get("1001")["display"] == "张三"
    assert reg.update("bob", skills={"tax": 0})["skills"] == {"tax": 0}
    assert reg.remove("bob") and not reg.remove("bob")
    assert reg.get("bob") is None


def _cli(argv, settings):
    p = argparse.ArgumentParser()
    agents_cli.add_arguments(p)
    return agents_cli.run(p.parse_args(argv), settings)


def test_cli_login_pause_sends_ami_actions(tmp_path, capsys):
    """The CLI logs in over AMI: a loopback AMI stand-in records the actions."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    box = {}

    async def main():
        async with FeedServer() as srv:
            box["srv"] = srv
            ready.set()
            while not box.get("stop"):
                await asyncio.sleep(0.02)

    t = threading.Thread(target=loop.run_until_complete, args=(main(),))
    t.start()
    try:
        assert ready.wait(5)
        srv = box["srv"]
        settings = migrated(Settings(home=tmp_path, ami_port=srv.port))
        assert _cli(["add", "alice", "--extension", "1001", "--skills", "hotline:0,housing:2"], settings) == 0
        assert _cli(["login", "alice"], settings) == 0
        assert _cli(["pause", "1001", "--reason", "lunch"], settings) == 0
        assert _cli(["logout", "alice"], settings) == 0
        assert _cli(["login", "nobody"], settings) == 1
        sent = [a for a in srv.actions if a.get("Action") != "Login"]
        assert [(a["Action"], a.get("Queue"), a.get("Penalty")) for a in sent] == [
            ("QueueAdd", "hotline", "0"),
            ("QueueAdd", "housing", "2"),
            ("QueuePause", None, None),
            ("QueueRemove", "hotline", None),
            ("QueueRemove", "housing", None),
        ]
        assert sent[2]["Reason"] == "lunch" and sent[2]["Paused"] == "true"
    finally:
        box["stop"] = True
        t.join(5)
        loop.close()
    assert "alice" in capsys.readouterr().out


def test_a_reserved_queue_name_is_not_a_skill():
    """'general' is the [general] section of queues.conf: an agent with it could never log in."""
    assert any("reserved" in p for p in validate("alice", "1001", {"general": 0}))

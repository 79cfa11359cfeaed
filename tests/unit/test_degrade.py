"""Degrade, never crash (issue #15 item 2): the pure parts.

The outage log line (one per interval, then "back"), the hand-off's resync of
the calls answered while it was not connected, the AMI consumers' own users
with their event filters in manager.conf.  The wiring is in
tests/e2e/test_degrade.py (Redis killed, Asterisk restarted, the hand-off
restarted in the middle of a call) and tests/workorder/test_degrade_db.py
(the database locked or down).
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re

from redis.exceptions import ConnectionError as RedisConnectionError

from asterisk_conf.render import AstPaths
from deploy.configure import ami_consumers, render_instance
from hotline.ami import consumer_credentials, consumer_user
from hotline.log import JsonFormatter, Outage
from hotline.secrets import AMI_CONSUMERS, load_secrets
from hotline.settings import Settings
from hotline.transfer_map import load_map_for
from queues.service import Consumer, MemoryStore
from queues.stats import EVENTS as STATS_EVENTS
from queues.stats_ami import AMI_USER as STATS_USER
from workorder.handoff import AMI_USER as HANDOFF_USER
from workorder.handoff import answered_body, call_facts, resync_events
from workorder.handoff_service import Handoff


def _logger() -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(f"test.degrade.{id(out)}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, out


def _lines(out: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_an_outage_is_one_line_per_interval_then_one_when_back():
    logger, out = _logger()
    now = [100.0]
    o = Outage(logger, "redis", interval=30, clock=lambda: now[0])
    assert o.up() is False and _lines(out) == []  # up while up: nothing to say
    assert o.down(ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.\nmore")) is True
    for _ in range(59):  # two failures a second for 29.5 s: not one more line
        now[0] += 0.5
        assert o.down(ConnectionError("refused")) is False
    now[0] += 0.5  # 30 s after the first line
    assert o.down(ConnectionError("refused")) is True
    now[0] += 5
    assert o.up() is True and o.up() is False
    lines = _lines(out)
    assert [(ln["level"], ln["msg"]) for ln in lines] == [
        ("ERROR", "redis unavailable"),
        ("ERROR", "redis still unavailable"),
        ("INFO", "redis back"),
    ]
    assert lines[0]["error"] == "Error 111 connecting to 127.0.0.1:6379. Connection refused."
    assert lines[1]["failures_not_logged"] == 59 and lines[1]["down_for"] == 30.0
    assert lines[2]["down_for"] == 35.0 and not o.is_down
    # a new outage starts a new count
    assert o.down("again") is True and _lines(out)[-1]["msg"] == "redis unavailable"


def _chan(name, uid, linked, bridge, app="AppQueue", data="(Outgoing Line)", state="6"):
    return {
        "Event": "CoreShowChannel",
        "Channel": name,
        "ChannelState": state,
        "Uniqueid": uid,
        "Linkedid": linked,
        "CallerIDNum": "13800138000" if app == "Queue" else "1001",
        "Application": app,
        "ApplicationData": data,
        "BridgeId": bridge,
    }


def test_resync_finds_the_answered_calls_without_an_order():
    listing = [
        {"Response": "Success", "EventList": "start"},
        # answered while the consumer was away: caller in Queue, bridged with agent 1001
        _chan(
            "PJSIP/pstn-00000001",
            "a.1",
            "a.1",
            "b1",
            app="Queue",
            data="minzheng,tT,,,300",
        ),
        _chan("PJSIP/1001-00000002", "a.2", "a.1", "b1"),
        # already handed off (the service's Getvar finds its HOTLINE_ORDER: the next test)
        _chan("PJSIP/pstn-00000003", "c.3", "c.3", "b2", app="Queue", data="hotline"),
        _chan("PJSIP/1002-00000004", "c.4", "c.3", "b2"),
        # still waiting in the queue (no bridge) and ringing (not up): nothing to hand off
        _chan("PJSIP/pstn-00000005", "d.5", "d.5", "", app="Queue", data="hotline"),
        _chan("PJSIP/pstn-00000006", "e.6", "e.6", "b3", app="Queue", data="hotline", state="4"),
        # a Local agent leg (a browser or a forwarded seat)
        _chan("PJSIP/pstn-00000007", "f.7", "f.7", "b4", app="Queue", data="hotline"),
        _chan("Local/1003@agents-00000008;1", "f.8", "f.7", "b4"),
        # three in one bridge (a conference): not a plain answer
        _chan("PJSIP/pstn-00000009", "g.9", "g.9", "b5", app="Queue", data="hotline"),
        _chan("PJSIP/1004-0000000a", "g.a", "g.9", "b5"),
        _chan("PJSIP/110-0000000b", "g.b", "g.9", "b5", app="Dial"),
        {"Event": "CoreShowChannelsComplete", "ListItems": "11"},
    ]
    found = resync_events(listing)
    assert [ev["Linkedid"] for ev in found] == ["a.1", "c.3", "f.7"]
    body = answered_body({**call_facts("o=12349&m=merge&d=mzj&n="), **found[0]})
    assert body == {
        "uniqueid": "a.1",
        "linkedid": "a.1",
        "caller": "13800138000",
        "origin": "12349",
        "mode": "merge",
        "department": "mzj",
        "agent": "1001",
        "queue": "minzheng",
    }
    assert found[0]["Channel"] == "PJSIP/pstn-00000001" and found[0]["DestChannel"] == "PJSIP/1001-00000002"
    assert answered_body(found[2])["agent"] == "1003" and answered_body(found[2])["queue"] == "hotline"
    assert resync_events([]) == []


class _Manager:
    """What Asterisk answers the hand-off's resync: the listing, then one Getvar per caller."""

    def __init__(self, listing, facts):
        self.listing, self.facts, self.actions = listing, facts, []

    async def send_action(self, action):
        self.actions.append(action)
        if action["Action"] == "CoreShowChannels":
            return self.listing
        if action["Channel"] not in self.facts:
            return {"Response": "Error", "Message": "No such channel"}
        return {"Response": "Success", "Variable": action["Variable"], "Value": self.facts[action["Channel"]]}


async def test_the_resync_reads_each_callers_facts_in_one_getvar_and_skips_the_handed_off():
    listing = [
        _chan("PJSIP/pstn-00000001", "a.1", "a.1", "b1", app="Queue", data="minzheng"),
        _chan("PJSIP/1001-00000002", "a.2", "a.1", "b1"),
        _chan("PJSIP/pstn-00000003", "c.3", "c.3", "b2", app="Queue", data="hotline"),
        _chan("PJSIP/1002-00000004", "c.4", "c.3", "b2"),
        _chan("PJSIP/pstn-00000005", "e.5", "e.5", "b3", app="Queue", data="hotline"),  # gone since
        _chan("PJSIP/1003-00000006", "e.6", "e.5", "b3"),
    ]
    facts = {"PJSIP/pstn-00000001": "o=12349&m=merge&d=mzj&n=", "PJSIP/pstn-00000003": "o=12345&n=HD1"}
    manager = _Manager(listing, facts)
    h = Handoff(None, manager)
    assert await h.resync(manager, "login") == 1
    _, ev = h.queue.get_nowait()
    assert h.queue.empty()
    assert answered_body(ev)["origin"] == "12349" and answered_body(ev)["department"] == "mzj"
    getvars = [a for a in manager.actions if a["Action"] == "Getvar"]
    assert [a["Channel"] for a in getvars] == ["PJSIP/pstn-00000001", "PJSIP/pstn-00000003", "PJSIP/pstn-00000005"]
    assert all(a["Variable"].startswith("EVAL(o=${URIENCODE(${HOTLINE_ORIGIN})}") for a in getvars)


def test_each_ami_consumer_has_its_own_user_with_its_events_only(tmp_path):
    s = Settings(home=tmp_path)
    secrets = load_secrets(s.secrets_file)
    assert set(secrets["ami_consumers"]) == set(AMI_CONSUMERS) == {"stats", "handoff"}
    files = render_instance(
        s,
        secrets,
        AstPaths.under("/srv/hotline/x"),
        load_map_for(s),
        agents=[{"name": "1001", "password": "pw", "skills": {}}],
    )
    conf = files["manager.conf"]
    sections = dict(re.findall(r"^\[([^\]]+)\]\n(.*?)(?=^\[|\Z)", conf, flags=re.M | re.S))
    assert set(sections) == {"general", "hotline", "hotline-stats", "hotline-handoff"}
    assert "eventfilter" not in sections["hotline"]  # the CLI's and the tests' user sees everything
    for name, spec in (("stats", STATS_USER), ("handoff", HANDOFF_USER)):
        body = sections[consumer_user(secrets, name)]
        assert f"secret = {secrets['ami_consumers'][name]}\n" in body
        assert "permit = 127.0.0.0/255.0.0.0" in body and "deny = 0.0.0.0/0.0.0.0" in body
        names = re.findall(r"^eventfilter\(action\(include\),name\((\w+)\)\) =$", body, flags=re.M)
        # a UserEvent by its name only (the UserEvent header, matched exactly): no other UserEvent;
        # another event by one header's value (a Newchannel in the entry context only)
        by_header = r"^eventfilter\(action\(include\),name\((\w+)\),header\((\w+)\),method\(exact\)\) = ([\w-]+)$"
        headed = [
            f"UserEvent:{v}" if (e, h) == ("UserEvent", "UserEvent") else f"{e}:{h}={v}"
            for e, h, v in re.findall(by_header, body, flags=re.M)
        ]
        assert len(names) + len(headed) == body.count("eventfilter"), body
        assert sorted(names + headed) == sorted(spec["events"]), (name, body)
        assert "name(UserEvent)) =" not in body  # never every UserEvent
        assert f"read = {spec['read']}\n" in body and f"write = {spec['write']}\n" in body
    assert set(STATS_USER["events"]) == (STATS_EVENTS - {"UserEvent", "Newchannel", "DialBegin", "DialEnd"}) | {
        "Newchannel:Context=from-pstn",  # a citizen's channel, not an agent's leg
        "DialBegin:Context=route-dial",  # a trunk dialled (the seats, a sub-center, the province) ...
        "DialEnd:Context=route-dial",
        "DialBegin:Context=hotline-ivr-transfer",  # ... from a route or by the IVR, not a queue's agent
        "DialEnd:Context=hotline-ivr-transfer",
        "FullyBooted",
        "UserEvent:HotlineRouted",  # the route's facts (the figures, /metrics)
        "UserEvent:HotlineIvrFallback",  # /metrics
    }
    assert set(HANDOFF_USER["events"]) == {
        "AgentConnect",
        "FullyBooted",
        "UserEvent:HotlineAnswered",
        "UserEvent:HotlineLinkage",
    }
    assert "Newstate" not in STATS_USER["events"] and "VarSet" not in STATS_USER["events"]
    assert ami_consumers({"ami_user": "u", "ami_secret": "x"}) == []  # no secret, no user


def test_a_secrets_file_from_before_gets_the_consumers_and_keeps_the_rest(tmp_path):
    path = tmp_path / "secrets.json"
    old = load_secrets(path)
    del old["ami_consumers"]["handoff"]
    del old["api_tokens"]["calls"]
    path.write_text(json.dumps(old))
    new = load_secrets(path)
    assert new["ami_secret"] == old["ami_secret"] and new["api_tokens"]["agent"] == old["api_tokens"]["agent"]
    assert new["ami_consumers"]["stats"] == old["ami_consumers"]["stats"]
    assert len(new["ami_consumers"]["handoff"]) >= 24 and len(new["api_tokens"]["calls"]) >= 24
    assert load_secrets(path) == new  # stable from then on
    host, port, user, secret = consumer_credentials(Settings(home=tmp_path), new, "handoff")
    assert (user, secret) == ("hotline-handoff", new["ami_consumers"]["handoff"])


class _FlakyStore(MemoryStore):
    """A store whose Redis can be switched off: every call raises what redis-py raises."""

    def __init__(self):
        super().__init__()
        self.down = False

    async def take_records(self, limit: int = 500):
        if self.down:
            raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        return await super().take_records(limit)

    async def save(self, state, view, agents, calls=None):
        if self.down:
            raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        await super().save(state, view, agents, calls)


async def test_stats_keep_counting_through_a_redis_outage_log_it_once_and_write_it_all_back(caplog):
    store = _FlakyStore()
    c = Consumer(store, flush_interval=0.02, clock=lambda: 1_790_000_000.0)
    await c.restore()

    def join(uid):
        c.on_event(None, {"Event": "QueueCallerJoin", "Queue": "hotline", "Uniqueid": uid, "Timestamp": "1790000000"})

    with caplog.at_level(logging.INFO, logger="hotline.queues"):
        c.start_flusher()
        join("u1")
        await asyncio.sleep(0.1)
        assert store.view["total"]["today"]["offered"] == 1
        store.down = True
        for n in range(2, 6):  # calls go on while Redis is down
            join(f"u{n}")
            await asyncio.sleep(0.05)
        saves = store.saves
        assert store.view["total"]["today"]["offered"] == 1 and c.redis.is_down
        store.down = False
        await asyncio.sleep(0.1)
        await c.stop()
    assert store.saves > saves and store.view["total"]["today"]["offered"] == 5  # nothing lost
    msgs = [r.getMessage() for r in caplog.records if r.name == "hotline.queues"]
    assert msgs == ["redis unavailable", "redis back"], msgs  # ~10 failed flushes, one line
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


async def test_stats_catch_up_on_the_events_of_an_ami_gap_from_the_queue_log(tmp_path):
    t = 1_790_000_000.0
    qlog = tmp_path / "queue_log"
    c = Consumer(MemoryStore(), clock=lambda: t + 30.5)
    await c.restore(qlog)  # no file yet: nothing to replay
    c.on_event(None, {"Event": "QueueCallerJoin", "Queue": "hotline", "Uniqueid": "u1", "Timestamp": f"{t + 0.4}"})
    c.lost()  # the AMI connection drops; u2 and u3 come and go unseen
    c.lost()  # a second drop before the login does not move the start of the gap
    qlog.write_text(
        f"{int(t) - 400}|u0|hotline|NONE|ENTERQUEUE||13800138009|1\n"  # long before the gap (and its margin)
        f"{int(t)}|u1|hotline|NONE|ENTERQUEUE||13800138000|1\n"  # seen live already
        f"{int(t) + 5}|u2|hotline|NONE|ENTERQUEUE||13800138001|1\n"
        f"{int(t) + 6}|u2|hotline|PJSIP/1001|CONNECT|1|u2.1|1\n"
        f"{int(t) + 7}|u3|hotline|NONE|ENTERQUEUE||13800138002|2\n"
        f"{int(t) + 9}|u3|hotline|NONE|ABANDON|1|1|2\n"
        f"{int(t) + 30}|u4|hotline|NONE|ENTERQUEUE||13800138003|1\n",  # the login's own second
        encoding="utf-8",
    )
    assert c.catch_up(t + 30.5) == 5
    today = c.agg.view(t + 30.5)["total"]["today"]
    assert (today["offered"], today["answered"], today["abandoned"]) == (4, 1, 1)
    # the live events after the login bring u4 and u2's answer again: counted once all the same
    c.on_event(None, {"Event": "QueueCallerJoin", "Queue": "hotline", "Uniqueid": "u4", "Timestamp": f"{t + 30.6}"})
    c.on_event(
        None,
        {"Event": "AgentConnect", "Queue": "hotline", "Uniqueid": "u2", "HoldTime": "1", "Timestamp": f"{t + 30.7}"},
    )
    c.on_event(None, {"Event": "QueueCallerJoin", "Queue": "hotline", "Uniqueid": "u5", "Timestamp": f"{t + 31}"})
    today = c.agg.view(t + 31)["total"]["today"]
    assert (today["offered"], today["answered"], today["abandoned"]) == (5, 1, 1)
    assert c.catch_up(t + 31) == 0  # the gap is closed: nothing twice


def test_an_outage_line_masks_caller_numbers_in_the_error():
    logger, out = _logger()
    Outage(logger, "work-order API").down("503 {'detail': 'no order for 13800138000'}")
    assert "13800138000" not in out.getvalue() and "138****8000" in _lines(out)[0]["error"]

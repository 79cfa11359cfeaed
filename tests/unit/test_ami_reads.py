"""The statistics consumer's reader picks out only the headers its handlers read (``READS``):
the declarations are checked against what the handlers really read of real Asterisk 22 events
(three queue calls recorded from the stats user by ``bench/bench_consumers.py --record``, plus
the events of a trunk answer, an abandon, a pause and a member added and removed), and the
figures come out the same as from events parsed whole, through the real reader over TCP."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hotline import ami
from hotline.ami import _picks, parse_message, pick_headers
from hotline.metrics import CALLS_ROUTED, FALLBACKS, QUEUE_WAIT_SECONDS
from hotline.settings import Settings
from queues.agents import login
from queues.stats import EVENTS, Aggregator
from queues.stats_ami import READS
from queues.stats_calls import CallFigures
from queues.stats_metrics import CallMetrics
from tests.fakes.amifeed import FeedServer, render_event

FIXTURE = Path(__file__).parent / "fixtures" / "ami_three_calls.txt"
TRUNKS = {"mzj-seats": "seats"}
SECRETS = {"ami_user": "hotline", "ami_secret": "x"}


def _recorded() -> list[str]:
    return FIXTURE.read_bytes().decode("utf-8").split("\r\n\r\n")[:-1]


def _more() -> list[str]:
    """Events the recording has not: a call answered at a trunk (route-dial), one abandoned in
    the queue, an agent paused with a reason, a member added and removed (Asterisk 22's headers)."""
    chan = {"Privilege": "call,all", "SystemName": "ast1", "ChannelState": "6", "CallerIDNum": "13900000009"}
    trunk_call = {**chan, "Channel": "PJSIP/pstn-00000100", "Uniqueid": "ast1-1.100", "Linkedid": "ast1-1.100"}
    member = {
        "Privilege": "agent,all",
        "Queue": "hotline",
        "MemberName": "2005",
        "Interface": "PJSIP/2005",
        "StateInterface": "PJSIP/2005",
        "Membership": "dynamic",
        "Penalty": "1",
        "CallsTaken": "0",
        "LastCall": "0",
        "LastPause": "0",
        "LoginTime": "1796593266",
        "InCall": "0",
        "Status": "1",
        "Paused": "0",
        "PausedReason": "",
        "Ringinuse": "0",
        "Wrapuptime": "0",
    }
    events = [
        {"Event": "Newchannel", **trunk_call, "Context": "from-pstn", "Exten": "12349", "Timestamp": "1796593300.1"},
        {"Event": "DialBegin", **trunk_call, "Context": "route-dial", "Exten": "12349", "Timestamp": "1796593300.2"},
        {
            "Event": "DialEnd",
            **trunk_call,
            "Context": "route-dial",
            "DestChannel": "PJSIP/mzj-seats-00000101",
            "DestContext": "from-trunk",
            "DialStatus": "ANSWER",
            "Timestamp": "1796593301.0",
        },
        {"Event": "Hangup", **trunk_call, "Context": "route-dial", "Cause": "16", "Timestamp": "1796593302.0"},
        {
            "Event": "Newchannel",
            **chan,
            "Channel": "PJSIP/pstn-00000102",
            "Context": "from-pstn",
            "Exten": "12345",
            "Uniqueid": "ast1-1.102",
            "Linkedid": "ast1-1.102",
            "Timestamp": "1796593303.0",
        },
        {
            "Event": "QueueCallerJoin",
            **chan,
            "Channel": "PJSIP/pstn-00000102",
            "Queue": "hotline",
            "Position": "1",
            "Count": "1",
            "Uniqueid": "ast1-1.102",
            "Linkedid": "ast1-1.102",
            "Timestamp": "1796593303.5",
        },
        {
            "Event": "QueueCallerAbandon",
            **chan,
            "Channel": "PJSIP/pstn-00000102",
            "Queue": "hotline",
            "Position": "1",
            "OriginalPosition": "1",
            "HoldTime": "7",
            "Uniqueid": "ast1-1.102",
            "Linkedid": "ast1-1.102",
            "Timestamp": "1796593310.5",
        },
        {
            "Event": "Hangup",
            **chan,
            "Channel": "PJSIP/pstn-00000102",
            "Context": "hotline-enqueue",
            "Uniqueid": "ast1-1.102",
            "Linkedid": "ast1-1.102",
            "Timestamp": "1796593310.6",
        },
        {"Event": "QueueMemberAdded", **member, "Timestamp": "1796593311.0"},
        {"Event": "QueueMemberPause", **member, "Paused": "1", "PausedReason": "lunch", "Timestamp": "1796593312.0"},
        {"Event": "QueueMemberPenalty", **member, "Penalty": "3", "Timestamp": "1796593313.0"},
        {"Event": "QueueMemberRemoved", **member, "Timestamp": "1796593314.0"},
    ]
    return [render_event(e).decode("utf-8").removesuffix("\r\n\r\n") for e in events]


class Reading(dict):
    """An event that notes which of its headers were read."""

    def __init__(self, *a):
        super().__init__(*a)
        self.read: set[str] = set()

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self.read.add(key)
        return super().__contains__(key)


def _queue(view: dict, name: str) -> dict:
    return next(q for q in view["queues"] if q["queue"] == name)


def _consumers():
    agg = Aggregator(day_offset=8 * 3600, figures=CallFigures(trunks=TRUNKS, window=3600, min_calls=1))
    return agg, CallMetrics(lines={"12345", "12349"}, queues={"hotline"})


def test_every_header_the_handlers_read_of_an_event_is_declared():
    blocks = _recorded() + _more()
    names = {b.partition("\r\n")[0].removeprefix("Event: ") for b in blocks}
    assert names >= {"Newchannel", "QueueCallerJoin", "AgentConnect", "AgentComplete", "QueueMemberStatus"}
    assert names <= EVENTS and set(READS) == EVENTS
    agg, metrics = _consumers()
    undeclared: dict[str, set[str]] = {}
    for block in blocks:
        ev = Reading(parse_message(block))
        agg.apply(ev)
        metrics.observe(ev)
        # a header the event has not reads the same from a picked event: only those it has count
        missing = {h for h in ev.read if h in ev and h != "Event"} - set(READS[ev["Event"]])
        if missing:
            undeclared.setdefault(ev["Event"], set()).update(missing)
    assert not undeclared, undeclared
    # and the handlers did run: answers, a trunk answer, an abandon, a pause
    hotline = _queue(agg.view(1796593320.0), "hotline")
    assert hotline["today"]["answered"] == 3 and hotline["today"]["abandoned"] == 1, hotline
    assert agg.agents_view(1796593320.0) and agg.figures.view(1796593320.0, range(0))  # ran


def test_picked_headers_are_those_of_the_whole_parse():
    for block in _recorded() + _more():
        name = block.partition("\r\n")[0].removeprefix("Event: ")
        whole = parse_message(block)
        picked = pick_headers(block, name, _picks(READS[name] + ("DestChannel", "NoSuchHeader", "Event")))
        want = {h: whole[h] for h in ("Event", *READS[name], "DestChannel") if h in whole}
        assert picked == want, (name, picked, want)
    assert pick_headers("Event: X\r\nA: 1\r\nAB: 2\r\nB: ", "X", _picks(("B", "AB"))) == {
        "Event": "X",
        "AB": "2",
        "B": "",
    }


async def _through_reader(reads) -> tuple[dict, dict, int]:
    """The recording and the extra events fed over TCP to a LeanManager, to an aggregator and
    /metrics as the statistics consumer registers them -> (state, view, events seen)."""
    payload = "".join(b + "\r\n\r\n" for b in _recorded() + _more()).encode("utf-8")
    agg, metrics = _consumers()
    seen: list[str] = []
    before = _counted()
    async with FeedServer(payload, rate=len(payload) * 20, chunk=1000) as srv:
        mgr = ami.manager(Settings(ami_port=srv.port), SECRETS, ping_delay=1000, read_every=0.05, reads=reads)
        mgr.register_event("*", lambda _m, ev: (seen.append(ev["Event"]), agg.apply(ev)))
        mgr.register_event("*", metrics.on_event)
        await login(mgr)
        await asyncio.wait_for(srv.sent, 10)
        for _ in range(300):
            if len(seen) >= len(_recorded()) + len(_more()):
                break
            await asyncio.sleep(0.01)
        mgr.close()
    after = _counted()  # the process' own counters: what this run added
    counts = {k: v - before.get(k, 0.0) for k, v in after.items() if v != before.get(k, 0.0)}
    return {**agg.dump(), "metrics": counts}, agg.view(1796593320.0), len(seen)


def _counted() -> dict[tuple, float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for metric in (CALLS_ROUTED, FALLBACKS, QUEUE_WAIT_SECONDS)
        for family in metric.collect()
        for s in family.samples
    }


async def test_the_figures_from_picked_headers_equal_those_from_whole_events():
    picked, picked_view, n = await _through_reader(READS)
    whole, whole_view, m = await _through_reader(None)
    assert n == m == len(_recorded()) + len(_more())
    assert picked_view == whole_view
    assert picked == whole
    assert _queue(picked_view, "hotline")["today"]["answered"] == 3
    routed = [v for (name, labels), v in picked["metrics"].items() if name == "hotline_calls_routed_total"]
    waits = [v for (name, _), v in picked["metrics"].items() if name == "hotline_queue_wait_seconds_count"]
    assert routed == [3.0] and sum(waits) == 4.0, picked["metrics"]  # 3 answers and an abandon

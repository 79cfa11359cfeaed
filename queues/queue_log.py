"""Asterisk's queue_log as statistics events: catching up after a restart of the consumer."""

from __future__ import annotations

from queues.stats import Aggregator


def queue_log_event(line: str) -> dict | None:
    """A queue_log line as the AMI event dict the aggregator understands.

    ``time|callid|queue|agent|event|data...`` (Asterisk's queue_log, one file,
    ``queue_log_to_file=yes``).  Used to catch up on what happened while the
    consumer was down; returns None for lines that carry no statistic."""
    parts = line.rstrip("\n").split("|")
    if len(parts) < 5:
        return None
    try:
        ts = float(parts[0])
    except ValueError:
        return None
    callid, queue, agent, event = parts[1], parts[2], parts[3], parts[4]
    data = parts[5:]

    def d(i: int) -> str:
        return data[i] if len(data) > i else "0"

    base = {"Timestamp": ts, "Queue": queue, "Uniqueid": callid}
    if event == "ENTERQUEUE":  # data: url (the route's facts, hotline.names.QUEUE_LOG_FACTS)|callerid|position
        return {
            **base,
            "Event": "QueueCallerJoin",
            "CallerIDNum": data[1] if len(data) > 1 else "",
            "Url": data[0] if data else "",
        }
    if event == "CONNECT":
        return {
            **base,
            "Event": "AgentConnect",
            "HoldTime": d(0),
            "RingTime": d(2),
            "MemberName": agent,
            "Interface": agent,
        }
    if event == "ABANDON":
        return {**base, "Event": "QueueCallerAbandon", "HoldTime": d(2)}
    if event in ("COMPLETECALLER", "COMPLETEAGENT"):
        return {
            **base,
            "Event": "AgentComplete",
            "HoldTime": d(0),
            "TalkTime": d(1),
            "MemberName": agent,
            "Interface": agent,
        }
    if event in ("EXITWITHTIMEOUT", "EXITEMPTY", "EXITWITHKEY"):
        return {**base, "Event": "QueueCallerLeave"}
    return None


def queue_log_events(lines, after: float):
    """The statistics events of the queue_log lines newer than ``after``, in order."""
    for line in lines:
        ev = queue_log_event(line)
        if ev is not None and ev["Timestamp"] > after:
            yield ev


def replay_queue_log(agg: Aggregator, lines, after: float) -> int:
    """Feed queue_log lines newer than ``after`` (the last event already applied); returns how many."""
    n = 0
    for ev in queue_log_events(lines, after):
        agg.apply(ev)
        n += 1
    return n

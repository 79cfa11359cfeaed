"""The live statistics' vocabulary: the all-queues key, the service-level threshold, agent states."""

ALL = "*"
SL_SECONDS = 15
KEEP_HOURS = 49
CALL_MEMORY = 6 * 3600  # forget per-call dedupe records after this
# what was counted lately is remembered this long (not saved): an AMI gap's queue_log replay starts
# GAP_MARGIN before the gap (AMI events can reach us that much after queue_log has them) and skips it
DEDUPE_SECONDS = 900.0
GAP_MARGIN = 300.0
# At a start, the replay of queue_log begins RESTORE_MARGIN s before the saved state's last event,
# not at it: queue_log has whole seconds, and an AMI event's Timestamp (when the manager's queue
# built it, seconds late under load) can be later than the line of an event the state has not
# seen. The state carries what it counted in the last 2 x RESTORE_MARGIN s (Aggregator.dump), so
# the replay counts each line once. A state saved before this margin existed has no such record
# and is replayed from its last event, as before.
RESTORE_MARGIN = 10.0

STATES = ("available", "ringing", "talking", "wrapup", "paused", "unavailable")
# app_queue member Status (AST_DEVICE_*)
_TALKING = {"2", "3", "8"}  # in use, busy, on hold
_RINGING = {"6", "7"}  # ringing, ring-in-use
_UNAVAILABLE = {"0", "4", "5"}  # unknown, invalid, unavailable

_COUNTERS = ("offered", "answered", "answered_sl", "abandoned", "wait_answered", "talk", "completed")


def sum_buckets(per_hour: dict, hours, counters: tuple[str, ...]) -> dict[str, float]:
    """Pure: the counters of the hourly buckets ``per_hour`` summed over ``hours`` (missing hours count 0)."""
    tot = dict.fromkeys(counters, 0.0)
    for h in hours:
        b = per_hour.get(h)
        if b:
            for k in counters:
                tot[k] += b.get(k, 0.0)
    return tot

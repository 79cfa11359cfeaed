"""Statistics per period and per department, and the department ranking.

Counted from the records the service writes (dispatch, sign, reply, return,
extension, callback, evaluation, reopened), so the figures follow the loop:

* received: orders created in the period (hotline-wide), or dispatched to the unit (per unit);
* direct_answer_rate: direct answers / orders accepted in the period (hotline-wide);
* timely_sign_rate: main dispatches signed before the sign-in deadline / main dispatches;
* on_time_rate: main dispatches replied before the handling deadline (after approved
  extensions) / main dispatches whose deadline has passed or that were replied;
* return_rate: returns requested / main dispatches;  reopen_rate: reopened rounds / main dispatches;
* callback_rate: callbacks that reached the caller / orders that went to callback;
* satisfaction_rate: ratings 1-3 (非常满意/满意/基本满意) / ratings given; mean_satisfaction (1 best);
* resolution_rate: resolved / callbacks and evaluations that say;
* call_answer_rate: from the queues statistics, when the caller of :func:`compute` provides it.

The figures are summed in SQL from ``stats_facts`` (workorder/models.py ``StatsFact``), the
roll-up the store keeps on every record write: each record's contribution, decided from its
order's records in id order, with the times that decide whether it counts in a period.  A
period's figures are then aggregates over the covering ``ix_stats_facts_kind_at``, no JSON
decoded; the rounds whose sign / extension / reply fall at or after ``until`` (a period that
ends while the round was open) are settled from their records.  :func:`compute_from_records`
is the definition the roll-up agrees with (tests/workorder/test_stats_rollup.py); both rely
on an order's records being written in time order (ids follow ``at``), as the store does.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import case, delete, func, insert, literal, or_, select

from workorder.db import Database
from workorder.models import Order, Record, StatsFact, Transition
from workorder.stats_facts import FACT_KINDS, order_facts, parse_ts


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def _hotline_counts(s, since: datetime, until: datetime) -> tuple[int, tuple[int, int, int]]:
    """Orders created; accepted, answered directly, answered directly from a draft (transitions)."""
    received = s.scalar(select(func.count(Order.id)).where(Order.created_at >= since, Order.created_at < until))
    t = Transition
    period = (t.at >= since, t.at < until)
    # counted over the index (action, at) alone; only the direct answers are read for their status
    by_action = dict(
        s.execute(
            select(t.action, func.count()).where(t.action.in_(("accept", "direct_answer")), *period).group_by(t.action)
        ).all()
    )
    from_draft = s.scalar(select(func.count()).where(t.action == "direct_answer", t.from_status == "draft", *period))
    return received or 0, (by_action.get("accept", 0), by_action.get("direct_answer", 0), from_draft or 0)


def compute_from_records(db: Database, since: datetime, until: datetime, now: datetime | None = None) -> dict:
    """The figures from the records themselves, one pass in Python (the definition; slow)."""
    now = now or datetime.now(UTC)
    with db.read() as s:
        received, steps = _hotline_counts(s, since, until)
        recs = list(
            s.execute(
                select(Record.order_id, Record.round, Record.kind, Record.unit, Record.at, Record.data)
                .where(Record.at >= since, Record.at < until)
                .where(Record.kind.in_(FACT_KINDS))
                .order_by(Record.id)
            )
        )
    per: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    dispatch: dict[tuple, dict] = {}
    unit_of: dict[tuple, str] = {}
    for oid, rnd, kind, unit, at, data in recs:
        key = (oid, rnd)
        if kind == "dispatch" and data.get("role") == "main":
            # a redispatch after a return replaces the unit of the round
            dispatch[key] = {
                "unit": unit,
                "sign_deadline": parse_ts(data.get("sign_deadline")),
                "deadline": parse_ts(data.get("handling_deadline")),
                "signed": None,
                "replied": None,
            }
            unit_of[key] = unit
            per[unit]["received"] += 1
        elif kind == "sign" and key in dispatch:
            dispatch[key]["signed"] = at
        elif kind == "extension" and key in dispatch and data.get("new_deadline"):
            dispatch[key]["deadline"] = parse_ts(data["new_deadline"])
        elif kind == "reply" and unit and key in dispatch and dispatch[key]["replied"] is None:
            dispatch[key]["replied"] = at
        elif kind == "return_requested" and unit:
            per[unit]["returns"] += 1
        elif kind == "reopened":
            u = unit_of.get((oid, rnd - 1)) or unit_of.get(key)
            if u:
                per[u]["reopened"] += 1
        elif kind == "reply_reviewed" and data.get("decision") == "accept":
            u = unit_of.get(key)
            per[u or "_hotline"]["to_callback"] += 1
        elif kind == "callback":
            u = unit_of.get(key) or "_hotline"
            if data.get("reached"):
                per[u]["callback_reached"] += 1
            if data.get("resolved") is not None:
                per[u]["resolution_known"] += 1
                per[u]["resolved"] += bool(data["resolved"])
        elif kind == "evaluation":
            u = unit or "_hotline"
            score = data.get("satisfaction")
            if score is not None:
                per[u]["rated"] += 1
                per[u]["satisfied"] += score <= 3
                per[u]["score_sum"] += score
    for d in dispatch.values():
        c = per[d["unit"]]
        c["main_dispatches"] += 1
        if d["signed"] and d["sign_deadline"] and d["signed"] <= d["sign_deadline"]:
            c["signed_on_time"] += 1
        due = d["deadline"]
        if d["replied"] is not None or (due is not None and due < now):
            c["due"] += 1
            if d["replied"] is not None and due is not None and d["replied"] <= due:
                c["on_time"] += 1

    return _result(since, until, per, received, steps)


COUNTS = (
    "main_dispatches",
    "signed_on_time",
    "due",
    "on_time",
    "returns",
    "reopened",
    "to_callback",
    "callback_reached",
    "resolution_known",
    "resolved",
    "rated",
    "satisfied",
)


def _result(since: datetime, until: datetime, per: dict, received: int, steps: tuple[int, int, int]) -> dict:
    accepted, direct, direct_from_draft = steps

    def figures(c) -> dict:
        return {
            "received": c["received"],
            "timely_sign_rate": _ratio(c["signed_on_time"], c["main_dispatches"]),
            "on_time_rate": _ratio(c["on_time"], c["due"]),
            "return_rate": _ratio(c["returns"], c["main_dispatches"]),
            "reopen_rate": _ratio(c["reopened"], c["main_dispatches"]),
            "callback_rate": _ratio(c["callback_reached"], c["to_callback"]),
            "satisfaction_rate": _ratio(c["satisfied"], c["rated"]),
            "mean_satisfaction": round(c["score_sum"] / c["rated"], 3) if c["rated"] else None,
            "resolution_rate": _ratio(c["resolved"], c["resolution_known"]),
            "counts": {k: c[k] for k in COUNTS},  # what the rates are of (the assessment: workorder/assess.py)
        }

    total: dict = defaultdict(int)
    for c in per.values():
        for k, v in c.items():
            total[k] += v
    overall = figures(total)
    overall["received"] = received
    # 受理 = accepted, or answered directly from a draft (受理 and answer in one step)
    overall["direct_answer_rate"] = _ratio(direct, accepted + direct_from_draft)
    departments = {u: figures(c) for u, c in sorted(per.items()) if u != "_hotline"}
    return {"since": since.isoformat(), "until": until.isoformat(), "overall": overall, "departments": departments}


# -- the roll-up (stats_facts) ------------------------------------------------------------------

_FACT_COLUMNS = (Record.id, Record.order_id, Record.round, Record.kind, Record.unit, Record.at, Record.data)


def rebuild(conn, chunk: int = 20_000) -> int:
    """Every order's roll-up rows from the records (migration 0007, bulk-loaded stores)."""
    conn.execute(delete(StatsFact.__table__))
    top = conn.scalar(select(func.max(Record.order_id))) or 0
    n = 0
    for lo in range(0, top + 1, chunk):
        recs = conn.execute(
            select(*_FACT_COLUMNS)
            .where(Record.order_id >= lo, Record.order_id < lo + chunk, Record.kind.in_(FACT_KINDS))
            .order_by(Record.order_id, Record.id)
        ).all()
        facts: list[dict] = []
        i = 0
        while i < len(recs):
            j = i
            while j < len(recs) and recs[j][1] == recs[i][1]:
                j += 1
            facts.extend(order_facts(recs[i:j]))
            i = j
        if facts:
            conn.execute(insert(StatsFact.__table__), facts)
        n += len(facts)
    return n


def _settle_open_rounds(s, since: datetime, until: datetime, now: datetime, rows) -> list[tuple[str, int, int, int]]:
    """(unit, signed on time, due, on time) for main dispatches whose round has a sign / extension /
    reply at or after ``until``: from the round's records inside the period, as the definition does."""
    out = []
    for rid, oid, rnd, unit in rows:
        recs = s.execute(
            select(Record.id, Record.kind, Record.unit, Record.at, Record.data)
            .where(Record.order_id == oid, Record.round == rnd, Record.id >= rid)
            .where(Record.at >= since, Record.at < until, Record.kind.in_(("dispatch", "sign", "extension", "reply")))
            .order_by(Record.id)
        ).all()
        signed = replied = sdl = due = None
        for i, kind, u, at, data in recs:
            if i == rid:
                sdl, due = parse_ts(data.get("sign_deadline")), parse_ts(data.get("handling_deadline"))
            elif kind == "sign":
                signed = at
            elif kind == "extension" and data.get("new_deadline"):
                due = parse_ts(data["new_deadline"])
            elif kind == "reply" and u and replied is None:
                replied = at
        is_due = replied is not None or (due is not None and due < now)
        on_time = replied is not None and due is not None and replied <= due
        out.append((unit, int(bool(signed and sdl and signed <= sdl)), int(is_due), int(on_time)))
    return out


def compute(db: Database, since: datetime, until: datetime, now: datetime | None = None) -> dict:
    """The figures of ``[since, until)``: SQL aggregates over the roll-up (same as :func:`compute_from_records`)."""
    now = now or datetime.now(UTC)
    f = StatsFact
    in_period = (f.at >= since, f.at < until)
    # a main dispatch counts for its round when it is the round's last of the period (the next one
    # is not in it) and settled (nothing that decides its figures, a sign, an extension, the first
    # reply, is after the period): the figures of all of them, minus those of the few that are not
    # (cheaper than a CASE on every row); the open ones are then settled from their records
    due = func.sum(case((or_(f.f2 == 1, f.open_due < now), 1), else_=0))
    md = select(f.unit, func.count(), func.sum(f.f1), due, func.sum(f.f3)).where(f.kind == "md", *in_period)
    not_counted = or_(f.next_at < until, f.last_at >= until)

    per: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    with db.read() as s:
        received, steps = _hotline_counts(s, since, until)
        for unit, n, signed, n_due, on_time in s.execute(md.group_by(f.unit)):
            c = per[unit]
            c["received"] += n
            c["main_dispatches"] += n
            c["signed_on_time"] += signed or 0
            c["due"] += n_due or 0
            c["on_time"] += on_time or 0
        open_rounds = []
        for rid, oid, rnd, unit, f1, f2, f3, open_due, next_at in s.execute(
            select(f.record_id, f.order_id, f.round, f.unit, f.f1, f.f2, f.f3, f.open_due, f.next_at).where(
                f.kind == "md", *in_period, not_counted
            )
        ):
            c = per[unit]
            c["main_dispatches"] -= 1
            c["signed_on_time"] -= f1
            c["due"] -= int(f2 == 1 or (open_due is not None and open_due < now))
            c["on_time"] -= f3
            if next_at is None or next_at >= until:  # its round's last, with a sign / reply after the period
                open_rounds.append((rid, oid, rnd, unit))
        for unit, signed, due, on_time in _settle_open_rounds(s, since, until, now, open_rounds):
            c = per[unit]
            c["main_dispatches"] += 1
            c["signed_on_time"] += signed
            c["due"] += due
            c["on_time"] += on_time
        sums = (func.count(), func.sum(f.f1), func.sum(f.f2), func.sum(f.f3))
        # a return, an evaluation: for the record's unit; a reply accepted for callback, a callback:
        # for the round's main dispatch when that is in the period, else the hotline's (one range
        # scan of the covering index per group: cheaper than one scan grouped by a CASE)
        by_record = select(f.kind, f.unit, *sums).where(f.kind.in_(("ret", "eval")), *in_period)
        counted = select(f.kind, f.unit, *sums).where(f.kind.in_(("rev", "cb")), *in_period, f.ref_at >= since)
        hotline = (
            select(f.kind, literal("_hotline"), *sums)
            .where(f.kind.in_(("rev", "cb")), *in_period, or_(f.ref_at.is_(None), f.ref_at < since))
            .group_by(f.kind)
        )
        rows = [
            *s.execute(by_record.group_by(f.kind, f.unit)),
            *s.execute(counted.group_by(f.kind, f.unit)),
            *s.execute(hotline),
        ]
        for kind, unit, n, a, b, c3 in rows:
            c = per[unit or "_hotline"]
            if kind == "ret":
                c["returns"] += n
            elif kind == "rev":
                c["to_callback"] += n
            elif kind == "cb":
                c["callback_reached"] += a
                c["resolution_known"] += b
                c["resolved"] += c3
            else:
                c["rated"] += n
                c["satisfied"] += a
                c["score_sum"] += b
        for unit, ref_at, unit2, ref_at2 in s.execute(
            select(f.unit, f.ref_at, f.unit2, f.ref_at2).where(f.kind == "reo", *in_period)
        ):
            u = unit if ref_at is not None and ref_at >= since else None
            u = u or (unit2 if ref_at2 is not None and ref_at2 >= since else None)
            if u:
                per[u]["reopened"] += 1
    return _result(since, until, per, received, steps)


RANK_KEYS = ("timely_sign_rate", "on_time_rate", "satisfaction_rate", "resolution_rate")


def ranking(result: dict) -> list[dict]:
    """Departments ranked by the mean of timely sign-in, on-time completion, satisfaction and
    resolution, minus the return rate; units without any figure come last."""
    rows = []
    for unit, f in result["departments"].items():
        vals = [f[k] for k in RANK_KEYS if f[k] is not None]
        if f["return_rate"] is not None:
            vals.append(1 - f["return_rate"])
        score = round(sum(vals) / len(vals), 4) if vals else None
        rows.append({"department": unit, "score": score, **f})
    rows.sort(key=lambda r: (r["score"] is None, -(r["score"] or 0), r["department"]))
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    return rows

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
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import func, select

from workorder.db import Database
from workorder.models import Order, Record, Transition


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def _parse(ts: str | None) -> datetime | None:
    return datetime.fromisoformat(ts) if ts else None


def compute(db: Database, since: datetime, until: datetime, now: datetime | None = None) -> dict:
    now = now or datetime.now(UTC)
    with db.read() as s:
        received = s.scalar(select(func.count(Order.id)).where(Order.created_at >= since, Order.created_at < until))
        # one pass over the index (action, at): accept, and direct_answer by the status it left
        steps = s.execute(
            select(Transition.action, Transition.from_status, func.count(Transition.id))
            .where(Transition.action.in_(("accept", "direct_answer")), Transition.at >= since, Transition.at < until)
            .group_by(Transition.action, Transition.from_status)
        ).all()
        accepted = sum(n for a, _f, n in steps if a == "accept")
        direct = sum(n for a, _f, n in steps if a == "direct_answer")
        direct_from_draft = sum(n for a, f, n in steps if a == "direct_answer" and f == "draft")
        recs = list(
            s.execute(
                select(Record.order_id, Record.round, Record.kind, Record.unit, Record.at, Record.data)
                .where(Record.at >= since, Record.at < until)
                .where(
                    Record.kind.in_(
                        (
                            "dispatch",
                            "sign",
                            "reply",
                            "return_requested",
                            "extension",
                            "callback",
                            "evaluation",
                            "reopened",
                            "reply_reviewed",
                        )
                    )
                )
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
                "sign_deadline": _parse(data.get("sign_deadline")),
                "deadline": _parse(data.get("handling_deadline")),
                "signed": None,
                "replied": None,
            }
            unit_of[key] = unit
            per[unit]["received"] += 1
        elif kind == "sign" and key in dispatch:
            dispatch[key]["signed"] = at
        elif kind == "extension" and key in dispatch and data.get("new_deadline"):
            dispatch[key]["deadline"] = _parse(data["new_deadline"])
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

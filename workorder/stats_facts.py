"""What each record adds to the statistics (workorder/stats.py): the rows of the roll-up table
``stats_facts`` (workorder/models.py ``StatsFact``) for one order, from its records in id order.
Pure: no database here (the models' write hook and ``workorder.stats.rebuild`` store them)."""

from __future__ import annotations

from datetime import UTC, datetime

FACT_KINDS = (
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


def parse_ts(ts: str | None) -> datetime | None:
    return datetime.fromisoformat(ts) if ts else None


def _utc(d: datetime | None) -> datetime | None:
    return d.astimezone(UTC) if d is not None else None


def order_facts(recs) -> list[dict]:
    """The roll-up rows of one order from its records ``(id, order_id, round, kind, unit, at, data)``
    in id order: what each adds to the figures of a period that holds it (see :func:`compute`)."""
    out: list[dict] = []
    last_md: dict[int, dict] = {}  # round -> its newest main dispatch so far

    def row(rid, oid, rnd, kind, at, **kw) -> dict:
        r = {
            "record_id": rid,
            "order_id": oid,
            "round": rnd,
            "kind": kind,
            "at": at,
            "unit": None,
            "ref_at": None,
            "unit2": None,
            "ref_at2": None,
            "next_at": None,
            "last_at": None,
            "open_due": None,
            "f1": 0,
            "f2": 0,
            "f3": 0,
        }
        r.update(kw)
        out.append(r)
        return r

    def touch(md: dict, at: datetime) -> None:
        md["last_at"] = at if md["last_at"] is None else max(md["last_at"], at)

    for rid, oid, rnd, kind, unit, at, data in recs:
        data = data or {}
        md = last_md.get(rnd)
        if kind == "dispatch" and data.get("role") == "main":
            if md is not None:
                md["next_at"] = at
            last_md[rnd] = row(
                rid,
                oid,
                rnd,
                "md",
                at,
                unit=unit,
                _sign_deadline=parse_ts(data.get("sign_deadline")),
                _deadline=parse_ts(data.get("handling_deadline")),
                _signed=None,
                _replied=None,
            )
        elif kind == "sign" and md is not None:
            md["_signed"] = at
            touch(md, at)
        elif kind == "extension" and md is not None and data.get("new_deadline"):
            md["_deadline"] = parse_ts(data["new_deadline"])
            touch(md, at)
        elif kind == "reply" and unit and md is not None and md["_replied"] is None:
            md["_replied"] = at
            touch(md, at)
        elif kind == "return_requested" and unit:
            row(rid, oid, rnd, "ret", at, unit=unit)
        elif kind == "reopened":
            prev = last_md.get(rnd - 1)
            if prev is not None or md is not None:
                row(
                    rid,
                    oid,
                    rnd,
                    "reo",
                    at,
                    unit=prev and prev["unit"],
                    ref_at=prev and prev["at"],
                    unit2=md and md["unit"],
                    ref_at2=md and md["at"],
                )
        elif kind == "reply_reviewed" and data.get("decision") == "accept":
            row(rid, oid, rnd, "rev", at, unit=md and md["unit"], ref_at=md and md["at"])
        elif kind == "callback":
            reached, known = bool(data.get("reached")), data.get("resolved") is not None
            if reached or known:
                row(
                    rid,
                    oid,
                    rnd,
                    "cb",
                    at,
                    unit=md and md["unit"],
                    ref_at=md and md["at"],
                    f1=int(reached),
                    f2=int(known),
                    f3=int(known and bool(data["resolved"])),
                )
        elif kind == "evaluation":
            score = data.get("satisfaction")
            if score is not None:
                row(rid, oid, rnd, "eval", at, unit=unit, f1=int(score <= 3), f2=score)
    for r in out:
        if r["kind"] == "md":
            signed, sdl = r.pop("_signed"), r.pop("_sign_deadline")
            replied, due = r.pop("_replied"), r.pop("_deadline")
            r["f1"] = int(bool(signed and sdl and signed <= sdl))
            r["f2"] = int(replied is not None)
            r["f3"] = int(replied is not None and due is not None and replied <= due)
            r["open_due"] = _utc(due) if replied is None else None
    return out

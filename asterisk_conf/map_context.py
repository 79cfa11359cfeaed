"""What pjsip_trunks.conf.j2 and extensions_routes.conf.j2 need from the transfer map.

Pure: a function of the validated map.  Prompt synthesis is not done here
(see :mod:`asterisk_conf.prompts`, run by the deploy layer as its own step).
"""

from __future__ import annotations

import re
from typing import Any

from hotline.names import dial_string, expert_queue, unreachable_prompt

_CONTACT = re.compile(r"^(sips?):(\[[^\]]+\]|[^:;]+)(?::(\d+))?")


def map_context(tmap: Any) -> dict[str, Any]:
    """Trunks, lines and transfer targets of ``tmap`` for the templates."""
    out: dict[str, Any] = {"trunks": [], "map_lines": [], "transfer_targets": []}
    served: dict[str, list[dict[str, Any]]] = {}
    for ln in sorted(tmap.lines, key=lambda x: x.number):
        tgt = tmap.target_of(ln)
        row = {
            "number": ln.number,
            "name": ln.name,
            "department": ln.department,
            "mode": ln.canonical_mode,
            "level": ln.level,
            "target": tgt or "",
            "skill": tmap.skill_of(ln),
            "dial": dial_string(tgt, ln.number) if tgt else "",
        }
        out["map_lines"].append(row)
        if tgt:
            out["transfer_targets"].append(row)
            served.setdefault(tgt, []).append(row)
    for name, t in sorted(tmap.trunks.items()):
        m = _CONTACT.match(t.contact)
        host = m.group(2).strip("[]") if m else "127.0.0.1"
        port = int(m.group(3)) if m and m.group(3) else 5060
        lines = served.get(name, [])
        # calls a peer sends back to the hotline belong to its line when it serves exactly one
        home = lines[0] if len(lines) == 1 else None
        out["trunks"].append(
            {
                "name": name,
                "kind": t.kind,
                "contact": t.contact,
                "host": host,
                "port": port,
                "description": t.description,
                "max_channels": t.max_channels,
                "qualify": t.qualify,
                "digest_user": t.digest_user,
                "lines": lines,
                "home": home,
            }
        )
    # 行业专家: agents consult (attended transfer / three-way) the expert queue of a line's skill
    out["expert_lines"] = [
        {"number": ln.number, "name": ln.name, "queue": expert_queue(tmap.skill_of(ln))}
        for ln in sorted(tmap.lines, key=lambda x: x.number)
        if ln.expert_seats
    ]
    # the calendar's time zone: the static fallback compares the day of a call with seats_until
    out["timezone"] = tmap.calendar.timezone
    out["hotline_number"] = tmap.hotline.number
    out["unreachable_prefix"] = unreachable_prompt("")  # + the trunk's name (asterisk_conf/prompts.py)
    out["area_code"] = tmap.area_code or ""
    ca = tmap.catch_all
    out["catch_all"] = {"queue": ca.queue, "department": ca.department or "", "row": ca.row or ""}
    return out

"""The routing decision for a dialed number: a pure function, no I/O.

``decide(dialed, caller, now, tmap)`` returns a :class:`Route`.  The FastAGI
``route`` handler (agi/handlers.py) only adapts it onto the channel with
:meth:`Route.channel_vars`; the renderer (asterisk_conf/render.py) calls the
same function at render time to write the static fallback that the dialplan
uses when FastAGI is down.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

GENERAL_QUEUE = "hotline"  # "general" is reserved: it is the [general] section of queues.conf
HOTLINE_NUMBER = "12345"


@dataclass(frozen=True)
class Route:
    kind: str  # "queue" | "dial" | "ivr" | "hangup"
    queue: str = GENERAL_QUEUE  # queue to join (kind=queue), or to overflow to (kind=dial)
    target: str = ""  # Dial() string for kind=dial: department seats, sub-center, province trunk
    timeout: int = 0  # seconds to ring target before overflowing to `queue`
    announce: str = ""  # prompt played first, e.g. the transition announcement
    flow: str = ""  # IVR flow name for kind=ivr
    priority: int = 0  # queue priority (overflowed sub-center calls come back higher)
    origin: str = HOTLINE_NUMBER  # the number the citizen dialed
    mode: str = "direct"  # direct (12345 itself) | merge | dual | subcenter
    department: str = ""
    level: str = "city"  # city | province
    reason: str = ""
    # kind=dial: when the target does not answer, is busy or unreachable, the
    # call goes to `queue` with `priority`, flagged with `flag` (e.g. the
    # sub-center did not answer); or, when `overflow` names another number of
    # the map, it is routed again as that number.
    flag: str = ""
    overflow: str = ""
    row: str = ""  # the annex row of the map entry, e.g. "双号并行 2"

    def channel_vars(self) -> dict[str, str]:
        """Variables set on the caller's channel.  ``__`` makes Asterisk copy
        them to every channel the call creates (the agent's leg included), so
        origin, mode and department reach the screen pop and the work order."""
        return {
            "HOTLINE_KIND": self.kind,
            "HOTLINE_QUEUE": self.queue,
            "HOTLINE_TARGET": self.target,
            "HOTLINE_TIMEOUT": str(self.timeout),
            "HOTLINE_ANNOUNCE": self.announce,
            "HOTLINE_FLOW": self.flow,
            "HOTLINE_PRIORITY": str(self.priority),
            "HOTLINE_OVERFLOW_FLAG": self.flag,
            "HOTLINE_OVERFLOW": self.overflow,
            "__HOTLINE_ORIGIN": self.origin,
            "__HOTLINE_MODE": self.mode,
            "__HOTLINE_DEPT": self.department,
            "__HOTLINE_LEVEL": self.level,
        }


def transition_prompt(number: str) -> str:
    """Prompt name of a line's transition announcement (asterisk_conf/prompts.py)."""
    return f"transition-{number}"


def emergency_prompt(number: str) -> str:
    return f"emergency-{number}"


def dial_string(trunk: str, number: str) -> str:
    """Dial the legacy number on the trunk's endpoint (its AOR is the peer)."""
    return f"PJSIP/{number}@{trunk}"


def canonical_number(dialed: str, tmap: Any) -> str:
    """The service number behind what the carrier delivered: ``+86`` becomes
    ``0``, and the city's area code in front of a number of the map (or of
    12345, or of an emergency number) is dropped: 031012349 -> 12349."""
    if dialed.startswith("+86"):
        dialed = "0" + dialed[3:]
    elif dialed.startswith("0086"):
        dialed = "0" + dialed[4:]
    area = getattr(tmap, "area_code", None)
    if area and dialed.startswith(area) and len(dialed) > len(area):
        short = dialed[len(area):]
        from hotline.transfer_map import NEVER_INTEGRATED

        if short == tmap.hotline.number or short in _compiled(tmap) or short in NEVER_INTEGRATED:
            return short
    return dialed


def decide(dialed: str, caller: str, now: datetime | None, tmap: Any) -> Route:
    """Where a call to ``dialed`` goes.  Pure: (dialed, caller, now, map) -> Route.

    ``now`` is the local time of the call (an aware datetime is converted to
    the map's time zone); ``None`` means "no time rules", used for the static
    fallback written at render time.  ``tmap`` is a validated
    :class:`hotline.transfer_map.TransferMap` or None (foundation default).
    """
    dialed = (dialed or "").strip()
    if tmap is not None:
        dialed = canonical_number(dialed, tmap)
    if tmap is None:
        return Route(kind="queue", queue=GENERAL_QUEUE, origin=dialed or HOTLINE_NUMBER,
                     reason="12345 general queue")
    hot = tmap.hotline
    if not dialed or dialed == hot.number:
        if hot.flow:
            return Route(kind="ivr", flow=hot.flow, queue=hot.queue, origin=hot.number,
                         department=hot.department, reason="12345: IVR flow " + hot.flow)
        return Route(kind="queue", queue=hot.queue, origin=hot.number, department=hot.department,
                     reason="12345 general queue")
    table = _compiled(tmap)
    entry = table.get(dialed)
    if entry is None:
        from hotline.transfer_map import NEVER_INTEGRATED

        if dialed in NEVER_INTEGRATED:
            return Route(kind="hangup", origin=dialed, mode="emergency", announce=emergency_prompt(dialed),
                         queue="", reason="never integrated: " + NEVER_INTEGRATED[dialed])
        ca = tmap.catch_all
        return Route(kind="queue", queue=ca.queue, origin=dialed, mode="merge", department=ca.department,
                     row=ca.row or "", reason="not in the map: 整体并入 row 10 catch-all, 12345 answers")
    return _pick(entry, dialed, now, tmap, 0)


# The map is immutable, so every Route a number can take is built once per
# map (with / without the transition announcement, target open / closed) and
# decide() only picks one: a dictionary lookup and a clock comparison.
_CACHE: list[tuple[Any, dict]] = []


def _compiled(tmap) -> dict:
    for cached_map, table in _CACHE:
        if cached_map is tmap:
            return table
    table = {line.number: _compile_line(line, tmap) for line in tmap.lines}
    _CACHE.insert(0, (tmap, table))
    del _CACHE[4:]
    return table


def _compile_line(line, tmap) -> dict:
    routes = {(ann, op): _line_route(line, tmap, ann, op) for ann in (False, True) for op in (False, True)}
    overflow = line.overflow.to if tmap.line(line.overflow.to) is not None else ""
    return {"line": line, "routes": routes, "until": line.transition.until if line.transition else None,
            "always_open": line.always_open, "overflow": overflow}


def _pick(entry: dict, dialed: str, now: datetime | None, tmap, depth: int) -> Route:
    until = entry["until"]
    # now=None (the static fallback): validation already refused a past end date
    announce = until is not None and (now is None or _local(tmap, now).date() <= until)
    if entry["always_open"] or now is None:
        return entry["routes"][(announce, True)]
    from hotline.transfer_map import is_open

    if is_open(tmap, entry["line"], now):
        return entry["routes"][(announce, True)]
    nxt = entry["overflow"]
    if nxt and depth < 32:  # closed: the overflow number takes the call (loops are refused by validation)
        r = _pick(_compiled(tmap)[nxt], nxt, now, tmap, depth + 1)
        return replace(r, origin=dialed, announce=entry["routes"][(announce, False)].announce or r.announce,
                       reason=f"{dialed} closed (hours): routed as {nxt}; " + r.reason)
    return entry["routes"][(announce, False)]


def _line_route(line, tmap, announce: bool, open_: bool) -> Route:
    mode = line.canonical_mode
    skill = tmap.skill_of(line)
    base = dict(origin=line.number, mode=mode, department=line.department, level=line.level,
                row=line.row or "", announce=transition_prompt(line.number) if announce else "")
    trunk = tmap.target_of(line)
    if trunk is None:
        why = {"merge": "整体并入: 12345 answers with the department's skill",
               "dual": "双号并行, seats cancelled: 12345 agents of the department's skill answer",
               "subcenter": "设分中心"}[mode]
        if line.flow:  # the IVR flow plays the announcement and queues (ivr_flows/legacy.yaml)
            return Route(kind="ivr", flow=line.flow, queue=skill, reason=f"{why}; IVR flow {line.flow}", **base)
        return Route(kind="queue", queue=skill, reason=why, **base)
    ov = line.overflow
    overflow_queue = skill if ov.to == tmap.hotline.number else (ov.to if ov.to in tmap.queues else skill)
    overflow_number = ov.to if tmap.line(ov.to) is not None else ""
    if not open_:
        return Route(kind="queue", queue=overflow_queue, priority=ov.priority,
                     reason=f"{trunk} closed (hours): 12345 answers", **base)
    if line.level == "province":
        flag, why = "province_noanswer", "热线在省有关部门设置: province trunk"
    elif mode == "subcenter":
        flag, why = "subcenter_noanswer", "设分中心: sub-center 7x24"
    else:
        flag, why = "seats_noanswer", "双号并行, seats kept: department seats first"
    return Route(kind="dial", target=dial_string(trunk, line.number), timeout=ov.timeout,
                 queue=overflow_queue, priority=ov.priority, flag=flag, overflow=overflow_number,
                 reason=f"{why}, overflow to {ov.to} after {ov.timeout}s", **base)


def _local(tmap, now: datetime) -> datetime:
    from hotline.transfer_map import now_in

    return now_in(tmap, now)


def static_routes(tmap: Any) -> list[tuple[str, Route]]:
    """Per-number routes for the static dialplan fallback (FastAGI down): the
    same decision with no time rules (targets open, transition announcements
    on until the map says otherwise).  Includes 12345 itself."""
    if tmap is None:
        return [(HOTLINE_NUMBER, decide(HOTLINE_NUMBER, "", None, None))]
    numbers = [tmap.hotline.number] + [line.number for line in tmap.lines]
    return [(n, decide(n, "", None, tmap)) for n in numbers]

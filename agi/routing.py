"""The routing decision for a dialed number: a pure function, no I/O.

``decide(dialed, now, tmap)`` returns a :class:`Route`.  The FastAGI
``route`` handler (agi/handlers.py) only adapts it onto the channel with
:meth:`Route.channel_vars`; the deploy layer (deploy/configure.py) calls the
same function at render time to write the static fallback that the dialplan
uses when FastAGI is down.  Opening hours are asked of the map's calendar
(:mod:`hotline.calendar`, the one calendar of the platform).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from hotline.map_schema import Line, TransferMap
from hotline.names import dial_string, emergency_prompt, transition_prompt
from hotline.policy import NEVER_INTEGRATED


@dataclass(frozen=True)
class Route:
    kind: str  # "queue" | "dial" | "ivr" | "hangup"
    queue: str = ""  # queue to join (kind=queue), or to overflow to (kind=dial)
    target: str = ""  # Dial() string for kind=dial: department seats, sub-center, province trunk
    timeout: int = 0  # seconds to ring target before overflowing to `queue`
    announce: str = ""  # prompt played first, e.g. the transition announcement
    flow: str = ""  # IVR flow name for kind=ivr
    priority: int = 0  # queue priority (overflowed sub-center calls come back higher)
    origin: str = ""  # the number the citizen dialed
    mode: str = "direct"  # direct (the hotline itself) | merge | dual | subcenter
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


def canonical_number(dialed: str, tmap: TransferMap) -> str:
    """The service number behind what the carrier delivered: ``+86`` becomes
    ``0``, and the city's area code in front of a number of the map (or of
    12345, or of an emergency number) is dropped: 031012349 -> 12349."""
    if dialed.startswith("+86"):
        dialed = "0" + dialed[3:]
    elif dialed.startswith("0086"):
        dialed = "0" + dialed[4:]
    area = tmap.area_code
    if area and dialed.startswith(area) and len(dialed) > len(area):
        short = dialed[len(area) :]
        if short == tmap.hotline.number or short in _compiled(tmap) or short in NEVER_INTEGRATED:
            return short
    return dialed


def decide(dialed: str, now: datetime | None, tmap: TransferMap) -> Route:
    """Where a call to ``dialed`` goes.  Pure: (dialed, now, map) -> Route.

    ``now`` is the local time of the call (an aware datetime is converted to
    the map's time zone); ``None`` means "no time rules", used for the static
    fallback written at render time.  ``tmap`` is a validated
    :class:`hotline.transfer_map.TransferMap`: there is no routing without one.
    """
    dialed = canonical_number((dialed or "").strip(), tmap)
    hot = tmap.hotline
    if not dialed or dialed == hot.number:
        if hot.flow:
            return Route(
                kind="ivr",
                flow=hot.flow,
                queue=hot.queue,
                origin=hot.number,
                department=hot.department or "",
                reason=f"{hot.number}: IVR flow {hot.flow}",
            )
        return Route(
            kind="queue",
            queue=hot.queue,
            origin=hot.number,
            department=hot.department or "",
            reason=f"{hot.number}: the hotline's queue",
        )
    table = _compiled(tmap)
    entry = table.get(dialed)
    if entry is None:
        if dialed in NEVER_INTEGRATED:
            return Route(
                kind="hangup",
                origin=dialed,
                mode="emergency",
                announce=emergency_prompt(dialed),
                queue="",
                reason="never integrated: " + NEVER_INTEGRATED[dialed],
            )
        ca = tmap.catch_all
        return Route(
            kind="queue",
            queue=ca.queue,
            origin=dialed,
            mode="merge",
            department=ca.department or "",
            row=ca.row or "",
            reason=f"not in the map: 整体并入 row 10 catch-all, {hot.number} answers",
        )
    return _pick(entry, dialed, now, tmap, 0)


# The map is immutable, so every Route a number can take is built once per
# map (with / without the transition announcement, target open / closed) and
# decide() only picks one: a dictionary lookup and a clock comparison.
_CACHE: list[tuple[TransferMap, dict[str, dict[str, Any]]]] = []


def _compiled(tmap: TransferMap) -> dict[str, dict[str, Any]]:
    for cached_map, table in _CACHE:
        if cached_map is tmap:
            return table
    table = {line.number: _compile_line(line, tmap) for line in tmap.lines}
    _CACHE.insert(0, (tmap, table))
    del _CACHE[4:]
    return table


def _compile_line(line: Line, tmap: TransferMap) -> dict[str, Any]:
    routes = {
        (ann, op, seats): _line_route(line, tmap, ann, op, seats)
        for ann in (False, True)
        for op in (False, True)
        for seats in (False, True)
    }
    to = tmap.overflow_to(line)
    overflow = to if tmap.line(to) is not None else ""
    return {
        "line": line,
        "routes": routes,
        "until": line.transition.until if line.transition else None,
        "seats_until": line.seats_until,
        "always_open": line.always_open,
        "hours": line.weekly_hours,
        "overflow": overflow,
    }


def _pick(entry: dict[str, Any], dialed: str, now: datetime | None, tmap: TransferMap, depth: int) -> Route:
    until = entry["until"]
    day = tmap.calendar.local(now).date() if now is not None else None
    # now=None (no time rules): the announcement stays; static_routes drops the ended ones
    announce = until is not None and (day is None or day <= until)
    routes: dict[tuple[bool, bool, bool], Route] = entry["routes"]
    seats_until = entry["seats_until"]
    if seats_until is not None and day is not None and day > seats_until:
        # the temporarily retained seats ended: 12345 (7x24) answers, hours no longer apply
        return routes[(announce, True, False)]
    if entry["always_open"] or now is None:
        return routes[(announce, True, True)]
    if tmap.calendar.is_open(entry["hours"], now):
        return routes[(announce, True, True)]
    nxt = entry["overflow"]
    if nxt and depth < 32:  # closed: the overflow number takes the call (loops are refused by validation)
        r = _pick(_compiled(tmap)[nxt], nxt, now, tmap, depth + 1)
        return replace(
            r,
            origin=dialed,
            announce=routes[(announce, False, True)].announce or r.announce,
            reason=f"{dialed} closed (hours): routed as {nxt}; " + r.reason,
        )
    return routes[(announce, False, True)]


def _line_route(line: Line, tmap: TransferMap, announce: bool, open_: bool, seats: bool = True) -> Route:
    mode = line.canonical_mode
    skill = tmap.skill_of(line)
    base: dict[str, Any] = dict(
        origin=line.number,
        mode=mode,
        department=line.department,
        level=line.level,
        row=line.row or "",
        announce=transition_prompt(line.number) if announce else "",
    )
    trunk = tmap.target_of(line) if seats else None
    if trunk is None:
        why = {
            "merge": f"整体并入: {tmap.hotline.number} answers with the department's skill",
            "dual": f"双号并行, seats cancelled: {tmap.hotline.number} agents of the department's skill answer",
            "subcenter": "设分中心",
        }[mode]
        if not seats and line.seats_until is not None:
            why = (
                f"双号并行, temporarily retained seats ended {line.seats_until.isoformat()}: "
                f"{tmap.hotline.number} agents of the department's skill answer"
            )
        if line.flow:  # the IVR flow plays the announcement and queues (ivr_flows/legacy.yaml)
            return Route(kind="ivr", flow=line.flow, queue=skill, reason=f"{why}; IVR flow {line.flow}", **base)
        return Route(kind="queue", queue=skill, reason=why, **base)
    ov = line.overflow
    to = tmap.overflow_to(line)
    overflow_queue = skill if to == tmap.hotline.number else (to if to in tmap.queues else skill)
    overflow_number = to if tmap.line(to) is not None else ""
    if not open_:
        return Route(
            kind="queue",
            queue=overflow_queue,
            priority=ov.priority,
            reason=f"{trunk} closed (hours): {tmap.hotline.number} answers",
            **base,
        )
    if line.level == "province":
        flag, why = "province_noanswer", "热线在省有关部门设置: province trunk"
    elif mode == "subcenter":
        flag, why = "subcenter_noanswer", "设分中心: sub-center 7x24"
    else:
        flag, why = "seats_noanswer", "双号并行, seats kept: department seats first"
    return Route(
        kind="dial",
        target=dial_string(trunk, line.number),
        timeout=ov.timeout,
        queue=overflow_queue,
        priority=ov.priority,
        flag=flag,
        overflow=overflow_number,
        reason=f"{why}, overflow to {to} after {ov.timeout}s",
        **base,
    )


def static_routes(tmap: TransferMap, today: date) -> list[tuple[str, Route]]:
    """Per-number routes for the static dialplan fallback (FastAGI down): the
    same decision with no time rules (targets open).  A transition announcement
    is kept only while its last day is ``today`` (the day of the render) or
    later: after the 过渡期 the line routes by its mode without it, exactly as
    :func:`decide` does.  Includes the hotline's own number."""
    out = []
    for n in [tmap.hotline.number] + [line.number for line in tmap.lines]:
        r = decide(n, None, tmap)
        line = tmap.line(n)
        if r.announce and line is not None and line.transition is not None and line.transition.until < today:
            r = replace(r, announce="", reason=f"{r.reason}; transition ended {line.transition.until.isoformat()}")
        if line is not None and not line.seats_answer(today):
            r = _compiled(tmap)[n]["routes"][(bool(r.announce), True, False)]
        out.append((n, r))
    return out


def static_seat_ends(tmap: TransferMap, today: date) -> dict[str, dict[str, Any]]:
    """The lines whose temporarily retained seats end on ``today`` or later, for
    the static fallback: its dialplan compares the day of the call (in the
    calendar's time zone) with ``last_day`` and takes ``after`` from the day
    after, so the fallback switches at midnight with no render.  (Seats that
    ended before ``today`` are already the route :func:`static_routes` gives.)"""
    out = {}
    for number, r in static_routes(tmap, today):
        line = tmap.line(number)
        if line is None or line.seats_until is None or not line.seats_answer(today):
            continue
        after = _compiled(tmap)[number]["routes"][(bool(r.announce), True, False)]
        out[number] = {"last_day": line.seats_until.strftime("%Y%m%d"), "after": after}
    return out

"""Validation of a transfer map: pure, every problem at once, as ``file:line:col: message``.

:func:`check` takes the parsed data, its positions and ``today`` and returns
the map (or None) and *every* problem; a map with any problem is rejected
whole by the loader (:mod:`hotline.transfer_map`).  :func:`check_all` also
returns the warnings: things that do not make the map wrong, only stale.  Time
passing never makes a map invalid: a transition announcement whose last day
is past is a warning (the announcement is simply no longer played), so that
``hotline up`` and every reload still accept the map on 2027-07-01.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from pydantic import ValidationError

from hotline.map_schema import DEPARTMENT_CODE, Line, SkillQueue, TransferMap
from hotline.map_warnings import map_warnings
from hotline.names import ENDPOINT_NAME_RE, QUEUE_NAME_RULE, expert_queue, queue_name_problem
from hotline.policy import MODE_NAMES, NEVER_INTEGRATED, normalize_mode
from hotline.yamlsrc import Problem, Source, pydantic_problems

# keys that older maps had, and where their facts live now
MOVED_KEYS = {
    "timezone": "the time zone is the setting HOTLINE_TIMEZONE (one for the whole platform)",
    "holidays": "holidays are in holidays/<year>.yaml, the one calendar of the platform",
    "workdays": "调休 workdays are in holidays/<year>.yaml, the one calendar of the platform",
}


def check(data: Any, src: Source, today: date) -> tuple[TransferMap | None, list[Problem]]:
    """Validate a parsed map.  Pure: returns the map (or None) and every problem."""
    tmap, problems, _ = check_all(data, src, today)
    return tmap, problems


def check_all(data: Any, src: Source, today: date) -> tuple[TransferMap | None, list[Problem], list[Problem]]:
    """Validate a parsed map.  Pure: returns the map (or None), every problem and
    every warning (``file:line:col: warning: ...``; warnings never reject a map)."""
    problems: list[Problem] = []
    if not isinstance(data, dict):
        return (
            None,
            [src.problem((), "the transfer map must be a mapping with queues, departments, trunks and lines")],
            [],
        )
    # emergency numbers first, with the policy reason, before any schema noise
    for i, ln in enumerate(data.get("lines") or []):
        if isinstance(ln, dict) and str(ln.get("number", "")).strip() in NEVER_INTEGRATED:
            problems.append(
                src.problem(
                    ("lines", i, "number"),
                    f"{ln['number']} is never integrated into 12345: {NEVER_INTEGRATED[str(ln['number']).strip()]}",
                )
            )
    for key, moved in MOVED_KEYS.items():
        if key in data:
            problems.append(src.problem((key,), f"{key!r} is no longer part of the map: {moved}"))
    data = {k: v for k, v in data.items() if k not in MOVED_KEYS}
    if isinstance(data.get("queues"), dict):
        for name in data["queues"]:
            why = queue_name_problem(str(name))
            if why:
                problems.append(src.problem(("queues", name), why + " (it is an Asterisk queue name)"))
    if isinstance(data.get("trunks"), dict):
        for name in data["trunks"]:
            if not ENDPOINT_NAME_RE.match(str(name)):
                problems.append(
                    src.problem(
                        ("trunks", name), f"trunk name {name!r}: {QUEUE_NAME_RULE} (it is a PJSIP endpoint name)"
                    )
                )
    raw_lines = data.get("lines")
    if raw_lines is None:
        raw_lines = []
    if not isinstance(raw_lines, list):
        problems.append(src.problem(("lines",), "lines must be a list of entries, one per number"))
        raw_lines = []
    # each line is validated on its own, so one bad line does not hide the others
    good: list[tuple[int, Line]] = []
    for i, raw in enumerate(raw_lines):
        try:
            good.append((i, Line.model_validate(raw)))
        except ValidationError as exc:
            problems.extend(p for p in pydantic_problems(exc, src, ("lines", i)) if not _is_emergency_dup(p, problems))
    top = {k: v for k, v in data.items() if k != "lines"}
    try:
        TransferMap.model_validate(top)
    except ValidationError as exc:
        problems.extend(pydantic_problems(exc, src))
        return None, _sorted(problems), []
    tmap = TransferMap.model_validate({**top, "lines": [ln.model_dump() for _, ln in good]})
    index = [i for i, _ in good]
    problems.extend(_semantic(tmap, src, index))
    return (None if problems else tmap), _sorted(problems), _sorted(map_warnings(tmap, src, today, index))


# The transition announcement is played before the caller joins the queue, and the 15 s
# service level counts from the call's arrival: an announcement must stay short.  Its length is
# estimated from the text at the generated voice's pace (espeak-ng -s 150, asterisk_conf/prompts.py;
# measured: 0.3 s per character, digits read one by one, punctuation included, plus about 0.4 s).
def _is_emergency_dup(p: Problem, existing: list[Problem]) -> bool:
    return any(e.line == p.line and e.column == p.column for e in existing)


def _sorted(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in sorted(problems, key=lambda p: (p.file, p.line, p.column, p.message)):
        if (p.line, p.column, p.message) not in seen:
            seen.add((p.line, p.column, p.message))
            out.append(p)
    return out


def _semantic(tm: TransferMap, src: Source, index: list[int]) -> list[Problem]:
    """``index[k]`` is where ``tm.lines[k]`` sits in the file's ``lines`` list."""
    out: list[Problem] = []
    P = src.problem
    if tm.hotline.queue not in tm.queues:
        out.append(P(("hotline", "queue"), f"unknown queue {tm.hotline.queue!r}; known: {_known(tm.queues)}"))
    if tm.catch_all.queue not in tm.queues:
        out.append(P(("catch_all", "queue"), f"unknown queue {tm.catch_all.queue!r}; known: {_known(tm.queues)}"))
    out.extend(_queue_overflows(tm, src))
    names: dict[str, str] = {}
    for code, dept in tm.departments.items():
        if not re.match(DEPARTMENT_CODE, code):
            out.append(
                P(
                    ("departments", code),
                    f"department code {code!r}: lower-case ASCII letters, digits "
                    "and _, starting with a letter (it is the unit's id in the "
                    "work-order store)",
                )
            )
        if dept.skill is not None and dept.skill not in tm.queues:
            out.append(
                P(
                    ("departments", code, "skill"),
                    f"unknown queue {dept.skill!r} for department {code}; known: {_known(tm.queues)}",
                )
            )
        if dept.name in names:
            out.append(
                P(
                    ("departments", code, "name"),
                    f"department name {dept.name!r} is also the name of {names[dept.name]!r}",
                )
            )
        names.setdefault(dept.name, code)
        out.extend(_parent(tm, src, code))
    for where, unit in (
        (("hotline", "department"), tm.hotline.department),
        (("catch_all", "department"), tm.catch_all.department),
    ):
        if unit is not None and unit not in tm.departments:
            out.append(P(where, f"unknown department {unit!r}; known: {_known(tm.departments)}"))
    numbers = {x.number for x in tm.lines}
    seen: dict[str, int] = {tm.hotline.number: -1}
    for k, ln in enumerate(tm.lines):
        i = index[k]
        at = ("lines", i)
        mode, implied_seats = normalize_mode(ln.mode)
        if ln.number in seen:
            first = ("hotline", "number") if seen[ln.number] == -1 else ("lines", seen[ln.number], "number")
            fl, fc = src.where(first)
            out.append(P(at + ("number",), f"duplicate number {ln.number} (first at line {fl}:{fc})"))
        else:
            seen[ln.number] = i
        if ln.department not in tm.departments:
            out.append(
                P(
                    at + ("department",),
                    f"unknown department {ln.department!r}: declare its code under "
                    f"departments (with its name and skill queue) to make it a "
                    f"handling unit",
                )
            )
        if ln.queue is not None and ln.queue not in tm.queues:
            out.append(P(at + ("queue",), f"unknown queue {ln.queue!r}; known: {_known(tm.queues)}"))
        if implied_seats and ln.seats not in implied_seats:
            out.append(
                P(
                    at + ("seats",),
                    f"mode {ln.mode} means seats {' or '.join(implied_seats)}, "
                    f"not {ln.seats} (晋政办发电〔2020〕47号 二(二)2)",
                )
            )
        if mode == "merge" and ln.seats != "cancelled":
            out.append(
                P(
                    at + ("seats",),
                    "整体并入 cancels the department's seats: the calls are answered by "
                    "12345 (邯政办字〔2021〕24号 二(一)2); use dual to keep seats",
                )
            )
        if mode == "subcenter":
            if ln.seats == "cancelled":
                out.append(P(at + ("seats",), "设分中心 keeps the sub-center's number and seats (annex 三.1)"))
            if not ln.always_open:
                out.append(P(at + ("hours",), "设分中心 serves 7x24 (annex 三.1: 提供“7×24小时”全天候人工服务)"))
        # the province platform's own map (it has a trunk to a city) answers its province lines itself
        if ln.level == "province" and not tm.province_trunk() and not ln.target and not tm.city_trunks():
            out.append(P(at + ("level",), "province line without a province trunk: add a trunk of kind province"))
        needs_target = ln.level == "city" and (mode == "subcenter" or (mode == "dual" and ln.seats != "cancelled"))
        if needs_target and not ln.target:
            what = "sub-center" if mode == "subcenter" else "department seats"
            out.append(
                P(
                    at + ("mode",),
                    f"{MODE_NAMES[mode]} line {ln.number} with seats kept needs a target (the trunk of its {what})",
                )
            )
        if ln.target is not None:
            trunk = tm.trunks.get(ln.target)
            if trunk is None:
                out.append(P(at + ("target",), f"unknown target {ln.target!r}; trunks: {_known(tm.trunks)}"))
            elif trunk.kind == "emergency":
                out.append(
                    P(
                        at + ("target",),
                        f"target {ln.target!r} is an emergency linkage trunk: it carries only the "
                        "agents' and the IVR's linkage calls to 110/119/120/122, never a line",
                    )
                )
            elif mode == "subcenter" and ln.level == "city" and trunk.kind == "seats":
                out.append(P(at + ("target",), f"target {ln.target!r} is department seats, not a sub-center"))
            elif tm.target_of(ln) is None:
                out.append(
                    P(
                        at + ("target",),
                        f"target {ln.target!r} is never dialed: 12345 agents answer "
                        f"this line ({MODE_NAMES[mode]}, seats {ln.seats})",
                    )
                )
        if not ln.always_open and tm.target_of(ln) is None:
            out.append(
                P(
                    at + ("hours",),
                    "hours apply to the line's target; this line is answered by 12345, "
                    "which is 7x24 (邯政办字〔2021〕24号 二(一)1)",
                )
            )
        to = tm.overflow_to(ln)
        if to != tm.hotline.number and to not in tm.queues and to not in numbers:
            out.append(
                P(
                    at + ("overflow", "to"),
                    f"unknown overflow target {to!r}: the hotline "
                    f"({tm.hotline.number}), a queue or a number of this map",
                )
            )
        if to in NEVER_INTEGRATED:
            out.append(P(at + ("overflow", "to"), f"overflow to {to}: {NEVER_INTEGRATED[to]}"))
        if ln.seats_until is not None and ln.seats != "retained_temporarily":
            out.append(
                P(
                    at + ("seats_until",),
                    f"seats_until is the last day of temporarily retained seats: it needs "
                    f"seats: retained_temporarily, not {ln.seats}",
                )
            )
        if ln.expert_seats:
            eq = expert_queue(tm.skill_of(ln))
            why = queue_name_problem(eq)
            if why:
                out.append(P(at + ("expert_seats",), f"expert queue: {why}"))
            elif eq in tm.queues:
                out.append(
                    P(
                        at + ("expert_seats",),
                        f"expert_seats makes the queue {eq!r}; remove it from queues (one home)",
                    )
                )
    out.extend(_overflow_loops(tm, src, index))
    out.extend(_linkage_numbers(tm, src))
    return out


def _parent(tm: TransferMap, src: Source, code: str) -> list[Problem]:
    """A county department (县直部门) names its county: a unit of kind district; itself a department."""
    dept = tm.departments[code]
    if dept.parent is None:
        return []
    where = ("departments", code, "parent")
    parent = tm.departments.get(dept.parent)
    if parent is None:
        return [src.problem(where, f"unknown parent {dept.parent!r} of {code}; a parent is a unit of kind district")]
    if parent.kind != "district":
        return [src.problem(where, f"parent {dept.parent!r} of {code} is of kind {parent.kind}, not district (县区)")]
    if dept.kind != "department":
        return [src.problem(where, f"{code} has a parent: a county department is of kind department, not {dept.kind}")]
    return []


def _linkage_numbers(tm: TransferMap, src: Source) -> list[Problem]:
    """Each emergency number is reached by one linkage trunk at most."""
    out: list[Problem] = []
    first: dict[str, str] = {}
    for name, trunk in tm.trunks.items():
        for number in trunk.numbers:
            if number in first:
                out.append(
                    src.problem(
                        ("trunks", name, "numbers"),
                        f"{number} is already reached by the linkage trunk {first[number]!r}: one trunk per number",
                    )
                )
            else:
                first[number] = name
    return out


def _queue_overflows(tm: TransferMap, src: Source) -> list[Problem]:
    """Max-wait overflow between skill queues: known targets, no loops, not from the hotline's queue."""
    out = []
    for name, q in tm.queues.items():
        if not isinstance(q, SkillQueue):
            continue
        if name == tm.hotline.queue and (q.overflow_after is not None or q.overflow_to is not None):
            out.append(
                src.problem(
                    ("queues", name),
                    f"{name} is the hotline's queue: it never sends a caller on (7x24 manual service); "
                    "write overflow_after on the skill queues",
                )
            )
            continue
        if q.overflow_to is not None and q.overflow_to not in tm.queues:
            out.append(
                src.problem(
                    ("queues", name, "overflow_to"), f"unknown queue {q.overflow_to!r}; known: {_known(tm.queues)}"
                )
            )
    for name in tm.queues:
        chain = [name]
        while True:
            _, nxt = tm.queue_overflow(chain[-1])
            if not nxt or nxt not in tm.queues:
                break
            if nxt in chain:
                if nxt == name:  # reported once, at the queue that closes the loop back to itself
                    out.append(
                        src.problem(
                            ("queues", chain[-1], "overflow_to"), "queue overflow loop: " + " -> ".join(chain + [nxt])
                        )
                    )
                break
            chain.append(nxt)
    return _dedupe_loops(out)


def _dedupe_loops(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in problems:
        key = frozenset(p.message.split(": ", 1)[-1].split(" -> ")) if "loop" in p.message else p.message
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def _overflow_loops(tm: TransferMap, src: Source, file_index: list[int]) -> list[Problem]:
    out = []
    index = {ln.number: k for k, ln in enumerate(tm.lines)}
    reported: set[frozenset[str]] = set()
    for ln in tm.lines:
        chain = [ln.number]
        cur = ln
        while tm.overflow_to(cur) in index and tm.target_of(cur) is not None:
            nxt = tm.overflow_to(cur)
            if nxt in chain:
                cycle = chain[chain.index(nxt) :]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    i = file_index[index[cycle[-1]]]
                    out.append(
                        src.problem(("lines", i, "overflow", "to"), "overflow loop: " + " -> ".join(cycle + [nxt]))
                    )
                break
            chain.append(nxt)
            cur = tm.lines[index[nxt]]
    return out


def _known(d: Any) -> str:
    return ", ".join(sorted(map(str, d))) or "(none)"

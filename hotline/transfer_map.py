"""The admin's transfer map: how every legacy hotline number reaches 12345.

``transfer_map.yaml`` holds the 12345 number itself, the skill queues, the
departments (责任单位, each a handling unit with its skill queue), the trunks
(the province platform, sub-centers, department seats), the catch-all row
(整体并入 row 10) and one entry per legacy number.

Validation is pure: :func:`check` takes the parsed data, its positions and
``today`` and returns *every* problem as ``file:line:column: message``.  A map
with any problem is rejected whole (:func:`load_map` raises
:class:`~hotline.yamlsrc.ConfigError`), so the running system keeps its last
good map (:func:`load_or_keep`).

Modes (the Handan plan, 邯政办字〔2021〕24号, and the Shanxi aliases from
晋政办发电〔2020〕47号 where they mean the same thing):

- ``merge`` 整体并入 (Shanxi 直接合并): 12345 answers, the department is the skill;
- ``dual`` 双号并行: the number stays; seats cancelled (Shanxi 来电转移) means
  12345 agents of the department's skill answer; seats retained (Shanxi
  并行接听) means the department's seats ring first and overflow to 12345;
- ``subcenter`` 设分中心: the sub-center answers 7x24, unanswered calls come
  back to 12345 with priority and flagged.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from hotline.yamlsrc import ConfigError, Problem, Source, load, loads, pydantic_problems

# --- policy constants -----------------------------------------------------------

MODES = ("merge", "dual", "subcenter")
MODE_NAMES = {"merge": "整体并入", "dual": "双号并行", "subcenter": "设分中心"}
# accepted spellings -> (mode, seats implied by the Shanxi term or None)
MODE_ALIASES: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "merge": ("merge", None), "整体并入": ("merge", None),
    "直接合并": ("merge", None),  # Shanxi: 原号码的热线功能由12345热线统一提供
    "dual": ("dual", None), "双号并行": ("dual", None),
    "来电转移": ("dual", ("cancelled",)),  # Shanxi: 取消坐席但保留热线号码
    "并行接听": ("dual", ("retained", "retained_temporarily")),  # Shanxi: 保留原号码与坐席
    "subcenter": ("subcenter", None), "设分中心": ("subcenter", None),
}
LEVEL_ALIASES = {"city": "city", "市": "city", "市级": "city",
                 "province": "province", "省": "province", "省级": "province"}
SEATS = ("cancelled", "retained", "retained_temporarily")

_HANDAN = "邯政办字〔2021〕24号 一(二)：除110、119、120、122等紧急热线外的政务服务便民热线归并"
_SHANXI = "晋政办发电〔2020〕47号 二(二)1：不含110、119、120、122等紧急类热线"
_SHANXI_ORGANS = ("晋政办发电〔2020〕47号 二(二)1：不含人大、政协、法院、检察院、纪检监察、"
                  "国家安全等设立的热线")
# numbers that are never integrated into 12345, with the policy reason
NEVER_INTEGRATED: dict[str, str] = {
    "110": f"110 is the police emergency number ({_HANDAN}; {_SHANXI})",
    "119": f"119 is the fire emergency number ({_HANDAN}; {_SHANXI})",
    "120": f"120 is the medical emergency number ({_HANDAN}; {_SHANXI})",
    "122": f"122 is the traffic accident emergency number ({_HANDAN}; {_SHANXI})",
    "112": f"112 is the mobile emergency number, routed to 110 ({_SHANXI}: 等紧急类热线)",
    "999": f"999 is the Red Cross medical emergency number ({_SHANXI}: 等紧急类热线)",
    "12110": f"12110 is the police emergency SMS/voice number ({_SHANXI}: 等紧急类热线)",
    "12119": f"12119 is the forest fire emergency number ({_SHANXI}: 等紧急类热线)",
    "12120": f"12120 is the medical emergency number ({_SHANXI}: 等紧急类热线)",
    "12122": f"12122 is the expressway emergency rescue number ({_SHANXI}: 等紧急类热线)",
    "12395": f"12395 is the maritime distress emergency number ({_SHANXI}: 等紧急类热线)",
    "12309": f"12309 is the procuratorate's hotline ({_SHANXI_ORGANS})",
    "12368": f"12368 is the courts' hotline ({_SHANXI_ORGANS})",
    "12388": f"12388 is the discipline inspection and supervision hotline ({_SHANXI_ORGANS})",
    "12339": f"12339 is the national security hotline ({_SHANXI_ORGANS})",
}

RESERVED_QUEUES = frozenset({"general"})
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS_RE = re.compile(r"^\s*([a-z,\-]+)\s+(\d{1,2}:\d{2})-(\d{1,2}:\d{2})\s*$")
_NAME_RE = re.compile(r"^[a-z][a-z0-9_\-]{0,39}$")
_CONTACT_RE = re.compile(r"^sips?:[A-Za-z0-9.\-\[\]:]+(:\d{1,5})?(;transport=(udp|tcp|tls))?$")


def normalize_mode(value: str) -> tuple[str, tuple[str, ...] | None]:
    v = str(value).strip()
    key = v.lower() if v.isascii() else v
    if key not in MODE_ALIASES:
        raise ValueError(
            f"unknown mode {value!r}: use merge (整体并入, 直接合并), dual (双号并行, 来电转移, 并行接听)"
            " or subcenter (设分中心)")
    return MODE_ALIASES[key]


# --- hours ----------------------------------------------------------------------

def _parse_days(spec: str) -> frozenset[int]:
    out: set[int] = set()
    for part in spec.split(","):
        if "-" in part:
            a, b = part.split("-", 1)
            if a not in _DAYS or b not in _DAYS:
                raise ValueError(f"unknown day in {spec!r}: use {', '.join(_DAYS)}")
            i, j = _DAYS.index(a), _DAYS.index(b)
            out.update(range(i, j + 1) if i <= j else [*range(i, 7), *range(0, j + 1)])
        else:
            if part not in _DAYS:
                raise ValueError(f"unknown day {part!r}: use {', '.join(_DAYS)}")
            out.add(_DAYS.index(part))
    return frozenset(out)


def _parse_hm(s: str) -> int:
    h, m = s.split(":")
    h_, m_ = int(h), int(m)
    if not (0 <= h_ <= 24 and 0 <= m_ < 60) or (h_ == 24 and m_ != 0):
        raise ValueError(f"bad time {s!r}")
    return h_ * 60 + m_


def parse_hours(rules: list[str]) -> tuple[tuple[frozenset[int], int, int], ...]:
    """``["mon-fri 08:30-12:00", "sat 09:00-12:00"]`` -> (days, start min, end min) rules."""
    out = []
    for rule in rules:
        m = _HOURS_RE.match(str(rule).lower())
        if not m:
            raise ValueError(f"bad opening hours {rule!r}: write '7x24' or a list like 'mon-fri 08:30-17:30'")
        days = _parse_days(m.group(1))
        start, end = _parse_hm(m.group(2)), _parse_hm(m.group(3))
        if end <= start:
            raise ValueError(f"bad opening hours {rule!r}: the end must be after the start")
        out.append((days, start, end))
    return tuple(out)


# --- the schema -------------------------------------------------------------------

class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Transition(_Model):
    """过渡期电话语音提示 (邯政办字〔2021〕24号 二(一)4): played until ``until``."""
    text: str = Field(min_length=1)
    until: date


class Overflow(_Model):
    """Where a call goes when its target does not answer in ``timeout`` seconds
    or is busy: ``12345`` (the line's skill queue at 12345), a queue name, or
    another number of the map."""
    to: str = "12345"
    timeout: int = Field(default=20, ge=5, le=300)
    priority: int = Field(default=0, ge=0, le=100)

    @field_validator("to", mode="before")
    @classmethod
    def _str(cls, v):
        return str(v) if isinstance(v, int) else v


def _hours_field(v):
    if v is None:
        return "7x24"
    if isinstance(v, str):
        s = v.strip().lower().replace("×", "x").replace(" ", "")
        if s in ("7x24", "24x7", "always"):
            return "7x24"
        return [v]
    return v


class Line(_Model):
    number: str = Field(pattern=r"^\d{3,20}$")
    name: str = Field(min_length=1)
    department: str = Field(min_length=1)  # 责任单位
    mode: str
    level: Literal["city", "province"] = "city"
    seats: Literal["cancelled", "retained", "retained_temporarily"] = "cancelled"
    keep_number: Optional[bool] = None  # default: merge cancels the number, dual/subcenter keep it
    hours: str | list[str] = "7x24"
    queue: Optional[str] = None  # skill queue; default: the department's skill
    target: Optional[str] = None  # trunk name: sub-center, department seats (province: the province trunk)
    overflow: Overflow = Overflow()
    transition: Optional[Transition] = None
    flow: Optional[str] = None  # IVR flow (ivr_flows/) for calls 12345 answers, e.g. "legacy"; none = queue
    expert_seats: bool = False  # 双号并行 1: 建立行业专家选派和管理长效机制
    collect_records: bool = False  # 设分中心 1: 相关数据实时向12345热线平台归集
    row: Optional[str] = None  # the annex row, e.g. "双号并行 2"
    notes: Optional[str] = None  # the annex 备注, as written


    @field_validator("number", mode="before")
    @classmethod
    def _number_str(cls, v):
        return str(v) if isinstance(v, int) else v

    @field_validator("mode", mode="before")
    @classmethod
    def _mode(cls, v):
        if not isinstance(v, str):
            raise ValueError(f"mode must be text, got {v!r}")
        normalize_mode(v)
        return v

    @field_validator("level", mode="before")
    @classmethod
    def _level(cls, v):
        if isinstance(v, str) and v.strip().lower() in LEVEL_ALIASES:
            return LEVEL_ALIASES[v.strip().lower()]
        if isinstance(v, str) and "省" in v:
            return "province"
        return v

    @field_validator("hours", mode="before")
    @classmethod
    def _hours(cls, v):
        v = _hours_field(v)
        if v != "7x24":
            if not isinstance(v, list):
                raise ValueError("hours: write '7x24' or a list like ['mon-fri 08:30-17:30']")
            parse_hours(v)
        return v

    @property
    def canonical_mode(self) -> str:
        return normalize_mode(self.mode)[0]

    @property
    def number_kept(self) -> bool:
        if self.keep_number is not None:
            return self.keep_number
        return self.canonical_mode != "merge"

    @property
    def always_open(self) -> bool:
        return self.hours == "7x24"

    @property
    def hour_rules(self):
        return () if self.always_open else parse_hours(self.hours)  # type: ignore[arg-type]


class Trunk(_Model):
    """A SIP peer of the platform: the province platform, a sub-center, or a
    department's own seats (双号并行 lines that keep their seats)."""
    kind: Literal["province", "subcenter", "seats"]
    contact: str
    description: str = ""
    max_channels: int = Field(default=0, ge=0)  # 0 = unlimited; when all are busy the call overflows

    @field_validator("contact")
    @classmethod
    def _contact(cls, v):
        if not _CONTACT_RE.match(v):
            raise ValueError(f"contact {v!r} is not a SIP URI like sip:10.0.0.5:5060")
        return v


class Department(_Model):
    skill: str  # queue of 12345 agents who handle this department's calls
    description: str = ""


class Hotline(_Model):
    number: str = Field(default="12345", pattern=r"^\d{3,20}$")
    name: str = "12345政务服务便民热线"
    department: str = "市政务服务管理办公室"
    queue: str = "hotline"
    flow: Optional[str] = None  # IVR flow played to 12345 callers; none = straight to the queue

    @field_validator("number", mode="before")
    @classmethod
    def _number_str(cls, v):
        return str(v) if isinstance(v, int) else v


class CatchAll(_Model):
    """整体并入 row 10: every other department line; no hotline = handling unit."""
    row: Optional[str] = "整体并入 10"
    name: str = "各级各有关部门设立的各类政务服务便民热线电话（含移动电话号码）"
    department: str = "各级各有关部门"
    queue: str = "hotline"
    notes: Optional[str] = None


class TransferMap(_Model):
    version: Literal[1] = 1
    timezone: str = "Asia/Shanghai"
    # the city's long-distance code: carriers may deliver 12349 as 031012349 (or +8631012349)
    area_code: Optional[str] = Field(default=None, pattern=r"^0\d{2,3}$")
    hotline: Hotline = Hotline()
    queues: dict[str, str]  # name -> description
    departments: dict[str, Department]
    trunks: dict[str, Trunk] = {}
    holidays: list[date] = []  # 法定节假日: lines that are not 7x24 are closed
    workdays: list[date] = []  # 调休: weekend days worked as a Monday
    catch_all: CatchAll = CatchAll()
    lines: list[Line] = []

    _by_number: dict[str, Line] = PrivateAttr(default_factory=dict)

    def model_post_init(self, __context: Any) -> None:
        self._by_number = {ln.number: ln for ln in self.lines}

    def line(self, number: str) -> Line | None:
        return self._by_number.get(number)

    def skill_of(self, line: Line) -> str:
        if line.queue:
            return line.queue
        dept = self.departments.get(line.department)
        return dept.skill if dept else self.hotline.queue

    def province_trunk(self) -> str | None:
        for name, trunk in sorted(self.trunks.items()):
            if trunk.kind == "province":
                return name
        return None

    def target_of(self, line: Line) -> str | None:
        """Trunk name the line dials, or None when 12345 agents answer it."""
        if line.level == "province":
            return line.target or self.province_trunk()
        if line.canonical_mode == "subcenter":
            return line.target
        if line.canonical_mode == "dual" and line.seats != "cancelled":
            return line.target
        return None


# --- validation ---------------------------------------------------------------------

def check(data: Any, src: Source, today: date) -> tuple[TransferMap | None, list[Problem]]:
    """Validate a parsed map.  Pure: returns the map (or None) and every problem."""
    problems: list[Problem] = []
    if not isinstance(data, dict):
        return None, [src.problem((), "the transfer map must be a mapping with queues, departments, trunks and lines")]
    # emergency numbers first, with the policy reason, before any schema noise
    for i, ln in enumerate(data.get("lines") or []):
        if isinstance(ln, dict) and str(ln.get("number", "")).strip() in NEVER_INTEGRATED:
            problems.append(src.problem(("lines", i, "number"),
                                        f"{ln['number']} is never integrated into 12345: "
                                        f"{NEVER_INTEGRATED[str(ln['number']).strip()]}"))
    for section, what in (("queues", "an Asterisk queue name"), ("trunks", "a PJSIP endpoint name")):
        if isinstance(data.get(section), dict):
            for name in data[section]:
                if not _NAME_RE.match(str(name)):
                    problems.append(src.problem((section, name), f"{section[:-1]} name {name!r}: lower-case ASCII "
                                                                 f"letters, digits, - and _ (it is {what})"))
                elif section == "queues" and name in RESERVED_QUEUES:
                    problems.append(src.problem((section, name), f"queue name {name!r} is reserved: it is the "
                                                                 f"[{name}] section of queues.conf"))
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
            problems.extend(p for p in pydantic_problems(exc, src, ("lines", i))
                            if not _is_emergency_dup(p, problems))
    top = {k: v for k, v in data.items() if k != "lines"}
    try:
        TransferMap.model_validate(top)
    except ValidationError as exc:
        problems.extend(pydantic_problems(exc, src))
        return None, _sorted(problems)
    tmap = TransferMap.model_validate({**top, "lines": [ln.model_dump() for _, ln in good]})
    problems.extend(_semantic(tmap, src, today, [i for i, _ in good]))
    return (None if problems else tmap), _sorted(problems)


def _is_emergency_dup(p: Problem, existing: list[Problem]) -> bool:
    return any(e.line == p.line and e.column == p.column for e in existing)


def _sorted(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in sorted(problems, key=lambda p: (p.file, p.line, p.column, p.message)):
        if (p.line, p.column, p.message) not in seen:
            seen.add((p.line, p.column, p.message))
            out.append(p)
    return out


def _semantic(tm: TransferMap, src: Source, today: date, index: list[int]) -> list[Problem]:
    """``index[k]`` is where ``tm.lines[k]`` sits in the file's ``lines`` list."""
    out: list[Problem] = []
    P = src.problem
    try:
        import zoneinfo
        zoneinfo.ZoneInfo(tm.timezone)
    except Exception:
        out.append(P(("timezone",), f"unknown time zone {tm.timezone!r}"))
    if tm.hotline.queue not in tm.queues:
        out.append(P(("hotline", "queue"), f"unknown queue {tm.hotline.queue!r}; known: {_known(tm.queues)}"))
    if tm.catch_all.queue not in tm.queues:
        out.append(P(("catch_all", "queue"), f"unknown queue {tm.catch_all.queue!r}; known: {_known(tm.queues)}"))
    for dname, dept in tm.departments.items():
        if dept.skill not in tm.queues:
            out.append(P(("departments", dname, "skill"),
                         f"unknown queue {dept.skill!r} for department {dname}; known: {_known(tm.queues)}"))
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
            out.append(P(at + ("department",), f"unknown department {ln.department!r}: declare it under "
                                               f"departments (with its skill queue) to make it a handling unit"))
        if ln.queue is not None and ln.queue not in tm.queues:
            out.append(P(at + ("queue",), f"unknown queue {ln.queue!r}; known: {_known(tm.queues)}"))
        if implied_seats and ln.seats not in implied_seats:
            out.append(P(at + ("seats",), f"mode {ln.mode} means seats {' or '.join(implied_seats)}, "
                                          f"not {ln.seats} (晋政办发电〔2020〕47号 二(二)2)"))
        if mode == "merge" and ln.seats != "cancelled":
            out.append(P(at + ("seats",), "整体并入 cancels the department's seats: the calls are answered by "
                                          "12345 (邯政办字〔2021〕24号 二(一)2); use dual to keep seats"))
        if mode == "subcenter":
            if ln.seats == "cancelled":
                out.append(P(at + ("seats",), "设分中心 keeps the sub-center's number and seats (annex 三.1)"))
            if not ln.always_open:
                out.append(P(at + ("hours",), "设分中心 serves 7x24 (annex 三.1: 提供“7×24小时”全天候人工服务)"))
        if ln.level == "province" and not tm.province_trunk() and not ln.target:
            out.append(P(at + ("level",), "province line without a province trunk: add a trunk of kind province"))
        needs_target = ln.level == "city" and (mode == "subcenter" or (mode == "dual" and ln.seats != "cancelled"))
        if needs_target and not ln.target:
            what = "sub-center" if mode == "subcenter" else "department seats"
            out.append(P(at + ("mode",), f"{MODE_NAMES[mode]} line {ln.number} with seats kept needs a target "
                                         f"(the trunk of its {what})"))
        if ln.target is not None:
            trunk = tm.trunks.get(ln.target)
            if trunk is None:
                out.append(P(at + ("target",), f"unknown target {ln.target!r}; trunks: {_known(tm.trunks)}"))
            elif mode == "subcenter" and ln.level == "city" and trunk.kind == "seats":
                out.append(P(at + ("target",), f"target {ln.target!r} is department seats, not a sub-center"))
            elif tm.target_of(ln) is None:
                out.append(P(at + ("target",), f"target {ln.target!r} is never dialed: 12345 agents answer "
                                               f"this line ({MODE_NAMES[mode]}, seats {ln.seats})"))
        if not ln.always_open and tm.target_of(ln) is None:
            out.append(P(at + ("hours",), "hours apply to the line's target; this line is answered by 12345, "
                                          "which is 7x24 (邯政办字〔2021〕24号 二(一)1)"))
        ov = ln.overflow
        if ov.to != tm.hotline.number and ov.to not in tm.queues and ov.to not in {x.number for x in tm.lines}:
            out.append(P(at + ("overflow", "to"), f"unknown overflow target {ov.to!r}: 12345, a queue or a "
                                                  f"number of this map"))
        if ov.to in NEVER_INTEGRATED:
            out.append(P(at + ("overflow", "to"), f"overflow to {ov.to}: {NEVER_INTEGRATED[ov.to]}"))
        if ln.transition is not None and ln.transition.until < today:
            out.append(P(at + ("transition", "until"), f"the transition announcement ended on "
                                                       f"{ln.transition.until.isoformat()} (today is "
                                                       f"{today.isoformat()}): remove it or move the date"))
    out.extend(_overflow_loops(tm, src, index))
    return out


def _overflow_loops(tm: TransferMap, src: Source, file_index: list[int]) -> list[Problem]:
    out = []
    index = {ln.number: k for k, ln in enumerate(tm.lines)}
    reported: set[frozenset[str]] = set()
    for ln in tm.lines:
        chain = [ln.number]
        cur = ln
        while cur.overflow.to in index and tm.target_of(cur) is not None:
            nxt = cur.overflow.to
            if nxt in chain:
                cycle = chain[chain.index(nxt):]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    i = file_index[index[cycle[-1]]]
                    out.append(src.problem(("lines", i, "overflow", "to"),
                                           "overflow loop: " + " -> ".join(cycle + [nxt])))
                break
            chain.append(nxt)
            cur = tm.lines[index[nxt]]
    return out


def _known(d) -> str:
    return ", ".join(sorted(map(str, d))) or "(none)"


# --- loading --------------------------------------------------------------------------

def load_map(path: Path | str, today: date | None = None) -> TransferMap:
    """Load and validate; raise :class:`ConfigError` with every problem."""
    data, src = load(path)
    tmap, problems = check(data, src, today or date.today())
    if problems:
        raise ConfigError(problems)
    assert tmap is not None
    return tmap


def loads_map(text: str, file: str = "<string>", today: date | None = None) -> TransferMap:
    data, src = loads(text, file)
    tmap, problems = check(data, src, today or date.today())
    if problems:
        raise ConfigError(problems)
    assert tmap is not None
    return tmap


def check_file(path: Path | str, today: date) -> list[Problem]:
    try:
        data, src = load(path)
    except ConfigError as exc:
        return exc.problems
    return check(data, src, today)[1]


def load_or_keep(path: Path | str, current: TransferMap | None,
                 today: date | None = None) -> tuple[TransferMap | None, list[Problem]]:
    """For reloads: the new map if it is valid, else ``current`` (the last good one)."""
    try:
        return load_map(path, today), []
    except ConfigError as exc:
        return current, exc.problems


# --- renderer provider (asterisk_conf/render.py) ------------------------------------

def render_context(*, settings, tmap, paths, sounds_host=None, ctx=None) -> dict:
    """Trunks and lines for pjsip_trunks.conf.j2 and extensions_routes.conf.j2.

    Also: every skill queue of the map is made to exist (added to ``queues``
    when the queue provider did not list it), and the map's prompts (过渡期
    announcements, emergency refusals) are generated into ``sounds_host``."""
    out: dict = {"trunks": [], "map_lines": [], "transfer_targets": [], "hotline_number": "12345", "area_code": "",
                 "catch_all": {"queue": "hotline", "department": "", "row": ""}}
    if tmap is None:
        return out
    served: dict[str, list[dict]] = {}
    for ln in sorted(tmap.lines, key=lambda x: x.number):
        tgt = tmap.target_of(ln)
        row = {"number": ln.number, "name": ln.name, "department": ln.department,
               "mode": ln.canonical_mode, "level": ln.level, "target": tgt or "",
               "skill": tmap.skill_of(ln), "dial": f"PJSIP/{ln.number}@{tgt}" if tgt else ""}
        out["map_lines"].append(row)
        if tgt:
            out["transfer_targets"].append(row)
            served.setdefault(tgt, []).append(row)
    for name, t in sorted(tmap.trunks.items()):
        m = re.match(r"^(sips?):(\[[^\]]+\]|[^:;]+)(?::(\d+))?", t.contact)
        host = m.group(2).strip("[]") if m else "127.0.0.1"
        port = int(m.group(3)) if m and m.group(3) else 5060
        lines = served.get(name, [])
        # calls a peer sends back to 12345 belong to its line when it serves exactly one
        home = lines[0] if len(lines) == 1 else None
        out["trunks"].append({"name": name, "kind": t.kind, "contact": t.contact, "host": host, "port": port,
                              "description": t.description, "max_channels": t.max_channels,
                              "lines": lines, "home": home})
    out["hotline_number"] = tmap.hotline.number
    out["area_code"] = tmap.area_code or ""
    ca = tmap.catch_all
    out["catch_all"] = {"queue": ca.queue, "department": ca.department, "row": ca.row or ""}
    if ctx is not None and isinstance(ctx.get("queues"), list):
        have = {q.get("name") for q in ctx["queues"]}
        proto = dict(ctx["queues"][0]) if ctx["queues"] else {"strategy": "rrmemory", "wrapuptime": 0,
                                                              "overflow": ""}
        extra = [{**proto, "name": q} for q in sorted(tmap.queues) if q not in have]
        if extra:
            out["queues"] = list(ctx["queues"]) + extra
    if sounds_host is not None:
        try:
            from asterisk_conf.prompts import ensure_prompts, map_prompts, tools_available

            if tools_available() is None:
                ensure_prompts(map_prompts(tmap), Path(sounds_host))
        except Exception as exc:  # a missing prompt is a warning in Asterisk, not a reason to refuse a map
            import logging

            logging.getLogger("hotline.transfer_map").warning("prompts not generated: %s", exc)
    return out


def now_in(tmap: TransferMap, when: datetime) -> datetime:
    """``when`` in the map's time zone (naive datetimes are taken as local)."""
    if when.tzinfo is None:
        return when
    import zoneinfo
    return when.astimezone(zoneinfo.ZoneInfo(tmap.timezone)).replace(tzinfo=None)


def is_open(tmap: TransferMap, line: Line, when: datetime | None) -> bool:
    """Pure: is the line's target open at ``when`` (local)?  None = always."""
    if line.always_open or when is None:
        return True
    local = now_in(tmap, when)
    d = local.date()
    if d in tmap.holidays:
        return False
    weekday = 0 if d in tmap.workdays else local.weekday()
    minute = local.hour * 60 + local.minute
    return any(weekday in days and start <= minute < end for days, start, end in line.hour_rules)

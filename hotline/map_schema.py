"""The schema of ``transfer_map.yaml``: pydantic models, one per section.

Validation across sections (unknown departments, overflow loops, the plans'
rules) is in :mod:`hotline.map_check`; loading in :mod:`hotline.transfer_map`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from hotline.calendar import Calendar, WeeklyHours, parse_hours
from hotline.names import DEFAULT_HOTLINE_QUEUE, expert_queue
from hotline.policy import LEVEL_ALIASES, LINKAGE_NUMBERS, normalize_mode

_CONTACT_RE = re.compile(r"^sips?:[A-Za-z0-9.\-\[\]:]+(:\d{1,5})?(;transport=(udp|tcp|tls))?$")


def _hours_field(v: Any) -> Any:
    if v is None:
        return "7x24"
    if isinstance(v, str):
        s = v.strip().lower().replace("×", "x").replace(" ", "")
        if s in ("7x24", "24x7", "always"):
            return "7x24"
        return [v]
    return v


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Transition(_Model):
    """过渡期电话语音提示 (邯政办字〔2021〕24号 二(一)4): played until ``until``."""

    text: str = Field(min_length=1)
    until: date


class SkillQueue(_Model):
    """A skill queue written as a mapping: its description and its longest wait.

    ``overflow_after`` seconds in the queue without an agent, the caller goes on
    to ``overflow_to`` (default: the hotline's queue), keeping a priority one
    above the one it had, so that it is not put behind the callers who only
    just called (Queue()'s own timeout; extensions_routes.conf ``hotline-enqueue``)."""

    name: str = Field(min_length=1)  # the description, as in the plain form `minzheng: 民政`
    overflow_after: int | None = Field(default=None, ge=1, le=3600)
    overflow_to: str | None = None  # a queue of the map; None: the hotline's queue


class Overflow(_Model):
    """Where a call goes when its target does not answer in ``timeout`` seconds
    or is busy: the hotline's number (the line's skill queue at the hotline;
    the default), a queue name, or another number of the map."""

    to: str | None = None  # None: the hotline (TransferMap.overflow_to)
    timeout: int = Field(default=20, ge=5, le=300)
    priority: int = Field(default=0, ge=0, le=100)

    @field_validator("to", mode="before")
    @classmethod
    def _str(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v


class Line(_Model):
    number: str = Field(pattern=r"^\d{3,20}$")
    name: str = Field(min_length=1)
    department: str = Field(min_length=1)  # 责任单位
    mode: str
    level: Literal["city", "province"] = "city"
    seats: Literal["cancelled", "retained", "retained_temporarily"] = "cancelled"
    hours: str | list[str] = "7x24"
    queue: str | None = None  # skill queue; default: the department's skill
    target: str | None = None  # trunk name: sub-center, department seats (province: the province trunk)
    overflow: Overflow = Overflow()
    transition: Transition | None = None
    # retained_temporarily: the last day the department seats answer; from the
    # day after, the line's calls go to its 12345 skill queue (seats cancelled)
    seats_until: date | None = None
    flow: str | None = None  # IVR flow (ivr_flows/) for calls 12345 answers, e.g. "legacy"; none = queue
    expert_seats: bool = False  # 双号并行 1: 建立行业专家选派和管理长效机制
    collect_records: bool = False  # 设分中心 1: 相关数据实时向12345热线平台归集
    row: str | None = None  # the annex row, e.g. "双号并行 2"
    notes: str | None = None  # the annex 备注, as written

    @model_validator(mode="before")
    @classmethod
    def _removed(cls, v: Any) -> Any:
        if isinstance(v, dict) and "keep_number" in v:
            raise ValueError(
                "keep_number is no longer a setting: the mode says whether the number is kept "
                "(整体并入 cancels it, 双号并行 and 设分中心 keep it) and `transition` {text, until} "
                "is what a cancelled number plays before it connects, until its last day"
            )
        return v

    @field_validator("number", mode="before")
    @classmethod
    def _number_str(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v

    @field_validator("mode", mode="before")
    @classmethod
    def _mode(cls, v: Any) -> Any:
        if not isinstance(v, str):
            raise ValueError(f"mode must be text, got {v!r}")
        normalize_mode(v)
        return v

    @field_validator("level", mode="before")
    @classmethod
    def _level(cls, v: Any) -> Any:
        if isinstance(v, str) and v.strip().lower() in LEVEL_ALIASES:
            return LEVEL_ALIASES[v.strip().lower()]
        if isinstance(v, str) and "省" in v:
            return "province"
        return v

    @field_validator("hours", mode="before")
    @classmethod
    def _hours(cls, v: Any) -> Any:
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
        """整体并入 cancels the number (after its 过渡期 the carrier stops sending it);
        双号并行 and 设分中心 keep it."""
        return self.canonical_mode != "merge"

    def seats_answer(self, day: date | None) -> bool:
        """Whether the department seats still answer on ``day`` (None: no date rules)."""
        return self.seats_until is None or day is None or day <= self.seats_until

    @property
    def always_open(self) -> bool:
        return self.hours == "7x24"

    @property
    def weekly_hours(self) -> WeeklyHours:
        """The line's opening hours (its target's), for :meth:`Calendar.is_open`."""
        return parse_hours(self.hours)


class Trunk(_Model):
    """A SIP peer of the platform: the province platform (on a city platform), a city
    platform (on the province platform: the city matters it dispatches), a sub-center, a
    department's own seats (双号并行 lines that keep their seats), or an
    emergency linkage trunk (紧急热线联动: the 110/119/120/122 centres it reaches,
    ``numbers``; dialed as PJSIP/110@<trunk>)."""

    kind: Literal["province", "city", "subcenter", "seats", "emergency"]
    contact: str
    description: str = ""
    max_channels: int = Field(default=0, ge=0)  # 0 = unlimited; when all are busy the call overflows
    # seconds between SIP OPTIONS to the peer (PJSIP qualify_frequency); 0 = never.  A peer that
    # does not answer them is marked unavailable: its calls take the fallback at once, after the
    # caller hears why, instead of ringing into nothing for the line's timeout
    qualify: int = Field(default=30, ge=0, le=3600)
    numbers: list[str] = []  # kind emergency only: the emergency lines behind this trunk
    # province/city trunks: digest authentication both ways with this user name (the same on both
    # platforms; the password is generated into the secrets file, docs/province.md); None: the
    # peer is known by its address and port only
    digest_user: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_]{0,31}$")

    @field_validator("contact")
    @classmethod
    def _contact(cls, v: Any) -> Any:
        if not _CONTACT_RE.match(v):
            raise ValueError(f"contact {v!r} is not a SIP URI like sip:127.0.0.1:5190")
        return v

    @field_validator("numbers", mode="before")
    @classmethod
    def _numbers(cls, v: Any) -> Any:
        if isinstance(v, list):
            v = [str(n).strip() if isinstance(n, (int, str)) else n for n in v]
            bad = [n for n in v if n not in LINKAGE_NUMBERS]
            if bad:
                raise ValueError(
                    f"numbers {bad}: a linkage trunk reaches only {', '.join(LINKAGE_NUMBERS)}"
                    " (邯政办字〔2021〕24号: 12345与110、119、120、122等紧急热线的联动机制)"
                )
            dup = sorted({n for n in v if v.count(n) > 1})
            if dup:
                raise ValueError(f"numbers: {', '.join(dup)} listed twice")
        return v

    @model_validator(mode="after")
    def _kind_numbers(self) -> Trunk:
        if self.kind == "emergency" and not self.numbers:
            raise ValueError('a trunk of kind emergency needs numbers, e.g. numbers: ["110"]')
        if self.kind != "emergency" and self.numbers:
            raise ValueError(f"numbers are for trunks of kind emergency, not {self.kind}")
        if self.digest_user and self.kind not in ("province", "city"):
            raise ValueError(f"digest_user is for the trunks between the levels (province, city), not {self.kind}")
        return self


DEPARTMENT_KINDS = ("hotline", "department", "subcenter", "district", "others")
DEPARTMENT_CODE = r"^[a-z][a-z0-9_]{0,31}$"


class Department(_Model):
    """A handling unit (责任单位 / 承办单位), keyed by its code in the map."""

    name: str = Field(min_length=1)  # display name, e.g. 市民政局
    skill: str | None = None  # queue of the agents who answer its lines; None: the hotline's queue
    kind: Literal["hotline", "department", "subcenter", "district", "others"] = "department"
    description: str = ""
    # 职责: what the unit handles, in the words citizens use; the dispatch suggestions
    # (workorder/suggest.py) rank units by it.  places: the unit's towns, streets and
    # landmarks (districts and counties: 属地), matched in a complaint's text.
    duties: str = ""
    places: tuple[str, ...] = ()
    # 县直部门: the county (a unit of kind district) this department belongs to; the city
    # dispatches to the county, the county on to it (workorder/county.py, docs/workorder.md)
    parent: str | None = None


@dataclass(frozen=True)
class HandlingUnit:
    """A department as the work-order store sees it."""

    code: str
    name: str
    kind: str
    skill: str
    lines: tuple[str, ...]  # the legacy numbers it answered
    parent: str | None = None  # 县直部门: its county (kind district)


class Hotline(_Model):
    number: str = Field(default="12345", pattern=r"^\d{3,20}$")
    name: str = "12345政务服务便民热线"
    department: str | None = None  # code of the unit that runs the hotline (departments:)
    queue: str = DEFAULT_HOTLINE_QUEUE
    flow: str | None = None  # IVR flow played to 12345 callers; none = straight to the queue

    @field_validator("number", mode="before")
    @classmethod
    def _number_str(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v


class CatchAll(_Model):
    """整体并入 row 10: every other department line; no hotline = handling unit."""

    row: str | None = "整体并入 10"
    name: str = "各级各有关部门设立的各类政务服务便民热线电话（含移动电话号码）"
    department: str | None = None  # code of the catch-all unit (departments:)
    queue: str = DEFAULT_HOTLINE_QUEUE
    notes: str | None = None


class TransferMap(_Model):
    version: Literal[1] = 1
    # the city's long-distance code: carriers may deliver 12349 as 031012349 (or +8631012349)
    area_code: str | None = Field(default=None, pattern=r"^0\d{2,3}$")
    hotline: Hotline = Hotline()
    queues: dict[str, str | SkillQueue]  # name -> description, or {name, overflow_after, overflow_to}
    departments: dict[str, Department]
    trunks: dict[str, Trunk] = {}
    catch_all: CatchAll = CatchAll()
    lines: list[Line] = []

    _by_number: dict[str, Line] = PrivateAttr(default_factory=dict)
    # the one calendar (holidays, 调休, time zone), attached by the loader
    _calendar: Calendar = PrivateAttr(default_factory=Calendar)

    def model_post_init(self, __context: Any) -> None:
        self._by_number = {ln.number: ln for ln in self.lines}

    @property
    def calendar(self) -> Calendar:
        return self._calendar

    def with_calendar(self, calendar: Calendar) -> TransferMap:
        """This map, using ``calendar`` for the lines' hours (set once by the loader)."""
        self._calendar = calendar
        return self

    def overflow_to(self, line: Line) -> str:
        """Where ``line`` overflows: a queue, a number of the map, or the hotline's number."""
        return line.overflow.to if line.overflow.to is not None else self.hotline.number

    def queue_description(self, name: str) -> str:
        q = self.queues.get(name)
        return q.name if isinstance(q, SkillQueue) else (q or "")

    def queue_overflow(self, name: str) -> tuple[int | None, str]:
        """(longest wait in seconds or None, the next queue or "") of queue ``name``.

        The hotline's queue is the last: it never sends a caller on.  Every other
        queue hands its callers on to ``overflow_to`` (the hotline's queue by
        default) after ``overflow_after`` seconds, and at once when none of its
        members can take a call (queues.conf joinempty / leavewhenempty)."""
        if name == self.hotline.queue:
            return None, ""
        q = self.queues.get(name)
        if isinstance(q, SkillQueue):
            return q.overflow_after, q.overflow_to or self.hotline.queue
        return None, self.hotline.queue

    def expert_queues(self) -> dict[str, str]:
        """{expert queue: description} for the skills of the lines with ``expert_seats``."""
        out = {}
        for ln in self.lines:
            if ln.expert_seats:
                skill = self.skill_of(ln)
                out[expert_queue(skill)] = f"{self.queue_description(skill) or skill} 行业专家"
        return out

    def line(self, number: str) -> Line | None:
        return self._by_number.get(number)

    def skill_of(self, line: Line) -> str:
        if line.queue:
            return line.queue
        dept = self.departments.get(line.department)
        return (dept.skill if dept else None) or self.hotline.queue

    def department_name(self, code: str) -> str:
        dept = self.departments.get(code)
        return dept.name if dept else code

    def handling_units(self) -> list[HandlingUnit]:
        """Every department of the map with the numbers of its lines (for the work-order store)."""
        lines: dict[str, list[str]] = {}
        for ln in self.lines:
            lines.setdefault(ln.department, []).append(ln.number)
        return [
            HandlingUnit(code, d.name, d.kind, d.skill or self.hotline.queue, tuple(lines.get(code, ())), d.parent)
            for code, d in self.departments.items()
        ]

    def province_trunk(self) -> str | None:
        for name, trunk in sorted(self.trunks.items()):
            if trunk.kind == "province":
                return name
        return None

    def city_trunks(self) -> list[str]:
        """The trunks to city platforms: a map that has one is the province platform's (docs/province.md)."""
        return [name for name, trunk in sorted(self.trunks.items()) if trunk.kind == "city"]

    def linkage_trunks(self) -> dict[str, str]:
        """Emergency number -> the linkage trunk that reaches it (numbers without one are absent)."""
        out: dict[str, str] = {}
        for name, trunk in sorted(self.trunks.items()):
            if trunk.kind == "emergency":
                for number in trunk.numbers:
                    out.setdefault(number, name)
        return out

    def target_of(self, line: Line) -> str | None:
        """Trunk name the line dials, or None when 12345 agents answer it."""
        target = self.trunks.get(line.target) if line.target else None
        if target is not None and target.kind == "city":
            return line.target  # the province platform dispatches a city's matter to that city (docs/province.md)
        if line.level == "province":
            return line.target or self.province_trunk()
        if line.canonical_mode == "subcenter":
            return line.target
        if line.canonical_mode == "dual" and line.seats != "cancelled":
            return line.target
        return None

    def target_on(self, line: Line, day: date | None) -> str | None:
        """:meth:`target_of` on ``day``: None once the retained_temporarily seats ended."""
        return self.target_of(line) if line.seats_answer(day) else None

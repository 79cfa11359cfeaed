"""The node types of IVR flows: the schema of one flow (pydantic models)."""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from hotline.calendar import Calendar
from hotline.names import QUEUE_NAME_RE, QUEUE_NAME_RULE
from hotline.policy import LINKAGE_NUMBERS

NODE_ID = r"^[a-z][a-z0-9_]{0,39}$"
FLOW_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$"
DTMF_KEYS = frozenset("0123456789*#")
EMERGENCY = LINKAGE_NUMBERS  # the lines an emergency transfer node may name
VAR_RE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")

NodeRef = Annotated[str, Field(pattern=NODE_ID)]


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # free text for people reading the flow
    note: str = ""

    def targets(self) -> list[tuple[tuple[str | int, ...], str]]:
        """(field path inside the node, target node id) for every edge."""
        return []

    def waits(self) -> bool:
        """True if entering this node waits for the caller or a service."""
        return True

    def texts(self) -> dict[str, str]:
        """suffix -> prompt text, for the prompt generator."""
        out = {}
        for name, value in self:
            if isinstance(value, str) and value and (name == "prompt" or name.endswith("_prompt")):
                out[name] = value
        return out


def _edges(node: _Node, *names: str) -> list[tuple[tuple[str | int, ...], str]]:
    return [((n,), getattr(node, n)) for n in names if getattr(node, n, None)]


class Play(_Node):
    type: Literal["play"]
    prompt: str = ""
    # a sound file instead of (or when it expands non-empty, before) the text
    sound: str = ""
    next: NodeRef

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not self.prompt and not self.sound:
            raise ValueError("play needs a prompt or a sound")
        return self

    def targets(self) -> list[tuple[tuple[str | int, ...], str]]:
        return _edges(self, "next")

    def waits(self) -> bool:
        # a sound that expands to nothing passes straight through
        return bool(self.prompt) or not VAR_RE.search(self.sound)


class _Retrying(_Node):
    timeout: float = Field(5, gt=0, le=60)
    max_retries: int = Field(2, ge=0, le=5)
    timeout_prompt: str = "对不起，没有收到您的按键。"
    invalid_prompt: str = "对不起，您的输入有误。"
    # where to go once retries are exhausted
    failure: NodeRef


class Menu(_Retrying):
    type: Literal["menu"]
    prompt: str
    choices: dict[str, NodeRef]
    # go here on timeout at once, without retrying (greeting shortcuts)
    no_input: NodeRef | None = None
    # go here on an invalid key at once, without retrying
    invalid: NodeRef | None = None

    @field_validator("choices")
    @classmethod
    def _keys(cls, v: dict[str, str]) -> dict[str, str]:
        if not v:
            raise ValueError("a menu needs at least one choice")
        bad = [k for k in v if len(str(k)) != 1 or str(k) not in DTMF_KEYS]
        if bad:
            raise ValueError(f"choice keys must be one DTMF key 0-9 * #, not {bad}")
        return v

    def targets(self) -> list[tuple[tuple[str | int, ...], str]]:
        return [(("choices", k), t) for k, t in self.choices.items()] + _edges(self, "no_input", "invalid", "failure")


class Read(_Retrying):
    type: Literal["read"]
    prompt: str
    # the digits are stored in this variable for later nodes (lookup)
    var: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    min_length: int = Field(1, ge=1, le=32)
    max_length: int = Field(20, ge=1, le=32)
    terminator: Literal["#", "*", ""] = "#"
    next: NodeRef

    @model_validator(mode="after")
    def _lengths(self) -> Self:
        if self.min_length > self.max_length:
            raise ValueError("min_length is greater than max_length")
        return self

    def targets(self) -> list[tuple[tuple[str | int, ...], str]]:
        return _edges(self, "next", "failure")


class SpeechChoice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    keywords: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)
    digit: str = ""
    next: NodeRef

    @field_validator("digit")
    @classmethod
    def _digit(cls, v: str) -> str:
        if v and (len(v) != 1 or v not in DTMF_KEYS):
            raise ValueError("digit must be one DTMF key")
        return v


class Speech(_Retrying):
    type: Literal["speech"]
    prompt: str
    choices: list[SpeechChoice] = Field(min_length=1)
    timeout_prompt: str = "对不起，没有听清。"
    invalid_prompt: str = "对不起，没有听懂。"

    def targets(self) -> list[tuple[tuple[str | int, ...], str]]:
        return [(("choices", i, "next"), c.next) for i, c in enumerate(self.choices)] + _edges(self, "failure")

    def grammar(self) -> list[str]:
        seen: list[str] = []
        for c in self.choices:
            for k in c.keywords:
                if k not in seen:
                    seen.append(k)
        return seen


class Lookup(_Node):
    type: Literal["lookup"]
    # the variable a read node filled with the work-order number
    number_var: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    last4_prompt: str = "为保护您的信息，请输入登记电话号码的后四位。"
    denied_prompt: str = "对不起，号码核对不一致，无法查询该工单。"
    not_found_prompt: str = "对不起，没有查到该工单，请核对工单号。"
    error_prompt: str = "对不起，查询暂时无法完成，请稍后再试。"
    timeout: float = Field(6, gt=0, le=60)
    next: NodeRef
    not_found: NodeRef | None = None

    def targets(self) -> list[tuple[tuple[str | int, ...], str]]:
        return _edges(self, "next", "not_found")


class Hot(_Retrying):
    """The knowledge base's hot questions (热点问题): the titles as a menu (1..n), the chosen
    entry's published answer read back, then ``next``.  Only live entries (published, in
    force, not expired) are offered and read: the store's ``ivr`` role enforces it."""

    type: Literal["hot"]
    limit: int = Field(5, ge=1, le=9)
    # spoken before the titles
    prompt: str = "以下是近期热点问题。"
    empty_prompt: str = "目前没有热点问题解答。"
    gone_prompt: str = "对不起，该解答已失效。"
    error_prompt: str = "对不起，热点问题暂时无法收听。"
    timeout: float = Field(5, gt=0, le=60)
    max_retries: int = Field(1, ge=0, le=5)
    # key 0 during the list (a person), none: 0 is an invalid key
    agent: NodeRef | None = None
    # after the answer (or the notice that it is gone)
    next: NodeRef
    # no hot entry (or the store did not answer): default ``next``
    empty: NodeRef | None = None

    def targets(self) -> list[tuple[tuple[str | int, ...], str]]:
        return _edges(self, "next", "empty", "agent", "failure")


class Record(_Node):
    type: Literal["record"]
    prompt: str
    done_prompt: str = "您的留言已记录，我们会尽快处理。"
    error_prompt: str = "对不起，留言未能保存。"
    max_seconds: int = Field(60, ge=3, le=300)
    # transcribe with the free-form speech model when one is configured
    transcribe: bool = True
    next: NodeRef

    def targets(self) -> list[tuple[tuple[str | int, ...], str]]:
        return _edges(self, "next")


_DAY = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


class Hours(_Node):
    type: Literal["hours"]
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = ["mon", "tue", "wed", "thu", "fri"]
    # [[start, end], ...] local time, end exclusive
    open_at: list[tuple[time, time]] = Field(
        default=[(time(8, 30), time(12, 0)), (time(13, 30), time(17, 30))], min_length=1
    )
    # the calendar of public holidays (closed all day) and 调休 workdays (open as
    # a Monday): "platform" = the one calendar (holidays/<year>.yaml); "none" =
    # the weekly hours alone
    calendar: Literal["platform", "none"] = "platform"
    open: NodeRef
    closed: NodeRef

    @model_validator(mode="before")
    @classmethod
    def _moved(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in ("holidays", "workdays"):
                if key in data:
                    raise ValueError(
                        f"{key!r} moved to holidays/<year>.yaml, the platform's one calendar: "
                        "write 'calendar: platform' (or 'calendar: none' to ignore holidays)"
                    )
        return data

    @field_validator("open_at")
    @classmethod
    def _order(cls, v: list[tuple[time, time]]) -> list[tuple[time, time]]:
        for a, b in v:
            if not a < b:
                raise ValueError(f"open interval {a}-{b} is empty")
        return v

    def targets(self) -> list[tuple[tuple[str | int, ...], str]]:
        return _edges(self, "open", "closed")

    def waits(self) -> bool:
        return False

    def weekday_numbers(self) -> set[int]:
        return {_DAY[d] for d in self.days}


class Queue(_Node):
    type: Literal["queue"]
    skill: Annotated[str, Field(min_length=1)]
    priority: int | str = 0
    prompt: str = ""
    # the flow entered after the agent hangs up (the survey), "" for none
    after: str = "survey"
    # offer a callback when the estimated wait passes this many seconds (0: never)
    callback_after: int = Field(0, ge=0, le=3600)
    callback_prompt: str = "当前排队人数较多。如需保留您的排队位置并由我们回拨给您，请按1；继续等待请按2。"
    callback_done_prompt: str = "已为您保留排队位置，轮到您时我们将回拨您的来电号码，请保持电话畅通。"

    @field_validator("skill")
    @classmethod
    def _skill(cls, v: str) -> str:
        if not (QUEUE_NAME_RE.match(v) or VAR_RE.fullmatch(v)):
            raise ValueError(f"skill must be a queue name ({QUEUE_NAME_RULE}) or a ${{VAR}}, not {v!r}")
        return v

    @field_validator("priority")
    @classmethod
    def _prio(cls, v: int | str) -> int | str:
        if isinstance(v, str) and not VAR_RE.fullmatch(v):
            raise ValueError("priority must be a number or a ${VAR}")
        if isinstance(v, int) and not 0 <= v <= 100:
            raise ValueError("priority must be 0..100")
        return v


class Transfer(_Node):
    type: Literal["transfer"]
    kind: Literal["subcenter", "department", "emergency"]
    # sub-center code, department code, or 110/119/120/122
    to: Annotated[str, Field(min_length=1)]
    prompt: str = ""

    @model_validator(mode="after")
    def _to(self) -> Self:
        if self.kind == "emergency" and self.to not in EMERGENCY:
            raise ValueError(f"emergency linkage goes to one of {', '.join(EMERGENCY)}, not {self.to!r}")
        if not re.fullmatch(r"[A-Za-z0-9_-]+|\$\{[A-Z][A-Z0-9_]*\}", self.to):
            raise ValueError("to must be a code [A-Za-z0-9_-] or a ${VAR}")
        return self


class Survey(_Retrying):
    type: Literal["survey"]
    prompt: str = "请您对本次服务进行评价。非常满意请按1，满意请按2，基本满意请按3，不满意请按4，非常不满意请按5。"
    thanks_prompt: str = "感谢您的评价，再见。"
    next: NodeRef

    def targets(self) -> list[tuple[tuple[str | int, ...], str]]:
        return _edges(self, "next", "failure")


class Hangup(_Node):
    type: Literal["hangup"]
    prompt: str = ""

    def waits(self) -> bool:
        return bool(self.prompt)


Node = Annotated[
    Play | Menu | Read | Speech | Lookup | Hot | Record | Hours | Queue | Transfer | Survey | Hangup,
    Field(discriminator="type"),
]


class Flow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    description: str = ""
    start: NodeRef
    nodes: dict[Annotated[str, Field(pattern=NODE_ID)], Node] = Field(min_length=1)
    # the platform's one calendar, for ``hours`` nodes (attached by load_dir)
    _calendar: Calendar = PrivateAttr(default_factory=Calendar)

    @property
    def calendar(self) -> Calendar:
        return self._calendar

    def with_calendar(self, calendar: Calendar) -> Flow:
        self._calendar = calendar
        return self


class FlowFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    flows: dict[Annotated[str, Field(pattern=FLOW_ID)], Flow] = Field(min_length=1)

"""IVR flows as data: the schema of ``ivr_flows/*.yaml`` and its validation.

A file holds named flows; a flow is a start node and nodes keyed by id::

    flows:
      "12345":
        start: greet
        nodes:
          greet: {type: menu, prompt: "...", choices: {"1": progress}, no_input: queue}
          queue: {type: queue, skill: general}

Every file is validated as a whole (pydantic for the shape, then the graph:
dangling targets, unreachable nodes, pass-through loops) and every problem is
reported as ``file:line:column: message``.  A file with any problem is
rejected whole; :func:`load_dir` rejects the directory whole.

Texts are Mandarin prompt texts; the prompt generator turns each into audio
named by :func:`prompt_name`.  ``${NAME}`` in ``sound``, ``skill``, ``to``
and ``priority`` expands from the variables the dialplan passes to the app.
"""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from hotline.calendar import Calendar
from hotline.names import QUEUE_NAME_RE, QUEUE_NAME_RULE
from hotline.settings import Settings, load_calendar
from hotline.yamlsrc import ConfigError, Problem, Source, load

NODE_ID = r"^[a-z][a-z0-9_]{0,39}$"
FLOW_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$"
DTMF_KEYS = frozenset("0123456789*#")
EMERGENCY = ("110", "119", "120", "122")
SURVEY_LEVELS = {1: "非常满意", 2: "满意", 3: "基本满意", 4: "不满意", 5: "非常不满意"}
VAR_RE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")

NodeRef = Annotated[str, Field(pattern=NODE_ID)]


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # free text for people reading the flow
    note: str = ""

    def targets(self) -> list[tuple[tuple, str]]:
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


def _edges(node: _Node, *names: str) -> list[tuple[tuple, str]]:
    return [((n,), getattr(node, n)) for n in names if getattr(node, n, None)]


class Play(_Node):
    type: Literal["play"]
    prompt: str = ""
    # a sound file instead of (or when it expands non-empty, before) the text
    sound: str = ""
    next: NodeRef

    @model_validator(mode="after")
    def _something(self):
        if not self.prompt and not self.sound:
            raise ValueError("play needs a prompt or a sound")
        return self

    def targets(self):
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
    def _keys(cls, v: dict[str, str]):
        if not v:
            raise ValueError("a menu needs at least one choice")
        bad = [k for k in v if len(str(k)) != 1 or str(k) not in DTMF_KEYS]
        if bad:
            raise ValueError(f"choice keys must be one DTMF key 0-9 * #, not {bad}")
        return v

    def targets(self):
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
    def _lengths(self):
        if self.min_length > self.max_length:
            raise ValueError("min_length is greater than max_length")
        return self

    def targets(self):
        return _edges(self, "next", "failure")


class SpeechChoice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    keywords: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)
    digit: str = ""
    next: NodeRef

    @field_validator("digit")
    @classmethod
    def _digit(cls, v: str):
        if v and (len(v) != 1 or v not in DTMF_KEYS):
            raise ValueError("digit must be one DTMF key")
        return v


class Speech(_Retrying):
    type: Literal["speech"]
    prompt: str
    choices: list[SpeechChoice] = Field(min_length=1)
    timeout_prompt: str = "对不起，没有听清。"
    invalid_prompt: str = "对不起，没有听懂。"

    def targets(self):
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

    def targets(self):
        return _edges(self, "next", "not_found")


class Record(_Node):
    type: Literal["record"]
    prompt: str
    done_prompt: str = "您的留言已记录，我们会尽快处理。"
    error_prompt: str = "对不起，留言未能保存。"
    max_seconds: int = Field(60, ge=3, le=300)
    # transcribe with the free-form speech model when one is configured
    transcribe: bool = True
    next: NodeRef

    def targets(self):
        return _edges(self, "next")


_DAY = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


class Hours(_Node):
    type: Literal["hours"]
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = ["mon", "tue", "wed", "thu", "fri"]
    # [[start, end], ...] local time, end exclusive
    open_at: list[tuple[time, time]] = Field(default=[(time(8, 30), time(12, 0)), (time(13, 30), time(17, 30))],
                                             min_length=1)
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
                    raise ValueError(f"{key!r} moved to holidays/<year>.yaml, the platform's one calendar: "
                                     "write 'calendar: platform' (or 'calendar: none' to ignore holidays)")
        return data

    @field_validator("open_at")
    @classmethod
    def _order(cls, v):
        for a, b in v:
            if not a < b:
                raise ValueError(f"open interval {a}-{b} is empty")
        return v

    def targets(self):
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
    def _prio(cls, v):
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
    def _to(self):
        if self.kind == "emergency" and self.to not in EMERGENCY:
            raise ValueError(f"emergency linkage goes to one of {', '.join(EMERGENCY)}, not {self.to!r}")
        if not re.fullmatch(r"[A-Za-z0-9_-]+|\$\{[A-Z][A-Z0-9_]*\}", self.to):
            raise ValueError("to must be a code [A-Za-z0-9_-] or a ${VAR}")
        return self


class Survey(_Retrying):
    type: Literal["survey"]
    prompt: str = ("请您对本次服务进行评价。非常满意请按1，满意请按2，基本满意请按3，"
                   "不满意请按4，非常不满意请按5。")
    thanks_prompt: str = "感谢您的评价，再见。"
    next: NodeRef

    def targets(self):
        return _edges(self, "next", "failure")


class Hangup(_Node):
    type: Literal["hangup"]
    prompt: str = ""

    def waits(self) -> bool:
        return bool(self.prompt)


Node = Annotated[Union[Play, Menu, Read, Speech, Lookup, Record, Hours, Queue, Transfer, Survey, Hangup],
                 Field(discriminator="type")]


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

    def with_calendar(self, calendar: Calendar) -> "Flow":
        self._calendar = calendar
        return self


class FlowFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    flows: dict[Annotated[str, Field(pattern=FLOW_ID)], Flow] = Field(min_length=1)


# --------------------------------------------------------------------------
def graph_problems(flows: dict[str, Flow], src: Source) -> list[Problem]:
    """Dangling targets, unreachable nodes and loops that never wait."""
    problems: list[Problem] = []
    for fname, flow in flows.items():
        base = ("flows", fname)
        if flow.start not in flow.nodes:
            problems.append(src.problem(base + ("start",), f"flow {fname!r}: start node {flow.start!r} does not exist"))
        for nid, node in flow.nodes.items():
            for path, target in node.targets():
                if target not in flow.nodes:
                    problems.append(src.problem(base + ("nodes", nid) + path,
                                                f"flow {fname!r}: node {nid!r} goes to {target!r}, which does not exist"))
        seen: set[str] = set()
        todo = [flow.start] if flow.start in flow.nodes else []
        while todo:
            nid = todo.pop()
            if nid in seen:
                continue
            seen.add(nid)
            todo.extend(t for _, t in flow.nodes[nid].targets() if t in flow.nodes)
        for nid in flow.nodes:
            if nid not in seen and flow.start in flow.nodes:
                problems.append(src.problem(base + ("nodes", nid), f"flow {fname!r}: node {nid!r} is unreachable from {flow.start!r}"))
        # a cycle made only of nodes that do not wait would spin forever
        passing = {nid for nid, n in flow.nodes.items() if not n.waits()}
        for nid in sorted(passing):
            stack, visited = [nid], set()
            while stack:
                cur = stack.pop()
                for _, t in flow.nodes[cur].targets():
                    if t == nid:
                        problems.append(src.problem(base + ("nodes", nid),
                                                    f"flow {fname!r}: node {nid!r} loops back to itself without waiting"))
                        stack = []
                        break
                    if t in passing and t not in visited:
                        visited.add(t)
                        stack.append(t)
    return problems


_TAGS = frozenset({"play", "menu", "read", "speech", "lookup", "record", "hours", "queue", "transfer",
                   "survey", "hangup"})


def _shape_problems(exc: ValidationError, src: Source) -> list[Problem]:
    """pydantic errors at the line of the offending field (without the union tag in the path)."""
    out = []
    for err in exc.errors():
        loc = list(err["loc"])
        if len(loc) >= 5 and loc[0] == "flows" and loc[2] == "nodes" and loc[4] in _TAGS:
            del loc[4]
        msg = err["msg"].removeprefix("Value error, ")
        field_name = ".".join(str(p) for p in loc) or "value"
        out.append(src.problem(tuple(loc), f"{field_name}: {msg}"))
    return out


def parse(data: Any, src: Source) -> dict[str, Flow]:
    """Validate one file's data; raise :class:`ConfigError` with every problem."""
    if not isinstance(data, dict):
        raise ConfigError([src.problem((), "a flow file is a mapping with a 'flows' key")])
    try:
        ff = FlowFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_shape_problems(exc, src)) from None
    problems = graph_problems(ff.flows, src)
    if problems:
        raise ConfigError(problems)
    return dict(ff.flows)


def load_file(path: Path | str) -> dict[str, Flow]:
    data, src = load(path)
    return parse(data, src)


class Flows(dict):
    """name -> Flow over a whole directory, plus the file each came from."""

    def __init__(self, flows: dict[str, Flow], files: dict[str, str]):
        super().__init__(flows)
        self.files = files


def load_dir(directory: Path | str, required: tuple[str, ...] = (), *, calendar: Calendar | None = None) -> Flows:
    """Every ``*.yaml`` under ``directory``, all valid or none (ConfigError).

    ``required``: the flows the transfer map names (:func:`map_flows`).
    ``calendar``: the one calendar for ``hours`` nodes (default: the platform's,
    from the settings of the environment)."""
    directory = Path(directory)
    problems: list[Problem] = []
    flows: dict[str, Flow] = {}
    files: dict[str, str] = {}
    sources: dict[str, tuple[Source, str]] = {}
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise ConfigError([Problem(str(directory), 1, 1, "no *.yaml flow files")])
    for path in paths:
        try:
            data, src = load(path)
            parsed = parse(data, src)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        for name, flow in parsed.items():
            if name in flows:
                problems.append(src.problem(("flows", name), f"flow {name!r} is already defined in {files[name]}"))
                continue
            flows[name] = flow
            files[name] = str(path)
            sources[name] = (src, name)
    # cross-flow references: the flow a queue enters after the agent hangs up
    for name, flow in flows.items():
        src, _ = sources[name]
        for nid, node in flow.nodes.items():
            if isinstance(node, Queue) and node.after and node.after not in flows:
                problems.append(src.problem(("flows", name, "nodes", nid, "after"),
                                            f"flow {name!r}: node {nid!r} enters flow {node.after!r} after the call, which does not exist"))
    if not problems:
        for req in required:
            if req not in flows:
                problems.append(Problem(str(directory), 1, 1, f"flow {req!r}, named by the transfer map, is missing"))
    if problems:
        raise ConfigError(problems)
    cal = calendar if calendar is not None else load_calendar(Settings.from_env())
    return Flows({name: flow.with_calendar(cal) for name, flow in flows.items()}, files)


def map_flows(tmap: Any) -> tuple[str, ...]:
    """The flows a transfer map sends calls to (the hotline's and the lines')."""
    names = {tmap.hotline.flow} | {ln.flow for ln in tmap.lines}
    return tuple(sorted(n for n in names if n))


def prompt_name(flow: str, node: str, suffix: str = "prompt") -> str:
    """File name (no extension) of a node's generated prompt."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", flow)
    tail = "" if suffix == "prompt" else "-" + suffix.removesuffix("_prompt")
    return f"ivr-{safe}-{node}{tail}"


def all_prompts(flows: dict[str, Flow]) -> dict[str, str]:
    """prompt name -> text for every text of every node: what to generate."""
    out: dict[str, str] = {}
    for fname, flow in flows.items():
        for nid, node in flow.nodes.items():
            for suffix, text in node.texts().items():
                out[prompt_name(fname, nid, suffix)] = text
    return out


def expand(value: str, variables: dict[str, str]) -> str:
    """``${NAME}`` from ``variables`` (missing: empty)."""
    return VAR_RE.sub(lambda m: str(variables.get(m.group(1), "")), value)

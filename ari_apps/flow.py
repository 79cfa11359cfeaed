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

# ruff: noqa: F405
from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ari_apps.flow_nodes import *  # noqa: F403 (the node types, re-exported)
from hotline.calendar import Calendar
from hotline.settings import Settings, load_calendar
from hotline.yamlsrc import ConfigError, Problem, Source, load


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
                    problems.append(
                        src.problem(
                            base + ("nodes", nid) + path,
                            f"flow {fname!r}: node {nid!r} goes to {target!r}, which does not exist",
                        )
                    )
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
                problems.append(
                    src.problem(
                        base + ("nodes", nid), f"flow {fname!r}: node {nid!r} is unreachable from {flow.start!r}"
                    )
                )
        # a cycle made only of nodes that do not wait would spin forever
        passing = {nid for nid, n in flow.nodes.items() if not n.waits()}
        for nid in sorted(passing):
            stack, visited = [nid], set()
            while stack:
                cur = stack.pop()
                for _, t in flow.nodes[cur].targets():
                    if t == nid:
                        problems.append(
                            src.problem(
                                base + ("nodes", nid),
                                f"flow {fname!r}: node {nid!r} loops back to itself without waiting",
                            )
                        )
                        stack = []
                        break
                    if t in passing and t not in visited:
                        visited.add(t)
                        stack.append(t)
    return problems


_TAGS = frozenset(
    {"play", "menu", "read", "speech", "lookup", "record", "hours", "queue", "transfer", "survey", "hangup"}
)


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


class Flows(dict[str, Flow]):
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
                problems.append(
                    src.problem(
                        ("flows", name, "nodes", nid, "after"),
                        f"flow {name!r}: node {nid!r} enters flow {node.after!r} after the call, which does not exist",
                    )
                )
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


def expand(value: str, variables: Mapping[str, str]) -> str:
    """``${NAME}`` from ``variables`` (missing: empty)."""
    return VAR_RE.sub(lambda m: str(variables.get(m.group(1), "")), value)

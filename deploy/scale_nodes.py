"""Which skill queues run on which Asterisk node behind Kamailio: the one home of that fact.

app_queue keeps its state inside one Asterisk, so more than one machine means
the skill queues are *sharded*: each skill lives on one node, and Kamailio
(:mod:`deploy.kamailio`) sends a call for a number to the node of the number's
skill.  The file (``nodes.yaml``, path given to ``hotline kamailio render``)::

    kamailio:
      listen: 127.0.0.1:5060      # where citizens' calls (the trunk) reach Kamailio
      probe_interval: 1           # seconds between OPTIONS probes of every node
      probe_timeout: 1.5          # seconds without a reply: the node is out
    nodes:
      - name: node1
        sip: 127.0.0.1:5071       # the node's PJSIP trunk transport
        skills: [hotline]
      - name: node2
        sip: 127.0.0.1:5072
        skills: ["*"]             # every skill of the map not named on another node

Every skill queue of ``transfer_map.yaml`` is on exactly one node (``"*"`` on
at most one node takes the rest).  A dead node's skills go to the other nodes
in the order written (dispatcher priority).  Problems are reported as
``file:line:column: message``, the file rejected whole.

Pure: data in, data out; the Kamailio process is :mod:`deploy.kamailio`'s.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hotline.map_schema import TransferMap
from hotline.yamlsrc import ConfigError, Problem, Source, load, loads

REST = "*"
_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_NUMBER_RE = re.compile(r"^\+?[0-9]{3,20}$")
# the floor keeps a probe storm off the nodes; 5 s is the brief's failover bound
PROBE_INTERVAL_RANGE = (1, 5)
PROBE_TIMEOUT_RANGE = (0.5, 4.0)


@dataclass(frozen=True)
class Node:
    name: str
    host: str
    port: int
    skills: tuple[str, ...]  # resolved: "*" expanded to the skills of the map left over

    @property
    def uri(self) -> str:
        return f"sip:{self.host}:{self.port}"


@dataclass(frozen=True)
class NodePlan:
    listen_host: str
    listen_port: int
    probe_interval: int
    probe_timeout: float
    nodes: tuple[Node, ...]

    def node_of(self, skill: str) -> Node:
        for node in self.nodes:
            if skill in node.skills:
                return node
        raise KeyError(skill)

    def set_id(self, node: Node) -> int:
        """The dispatcher set whose first choice is ``node`` (1-based, in file order)."""
        return self.nodes.index(node) + 1


def _address(value: Any, path: tuple[Any, ...], src: Source, problems: list[Problem]) -> tuple[str, int] | None:
    text = str(value) if value is not None else ""
    host, sep, port = text.rpartition(":")
    try:
        ip = ipaddress.ip_address(host)
        if not sep or not port.isdigit() or not 1 <= int(port) <= 65535 or ip.version != 4:
            raise ValueError
    except ValueError:
        problems.append(src.problem(path, f"{text!r} is not an IPv4 address:port"))
        return None
    return host, int(port)


def _number(value: Any, lo: float, hi: float, path: tuple[Any, ...], src: Source, problems: list[Problem]) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        problems.append(src.problem(path, f"{path[-1]}: {value!r}: a number of seconds from {lo} to {hi}"))
        return lo
    return float(value)


def check(data: Any, src: Source, tmap: TransferMap) -> tuple[NodePlan | None, list[Problem]]:
    """Validate the nodes file against the map's skill queues."""
    problems: list[Problem] = []
    if not isinstance(data, dict):
        return None, [src.problem((), "expected a mapping with `kamailio:` and `nodes:`")]
    for key in data:
        if key not in ("kamailio", "nodes"):
            problems.append(src.problem((key,), f"unknown key {key!r} (kamailio, nodes)"))
    kam = data.get("kamailio")
    if not isinstance(kam, dict):
        problems.append(src.problem(("kamailio",), "`kamailio:` must be a mapping with listen:"))
        kam = {}
    for key in kam:
        if key not in ("listen", "probe_interval", "probe_timeout"):
            problems.append(src.problem(("kamailio", key), f"unknown key {key!r}"))
    listen = _address(kam.get("listen"), ("kamailio", "listen"), src, problems)
    interval = _number(
        kam.get("probe_interval", 1), *PROBE_INTERVAL_RANGE, ("kamailio", "probe_interval"), src, problems
    )
    if interval != int(interval):
        problems.append(src.problem(("kamailio", "probe_interval"), "probe_interval: whole seconds (ds_ping_interval)"))
    timeout = _number(kam.get("probe_timeout", 1.5), *PROBE_TIMEOUT_RANGE, ("kamailio", "probe_timeout"), src, problems)

    raw_nodes = data.get("nodes")
    if not isinstance(raw_nodes, list) or not raw_nodes:
        problems.append(src.problem(("nodes",), "`nodes:` must be a list of at least one node"))
        raw_nodes = []
    skills_of_map = list(tmap.queues)
    owner: dict[str, str] = {}
    rest_node: str | None = None
    seen_names: set[str] = set()
    seen_addrs: set[tuple[str, int]] = set()
    parsed: list[tuple[str, tuple[str, int] | None, list[str], bool]] = []
    for i, raw in enumerate(raw_nodes):
        if not isinstance(raw, dict):
            problems.append(src.problem(("nodes", i), "a node is a mapping: name, sip, skills"))
            continue
        for key in raw:
            if key not in ("name", "sip", "skills"):
                problems.append(src.problem(("nodes", i, key), f"unknown key {key!r} (name, sip, skills)"))
        name = str(raw.get("name", ""))
        if not _NAME_RE.match(name):
            problems.append(src.problem(("nodes", i, "name"), f"{name!r}: a node name is [a-z][a-z0-9_-]*"))
        elif name in seen_names:
            problems.append(src.problem(("nodes", i, "name"), f"node {name!r} written twice"))
        seen_names.add(name)
        addr = _address(raw.get("sip"), ("nodes", i, "sip"), src, problems)
        if addr is not None:
            if addr in seen_addrs:
                problems.append(src.problem(("nodes", i, "sip"), f"{addr[0]}:{addr[1]} is another node's address"))
            if listen is not None and addr == listen:
                problems.append(src.problem(("nodes", i, "sip"), "a node cannot be Kamailio's own listen address"))
            seen_addrs.add(addr)
        skills = raw.get("skills")
        if not isinstance(skills, list) or not skills:
            problems.append(src.problem(("nodes", i, "skills"), 'skills: a list of skill queues of the map, or ["*"]'))
            skills = []
        named: list[str] = []
        has_rest = False
        for j, skill in enumerate(skills):
            skill = str(skill)
            if skill == REST:
                if rest_node is not None:
                    problems.append(src.problem(("nodes", i, "skills", j), f'"*" is already on node {rest_node!r}'))
                rest_node, has_rest = name, True
            elif skill not in tmap.queues:
                problems.append(src.problem(("nodes", i, "skills", j), f"{skill!r} is not a skill queue of the map"))
            elif skill in owner:
                problems.append(
                    src.problem(("nodes", i, "skills", j), f"{skill!r} is already on node {owner[skill]!r}")
                )
            else:
                owner[skill] = name
                named.append(skill)
        parsed.append((name, addr, named, has_rest))
    left = [s for s in skills_of_map if s not in owner]
    if left and rest_node is None and raw_nodes:
        problems.append(src.problem(("nodes",), f'skills of the map on no node: {", ".join(left)} (or add "*")'))
    if problems or listen is None:
        return None, problems
    nodes = tuple(
        Node(name, addr[0], addr[1], tuple(named + (left if has_rest else [])))
        for name, addr, named, has_rest in parsed
        if addr is not None
    )
    return NodePlan(listen[0], listen[1], int(interval), timeout, nodes), []


def load_plan(path: Path | str, tmap: TransferMap) -> NodePlan:
    data, src = load(path)
    return _accept(data, src, tmap)


def loads_plan(text: str, tmap: TransferMap, file: str = "<string>") -> NodePlan:
    data, src = loads(text, file)
    return _accept(data, src, tmap)


def _accept(data: Any, src: Source, tmap: TransferMap) -> NodePlan:
    plan, problems = check(data, src, tmap)
    if problems or plan is None:
        raise ConfigError(problems)
    return plan


def number_skills(tmap: TransferMap) -> dict[str, str]:
    """Every dialled number of the map -> the skill queue whose node takes the call.

    12345 goes to the hotline's queue, each line to its skill; with an area code
    the long forms a carrier may deliver (031012349, +8631012349) too.  Numbers
    not listed go to the catch-all's queue (:func:`default_skill`)."""
    out = {tmap.hotline.number: tmap.hotline.queue}
    for line in tmap.lines:
        out[line.number] = tmap.skill_of(line)
    if tmap.area_code:
        for number, skill in list(out.items()):
            out.setdefault(f"{tmap.area_code}{number}", skill)
            out.setdefault(f"+86{tmap.area_code[1:]}{number}", skill)
    return {n: s for n, s in sorted(out.items()) if _NUMBER_RE.match(n)}


def default_skill(tmap: TransferMap) -> str:
    return tmap.catch_all.queue


def dispatcher_list(plan: NodePlan) -> str:
    """Kamailio's dispatcher.list: one set per node, that node first, the others as
    fail-over in file order (algorithm 8 takes the highest priority alive)."""
    rows = ["# setid destination flags priority attrs  (rendered from the nodes file; do not edit)"]
    n = len(plan.nodes)
    for first in plan.nodes:
        order = [first] + [x for x in plan.nodes if x is not first]
        for rank, node in enumerate(order):
            rows.append(f"{plan.set_id(first)} {node.uri} 0 {n - rank} name={node.name}")
    return "\n".join(rows) + "\n"


def routes(plan: NodePlan, tmap: TransferMap) -> tuple[list[tuple[str, int]], int]:
    """([(number, dispatcher set)], default set) for Kamailio's routing block."""
    table = [(number, plan.set_id(plan.node_of(skill))) for number, skill in number_skills(tmap).items()]
    return table, plan.set_id(plan.node_of(default_skill(tmap)))

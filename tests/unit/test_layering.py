"""The layers run one way: the core at the bottom, no import circles.

    core      hotline/            settings, calendar, names, map schema, logging, secrets, AMI client
    middle    asterisk_conf/ agi/ queues/ ari_apps/ workorder/ web/
    top       deploy/             the stack, the CLI wiring

Every import counts, also one inside a function and a module named in a
string (``optional_import("x")``, ``importlib.import_module("x")``): a
dependency hidden from the module's top is still a dependency.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = "hotline"
MIDDLE = {"asterisk_conf", "agi", "queues", "ari_apps", "workorder", "web"}
TOP = {"deploy"}
PACKAGES = {CORE} | MIDDLE | TOP
# the middle packages that may import which other middle packages (nothing else)
MIDDLE_ALLOWED = {
    "asterisk_conf": set(),
    "agi": set(),
    "queues": {"asterisk_conf"},
    "ari_apps": {"asterisk_conf", "workorder"},
    "workorder": {"queues"},
    "web": {"workorder", "queues"},
}
# imports that may sit inside a function: optional dependencies only
OPTIONAL = {"vosk", "psycopg", "uvicorn", "openpyxl", "selenium"}


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in sorted(PACKAGES):
        base = ROOT / pkg
        if not base.is_dir():
            continue
        for path in base.rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            out[name.removesuffix(".__init__")] = path
    return out


MODULES = _modules()


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    parts = module.split(".")
    if path.name != "__init__.py":
        parts = parts[:-1]
    parts = parts[: len(parts) - node.level + 1]
    return ".".join(parts + ([node.module] if node.module else []))


def _imports(module: str, path: Path):
    """(imported module, line, inside a function?) for every import of ``module``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    inside: set[int] = set()
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inside.update(id(n) for n in ast.walk(fn) if n is not fn)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno, id(node) in inside
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, path, node)
            yield base, node.lineno, id(node) in inside
            for alias in node.names:
                if f"{base}.{alias.name}" in MODULES:
                    yield f"{base}.{alias.name}", node.lineno, id(node) in inside
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("optional_import", "import_module")
        ):
            yield node.args[0].value, node.lineno, id(node) in inside


def _edges() -> dict[str, set[tuple[str, int]]]:
    edges: dict[str, set[tuple[str, int]]] = defaultdict(set)
    for module, path in MODULES.items():
        for target, line, _ in _imports(module, path):
            if target in MODULES and target != module:
                edges[module].add((target, line))
    return edges


def _pkg(module: str) -> str:
    return module.split(".")[0]


def test_the_core_imports_no_package_above_it():
    bad = [
        f"{MODULES[m].relative_to(ROOT)}:{line}: {m} imports {t}"
        for m, targets in _edges().items()
        if _pkg(m) == CORE
        for t, line in sorted(targets)
        if _pkg(t) != CORE
    ]
    assert not bad, "the core must stay at the bottom:\n" + "\n".join(bad)


def test_middle_packages_import_only_what_their_layer_allows():
    bad = []
    for m, targets in _edges().items():
        p = _pkg(m)
        if p not in MIDDLE:
            continue
        for t, line in sorted(targets):
            q = _pkg(t)
            if q == p or q == CORE:
                continue
            if q in TOP or q not in MIDDLE_ALLOWED[p]:
                bad.append(f"{MODULES[m].relative_to(ROOT)}:{line}: {m} imports {t}")
    assert not bad, "imports against the layers:\n" + "\n".join(bad)


def test_no_import_circles_between_modules():
    edges = {m: {t for t, _ in ts} for m, ts in _edges().items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(MODULES):
        if v not in index:
            visit(v)
    assert not cycles, f"import circles: {cycles}"


def test_no_import_circles_between_packages():
    graph: dict[str, set[str]] = defaultdict(set)
    for m, ts in _edges().items():
        for t, _ in ts:
            if _pkg(t) != _pkg(m):
                graph[_pkg(m)].add(_pkg(t))
    pairs = sorted((a, b) for a in graph for b in graph[a] if a < b and a in graph.get(b, set()))
    assert not pairs, f"packages that import each other: {pairs}"


def test_imports_sit_at_the_top_of_modules():
    bad = []
    for module, path in MODULES.items():
        for target, line, inside in _imports(module, path):
            if inside and target.split(".")[0] not in OPTIONAL:
                bad.append(f"{path.relative_to(ROOT)}:{line}: import of {target} inside a function")
    assert not bad, "imports belong at the top (only optional dependencies may wait):\n" + "\n".join(bad)


def test_no_production_file_over_400_lines():
    big = [
        f"{p.relative_to(ROOT)}: {n} lines"
        for p in MODULES.values()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400
    ]
    assert not big, "split along the seams:\n" + "\n".join(big)


def test_the_checker_sees_a_planted_circle(tmp_path, monkeypatch):
    """The layering checks can fail: a core module importing a middle one is caught."""
    a = tmp_path / "hotline" / "x.py"
    a.parent.mkdir()
    a.write_text("from agi import routing\n\ndef f():\n    import queues.stats\n", encoding="utf-8")
    found = list(_imports("hotline.x", a))
    assert ("agi", 1, False) in found and ("queues.stats", 4, True) in found

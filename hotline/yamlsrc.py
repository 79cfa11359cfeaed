"""YAML with positions: every value remembers the line and column it came from.

Configuration files (``transfer_map.yaml``, ``ivr_flows/*.yaml``) are data,
validated as a whole, and every problem is reported as
``file:line:column: message``.  This module gives the validators the
positions: :func:`load` returns the plain data plus a :class:`Source` that
maps a path inside the data (``("lines", 3, "mode")``) to where it was written.

It also refuses duplicate keys, which plain PyYAML silently overwrites.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PathKey = tuple[Any, ...]


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class ConfigError(Exception):
    """A configuration file was rejected as a whole; ``problems`` says why."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass
class Source:
    file: str
    positions: dict[PathKey, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: PathKey) -> tuple[int, int]:
        """Line and column (1-based) of ``path``, or of its nearest written parent."""
        path = tuple(path)
        while path:
            if path in self.positions:
                return self.positions[path]
            path = path[:-1]
        return self.positions.get((), (1, 1))

    def problem(self, path: PathKey, message: str) -> Problem:
        line, col = self.where(path)
        return Problem(self.file, line, col, message)


class _Loader(yaml.SafeLoader):
    pass


def _construct(node: yaml.Node, path: PathKey, src: Source, loader: _Loader, problems: list[Problem]) -> Any:
    src.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        loader.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if key in out:
                problems.append(
                    Problem(
                        src.file, key_node.start_mark.line + 1, key_node.start_mark.column + 1, f"duplicate key {key!r}"
                    )
                )
                continue
            # a key's own position is where the key is written
            src.positions[path + (key,)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = _construct(value_node, path + (key,), src, loader, problems)
            src.positions[path + (key,)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(n, path + (i,), src, loader, problems) for i, n in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def loads(text: str, file: str = "<string>") -> tuple[Any, Source]:
    """Parse ``text``; raise :class:`ConfigError` on a syntax error or duplicate key."""
    src = Source(file)
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            problems: list[Problem] = []
            data = None if node is None else _construct(node, (), src, loader, problems)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise ConfigError([Problem(file, line, col, f"YAML syntax: {exc.problem or exc}")]) from None
    if problems:
        raise ConfigError(problems)
    return data, src


def load(path: Path | str) -> tuple[Any, Source]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([Problem(str(path), 1, 1, "file not found")]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([Problem(str(path), 1, 1, f"not UTF-8: {exc}")]) from None
    return loads(text, str(path))


def pydantic_problems(exc: Any, src: Source, prefix: PathKey = ()) -> list[Problem]:
    """Turn a pydantic ``ValidationError`` into positioned problems."""
    out = []
    for err in exc.errors():
        loc = prefix + tuple(err["loc"])
        field_name = ".".join(str(p) for p in err["loc"]) or "value"
        out.append(src.problem(loc, f"{field_name}: {err['msg']}"))
    return out

"""The hand-written dispatch test set (tests/suggest/complaints.yaml) and its accuracies,
for tests/suggest/ and bench/bench_suggest.py."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from hotline.transfer_map import load_map
from workorder import suggest
from workorder.config import load_categories, load_category_keywords

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def complaints(split: str) -> list[dict]:
    return yaml.safe_load((HERE / "complaints.yaml").read_text(encoding="utf-8"))[split]


def units() -> list[suggest.Unit]:
    return suggest.units_of_map(load_map(ROOT / "transfer_map.yaml"))


def categories() -> tuple[dict[str, str], dict[str, str]]:
    cats = load_categories()
    return cats, load_category_keywords(categories=cats)


@dataclass
class Accuracy:
    n: int = 0
    top1: int = 0
    top3: int = 0
    misses: list[tuple[str, str, list[str]]] = field(default_factory=list)

    def add(self, text: str, want: str, got: Sequence[str]) -> None:
        self.n += 1
        self.top1 += bool(got) and got[0] == want
        self.top3 += want in got[:3]
        if not got or got[0] != want:
            self.misses.append((want, text, list(got[:3])))

    def rates(self) -> tuple[float, float]:
        return self.top1 / max(self.n, 1), self.top3 / max(self.n, 1)


def evaluate(
    items: Sequence[Mapping], rank: Callable[[str], tuple[list[suggest.Suggestion], list[suggest.Suggestion]]]
) -> tuple[Accuracy, Accuracy]:
    """Unit and category accuracies of ``rank(text) -> (units, categories)``."""
    u, c = Accuracy(), Accuracy()
    for item in items:
        us, cs = rank(item["text"])
        u.add(item["text"], item["unit"], [x.code for x in us])
        c.add(item["text"], item["category"], [x.code for x in cs])
    return u, c

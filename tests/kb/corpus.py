"""The hand-written KB test set: entries (tests/kb/entries.yaml) loaded through the store's
lifecycle, questions (tests/kb/questions.yaml), and the hit rates of a search function."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from workorder.kb import KnowledgeBase
from workorder.kb_rules import Actor

HERE = Path(__file__).resolve().parent
AUTHOR = Actor("author", "supervisor")
REVIEWER = Actor("reviewer", "supervisor")
PUBLISHER = Actor("publisher", "admin")


def entries() -> list[dict]:
    return yaml.safe_load((HERE / "entries.yaml").read_text(encoding="utf-8"))


def questions() -> list[dict]:
    return yaml.safe_load((HERE / "questions.yaml").read_text(encoding="utf-8"))


def load(kb: KnowledgeBase) -> dict[str, int]:
    """Every entry written, reviewed by another person and published: key -> id."""
    ids = {}
    for e in entries():
        a = kb.create({k: e[k] for k in ("title", "body", "tags", "department")}, AUTHOR)
        kb.act(a["id"], "review", REVIEWER)
        kb.act(a["id"], "publish", PUBLISHER)
        ids[e["key"]] = a["id"]
    return ids


@dataclass
class Score:
    n: int
    hit1: float
    hit5: float
    mrr: float
    misses: list[tuple[str, str, list[int]]]


def evaluate(search: Callable[[str], list[int]], ids: dict[str, int]) -> Score:
    """hit@1, hit@5 and MRR (over the first 10) of ``search(question) -> entry ids, best first``."""
    qs = questions()
    h1 = h5 = 0
    rr = 0.0
    misses = []
    for item in qs:
        want = ids[item["expect"]]
        got = search(item["q"])[:10]
        rank = got.index(want) + 1 if want in got else None
        h1 += rank == 1
        h5 += rank is not None and rank <= 5
        rr += 1 / rank if rank else 0.0
        if rank != 1:
            misses.append((item["q"], item["expect"], got[:5]))
    n = len(qs)
    return Score(n, h1 / n, h5 / n, rr / n, misses)

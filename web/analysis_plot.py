"""The analysis report's charts as SVG geometry (rendered by templates/analysis.html; nothing
loaded from anywhere): paired bars (this period against the one before) for the hot words and
the areas, and the rising words per day over both periods.  Pure, like web/sizing_plot.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from web.svg_plot import Frame

TOP, RIGHT = 16, 16  # both charts' margins
LINES = Frame(w=640, h=220, left=40, right=RIGHT, top=TOP, bottom=36)  # the line chart
BAR_W = 460  # a bar chart, in a half-width card
LABEL = 110  # the bars' label column
ROW = 22  # one bar pair
BARS = 12


def bars(rows: Sequence[dict[str, Any]], names: dict[str, str] | None = None, key: str = "term") -> dict[str, Any]:
    """Rows with ``current`` / ``previous`` (and ``spike``) -> two bars each, scaled to the largest."""
    rows = list(rows)[:BARS]
    top = max([max(r["current"], r["previous"]) for r in rows] or [1]) or 1
    width = BAR_W - LABEL - RIGHT - 30

    def x(n: int) -> float:
        return round(n / top * width, 1)

    out = []
    for i, r in enumerate(rows):
        label = (names or {}).get(r[key], r[key])
        out.append(
            {
                "label": label,
                "y": TOP + i * ROW,
                "cur": r["current"],
                "prev": r["previous"],
                "cur_w": x(r["current"]),
                "prev_w": x(r["previous"]),
                "spike": bool(r.get("spike")),
            }
        )
    return {"w": BAR_W, "h": TOP + len(rows) * ROW + 8, "label": LABEL, "rows": out}


def lines(starts: Sequence[str], series: Sequence[dict[str, Any]], current_since: str) -> dict[str, Any]:
    """Each series' counts per bin as a polyline; the start of the current period marked."""
    n = max(len(starts), 2)
    top = max([max(s["counts"] or [0]) for s in series] or [1]) or 1

    def x(i: float) -> float:
        return LINES.x(i, 0, n - 1)

    def y(v: float) -> float:
        return LINES.y(v / top)

    daily = len(starts) > 1 and (datetime.fromisoformat(starts[1]) - datetime.fromisoformat(starts[0])).days >= 1
    fmt = "%m-%d" if daily else "%m-%d %H时"
    cut = next((i for i, s in enumerate(starts) if s >= current_since), len(starts))
    step = max(1, len(starts) // 7)
    return {
        **LINES.box(),
        "cut_x": x(cut - 0.5) if 0 < cut < len(starts) else None,
        "lines": [
            {
                "term": s["term"],
                "area": s["area"],
                "points": " ".join(f"{x(i)},{y(c)}" for i, c in enumerate(s["counts"])),
                "n": i,
            }
            for i, s in enumerate(series)
        ],
        "xticks": [(x(i), datetime.fromisoformat(starts[i]).strftime(fmt)) for i in range(0, len(starts), step)],
        "yticks": [(y(v), v) for v in sorted({0, top // 2, top})],
    }

"""A chart's frame as SVG geometry: the canvas, the plot area inside its margins, and the
scaling of values onto it.  Pure; shared by web/sizing_plot.py and web/analysis_plot.py."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Frame:
    """A ``w`` x ``h`` canvas whose plot area leaves ``left``/``right``/``top``/``bottom`` pixels free."""

    w: int
    h: int
    left: int
    right: int
    top: int
    bottom: int

    def x(self, v: float, lo: float, hi: float) -> float:
        """``v`` of the range ``lo``..``hi`` as a position across the plot area."""
        return round(self.left + (v - lo) / (hi - lo) * (self.w - self.left - self.right), 1)

    def y(self, share: float) -> float:
        """``share`` (0 at the bottom, 1 at the top) as a height in the plot area."""
        return round(self.top + (1 - share) * (self.h - self.top - self.bottom), 1)

    def box(self) -> dict[str, int]:
        """The canvas and the plot area's edges, for the template's axes."""
        return {
            "w": self.w,
            "h": self.h,
            "left": self.left,
            "right": self.w - self.right,
            "top": self.top,
            "bottom": self.h - self.bottom,
        }

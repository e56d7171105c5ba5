"""Geometry shared by the inline SVG line charts: the trust curve and the progress score plots."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

__all__ = ["Canvas", "PlotFrame", "tick_step"]


@dataclass(frozen=True, slots=True)
class Canvas:
    """The measures a chart's template reads to draw its axes; charts subclass it."""

    width: int
    height: int
    left: int
    top: int
    plot_width: int
    plot_height: int


def tick_step(length: int, most: int) -> int:
    """Tick every 1st, 2nd or 5th value: the first step cutting `length` into at most `most`."""
    return next((step for step in (1, 2) if length <= step * most), 5)


@dataclass(frozen=True, slots=True)
class PlotFrame:
    """An SVG canvas with margins, and the value ranges its plot area spans.

    x runs from `x_range[0]` at the left edge of the plot area to `x_range[1]` at the right
    (a range of one value is drawn in the middle); y from `y_range[0]` at the bottom to
    `y_range[1]` at the top. Coordinates are rounded to 0.1 px.
    """

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    x_range: tuple[int, int]
    y_range: tuple[int, int]
    clamp_y: bool = False  # keep y inside the plot area even for values outside y_range

    @property
    def plot_width(self) -> int:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> int:
        return self.height - self.top - self.bottom

    def canvas(self) -> dict[str, int]:
        """The `Canvas` fields of a chart drawn in this frame: `Chart(**frame.canvas(), ...)`."""
        return {f.name: getattr(self, f.name) for f in fields(Canvas)}

    def x_at(self, value: float) -> float:
        low, high = self.x_range
        if high <= low:
            return round(self.left + self.plot_width * 0.5, 1)
        return round(self.left + self.plot_width * (value - low) / (high - low), 1)

    def y_at(self, value: float) -> float:
        low, high = self.y_range
        if self.clamp_y:
            value = max(low, min(high, value))
        return round(self.top + self.plot_height * (1 - (value - low) / max(1, high - low)), 1)

    def x_ticks(self, step: int = 1) -> list[tuple[int, float]]:
        """Every `step`th value of the x range, with where it sits."""
        low, high = self.x_range
        return [(v, self.x_at(v)) for v in range(low, high + 1, step)]

    def y_ticks(self, step: int = 1) -> list[tuple[int, float]]:
        """Every `step`th value of the y range, with where it sits."""
        low, high = self.y_range
        return [(v, self.y_at(v)) for v in range(low, high + 1, step)]

    @staticmethod
    def polyline(points: Iterable[tuple[float, float]]) -> str:
        """The `points` attribute of an SVG polyline through already placed (x, y) points."""
        return " ".join(f"{x},{y}" for x, y in points)

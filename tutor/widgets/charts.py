"""Small training-curve charts.

``LineChart`` draws a few series (e.g. "D loss" and "G loss") in braille dots within a
few rows, keeps a bounded history, and ends with a legend that states each series' last
value as a number. Series are told apart without colour: the first is a solid line,
the others dotted, each line ends with its one-letter key at the right edge, and the
legend repeats key, line sample and name.

``MetricSparkline`` is a one-row "label value ▁▂▅▇" trend built on Textual's own
``Sparkline``.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Label, Sparkline

from tutor.widgets.lines import CachedLines

COLORS = ("#5fafff", "#ffaf5f", "#87d787", "#ff87af")
# braille dot bit for (column 0..1, row 0..3) inside one cell
_DOT = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))
_GUTTER = 7  # y-axis labels
_RIGHT = 2  # space + series key at the right edge


@dataclass
class Series:
    name: str
    key: str
    color: str
    dotted: bool
    values: deque = field(default_factory=deque)


def resample(values: Sequence[float], n: int) -> np.ndarray:
    """At most ``n`` points: the values themselves, or means of equal-width buckets."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) <= n:
        return v
    edges = np.linspace(0, len(v), n + 1).astype(np.int64)
    return np.add.reduceat(v, edges[:-1]) / np.diff(edges)


def place_key(ends: dict[int, str], row: int, rows: int, key: str) -> None:
    """Put ``key`` on ``row`` or the nearest free row (keys of close lines don't collide)."""
    for d in range(rows):
        for r in (row - d, row + d):
            if 0 <= r < rows and r not in ends:
                ends[r] = key
                return


class LineChart(CachedLines):
    """Multi-series line chart for training curves. ``push`` adds one step's values."""

    DEFAULT_CSS = """
    LineChart {
        height: 6;
        width: 1fr;
    }
    """

    def __init__(
        self,
        series: Iterable[str] = ("D loss", "G loss"),
        *,
        history: int = 240,
        y_range: tuple[float, float] | None = None,
        fmt: str = "{:.3f}",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.history = history
        self.y_range = y_range
        self.fmt = fmt
        self._series: dict[str, Series] = {}
        self._lines: list[Strip] | None = None
        for s in series:
            self.add_series(s)

    # ------------------------------------------------------------------ data

    def add_series(
        self, name: str, key: str | None = None, color: str | None = None, dotted: bool | None = None
    ) -> None:
        """Add a series; ``key`` defaults to the first letter of ``name``."""
        index = len(self._series)
        used = {s.key for s in self._series.values()}
        key = key or next((c.upper() for c in name if c.isalnum() and c.upper() not in used), str(index + 1))
        self._series[name] = Series(
            name,
            key[:1],
            color or COLORS[index % len(COLORS)],
            index > 0 if dotted is None else dotted,
            deque(maxlen=self.history),
        )
        self._changed()

    def push(self, values: Mapping[str, float]) -> None:
        """Append one value per named series (unknown names are added)."""
        for name, value in values.items():
            if name not in self._series:
                self.add_series(name)
            self._series[name].values.append(float(value))
        self._changed()

    def clear(self) -> None:
        for s in self._series.values():
            s.values.clear()
        self._changed()

    def last(self, name: str) -> float | None:
        values = self._series[name].values
        return values[-1] if values else None

    def values(self, name: str) -> list[float]:
        return list(self._series[name].values)

    def legend_text(self) -> str:
        """The legend as plain text, e.g. ``── D loss 0.693  ·· G loss 1.204``."""
        parts = []
        for s in self._series.values():
            last = "—" if not s.values else self.fmt.format(s.values[-1])
            label = s.name if s.name[:1].upper() == s.key else f"{s.key}={s.name}"
            parts.append(f"{'··' if s.dotted else '──'} {label} {last}")
        return "  ".join(parts)

    # ------------------------------------------------------------------ drawing

    def _changed(self) -> None:
        self.invalidate()

    def _range(self) -> tuple[float, float] | None:
        if self.y_range is not None:
            return self.y_range
        finite = [v for s in self._series.values() for v in s.values if math.isfinite(v)]
        if not finite:
            return None
        lo, hi = min(finite), max(finite)
        pad = (hi - lo) * 0.05 or max(abs(hi) * 0.05, 1e-3)
        return lo - pad, hi + pad

    def _draw(self, width: int, height: int) -> list[Strip]:
        if width <= 0 or height <= 0:
            return []
        legend = Strip([Segment(self.legend_text()[:width])], None).extend_cell_length(width)
        plot_rows = height - 1
        plot_w = width - _GUTTER - _RIGHT
        span = self._range()
        if plot_rows <= 0 or plot_w <= 0 or span is None:
            return [Strip.blank(width)] * max(0, plot_rows) + [legend]
        lo, hi = span
        dots_w, dots_h = plot_w * 2, plot_rows * 4
        bits = np.zeros((plot_rows, plot_w), dtype=np.int64)
        owner = np.full((plot_rows, plot_w), -1, dtype=np.int64)
        ends: dict[int, str] = {}
        for index, s in enumerate(self._series.values()):
            pts = resample(s.values, dots_w)
            if not len(pts):
                continue
            ok = np.isfinite(pts)
            t = np.clip((hi - np.where(ok, pts, lo)) / (hi - lo), 0.0, 1.0)
            rows = np.rint(t * (dots_h - 1)).astype(np.int64)
            prev = None
            for x in range(len(rows)):
                if not ok[x]:
                    prev = None
                    continue
                r = int(rows[x])
                if s.dotted:
                    span_rows = (r,) if x % 2 == 0 else ()
                elif prev is None:
                    span_rows = (r,)
                else:
                    step = 1 if r >= prev else -1
                    span_rows = range(prev + step if r != prev else r, r + step, step)
                for rr in span_rows:
                    cy, cx = rr // 4, x // 2
                    bits[cy, cx] |= _DOT[x % 2][rr % 4]
                    owner[cy, cx] = index
                prev = r
            last = next((int(rows[i]) for i in range(len(rows) - 1, -1, -1) if ok[i]), None)
            if last is not None:
                place_key(ends, last // 4, plot_rows, s.key)
        colors = [Style(color=s.color) for s in self._series.values()]
        dim = Style(dim=True)
        labels = {0: self.fmt.format(hi), plot_rows - 1: self.fmt.format(lo)}
        strips = []
        for cy in range(plot_rows):
            segs = [Segment(labels.get(cy, "")[: _GUTTER - 1].rjust(_GUTTER - 1) + "┤", dim)]
            for cx in range(plot_w):
                b = int(bits[cy, cx])
                style = colors[owner[cy, cx]] if b else None
                segs.append(Segment(chr(0x2800 + b), style))
            segs.append(Segment(" " + ends.get(cy, " ")))
            strips.append(Strip(segs, width).simplify())
        return strips + [legend]


class MetricSparkline(Widget):
    """One row: a label, the last value as a number, and a Textual ``Sparkline``."""

    DEFAULT_CSS = """
    MetricSparkline {
        height: 1;
        width: 1fr;
        layout: horizontal;
    }
    MetricSparkline > Label {
        width: auto;
        padding-right: 1;
    }
    MetricSparkline > Sparkline {
        width: 1fr;
    }
    """

    def __init__(
        self,
        label: str,
        *,
        history: int = 120,
        fmt: str = "{:.3f}",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.label = label
        self.fmt = fmt
        self.data: deque[float] = deque(maxlen=history)

    def compose(self) -> ComposeResult:
        yield Label(self._text(), markup=False)
        yield Sparkline([v for v in self.data if math.isfinite(v)])

    def _text(self) -> str:
        last = self.fmt.format(self.data[-1]) if self.data else "—"
        return f"{self.label} {last}"

    def push(self, value: float) -> None:
        self.data.append(float(value))
        if self.is_mounted:
            self.query_one(Label).update(self._text())
            self.query_one(Sparkline).data = [v for v in self.data if math.isfinite(v)]

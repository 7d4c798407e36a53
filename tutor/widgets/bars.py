"""Horizontal probability bars with numbers.

Each row is ``(label, prob)`` or ``(label, prob, reference)``: the temperature lab shows
the tempered next-token distribution with the untempered one beside it; histograms use
plain ``(label, value)`` rows. The percentage is always printed, so nothing depends on
colour or bar length alone.

Rows without a reference draw a smooth bar in eighth blocks. With a reference, each
cell is split in two: the upper half is the probability, the lower half (faint) the
reference, so ``█`` = both, ``▀`` = probability only, ``▄`` = reference only. The
legend row says which is which.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.segment import Segment
from textual.geometry import Size
from textual.strip import Strip

from tutor.widgets.lines import CachedLines

EIGHTHS = " ▏▎▍▌▋▊▉█"
Row = tuple[str, float] | tuple[str, float, "float | None"]


def smooth_bar(fraction: float, width: int) -> str:
    """``fraction`` of ``width`` cells in eighth blocks, padded with spaces."""
    eighths = int(round(max(0.0, min(1.0, fraction)) * width * 8))
    full, part = divmod(eighths, 8)
    text = "█" * full + (EIGHTHS[part] if part else "")
    return text.ljust(width)


def split_bar(fraction: float, reference: float, width: int) -> str:
    """Cells whose upper half shows ``fraction`` and lower half ``reference``."""
    top = int(round(max(0.0, min(1.0, fraction)) * width))
    bottom = int(round(max(0.0, min(1.0, reference)) * width))
    return "".join(" ▄▀█"[(i < top) * 2 + (i < bottom)] for i in range(width))


def percent(p: float) -> str:
    return f"{p * 100:5.1f}%"


class ProbabilityBars(CachedLines):
    """Rows of ``label ███▌   12.3%`` that fit the width they are given."""

    COMPONENT_CLASSES = {"bars--bar", "bars--reference", "bars--label", "bars--mark"}
    DEFAULT_CSS = """
    ProbabilityBars {
        height: auto;
        width: 1fr;
    }
    ProbabilityBars > .bars--bar { color: $primary; }
    ProbabilityBars > .bars--reference { color: $primary 45%; }
    ProbabilityBars > .bars--label { color: $foreground; }
    ProbabilityBars > .bars--mark { color: $accent; text-style: bold; }
    """

    def __init__(
        self,
        rows: Sequence[Row] = (),
        *,
        scale: str = "max",
        main_label: str = "",
        ref_label: str = "reference",
        max_label_width: int = 12,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """``scale="max"``: the largest value fills the bar; ``"one"``: 100% fills it."""
        super().__init__(name=name, id=id, classes=classes)
        self.scale = scale
        self.main_label = main_label
        self.ref_label = ref_label
        self.max_label_width = max_label_width
        self._rows: list[tuple[str, float, float | None]] = []
        self._marked: int | None = None
        self._lines: list[Strip] | None = None
        self.update_bars(rows)

    def update_bars(self, rows: Sequence[Row], marked: int | None = None) -> None:
        """Replace the rows; ``marked`` (a row index) gets a ``◀`` e.g. for the sampled token."""
        old = len(self._rows), self._has_ref
        self._rows = [
            (str(r[0]), float(r[1]), None if len(r) < 3 or r[2] is None else float(r[2])) for r in rows
        ]
        self._marked = marked
        self.invalidate(layout=(len(self._rows), self._has_ref) != old)

    @property
    def _has_ref(self) -> bool:
        return any(ref is not None for _, _, ref in self._rows)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._rows) + int(self._has_ref)

    def lines_text(self, width: int = 80) -> list[str]:
        """The rows as plain text (what a screen reader or a test would read)."""
        return [strip.text for strip in self._draw(width)]

    def _draw(self, width: int, height: int = 0) -> list[Strip]:
        if width <= 0:
            return []
        bar_style = self.get_component_rich_style("bars--bar")
        ref_style = self.get_component_rich_style("bars--reference")
        label_style = self.get_component_rich_style("bars--label")
        mark_style = self.get_component_rich_style("bars--mark")
        has_ref = self._has_ref
        values = [v for _, p, r in self._rows for v in (p, r) if v is not None]
        top = 1.0 if self.scale == "one" else max(values, default=0.0) or 1.0
        label_w = min(self.max_label_width, max((len(l) for l, _, _ in self._rows), default=0))
        number_w = 6 + (7 if has_ref else 0) + 2
        bar_w = max(1, width - label_w - 1 - number_w - 1)
        strips = []
        for index, (label, p, ref) in enumerate(self._rows):
            if len(label) > label_w:
                label = label[: max(0, label_w - 1)] + "…"
            segs = [Segment(label.ljust(label_w) + " ", label_style)]
            if has_ref:
                bar = split_bar(p / top, (ref or 0.0) / top, bar_w)
                segs += [Segment(ch, ref_style if ch == "▄" else bar_style) for ch in bar]
            else:
                segs.append(Segment(smooth_bar(p / top, bar_w), bar_style))
            segs.append(Segment(" " + percent(p)))
            if has_ref:
                segs.append(Segment(" " + (percent(ref) if ref is not None else "     -"), ref_style))
            segs.append(Segment(" ◀" if index == self._marked else "  ", mark_style))
            strips.append(Strip(segs).simplify().crop(0, width).extend_cell_length(width))
        if has_ref:
            legend = f"▀ {self.main_label or 'probability'}   ▄ {self.ref_label} (faint)"
            strips.append(Strip([Segment(legend[:width], label_style)]).extend_cell_length(width))
        return strips

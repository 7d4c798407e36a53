"""Tiny apps that host the shared widgets for tests and snapshots."""

from __future__ import annotations

import numpy as np
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.strip import Strip
from textual.widgets import Static

from tutor.widgets.bars import ProbabilityBars
from tutor.widgets.charts import LineChart, MetricSparkline
from tutor.widgets.pixels import PixelCanvas


class CountingCanvas(PixelCanvas):
    """Records every ``render_line`` call Textual makes."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[int] = []

    def render_line(self, y: int) -> Strip:
        self.calls.append(y)
        return super().render_line(y)


class CanvasApp(App):
    """One canvas, optionally forced into a colour mode."""

    def __init__(self, rgb: np.ndarray, monochrome: bool | None = False) -> None:
        super().__init__()
        self.rgb = rgb
        self.monochrome = monochrome

    def compose(self) -> ComposeResult:
        canvas = CountingCanvas(self.rgb)
        canvas.monochrome = self.monochrome
        yield canvas


def demo_pixels(height: int = 32, width: int = 32) -> np.ndarray:
    """A deterministic picture without engine: gradient background, two squares."""
    ys, xs = np.mgrid[0:height, 0:width]
    rgb = np.zeros((height, width, 3), dtype=np.uint8)
    rgb[..., 0] = (xs * 255 // max(1, width - 1)) // 32 * 32
    rgb[..., 2] = (ys * 255 // max(1, height - 1)) // 32 * 32
    rgb[4:10, 4:10] = (255, 255, 255)
    rgb[20:26, 18:28] = (255, 200, 0)
    return rgb


class DemoApp(App):
    """Canvas + chart + bars at 80x24, as a lab screen would lay them out."""

    CSS = """
    Screen { layout: vertical; }
    #top { height: 17; }
    #canvas-box { width: 34; border: round $primary; }
    #side { width: 1fr; }
    LineChart { height: 7; }
    """

    def compose(self) -> ComposeResult:
        with Horizontal(id="top"):
            with Vertical(id="canvas-box"):
                canvas = PixelCanvas(demo_pixels(), id="canvas")
                canvas.monochrome = False
                yield canvas
            with Vertical(id="side"):
                yield Static("Training curves")
                yield LineChart(("D loss", "G loss"), id="chart")
                yield MetricSparkline("D(x) real", id="spark")
                yield Static("Next token")
        yield ProbabilityBars(main_label="T=0.5", ref_label="T=1.0", id="bars")

    def on_mount(self) -> None:
        chart = self.query_one(LineChart)
        spark = self.query_one(MetricSparkline)
        for step in range(120):
            t = step / 20.0
            chart.push(
                {"D loss": 0.69 + 0.4 * np.exp(-t) * np.cos(3 * t), "G loss": 1.6 - 0.8 * (1 - np.exp(-t))}
            )
            spark.push(0.5 + 0.4 * np.exp(-t) * np.sin(2 * t))
        logits = np.array([2.0, 1.2, 0.8, 0.1, -0.5])
        base = np.exp(logits) / np.exp(logits).sum()
        hot = np.exp(logits / 0.5) / np.exp(logits / 0.5).sum()
        words = ["cat", "dog", "mat", "hat", "a very long token"]
        self.query_one(ProbabilityBars).update_bars(list(zip(words, hot.tolist(), base.tolist())), marked=0)

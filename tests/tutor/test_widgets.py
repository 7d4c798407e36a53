"""PixelCanvas, LineChart, MetricSparkline and ProbabilityBars in tiny test apps."""

from __future__ import annotations

import numpy as np
import pytest
from rich.color import Color

from tests.tutor.widget_apps import CanvasApp, CountingCanvas, DemoApp
from tutor.widgets.bars import ProbabilityBars, smooth_bar, split_bar
from tutor.widgets.charts import LineChart, MetricSparkline, resample
from tutor.widgets.pixels import SHADES, colors_unavailable


@pytest.fixture(autouse=True)
def colour_terminal(monkeypatch):
    """Pin colour: with NO_COLOR set Textual greys the whole screen (tested separately)."""
    monkeypatch.delenv("NO_COLOR", raising=False)


def checker(h=6, w=4):
    rgb = np.zeros((h, w, 3), dtype=np.uint8)
    rgb[0::2] = (255, 0, 0)  # even rows red
    rgb[1::2] = (0, 0, 255)  # odd rows blue
    return rgb


def cell(canvas, x, y):
    """(text, style) of the cell at (x, y) of the canvas's rendered line."""
    strip = canvas.render_line(y)
    for seg in strip.crop(x, x + 1):
        return seg.text, seg.style


async def test_half_block_fg_is_top_pixel_bg_is_bottom_pixel():
    rgb = checker()
    rgb[2, 1] = (10, 20, 30)
    rgb[3, 1] = (40, 50, 60)
    app = CanvasApp(rgb, monochrome=False)
    async with app.run_test(size=(20, 8)):
        canvas = app.query_one(CountingCanvas)
        assert canvas.size.width == 4 and canvas.size.height == 3
        text, style = cell(canvas, 0, 0)
        assert text == "▀"
        assert style.color == Color.from_rgb(255, 0, 0)
        assert style.bgcolor == Color.from_rgb(0, 0, 255)
        text, style = cell(canvas, 1, 1)
        assert (style.color, style.bgcolor) == (Color.from_rgb(10, 20, 30), Color.from_rgb(40, 50, 60))
        # the screen shows the same thing
        screen_style = app.screen.get_style_at(1, 1)
        assert screen_style.color.triplet == (10, 20, 30)
        assert screen_style.bgcolor.triplet == (40, 50, 60)


async def test_shade_mode_draws_luminance_glyphs():
    rgb = np.zeros((4, 5, 3), dtype=np.uint8)
    for x, level in enumerate((0, 64, 128, 192, 255)):
        rgb[:, x] = level
    app = CanvasApp(rgb, monochrome=True)
    async with app.run_test(size=(20, 8)):
        canvas = app.query_one(CountingCanvas)
        assert canvas.shade_mode
        assert canvas.render_line(0).text == SHADES
        assert all(cell(canvas, x, 0)[1] == canvas.rich_style for x in range(5))  # no pixel colour
        canvas.monochrome = False
        assert canvas.render_line(0).text == "▀" * 5


async def test_colour_ladder_follows_the_app():
    app = CanvasApp(checker(), monochrome=None)
    async with app.run_test(size=(20, 8)):
        canvas = app.query_one(CountingCanvas)
        expected = app.no_color or app.console.color_system not in ("truecolor", "256")
        assert canvas.shade_mode == expected == colors_unavailable(app)
        app.no_color = True  # what App sets when NO_COLOR is in the environment
        assert canvas.shade_mode
        app.no_color = False
        app.console._color_system = None  # a terminal without colour
        assert canvas.shade_mode


async def test_no_color_environment_switches_to_shades(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = CanvasApp(checker(), monochrome=None)
    async with app.run_test(size=(20, 8)):
        canvas = app.query_one(CountingCanvas)
        assert app.no_color and canvas.shade_mode
        assert set(canvas.render_line(0).text) <= set(SHADES)


async def test_only_changed_rows_are_rendered_again():
    rgb = checker(8, 6)
    app = CanvasApp(rgb, monochrome=False)
    async with app.run_test(size=(20, 8)) as pilot:
        canvas = app.query_one(CountingCanvas)
        await pilot.pause()
        assert set(canvas.calls) >= {0, 1, 2, 3}
        built = canvas.strips_built
        canvas.calls.clear()
        canvas.update_pixels(rgb.copy())  # identical frame: nothing to do
        await pilot.pause()
        assert canvas.calls == [] and canvas.strips_built == built
        frame = rgb.copy()
        frame[5, 2] = (0, 255, 0)  # pixel row 5 lives in cell row 2 (bottom half)
        canvas.update_pixels(frame)
        await pilot.pause()
        assert set(canvas.calls) == {2}
        assert canvas.strips_built == built + 1
        assert cell(canvas, 2, 2)[1].bgcolor == Color.from_rgb(0, 255, 0)
        assert len(canvas._styles) == 2  # (red, blue) and (red, green)


async def test_odd_height_is_padded_and_small_widget_centre_crops():
    rgb = np.zeros((5, 10, 3), dtype=np.uint8)
    rgb[:, :, 0] = np.arange(10, dtype=np.uint8)[None, :] * 20
    app = CanvasApp(rgb, monochrome=False)
    async with app.run_test(size=(20, 8)):
        canvas = app.query_one(CountingCanvas)
        assert canvas.pixel_size.width == 10 and canvas.pixel_size.height == 5
        assert canvas.size.height == 3
        _, style = cell(canvas, 0, 2)
        assert style.color.triplet == (0, 0, 0) and style.bgcolor != Color.from_rgb(0, 0, 0)
    app = CanvasApp(rgb, monochrome=False)
    async with app.run_test(size=(20, 8)) as pilot:
        canvas = app.query_one(CountingCanvas)
        canvas.styles.width = 4  # narrower than the buffer: the middle 4 columns show
        await pilot.pause()
        reds = [cell(canvas, x, 0)[1].color.triplet[0] for x in range(4)]
        assert reds == [60, 80, 100, 120]
        canvas.styles.width = 14  # wider: centred with 2 blank columns each side
        await pilot.pause()
        assert canvas.render_line(0).text == "  " + "▀" * 10 + "  "


async def test_update_pixels_rejects_wrong_arrays():
    app = CanvasApp(checker(), monochrome=False)
    async with app.run_test(size=(20, 8)):
        canvas = app.query_one(CountingCanvas)
        with pytest.raises(ValueError):
            canvas.update_pixels(np.zeros((4, 4), dtype=np.uint8))
        with pytest.raises(ValueError):
            canvas.update_pixels(np.zeros((4, 4, 3), dtype=np.float32))


def test_resample_buckets_and_bar_glyphs():
    assert resample([1, 2, 3], 5).tolist() == [1, 2, 3]
    assert resample([1, 3, 5, 7], 2).tolist() == [2, 6]
    assert smooth_bar(0.5, 4) == "██  " and smooth_bar(1 / 32, 4) == "▏   "
    assert split_bar(0.5, 0.25, 4) == "█▀  " and split_bar(0.25, 0.75, 4) == "█▄▄ "


async def test_chart_keeps_bounded_history_and_shows_last_values():
    app = DemoApp()
    async with app.run_test(size=(80, 24)):
        chart = app.query_one(LineChart)
        for i in range(300):
            chart.push({"D loss": 0.5, "G loss": float(i)})
        assert len(chart.values("G loss")) == 240 and chart.last("G loss") == 299.0
        legend = chart.legend_text()
        assert "D loss 0.500" in legend and "G loss 299.000" in legend
        assert "──" in legend and "··" in legend  # solid vs dotted, told apart without colour
        text = [chart.render_line(y).text for y in range(chart.size.height)]
        assert text[-1].startswith(legend[: chart.size.width].rstrip())
        assert text[0].rstrip().endswith("G") and any(line.rstrip().endswith("D") for line in text)
        spark = app.query_one(MetricSparkline)
        spark.push(0.25)
        assert "0.250" in str(spark.query_one("Label").render())


async def test_bars_show_numbers_reference_and_mark():
    app = DemoApp()
    async with app.run_test(size=(80, 24)):
        bars = app.query_one(ProbabilityBars)
        lines = bars.lines_text(80)
        assert len(lines) == 6 and all(len(line) == 80 for line in lines)
        assert lines[0].startswith("cat ") and "75.7%" in lines[0] and "50.4%" in lines[0]
        assert lines[0].rstrip().endswith("◀")
        assert "▄" in lines[1] and "a very long…" in lines[4]
        assert lines[-1].startswith("▀ T=0.5") and "▄ T=1.0" in lines[-1]
        bars.update_bars([("a", 0.2), ("b", 0.8)])
        # 40 columns = label 1 + space + bar + " 80.0%" + mark 2 + margin 1: bar is 29 wide
        assert bars.lines_text(40)[1].count("█") == 29
        assert bars.lines_text(40)[0].strip().endswith("20.0%")


def test_snapshot_canvas_chart_bars(snap_compare):
    assert snap_compare(DemoApp(), terminal_size=(80, 24))

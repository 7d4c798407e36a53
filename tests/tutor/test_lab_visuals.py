"""Legible labs: gutters between tiles, colours from the theme, arrow glyphs, a scrolling
knob list, the compact strip at 60x20 and the one-line key bar (issues 9 and 20)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from textual.app import App
from textual.color import Color

import tutor
from engine import render
from tutor.labs import gan2d_view as view
from tutor.labs.base import KnobPanel, LabScreen
from tutor.labs.gan2d import GanCanvas, GanLab
from tutor.labs.imaging import BG, GUTTER, blend, grid_size, tile_grid
from tutor.widgets.keybar import KeyBar

SIZE = (80, 24)


class Host(App):
    CSS_PATH = Path(tutor.__file__).with_name("tutor.tcss")

    def __init__(self, theme: str | None = None) -> None:
        super().__init__()
        if theme:
            self.theme = theme

    def on_mount(self) -> None:
        self.push_screen(GanLab())


@pytest.fixture(autouse=True)
def paused(monkeypatch):
    monkeypatch.setattr(LabScreen, "autoplay", False)


# ------------------------------------------------------------------ the tiling helper


def test_tile_grid_puts_one_gutter_between_tiles_and_none_outside():
    rng = np.random.default_rng(0)
    tiles = rng.random((5, 4, 3, 3)).astype(np.float32)
    bg = (9, 200, 31)
    buf = tile_grid(tiles, cols=3, bg=bg)
    assert buf.shape[:2] == grid_size(5, (4, 3), 3) == (2 * 4 + GUTTER, 3 * 3 + 2 * GUTTER)
    reference = render.image_grid(tiles, cols=3, pad=0)  # the same tiles with no gap
    for k in range(5):
        r, c = divmod(k, 3)
        got = buf[r * (4 + GUTTER) : r * (4 + GUTTER) + 4, c * (3 + GUTTER) : c * (3 + GUTTER) + 3]
        assert np.array_equal(got, reference[r * 4 : r * 4 + 4, c * 3 : c * 3 + 3])
    assert (buf[4] == bg).all()  # the gutter row
    assert (buf[:, 3] == bg).all() and (buf[:, 7] == bg).all()  # the gutter columns
    assert (buf[5:, 8:] == bg).all()  # the missing sixth tile


def test_blend_goes_from_one_colour_to_the_other():
    assert blend((0, 0, 0), (200, 100, 50), 0.0) == (0, 0, 0)
    assert blend((0, 0, 0), (200, 100, 50), 1.0) == (200, 100, 50)
    assert blend((0, 0, 0), (200, 100, 50), 0.5) == (100, 50, 25)


# ------------------------------------------------------------------ the GAN lab's arrows


def test_arrow_glyph_follows_the_direction():
    centre = np.zeros((1, 2), np.float32)  # data (0, 0): the middle of the canvas
    for vector, glyph in [
        ((1, 0), "→"),
        ((1, 1), "↗"),
        ((0, 1), "↑"),
        ((-1, 1), "↖"),
        ((-1, 0), "←"),
        ((-1, -1), "↙"),
        ((0, -1), "↓"),
        ((1, -1), "↘"),
        ((1, 0.3), "→"),
        ((0.3, 1), "↑"),
    ]:
        got = view.arrow_glyphs(centre, np.array([vector], np.float32))
        assert got == {(view.SIDE // 4, view.SIDE // 2): glyph}, vector


def test_arrow_glyphs_skip_weak_pushes_and_points_outside():
    points = np.array([[-1.9, 1.9], [0.5, -0.5], [5.0, 0.0]], np.float32)
    vectors = np.array([[0, 1], [0.01, 0], [1, 0]], np.float32)
    got = view.arrow_glyphs(points, vectors)
    assert got == {(0, 0): "↑"}  # top-left cell; weak and outside left out
    assert view.arrow_glyphs(points, np.zeros_like(vectors)) == {}


async def test_gan_arrows_are_glyphs_on_the_canvas():
    async with Host().run_test(size=SIZE) as pilot:
        lab = pilot.app.screen
        await lab.wait_idle()
        await pilot.press("a")
        await lab.wait_idle()
        await pilot.pause()
        canvas = lab.query_one("#gan-canvas", GanCanvas)
        assert canvas.glyphs, "arrows on: the canvas carries glyphs"
        row, marks = next(iter(canvas.glyphs.items()))
        col, glyph = next(iter(marks.items()))
        line = canvas.render_line(row)
        assert line.text[col] == glyph and glyph in view.GLYPHS
        await pilot.press("a")
        await lab.wait_idle()
        await pilot.pause()
        assert canvas.glyphs == {}


# ------------------------------------------------------------------ words shown once, legend colour


def test_stats_column_has_no_faint_text_and_no_repeated_names():
    text = view.stats_text(
        iteration=5,
        rate=0.0,
        evaluation={"modes_total": 8, "modes_covered": 3},
        acc_real=0.5,
        acc_fake=0.5,
        arrows=True,
        drawing=False,
        n_points=0,
    )
    assert not any("dim" in str(span.style) for span in text.spans)
    assert "ring" not in text.plain and "healthy" not in text.plain
    assert "modes 3/8" in text.plain


# ------------------------------------------------------------------ theme colours


async def rgb(lab, pilot) -> None:
    """Force RGB pixels (the test terminal would pick shade glyphs) and draw twice: the
    first frame tells the lab the canvas's mode, the second is drawn in it."""
    lab.query_one("#gan-canvas").monochrome = False
    for _ in range(2):
        lab.submit()
        await lab.wait_idle()
        await pilot.pause()


@pytest.mark.parametrize("theme", ["textual-light", "textual-dark"])
async def test_pictures_take_the_theme_background(theme):
    app = Host(theme)
    async with app.run_test(size=SIZE) as pilot:
        lab = pilot.app.screen
        await rgb(lab, pilot)
        surface = Color.parse(app.get_css_variables()["surface"]).rgb
        assert lab.canvas_bg == surface
        foreground = Color.parse(app.get_css_variables()["foreground"])
        assert lab.canvas_fg == (Color.parse(app.get_css_variables()["surface"]) + foreground).rgb
        if theme == "textual-light":
            assert sum(lab.canvas_bg) > 3 * 200 and sum(lab.canvas_fg) < 3 * 100


async def test_without_colours_pictures_keep_the_dark_background():
    """Shade glyphs (NO_COLOR, 16 colours) map a dark background to blank cells."""
    app = Host("textual-light")
    async with app.run_test(size=SIZE) as pilot:
        lab = pilot.app.screen
        await rgb(lab, pilot)
        assert lab.canvas_bg != BG
        lab.query_one("#gan-canvas").monochrome = True
        lab.submit()
        await lab.wait_idle()
        await pilot.pause()
        assert lab.canvas_bg == BG


async def test_theme_change_repaints_the_pictures():
    app = Host("textual-dark")
    async with app.run_test(size=SIZE) as pilot:
        lab = pilot.app.screen
        await lab.wait_idle()  # the first build is done: it must not put a model back
        with lab.model_lock:
            lab.model = None  # no model: the picture is the empty square
        await rgb(lab, pilot)
        dark = lab.last_frame["picture"][0, 0].tolist()
        app.theme = "textual-light"
        await pilot.pause()
        await lab.wait_idle()
        await pilot.pause()
        light = lab.last_frame["picture"][0, 0].tolist()
        assert sum(light) > sum(dark) + 300
        assert tuple(light) == blend(lab.canvas_bg, lab.canvas_fg, 0.07)


# ------------------------------------------------------------------ knobs, strip, key bar


async def test_selected_knob_is_always_visible():
    async with Host().run_test(size=SIZE) as pilot:
        lab = pilot.app.screen
        await lab.wait_idle()
        panel = lab.query_one("#knobs", KnobPanel)
        for _ in range(len(lab.knob_list) - 1):  # down to the last knob, one by one
            await pilot.press("right_square_bracket")
            await pilot.pause()
            index = panel.highlighted
            assert index is not None
            top = panel.scroll_offset.y
            option_rows = 2  # label, then ◂ value ▸
            first = index * option_rows
            assert top <= first and first + option_rows <= top + panel.scrollable_content_region.height, (
                lab.knob_list[index].label
            )
        assert lab.knob_list[panel.highlighted].name == "activation"


async def test_compact_strip_at_60x20_keeps_the_key_numbers():
    async with Host().run_test(size=(60, 20)) as pilot:
        lab = pilot.app.screen
        await lab.wait_idle()
        await pilot.press("s")
        await lab.wait_idle()
        await pilot.pause()
        assert lab.has_class("-compact")
        assert not lab.query_one("#lab-side").display or lab.query_one("#lab-side").size.width == 0
        strip = str(lab.query_one("#lab-strip").render())
        assert "modes" in strip and "/8" in strip and "D loss" in strip and "G loss" in strip
        assert "Preset" in strip  # the selected knob, as the column is hidden
        await pilot.press("t")  # a knob letter: the strip shows that knob
        await pilot.pause()
        assert "Dataset" in str(lab.query_one("#lab-strip").render())
    async with Host().run_test(size=SIZE) as pilot:
        lab = pilot.app.screen
        await lab.wait_idle()
        assert not lab.has_class("-compact") and not lab.query_one("#lab-strip").display


async def test_labs_use_the_one_line_key_bar_and_show_every_key_at_80_columns():
    async with Host().run_test(size=SIZE) as pilot:
        lab = pilot.app.screen
        await lab.wait_idle()
        await pilot.pause()
        bar = lab.query_one(KeyBar)
        text = str(bar.render())
        for label in ("Back", "Reset", "Seed", "Explain", "Code", "Train", "Step"):
            assert label in text
        assert len(text.rstrip()) <= SIZE[0] and "…" not in text

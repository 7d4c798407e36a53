"""PixelCanvas on a 256-colour terminal: cells are keyed by the palette entry the
terminal shows, so invisible changes send nothing, and each cell is drawn with whichever
glyph (space, ▀ or ▄) keeps the most of its neighbour's colours, showing the same colours."""

from __future__ import annotations

import numpy as np
import pytest

from tests.tutor.widget_apps import CanvasApp, CountingCanvas
from tutor.widgets.pixels import HALF, LOWER, _pack, palette_index


@pytest.fixture(autouse=True)
def terminal_256(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr("textual.constants.COLOR_SYSTEM", "256")


def shown(canvas, row: int) -> list[tuple[int, int]]:
    """(top, bottom) palette entries each cell of a rendered row shows."""
    cells = []
    for seg in canvas.render_line(row):
        fg, bg = seg.style.color, seg.style.bgcolor
        for glyph in seg.text:
            if glyph == " ":
                cells.append((bg.number, bg.number))
            elif glyph == HALF:
                cells.append((fg.number, bg.number))
            else:
                assert glyph == LOWER, glyph
                cells.append((bg.number, fg.number))
    return cells


def expected(rgb: np.ndarray, row: int) -> list[tuple[int, int]]:
    top, bottom = _pack(rgb[2 * row]), _pack(rgb[2 * row + 1])
    return [(palette_index(int(t)), palette_index(int(b))) for t, b in zip(top, bottom)]


async def test_every_cell_shows_its_two_pixels_palette_entries():
    rng = np.random.default_rng(3)
    rgb = (rng.integers(0, 3, (8, 12, 1)) * np.array([[[100, 40, 7]]])).astype(np.uint8)
    rgb[2:4, 3:9] = (200, 30, 30)  # a one-colour block: spaces
    app = CanvasApp(rgb, monochrome=False)
    async with app.run_test(size=(20, 8)):
        canvas = app.query_one(CountingCanvas)
        assert canvas._indexed
        glyphs = "".join(canvas.render_line(y).text for y in range(4))
        assert " " in glyphs and HALF in glyphs and LOWER in glyphs  # all three are used
        for y in range(4):
            assert shown(canvas, y) == expected(rgb, y)
            assert all(
                seg.style.color is None or seg.style.color.number >= 16 for seg in canvas.render_line(y)
            )


async def test_changes_the_palette_cannot_show_send_nothing():
    rgb = np.full((4, 6, 3), (0, 95, 135), np.uint8)  # an exact xterm palette colour
    app = CanvasApp(rgb, monochrome=False)
    async with app.run_test(size=(20, 8)) as pilot:
        canvas = app.query_one(CountingCanvas)
        await pilot.pause()
        nudged = rgb.copy()
        nudged[1, 2] = (3, 97, 131)  # same palette entry
        assert palette_index(int(_pack(nudged[1, 2]))) == palette_index(int(_pack(rgb[1, 2])))
        canvas.calls.clear()
        canvas.update_pixels(nudged)
        await pilot.pause()
        assert canvas.calls == []
        moved = rgb.copy()
        moved[3, 4] = (255, 255, 0)  # a visible change in cell row 1
        canvas.update_pixels(moved)
        await pilot.pause()
        assert set(canvas.calls) == {1}
        assert shown(canvas, 1) == expected(moved, 1)


async def test_neighbours_share_colours_so_rows_need_fewer_style_changes():
    """Stripes of two colours: the naive ▀ drawing changes style at every cell; choosing ▄
    where it keeps the neighbour's colours keeps one style for the whole row (so the wire
    carries one colour change, see SgrFolder)."""
    rgb = np.zeros((2, 10, 3), np.uint8)
    rgb[0, 0::2], rgb[1, 0::2] = (255, 0, 0), (0, 0, 255)  # red over blue
    rgb[0, 1::2], rgb[1, 1::2] = (0, 0, 255), (255, 0, 0)  # blue over red
    app = CanvasApp(rgb, monochrome=False)
    async with app.run_test(size=(20, 8)):
        canvas = app.query_one(CountingCanvas)
        segments = list(canvas.render_line(0))
        assert "".join(seg.text for seg in segments) == (HALF + LOWER) * 5
        assert len({seg.style for seg in segments}) == 1
        assert shown(canvas, 0) == expected(rgb, 0)

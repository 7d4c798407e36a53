"""Picture helpers shared by the image labs (not a lab: labs never import each other)."""

from __future__ import annotations

import numpy as np

BG = (16, 16, 24)
"""The dark fallback behind pictures: used without colours (NO_COLOR, 16 colours), where a
dark background becomes blank cells, and before a lab knows its theme."""
GUTTER = 1
"""Pixels between the tiles of every image grid, so small pictures don't merge into stripes."""


def theme_background(widget) -> tuple[int, int, int]:
    """The RGB colour the active theme paints behind `widget`, for a picture's background.

    Pictures drawn on this colour blend into the lab in any theme (dark or light); without
    colours (a PixelCanvas in shade mode, NO_COLOR, 16 colours) the dark `BG` is returned,
    because the shade glyphs map a dark background to blank cells."""
    from tutor.widgets.pixels import PixelCanvas, colors_unavailable

    shade = widget.shade_mode if isinstance(widget, PixelCanvas) else colors_unavailable(widget.app)
    if shade:
        return BG
    r, g, b = widget.background_colors[1].rgb
    return (int(r), int(g), int(b))


FG = (230, 230, 230)
"""The light fallback for lines drawn on `BG` (axes, markers) when colours are off."""


def theme_foreground(widget) -> tuple[int, int, int]:
    """The RGB colour of the theme's normal text behind `widget`, for axes and markers in a
    picture (they must read on `theme_background`); `FG` when colours are off."""
    from tutor.widgets.pixels import PixelCanvas, colors_unavailable

    shade = widget.shade_mode if isinstance(widget, PixelCanvas) else colors_unavailable(widget.app)
    if shade:
        return FG
    _, _, background, color = widget.colors
    r, g, b = (background + color).rgb  # text colours may be translucent: blend them
    return (int(r), int(g), int(b))


def blend(a, b, t: float) -> tuple[int, int, int]:
    """The colour a fraction `t` of the way from `a` to `b` (e.g. a faint axis: 0.4)."""
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def tile_grid(
    tiles: np.ndarray, cols: int | None = None, value_range=(0.0, 1.0), bg=BG, gutter: int = GUTTER
) -> np.ndarray:
    """Tiles (N, h, w[, 3]) -> one uint8 picture, `gutter` pixels of `bg` BETWEEN tiles.

    Every image grid of the labs goes through here, so they all share one look: a gap a
    pixel wide between tiles and none around the outside (the lab's own background is
    there already, and at 80x24 every pixel row counts). Missing tiles in the last row
    are left as background."""
    from engine import render

    buf = render.image_grid(tiles, cols=cols, pad=gutter, value_range=value_range, pad_color=bg)
    if gutter:
        buf = buf[gutter:-gutter, gutter:-gutter]
    return np.ascontiguousarray(buf)


def quantize_keeping(buf: np.ndarray, levels: int, bg) -> np.ndarray:
    """`engine.render.quantize` (fewer colours: less to send), except that pixels of the
    background colour `bg` keep it exactly, so the picture has no visible box around it."""
    from engine import render

    out = render.quantize(buf, levels)
    out[(buf == np.asarray(bg, np.uint8)).all(axis=-1)] = bg
    return out


def grid_size(n: int, tile: tuple[int, int], cols: int, gutter: int = GUTTER) -> tuple[int, int]:
    """(height, width) in pixels of `tile_grid` for `n` tiles of `tile` = (h, w) in `cols`."""
    rows = max(1, -(-n // cols))
    return rows * tile[0] + (rows - 1) * gutter, cols * tile[1] + (cols - 1) * gutter


def to_tiles(x: np.ndarray, shape: tuple) -> np.ndarray:
    """Model-space vectors (n, D) -> RGB tiles (n, 16, 16, 3) in [-1, 1] for display."""
    img = np.asarray(x, np.float32).reshape((len(x),) + tuple(shape))
    if img.shape[-1] == 1:  # 8x8 grey digits: grey RGB, doubled
        img = np.repeat(np.repeat(np.repeat(img, 3, axis=-1), 2, axis=1), 2, axis=2)
    return img


# ---------------------------------------------------------------- points drawn in a lab
DRAWN_POINTS = ("points", "drawn.csv")
"""Where the GAN lab keeps the learner's drawn points, so the families lab can use them."""


def drawn_points_path(create: bool = False):
    from content.paths import user_file

    return user_file(*DRAWN_POINTS, create=create)


def save_drawn_points(points: list[tuple[float, float]]) -> bool:
    """Write the drawn points as an x,y CSV in the data folder (atomically); False if it can't."""
    import os
    import tempfile

    try:
        path = drawn_points_path(create=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".drawn-", suffix=".csv")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("x,y\n")
            out.writelines(f"{x:.6g},{y:.6g}\n" for x, y in points)
        os.replace(tmp, path)
    except OSError:
        return False
    return True

"""PixelCanvas: an RGB buffer drawn with half blocks through Textual's line API.

One terminal cell shows two vertical pixels: ``▀`` with foreground = top pixel and
background = bottom pixel. The widget keeps

* one rich ``Style`` per (top, bottom) colour pair and one ``Segment`` per (pair, run
  length), so a steady palette costs no new objects per frame (quantise lab palettes
  with ``engine.render.quantize``);
* one ``Strip`` per cell row, rebuilt only for rows whose cells changed; in those rows
  only the span of changed cells is refreshed, so the terminal is sent those cells;
* on a 256-colour terminal, each pixel's colour as the terminal will show it (the xterm
  palette entry Rich would pick when it downgrades the RGB): two frames whose pixels
  differ only below what the palette can show are the same frame and send nothing, and
  neighbouring pixels that land on the same entry share one run.

Colour ladder: with a truecolor or 256-colour terminal the pixels are drawn as RGB
(Textual's console downgrades truecolor to 256). With 16 colours, no colour system, or
``NO_COLOR`` set, each cell shows the mean luminance of its two pixels as one of
`` ░▒▓█``. ``monochrome`` forces either mode (``None`` = detect).

This module must stay light: it imports numpy but never ``engine`` or numba, so any
screen may use it without paying the JIT start-up cost.

``update_pixels`` must be called on the UI thread (from a worker, use
``app.call_from_thread``).
"""

from __future__ import annotations

import numpy as np
from rich.color import Color, ColorSystem, ColorType
from rich.color_triplet import ColorTriplet
from rich.palette import Palette
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

HALF = "▀"
SHADES = " ░▒▓█"
_NO_BOTTOM = 1 << 24  # key marker: the padded bottom half of an odd-height buffer
_NO_TOP = 1 << 24  # ... and, in a space cell's key, "no foreground needed"
_SPACE = 1 << 60  # key flag: a cell of one colour, drawn as a space on its background
_LOWER = 1 << 61  # key flag: drawn as "▄" (foreground = bottom pixel, background = top)
LOWER = "▄"
_HALF_MASK = (1 << 25) - 1
_MAX_SEGMENTS = 1 << 16  # bound on cached (pair, run length) segments
_MAX_INDEXED = 1 << 16  # bound on cached RGB -> palette entries


def _pack(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 -> (...) int64 0xRRGGBB."""
    c = rgb.astype(np.int64)
    return (c[..., 0] << 16) | (c[..., 1] << 8) | c[..., 2]


def _rgb_of(packed: int) -> Color:
    return Color.from_rgb((packed >> 16) & 255, (packed >> 8) & 255, packed & 255)


def _xterm_palette() -> Palette:
    from rich._palettes import EIGHT_BIT_PALETTE

    return EIGHT_BIT_PALETTE


def _indexed(number: int) -> Color:
    """xterm palette entry ``number`` as a colour that is sent as ``38;5;N`` and that
    Textual's filters leave alone (they convert colours that have no RGB triplet)."""
    r, g, b = _xterm_palette()[number]
    return Color(f"color({number})", ColorType.EIGHT_BIT, number=number, triplet=ColorTriplet(r, g, b))


def palette_index(packed: int) -> int:
    """The 256-colour palette entry Rich sends for ``0xRRGGBB`` on a 256-colour terminal."""
    number = _rgb_of(packed).downgrade(ColorSystem.EIGHT_BIT).number
    assert number is not None
    return number


def shade_levels(rgb: np.ndarray) -> np.ndarray:
    """(2R, W, 3) uint8 -> (R, W) int in 0..4: mean luminance of each cell's two pixels."""
    f = rgb.astype(np.float32)
    lum = f[..., 0] * 0.299 + f[..., 1] * 0.587 + f[..., 2] * 0.114
    cell = (lum[0::2] + lum[1::2]) * 0.5
    return np.minimum((cell * (len(SHADES) / 256.0)).astype(np.int64), len(SHADES) - 1)


class PixelCanvas(Widget):
    """Draws an ``(H, W, 3)`` uint8 buffer in ``W`` columns and ``ceil(H/2)`` rows.

    If the widget is larger the picture is centred; if smaller, the centre is shown.
    """

    DEFAULT_CSS = """
    PixelCanvas {
        width: auto;
        height: auto;
    }
    """

    monochrome: reactive[bool | None] = reactive(None)
    """``True``: shade glyphs, ``False``: RGB half blocks, ``None``: detect from the app."""

    def __init__(
        self,
        rgb: np.ndarray | None = None,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._pixels: np.ndarray | None = None  # even-height copy of the last frame
        self._keys: np.ndarray | None = None  # (rows, W) int64: top << 25 | bottom
        self._odd = False
        self._styles: dict[int, Style] = {}
        self._segments: dict[int, Segment] = {}
        self._strips: dict[int, Strip] = {}
        self._strip_mode: bool | None = None
        self._base: Style | None = None  # the widget's own colours, for blanks and shades
        self._indexed = False  # keys are 256-colour palette entries, not RGB
        self._index_of: dict[int, int] = {}
        self.strips_built = 0
        """How many row strips were built (cache misses); handy for tests and benches."""
        if rgb is not None:
            self.update_pixels(rgb)

    # ------------------------------------------------------------------ public API

    @property
    def pixel_size(self) -> Size:
        """Size of the current buffer in pixels (width, height), padding excluded."""
        if self._pixels is None:
            return Size(0, 0)
        h, w = self._pixels.shape[:2]
        return Size(w, h - int(self._odd))

    @property
    def shade_mode(self) -> bool:
        """Whether cells are drawn with shade glyphs instead of RGB colours."""
        if self.monochrome is not None:
            return bool(self.monochrome)
        return colors_unavailable(self.app)

    def update_pixels(self, rgb: np.ndarray) -> None:
        """Show a new frame; only cell rows that differ from the last frame repaint."""
        rgb = np.asarray(rgb)
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 array, got {rgb.dtype} {rgb.shape}")
        odd = rgb.shape[0] % 2 == 1
        if odd:
            rgb = np.concatenate([rgb, rgb[-1:]], axis=0)
        else:
            rgb = rgb.copy()
        old = self._keys
        self._pixels, self._odd = rgb, odd
        keys = self._keys = self._make_keys()
        if old is None or old.shape != keys.shape:
            self._strips.clear()
            self.refresh(layout=True)
            return
        diff = old != keys
        changed = np.flatnonzero(diff.any(axis=1))
        for row in changed.tolist():
            self._strips.pop(row, None)
        self._refresh_cells(changed, diff)

    def clear_caches(self) -> None:
        """Forget cached styles and strips (the next paint rebuilds everything)."""
        self._styles.clear()
        self._segments.clear()
        self._strips.clear()
        self.refresh()

    # ------------------------------------------------------------------ Textual hooks

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return 0 if self._keys is None else self._keys.shape[1]

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return 0 if self._keys is None else self._keys.shape[0]

    def watch_monochrome(self) -> None:
        self._strips.clear()
        self.refresh()

    def on_mount(self) -> None:
        self._use_palette(self.app.console.color_system == "256")

    def on_resize(self) -> None:
        self._strips.clear()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._base = None
        self._styles.clear()
        self._segments.clear()  # padding and shade cells use the widget's colours
        self._strips.clear()

    def render_line(self, y: int) -> Strip:
        width, height = self.size
        if self._base is None:
            self._base = self.rich_style
        if self._keys is None or width == 0:
            return Strip.blank(width, self._base)
        rows, cols = self._keys.shape
        y_pad, src_y = _place(rows, height)
        row = y - y_pad + src_y
        if not src_y <= row < src_y + min(rows, height):
            return Strip.blank(width, self._base)
        mode = self.shade_mode
        if mode != self._strip_mode:
            self._strips.clear()
            self._segments.clear()
            self._strip_mode = mode
        strip = self._strips.get(row)
        if strip is None:
            strip = self._build_row(row, width, mode)
            self._strips[row] = strip
        return strip

    # ------------------------------------------------------------------ internals

    def _use_palette(self, indexed: bool) -> None:
        """Key cells by 256-colour palette entries (``True``) or by RGB."""
        if indexed == self._indexed:
            return
        self._indexed = indexed
        self._styles.clear()
        self._segments.clear()
        self._strips.clear()
        if self._pixels is not None:
            self._keys = self._make_keys()
        self.refresh()

    def _make_keys(self) -> np.ndarray:
        """(rows, W) int64 ``top << 25 | bottom`` per cell, from ``self._pixels``: RGB, or
        palette entries when the terminal has 256 colours."""
        packed = _pack(self._pixels)
        if self._indexed:
            unique, inverse = np.unique(packed, return_inverse=True)
            cache = self._index_of
            if len(cache) > _MAX_INDEXED:
                cache.clear()
            numbers = [cache.get(c) for c in unique.tolist()]
            for i, number in enumerate(numbers):
                if number is None:
                    numbers[i] = cache[int(unique[i])] = palette_index(int(unique[i]))
            packed = np.asarray(numbers, np.int64)[inverse].reshape(packed.shape)
        bottom = packed[1::2]
        if self._odd:
            bottom = bottom.copy()
            bottom[-1] = _NO_BOTTOM
        return (packed[0::2] << 25) | bottom

    def _visible_rows(self) -> tuple[int, int, int]:
        """(first visible buffer row, count, screen y of that row)."""
        rows = self._keys.shape[0]
        y_pad, src_y = _place(rows, self.size.height)
        return src_y, min(rows, self.size.height), y_pad

    def _refresh_cells(self, changed: np.ndarray, diff: np.ndarray) -> None:
        """Refresh, in each changed row, only the span from its first to its last changed
        cell. (One span, not one per run of changed cells: Textual sends a refreshed
        region as whole segments, so several regions in a row of long runs re-send those
        runs; measured on GAN frames, 7.6 KB per frame became 13.3 KB.)"""
        if not len(changed) or not self.is_mounted:
            return
        first, count, y_pad = self._visible_rows()
        cols = self._keys.shape[1]
        x_pad, src_x = _place(cols, self.size.width)
        for row in changed.tolist():
            if not first <= row < first + count:
                continue
            where = np.flatnonzero(diff[row])
            lo = max(int(where[0]) - src_x, 0)
            hi = min(int(where[-1]) - src_x, self.size.width - x_pad - 1)
            if lo <= hi:
                self.refresh(Region(x_pad + lo, row - first + y_pad, hi - lo + 1, 1))

    def _refresh_rows(self, changed: np.ndarray) -> None:
        if not len(changed) or not self.is_mounted:
            return
        first, count, y_pad = self._visible_rows()
        width = self.size.width
        start = prev = None
        for row in changed.tolist() + [None]:
            if row is not None and start is not None and row == prev + 1:
                prev = row
                continue
            if start is not None:  # flush the run start..prev, clipped to the view
                lo, hi = max(start, first), min(prev, first + count - 1)
                if lo <= hi:
                    self.refresh(Region(0, lo - first + y_pad, width, hi - lo + 1))
            start = prev = row

    def _build_row(self, row: int, width: int, mode: bool) -> Strip:
        self.strips_built += 1
        cols = self._keys.shape[1]
        x_pad, src_x = _place(cols, width)
        n = min(cols, width)
        if mode:
            pair = self._pixels[2 * row : 2 * row + 2, src_x : src_x + n]
            if self._odd and row == self._keys.shape[0] - 1:
                pair = np.concatenate([pair[:1], pair[:1]], axis=0)
            items = shade_levels(pair)[0].tolist()
        else:
            items = self._keys[row, src_x : src_x + n].tolist()
            if self._indexed:
                items = _cells(items)
        base = self._base
        segments: list[Segment] = []
        if x_pad:
            segments.append(Segment(" " * x_pad, base))
        cache = self._segments
        if len(cache) > _MAX_SEGMENTS:
            cache.clear()
        run_key, run_len = items[0], 0
        for key in items + [None]:
            if key == run_key:
                run_len += 1
                continue
            seg = cache.get(run_key * 4096 + run_len)  # one Segment per (pair, run length)
            if seg is None:
                seg = self._segment(run_key, run_len, mode, base)
                if run_len < 4096:
                    cache[run_key * 4096 + run_len] = seg
            segments.append(seg)
            run_key, run_len = key, 1
        right = width - x_pad - n
        if right > 0:
            segments.append(Segment(" " * right, base))
        return Strip(segments, width)

    def _segment(self, key: int, length: int, mode: bool, base: Style) -> Segment:
        if mode:
            return Segment(SHADES[key] * length, base)
        style = self._styles.get(key)
        if style is None:
            top, bottom = (key & ~(_SPACE | _LOWER)) >> 25, key & _HALF_MASK
            colour = _indexed if self._indexed else _rgb_of
            bg = base.bgcolor if bottom == _NO_BOTTOM else colour(bottom)
            style = Style.from_color(None if top == _NO_TOP else colour(top), bg)
            self._styles[key] = style
        glyph = " " if key & _SPACE else LOWER if key & _LOWER else HALF
        return Segment(glyph * length, style)


def _cells(keys: list[int]) -> list[int]:
    """A row's cell keys, rewritten so that consecutive cells share as much of their
    terminal style as they can (what the cell shows is unchanged):

    * a one-colour cell (top == bottom) becomes a space on that background; its
      foreground is never seen, so it keeps the one the cell before it had, and the
      terminal needs only a background change (and one byte instead of three);
    * a two-colour cell may be drawn as ``▄`` with the colours swapped, when that keeps
      the foreground or background the cell before it left.
    """
    out, fg, bg = [], _NO_TOP, -1
    for key in keys:
        top, bottom = key >> 25, key & _HALF_MASK
        if top == bottom:
            out.append(_SPACE | fg << 25 | bottom)
            bg = bottom
            continue
        same = (fg == top) + (bg == bottom)
        swapped = (fg == bottom) + (bg == top)
        if swapped > same and bottom != _NO_BOTTOM:
            out.append(_LOWER | bottom << 25 | top)
            fg, bg = bottom, top
        else:
            out.append(key)
            fg, bg = top, bottom
    return out


def _place(length: int, available: int) -> tuple[int, int]:
    """(padding before, first source index) to centre or centre-crop ``length``."""
    if available >= length:
        return (available - length) // 2, 0
    return 0, (length - available) // 2


def colors_unavailable(app) -> bool:
    """True when the app should not draw RGB: ``NO_COLOR`` or fewer than 256 colours.

    Textual reads ``NO_COLOR`` once at start-up into ``app.no_color`` (and removes it
    from the console's environment); the console's ``color_system`` is one of
    ``"truecolor"``, ``"256"``, ``"standard"`` (16), ``"windows"`` or ``None``.
    """
    if getattr(app, "no_color", False):
        return True
    return app.console.color_system not in ("truecolor", "256")

"""PixelCanvas: an RGB buffer drawn with half blocks through Textual's line API.

One terminal cell shows two vertical pixels: ``▀`` with foreground = top pixel and
background = bottom pixel. The widget keeps

* one rich ``Style`` per (top, bottom) colour pair and one ``Segment`` per (pair, run
  length), so a steady palette costs no new objects per frame (quantise lab palettes
  with ``engine.render.quantize``);
* one ``Strip`` per cell row, rebuilt only for rows whose pixels changed; those rows
  alone are refreshed, so Textual calls ``render_line`` for them and nothing else.

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
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

HALF = "▀"
SHADES = " ░▒▓█"
_NO_BOTTOM = 1 << 24  # key marker: the padded bottom half of an odd-height buffer
_MAX_SEGMENTS = 1 << 16  # bound on cached (pair, run length) segments


def _pack(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 -> (...) int64 0xRRGGBB."""
    c = rgb.astype(np.int64)
    return (c[..., 0] << 16) | (c[..., 1] << 8) | c[..., 2]


def _rgb_of(packed: int) -> Color:
    return Color.from_rgb((packed >> 16) & 255, (packed >> 8) & 255, packed & 255)


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
        packed = _pack(rgb)
        bottom = packed[1::2]
        if odd:
            bottom = bottom.copy()
            bottom[-1] = _NO_BOTTOM
        keys = (packed[0::2] << 25) | bottom

        old = self._keys
        self._pixels, self._keys, self._odd = rgb, keys, odd
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

    def _visible_rows(self) -> tuple[int, int, int]:
        """(first visible buffer row, count, screen y of that row)."""
        rows = self._keys.shape[0]
        y_pad, src_y = _place(rows, self.size.height)
        return src_y, min(rows, self.size.height), y_pad

    def _refresh_cells(self, changed: np.ndarray, diff: np.ndarray) -> None:
        """Refresh, in each changed row, only the span from its first to its last changed
        cell: the terminal is sent those cells and nothing else."""
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
            top, bottom = key >> 25, key & ((1 << 25) - 1)
            bg = base.bgcolor if bottom == _NO_BOTTOM else _rgb_of(bottom)
            style = Style.from_color(_rgb_of(top), bg)
            self._styles[key] = style
        return Segment(HALF * length, style)


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

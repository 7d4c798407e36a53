"""Arrays -> RGB pixel buffers for the half-block canvas.

Every function here produces or edits a pixel buffer: a C-contiguous ``uint8`` array
of shape ``(H, W, 3)`` (rows, columns, RGB). Only numpy and numba are used, so labs can
render in a worker thread (the kernels release the GIL) and hand the finished buffer to
the UI.

Coordinate conventions
----------------------
* Pixel space: row 0 is the top row, column 0 the left column (image order).
* Data space: an ``extent = (xmin, xmax, ymin, ymax)`` maps onto the whole buffer with
  **y pointing up** (maths order). Pixel ``(r, c)`` covers
  ``x in [xmin + c*dx, xmin + (c+1)*dx)`` and ``y in (ymax - (r+1)*dy, ymax - r*dy]``
  with ``dx = (xmax-xmin)/W`` and ``dy = (ymax-ymin)/H``. ``to_pixels`` applies it.
* Value arrays given to ``heatmap`` are in image order (row 0 = top) unless
  ``origin="lower"``. ``pixel_centres`` returns grid points in image order, so
  ``heatmap(f(pixel_centres(extent, H, W)).reshape(H, W))`` lines up with ``scatter``.
* A terminal cell shows two vertical pixels, and a cell is about twice as tall as it is
  wide, so one pixel is roughly square on screen.

Markers stay distinguishable without colour when ``radius >= 1``: ``DOT`` is a filled
disc, ``PLUS`` a ``+``, ``CROSS`` an ``x``, ``RING`` a hollow disc.

Kernels are declared with ``engine.runtime.kernel`` (serial, cached, GIL released; the
heatmap of a large canvas has a ``prange`` twin above a measured size) and
register a warm-up, so ``runtime.warm_up()`` compiles them in a worker; never make the
first call from the UI thread. The Python wrappers drop NaN/inf points and cells before
a kernel sees them (a NaN cannot become a pixel index).
"""

from __future__ import annotations

import numpy as np
from numba import prange

from engine import runtime
from engine.runtime import kernel, parallel_kernel, register_warmup

DOT, PLUS, CROSS, RING = 0, 1, 2, 3
MARKERS = {"dot": DOT, "plus": PLUS, "cross": CROSS, "ring": RING}


def make_palette(stops, n: int = 256) -> np.ndarray:
    """Linear interpolation through RGB ``stops`` -> ``(n, 3)`` uint8 look-up table."""
    stops = np.asarray(stops, dtype=np.float32)
    at = np.linspace(0.0, 1.0, len(stops), dtype=np.float32)
    t = np.linspace(0.0, 1.0, n, dtype=np.float32)
    lut = np.stack([np.interp(t, at, stops[:, k]) for k in range(3)], axis=1)
    return np.ascontiguousarray(np.clip(np.rint(lut), 0, 255).astype(np.uint8))


# Diverging: hue tells the sign, and luminance rises monotonically from dark blue through
# grey to pale orange, so the shade-glyph (16 colour / NO_COLOR) view still reads low/high.
DIVERGING = make_palette([(24, 44, 110), (60, 110, 190), (128, 128, 128), (225, 140, 60), (255, 226, 160)])
# Sequential: viridis-like, dark purple -> yellow, monotonic luminance.
SEQUENTIAL = make_palette([(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)])
GRAY = make_palette([(0, 0, 0), (255, 255, 255)])
PALETTES = {"diverging": DIVERGING, "sequential": SEQUENTIAL, "gray": GRAY}


def _rgb(color) -> np.ndarray:
    return np.asarray(color, dtype=np.uint8).reshape(3)


def _colors(color, n: int) -> np.ndarray:
    """One colour or one per item -> contiguous, writable ``(n, 3)`` uint8.

    Writable even when ``color`` is a read-only array (a broadcast one colour, a frozen
    palette): numba types read-only arrays apart, so one would compile the kernel a
    second time, after the warm-up, in the lab's first frame."""
    c = np.asarray(color, dtype=np.uint8)
    if c.ndim == 1:
        c = np.broadcast_to(c.reshape(1, 3), (n, 3))
    return np.require(c.reshape(n, 3), requirements=("C", "W"))


def canvas(height: int, width: int, bg=(0, 0, 0)) -> np.ndarray:
    """A new ``(height, width, 3)`` buffer filled with the background colour ``bg``."""
    return np.full((height, width, 3), _rgb(bg), dtype=np.uint8)


def to_pixels(points, extent, height: int, width: int) -> np.ndarray:
    """Data points ``(N, 2)`` -> float32 ``(row, col)``; ``floor`` gives the pixel."""
    xmin, xmax, ymin, ymax = extent
    p = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    out = np.empty_like(p)
    out[:, 0] = (ymax - p[:, 1]) * (height / (ymax - ymin))
    out[:, 1] = (p[:, 0] - xmin) * (width / (xmax - xmin))
    return out


def pixel_centres(extent, height: int, width: int) -> np.ndarray:
    """Data coordinates ``(H*W, 2)`` float32 of every pixel centre, in image order."""
    xmin, xmax, ymin, ymax = extent
    xs = xmin + (np.arange(width, dtype=np.float32) + 0.5) * ((xmax - xmin) / width)
    ys = ymax - (np.arange(height, dtype=np.float32) + 0.5) * ((ymax - ymin) / height)
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)


def _finite_rows(a: np.ndarray, *others):
    ok = np.isfinite(a).all(axis=1)
    return (a, *others) if ok.all() else (a[ok], *(o[ok] for o in others))


@kernel
def _scatter_kernel(buf, pos, colors, radius, marker):
    h, w = buf.shape[0], buf.shape[1]
    r2 = radius * radius
    for i in range(pos.shape[0]):
        r0 = int(np.floor(pos[i, 0]))
        c0 = int(np.floor(pos[i, 1]))
        if r0 < -radius or r0 >= h + radius or c0 < -radius or c0 >= w + radius:
            continue
        for dy in range(-radius, radius + 1):
            for dx in range(-radius, radius + 1):
                d2 = dx * dx + dy * dy
                if marker == 0:
                    on = d2 <= r2 + radius
                elif marker == 1:
                    on = dx == 0 or dy == 0
                elif marker == 2:
                    on = dx == dy or dx == -dy
                else:
                    on = r2 - radius < d2 <= r2 + radius
                r, c = r0 + dy, c0 + dx
                if on and 0 <= r < h and 0 <= c < w:
                    buf[r, c, 0] = colors[i, 0]
                    buf[r, c, 1] = colors[i, 1]
                    buf[r, c, 2] = colors[i, 2]


def scatter(buf, points, color, extent, radius: int = 0, marker="dot") -> np.ndarray:
    """Draw ``points`` ``(N, 2)`` (data coordinates) into ``buf`` in place.

    ``color`` is one RGB triple or ``(N, 3)``; later points draw over earlier ones.
    ``marker`` is ``"dot" | "plus" | "cross" | "ring"`` (or the int constants); with
    ``radius=0`` every marker is one pixel. Points outside the extent are clipped.
    """
    pts = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    cols = _colors(color, len(pts))
    pts, cols = _finite_rows(pts, cols)
    pos = to_pixels(pts, extent, buf.shape[0], buf.shape[1])
    m = MARKERS[marker] if isinstance(marker, str) else int(marker)
    _scatter_kernel(buf, pos, np.ascontiguousarray(cols), int(radius), m)
    return buf


@kernel
def _heatmap_kernel(values, lut, vmin, scale, out):
    top = lut.shape[0] - 1
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            t = (values[i, j] - vmin) * scale  # clamp as float: huge values stay safe
            t = 0.0 if t < 0.0 else (top if t > top else t)
            k = int(t + 0.5)
            out[i, j, 0] = lut[k, 0]
            out[i, j, 1] = lut[k, 1]
            out[i, j, 2] = lut[k, 2]


@parallel_kernel
def _heatmap_kernel_parallel(values, lut, vmin, scale, out):
    """``_heatmap_kernel`` with the rows shared over threads (large canvases)."""
    top = lut.shape[0] - 1
    for i in prange(values.shape[0]):
        for j in range(values.shape[1]):
            t = (values[i, j] - vmin) * scale
            t = 0.0 if t < 0.0 else (top if t > top else t)
            k = int(t + 0.5)
            out[i, j, 0] = lut[k, 0]
            out[i, j, 1] = lut[k, 1]
            out[i, j, 2] = lut[k, 2]


# Cells from which a heatmap is coloured on every compute thread: the serial pass must
# take >= ~100 us (~4.5 ns a cell, benchmarks/bench_scaling.py --thresholds).
HEATMAP_PARALLEL_MIN = 24 * 1024


def heatmap(
    values,
    vmin: float | None = None,
    vmax: float | None = None,
    palette="diverging",
    origin: str = "upper",
    nan_color=(0, 0, 0),
) -> np.ndarray:
    """2-D ``values`` ``(H, W)`` -> ``(H, W, 3)`` buffer through a palette.

    ``vmin`` maps to the palette's first colour and ``vmax`` to its last; values outside
    are clipped; missing bounds come from the finite data; no range gives the middle
    colour. ``palette`` is a name from ``PALETTES`` or an ``(n, 3)`` uint8 table.
    ``origin="lower"`` puts row 0 at the bottom. NaN/inf cells get ``nan_color``.
    """
    v = np.asarray(values, dtype=np.float32)
    v = v[::-1] if origin == "lower" else v
    finite = np.isfinite(v)
    data = v[finite]
    lo = float(vmin) if vmin is not None else (float(data.min()) if data.size else 0.0)
    hi = float(vmax) if vmax is not None else (float(data.max()) if data.size else 1.0)
    lut = PALETTES[palette] if isinstance(palette, str) else np.ascontiguousarray(palette, np.uint8)
    out = np.empty(v.shape + (3,), dtype=np.uint8)
    if hi <= lo:
        out[...] = lut[lut.shape[0] // 2]
    else:
        clean = np.ascontiguousarray(np.where(finite, v, np.float32(lo)))
        scale = np.float32((lut.shape[0] - 1) / (hi - lo))
        runtime.launch(
            _heatmap_kernel_parallel,
            _heatmap_kernel,
            clean.size,
            HEATMAP_PARALLEL_MIN,
            clean,
            lut,
            np.float32(lo),
            scale,
            out,
        )
    out[~finite] = _rgb(nan_color)
    return out


@kernel
def _line(buf, r0, c0, r1, c1, col):
    """Bresenham between integer pixels; pixels outside the buffer are skipped."""
    h, w = buf.shape[0], buf.shape[1]
    dr, dc = abs(r1 - r0), abs(c1 - c0)
    sr = 1 if r1 >= r0 else -1
    sc = 1 if c1 >= c0 else -1
    err = dc - dr
    for _ in range(4 * (h + w) + 64):  # ends are clipped near the buffer first
        if 0 <= r0 < h and 0 <= c0 < w:
            for ch in range(3):
                buf[r0, c0, ch] = col[ch]
        if r0 == r1 and c0 == c1:
            break
        e2 = 2 * err
        if e2 > -dr:
            err -= dr
            c0 += sc
        if e2 < dc:
            err += dc
            r0 += sr


@kernel
def _segments_kernel(buf, a, b, colors, head):
    for i in range(a.shape[0]):
        r1, c1 = int(np.floor(b[i, 0])), int(np.floor(b[i, 1]))
        _line(buf, int(np.floor(a[i, 0])), int(np.floor(a[i, 1])), r1, c1, colors[i])
        dr, dc = b[i, 0] - a[i, 0], b[i, 1] - a[i, 1]
        n = np.sqrt(dr * dr + dc * dc)
        if head <= 0 or n < 1e-6:
            continue
        ur, uc = dr / n, dc / n
        for s in (-1.0, 1.0):  # two barbs at about +-35 degrees from the shaft
            br = b[i, 0] + (-ur * 0.82 - s * uc * 0.57) * head
            bc = b[i, 1] + (-uc * 0.82 + s * ur * 0.57) * head
            _line(buf, r1, c1, int(np.floor(br)), int(np.floor(bc)), colors[i])


def _clip_segments(a, b, h, w, margin):
    """Liang-Barsky: clip pixel segments ``a -> b`` to the buffer plus ``margin``."""
    d = b - a
    t0, t1 = np.zeros(len(a), np.float32), np.ones(len(a), np.float32)
    keep = np.ones(len(a), dtype=bool)
    for k, size in ((0, h), (1, w)):
        for p, q in ((-d[:, k], a[:, k] + margin), (d[:, k], size + margin - a[:, k])):
            keep &= (p != 0) | (q >= 0)  # parallel to this edge and outside it
            with np.errstate(divide="ignore", invalid="ignore"):
                r = q / p
            t0 = np.where(p < 0, np.maximum(t0, r), t0)
            t1 = np.where(p > 0, np.minimum(t1, r), t1)
    keep &= t0 <= t1
    a2, b2 = a + t0[:, None] * d, a + t1[:, None] * d
    return np.ascontiguousarray(a2[keep]), np.ascontiguousarray(b2[keep]), keep


def lines(buf, starts, ends, color, extent, head: int = 0) -> np.ndarray:
    """Draw segments ``starts[i] -> ends[i]`` (data coordinates, ``(N, 2)``) in place.

    ``head > 0`` adds an arrow head with barbs ``head`` pixels long at each end point.
    """
    s = np.asarray(starts, dtype=np.float32).reshape(-1, 2)
    e = np.asarray(ends, dtype=np.float32).reshape(-1, 2)
    cols = _colors(color, len(s))
    both = np.concatenate([s, e], axis=1)
    both, cols = _finite_rows(both, cols)
    h, w = buf.shape[0], buf.shape[1]
    a, b = to_pixels(both[:, :2], extent, h, w), to_pixels(both[:, 2:], extent, h, w)
    a, b, keep = _clip_segments(a, b, h, w, margin=abs(int(head)) + 2)
    _segments_kernel(buf, a, b, np.ascontiguousarray(cols[keep]), int(head))
    return buf


def arrows(buf, starts, vectors, color, extent, scale: float = 1.0, head: int = 2):
    """Draw arrows from ``starts`` along ``scale * vectors`` (data units), in place.

    Made for generator gradient fields: ``vectors`` is ``-dLoss/dx`` per sample.
    """
    s = np.asarray(starts, dtype=np.float32).reshape(-1, 2)
    v = np.asarray(vectors, dtype=np.float32).reshape(-1, 2)
    return lines(buf, s, s + np.float32(scale) * v, color, extent, head=head)


def polyline(buf, points, color, extent) -> np.ndarray:
    """Connect consecutive ``points`` ``(N, 2)`` (data coordinates) with lines, in place."""
    p = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    if len(p) < 2:
        return scatter(buf, p, color, extent)
    return lines(buf, p[:-1], p[1:], color, extent)


@kernel
def _tile_kernel(images, lo, scale, ncols, pad, out):
    n, h, w = images.shape[0], images.shape[1], images.shape[2]
    for k in range(n):
        top = pad + (k // ncols) * (h + pad)
        left = pad + (k % ncols) * (w + pad)
        for i in range(h):
            for j in range(w):
                for ch in range(3):
                    v = (images[k, i, j, ch] - lo) * scale
                    v = 0.0 if v < 0.0 else (255.0 if v > 255.0 else v)
                    out[top + i, left + j, ch] = np.uint8(v + 0.5)


def image_grid(
    images, cols: int | None = None, pad: int = 1, value_range=(0.0, 1.0), pad_color=(40, 40, 40)
) -> np.ndarray:
    """Tile ``N`` images into one buffer, row-major, ``pad`` pixels around each.

    ``images`` is ``(N, h, w)`` grayscale or ``(N, h, w, 3)`` RGB floats;
    ``value_range`` is their ``(black, white)`` levels, e.g. ``(-1, 1)`` for tanh
    outputs. ``cols`` defaults to a near-square grid. Output shape:
    ``(pad + rows*(h+pad), pad + cols*(w+pad), 3)``.
    """
    im = np.asarray(images, dtype=np.float32)
    if im.ndim == 3:
        im = np.repeat(im[..., None], 3, axis=3)
    n, h, w = im.shape[:3]
    cols = int(cols) if cols else max(1, int(np.ceil(np.sqrt(n))))
    rows = max(1, -(-n // cols))
    im = np.where(np.isfinite(im), im, np.float32(value_range[0]))
    out = canvas(pad + rows * (h + pad), pad + cols * (w + pad), pad_color)
    lo, hi = float(value_range[0]), float(value_range[1])
    scale = 255.0 / (hi - lo) if hi != lo else 0.0
    _tile_kernel(np.ascontiguousarray(im), np.float32(lo), np.float32(scale), cols, pad, out)
    return out


@kernel
def _resize_kernel(src, out):
    h, w, oh, ow = src.shape[0], src.shape[1], out.shape[0], out.shape[1]
    for i in range(oh):
        si = (i * h) // oh
        for j in range(ow):
            sj = (j * w) // ow
            for ch in range(src.shape[2]):
                out[i, j, ch] = src[si, sj, ch]


def resize_nearest(buf, height: int, width: int) -> np.ndarray:
    """Nearest-neighbour resize of an ``(H, W, C)`` uint8 buffer to ``(height, width)``."""
    src = np.ascontiguousarray(buf, dtype=np.uint8)
    out = np.empty((height, width, src.shape[2]), dtype=np.uint8)
    _resize_kernel(src, out)
    return out


def upscale(buf, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement by an integer ``factor`` on both axes."""
    return resize_nearest(buf, buf.shape[0] * factor, buf.shape[1] * factor)


@kernel
def _quantize_kernel(buf, levels, out):
    step = 255.0 / (levels - 1)
    for i in range(buf.shape[0]):
        for j in range(buf.shape[1]):
            for ch in range(3):
                q = int(buf[i, j, ch] / step + 0.5)
                out[i, j, ch] = np.uint8(q * step + 0.5)


@runtime.twin_of(_quantize_kernel)
def _quantize_twin(buf, levels, out):
    step = 255.0 / (levels - 1)
    q = np.floor(buf / step + 0.5)
    out[...] = np.floor(q * step + 0.5).astype(np.uint8)


def quantize(buf, levels: int = 16) -> np.ndarray:
    """Round channels to ``levels`` even steps: <= ``levels**3`` colours (16 -> 4096)."""
    if not 2 <= levels <= 256:
        raise ValueError("levels must be between 2 and 256")
    out = np.empty_like(buf, dtype=np.uint8)
    _quantize_kernel(np.ascontiguousarray(buf, dtype=np.uint8), int(levels), out)
    return out


@kernel
def _nearest_kernel(buf, pal, out):
    for i in range(buf.shape[0]):
        for j in range(buf.shape[1]):
            best, best_d = 0, 1 << 30
            for k in range(pal.shape[0]):
                d = 0
                for ch in range(3):
                    e = int(buf[i, j, ch]) - int(pal[k, ch])
                    d += e * e
                if d < best_d:
                    best, best_d = k, d
            for ch in range(3):
                out[i, j, ch] = pal[best, ch]


def quantize_to_palette(buf, palette) -> np.ndarray:
    """Replace every pixel by the nearest (squared RGB distance) colour of ``palette``."""
    pal = np.ascontiguousarray(palette, dtype=np.uint8).reshape(-1, 3)
    out = np.empty_like(buf, dtype=np.uint8)
    _nearest_kernel(np.ascontiguousarray(buf, dtype=np.uint8), pal, out)
    return out


def count_colors(buf) -> int:
    """Number of distinct RGB colours in a buffer."""
    b = np.ascontiguousarray(buf, dtype=np.uint8).reshape(-1, 3).astype(np.uint32)
    return int(np.unique((b[:, 0] << 16) | (b[:, 1] << 8) | b[:, 2]).size)


def _warm_up() -> None:
    """Compile or load every kernel above with the argument types real calls use."""
    buf = canvas(4, 4)
    pts = np.zeros((2, 2), dtype=np.float32)
    scatter(buf, pts, (255, 0, 0), (-1, 1, -1, 1), radius=1)
    arrows(buf, pts, pts + 1, (0, 255, 0), (-1, 1, -1, 1))
    heatmap(np.zeros((2, 2), dtype=np.float32), 0.0, 1.0)
    if runtime.parallel_possible():
        _heatmap_kernel_parallel(
            np.zeros((2, 2), dtype=np.float32),
            PALETTES["diverging"],
            np.float32(0.0),
            np.float32(1.0),
            buf[:2, :2].copy(),
        )
    image_grid(np.zeros((2, 2, 2), dtype=np.float32))
    upscale(buf, 2)
    quantize(buf, 4)
    quantize_to_palette(buf, SEQUENTIAL[:4])


register_warmup("render", _warm_up)

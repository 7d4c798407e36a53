"""Image datasets: procedurally drawn sprites and the real UCI handwritten digits.

``sprites(n, seed)``
    16x16 RGB icons: one shape in one colour, at one position and size, on a plain dark
    background. Each image also gets small continuous jitter (sub-pixel position, size,
    colour shade, background shade) and is drawn with 4x4 anti-aliasing, so no two
    images are identical; that keeps the "is this sample a copy?" check meaningful.
    Deterministic from the seed. Returns a :class:`SpriteSet`: images float32 in [0, 1]
    with shape (N, 16, 16, 3), integer attribute ids (indices into :data:`SHAPES`,
    :data:`COLOURS`, :data:`POSITIONS`, :data:`SIZES`) and captions such as
    "a small red heart on the left".

``digits(path=None)``
    The 1,797 8x8 handwritten digits of the UCI "Optical Recognition of Handwritten
    Digits" data set (Alpaydin & Kaynak, 1998; CC BY 4.0), shipped as
    ``content/data/digits.npz`` (see content/data/README.md). Returns
    ``(images uint8 (1797, 8, 8) with values 0..16, labels uint8 (1797,))``;
    :func:`digits_float` gives float32 images scaled to [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import runtime
from .runtime import kernel, register_warmup

SIZE = 16  # sprites are SIZE x SIZE x 3
SUPERSAMPLE = 4  # 4x4 sub-pixel samples per pixel (anti-aliasing)

SHAPES = ("circle", "square", "triangle", "diamond", "cross", "heart")
COLOURS = ("red", "orange", "yellow", "green", "blue", "purple")
POSITIONS = ("left", "right", "top", "bottom", "centre")
SIZES = ("small", "large")

#: RGB of each colour name (before the per-image shade jitter).
PALETTE = np.array(
    [
        (0.92, 0.16, 0.14),  # red
        (1.00, 0.56, 0.08),  # orange
        (0.96, 0.88, 0.12),  # yellow
        (0.16, 0.78, 0.22),  # green
        (0.20, 0.40, 1.00),  # blue
        (0.68, 0.24, 0.90),  # purple
    ],
    dtype=np.float32,
)

#: Centre (x, y) in pixels of each position; y grows downwards.
CENTRES = np.array([(5.0, 8.0), (11.0, 8.0), (8.0, 5.0), (8.0, 11.0), (8.0, 8.0)], dtype=np.float32)
#: Radius in pixels of each size.
RADII = np.array([3.0, 4.2], dtype=np.float32)

_WHERE = {
    "left": "on the left",
    "right": "on the right",
    "top": "at the top",
    "bottom": "at the bottom",
    "centre": "in the centre",
}

BACKGROUND = 0.10  # grey level of the plain background (jittered +-0.03)
JITTER_POS = 0.5  # +- pixels of sub-pixel position jitter
JITTER_SIZE = 0.08  # +- relative size jitter
JITTER_SHADE = 0.06  # +- per-channel colour jitter


@dataclass(frozen=True)
class SpriteSet:
    images: np.ndarray  # float32 (N, 16, 16, 3) in [0, 1]
    shape: np.ndarray  # int64 (N,) index into SHAPES
    colour: np.ndarray  # int64 (N,) index into COLOURS
    position: np.ndarray  # int64 (N,) index into POSITIONS
    size: np.ndarray  # int64 (N,) index into SIZES
    captions: list[str]

    def __len__(self) -> int:
        return len(self.images)


def caption(shape: int, colour: int, position: int, size: int) -> str:
    """The caption for one set of attribute ids, e.g. "a large blue cross at the top"."""
    return f"a {SIZES[size]} {COLOURS[colour]} {SHAPES[shape]} {_WHERE[POSITIONS[position]]}"


@kernel
def _inside(shape, u, v):
    """Is the point (u, v) (shape-local units, v downwards, radius 1) inside the shape?"""
    au = abs(u)
    av = abs(v)
    if shape == 0:  # circle
        return u * u + v * v <= 1.0
    if shape == 1:  # square
        return au <= 0.82 and av <= 0.82
    if shape == 2:  # triangle, apex up
        return -0.9 <= v <= 0.8 and au <= 1.0 * (v + 0.9) / 1.7
    if shape == 3:  # diamond
        return au + av <= 1.05
    if shape == 4:  # cross (plus sign)
        return (au <= 0.32 and av <= 1.0) or (av <= 0.32 and au <= 1.0)
    # heart: (x^2 + y^2 - 1)^3 - x^2 y^3 <= 0 with y upwards, scaled into the unit disc
    x = u * 1.15
    y = -v * 1.15 + 0.12
    q = x * x + y * y - 1.0
    return q * q * q - x * x * y * y * y <= 0.0


@kernel
def _draw(shape, cx, cy, radius, colour, background, ss, out):
    """Draw image i: coverage of the shape by ss x ss sub-samples, blended over bg."""
    n, h, w, _ = out.shape
    inv = 1.0 / (ss * ss)
    for i in range(n):
        r = radius[i]
        for py in range(h):
            for px in range(w):
                hit = 0
                for sy in range(ss):
                    y = py + (sy + 0.5) / ss
                    for sx in range(ss):
                        x = px + (sx + 0.5) / ss
                        if _inside(shape[i], (x - cx[i]) / r, (y - cy[i]) / r):
                            hit += 1
                c = hit * inv
                for ch in range(3):
                    out[i, py, px, ch] = background[i] * (1.0 - c) + colour[i, ch] * c


def _inside_numpy(shape: int, u, v):
    """``_inside`` for arrays of points (one shape)."""
    au, av = np.abs(u), np.abs(v)
    if shape == 0:
        return u * u + v * v <= 1.0
    if shape == 1:
        return (au <= 0.82) & (av <= 0.82)
    if shape == 2:
        return (v >= -0.9) & (v <= 0.8) & (au <= 1.0 * (v + 0.9) / 1.7)
    if shape == 3:
        return au + av <= 1.05
    if shape == 4:
        return ((au <= 0.32) & (av <= 1.0)) | ((av <= 0.32) & (au <= 1.0))
    x = u * 1.15
    y = -v * 1.15 + 0.12
    q = x * x + y * y - 1.0
    return q * q * q - x * x * y * y * y <= 0.0


@runtime.twin_of(_draw)
def _draw_twin(shape, cx, cy, radius, colour, background, ss, out):
    """``_draw`` in numpy, used while it compiles (float64 like the kernel's arithmetic):
    the sprites of one shape at a time, 256 at once."""
    n, h, w, _ = out.shape
    offsets = (np.arange(ss) + 0.5) / ss
    ys = (np.arange(h)[:, None] + offsets[None, :]).reshape(-1)  # (h * ss,)
    xs = (np.arange(w)[:, None] + offsets[None, :]).reshape(-1)
    for code in np.unique(shape):
        rows = np.flatnonzero(shape == code)
        for first in range(0, len(rows), 256):
            i = rows[first : first + 256]
            r = radius[i].astype(np.float64)[:, None]
            v = ((ys[None, :] - cy[i].astype(np.float64)[:, None]) / r)[:, :, None]
            u = ((xs[None, :] - cx[i].astype(np.float64)[:, None]) / r)[:, None, :]
            hit = _inside_numpy(int(code), u, v).reshape(len(i), h, ss, w, ss).sum(axis=(2, 4))
            c = (hit * (1.0 / (ss * ss)))[..., None]
            bg = background[i].astype(np.float64)[:, None, None, None]
            out[i] = bg * (1.0 - c) + colour[i].astype(np.float64)[:, None, None, :] * c


def sprites(n: int, seed: int = 0, first: int | None = None) -> SpriteSet:
    """``n`` sprites drawn from uniformly random attributes, deterministic from ``seed``.
    ``first``: only the first ones of those ``n`` (the same pictures, without drawing
    the rest: a lab that shows a dozen examples of a 20,000-sprite set)."""
    n = int(n)
    rng = np.random.default_rng(seed)
    shape = rng.integers(0, len(SHAPES), n)
    colour = rng.integers(0, len(COLOURS), n)
    position = rng.integers(0, len(POSITIONS), n)
    size = rng.integers(0, len(SIZES), n)
    return _render(shape, colour, position, size, rng, first)


def sprites_with(shape, colour, position, size, seed: int = 0) -> SpriteSet:
    """Sprites with the given attribute ids (equal-length int arrays), jitter from ``seed``.

    For data sets that must leave some attribute combinations out (the CLIP model's
    held-out combinations) or show one chosen sprite in a lab.
    """
    ids = [np.asarray(a, np.int64).reshape(-1) for a in (shape, colour, position, size)]
    if len({len(a) for a in ids}) != 1:
        raise ValueError("shape, colour, position and size must have the same length")
    for a, names in zip(ids, (SHAPES, COLOURS, POSITIONS, SIZES)):
        if len(a) and (a.min() < 0 or a.max() >= len(names)):
            raise ValueError(f"attribute ids must lie in 0..{len(names) - 1}")
    return _render(ids[0], ids[1], ids[2], ids[3], np.random.default_rng(seed))


def _render(shape, colour, position, size, rng: np.random.Generator, first: int | None = None) -> SpriteSet:
    """Draw sprites with these attributes; the continuous jitter comes from ``rng``
    (drawn for all of them, so that ``first`` keeps the same first pictures)."""
    jit = rng.uniform(-1.0, 1.0, (len(shape), 7)).astype(np.float32)
    if first is not None:
        shape, colour, position, size, jit = (a[:first] for a in (shape, colour, position, size, jit))
    n = len(shape)
    cx = CENTRES[position, 0] + JITTER_POS * jit[:, 0]
    cy = CENTRES[position, 1] + JITTER_POS * jit[:, 1]
    radius = RADII[size] * (1.0 + JITTER_SIZE * jit[:, 2])
    rgb = np.clip(PALETTE[colour] + JITTER_SHADE * jit[:, 3:6], 0.0, 1.0).astype(np.float32)
    background = (BACKGROUND + 0.03 * jit[:, 6]).astype(np.float32)
    images = np.empty((n, SIZE, SIZE, 3), np.float32)
    _draw(
        shape.astype(np.int64),
        cx.astype(np.float32),
        cy.astype(np.float32),
        radius.astype(np.float32),
        rgb,
        background,
        SUPERSAMPLE,
        images,
    )
    captions = [caption(s, c, p, z) for s, c, p, z in zip(shape, colour, position, size)]
    return SpriteSet(images, shape, colour, position, size, captions)


# ---------------------------------------------------------------------------- digits


def data_dir() -> Path:
    """The shipped data sets (read-only; see engine.paths)."""
    from engine import paths

    return paths.shipped("data")


def digits(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The UCI 8x8 digits: (images uint8 (N, 8, 8) in 0..16, labels uint8 (N,))."""
    path = Path(path) if path is not None else data_dir() / "digits.npz"
    if path.is_dir():
        path = path / "digits.npz"
    if not path.exists():
        raise FileNotFoundError(f"digits data not found at {path}")
    with np.load(path, allow_pickle=False) as f:
        return f["images"], f["labels"]


def digits_float(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The digits as float32 images in [0, 1] (value / 16), with their labels."""
    images, labels = digits(path)
    return images.astype(np.float32) / np.float32(16.0), labels


def _warm_up() -> None:
    sprites(2, 0)


register_warmup("images", _warm_up)

"""Seeded generative art: a small random network (a CPPN) paints every pixel.

A *compositional pattern-producing network* takes a pixel's coordinates and returns
its colour. Nothing is trained: the **seed** alone decides every weight, so the seed
*is* the picture. The network sees, for each pixel,

* ``x`` and ``y`` (the shorter side spans -1..1, so any size shows the same picture),
* ``r``, the distance from the centre (which is why rings and halos appear),
* a **latent vector** ``z`` of ``LATENT`` numbers, the same for every pixel. Moving
  ``z`` a little moves the whole picture a little: that is the "latent drift" that
  animates it. ``z`` walks a closed loop of ``DRIFT_STEPS`` steps, so a drift comes
  back to where it started.

The knobs (a :class:`Recipe`): palette, symmetry (a fold of the coordinates before the
network sees them), zoom, complexity (``depth`` hidden layers of ``width`` units) and
the activation. The same recipe gives the same bytes: every random number comes from
``numpy.random.default_rng`` seeded by the recipe, the arithmetic is float64 and BLAS
runs one thread (``engine.runtime``), so the rounding to 8-bit colour never flips.

A recipe is shareable as one line of text, ``art1:seed=42,pal=ember,...``:
:func:`format_recipe` writes it, :func:`parse_recipe` reads it back (and explains any
mistake in one sentence), and ``parse_recipe(format_recipe(r)) == r``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from . import png
from . import runtime as _runtime  # noqa: F401  (one BLAS thread: the same bytes every run)

LATENT = 8  # numbers in the latent vector
DRIFT_STEPS = 240  # steps in one loop of the latent drift
INPUT_SCALE = 2.0  # how far the coordinates reach into the activations' curves
WEIGHT_SCALE = 1.6  # the random weights' spread, relative to 1/sqrt(fan-in)
OUTPUT_GAIN = 1.3  # extra spread of the output layer: more contrast, fewer flat greys
MAX_SIDE = 8192  # the largest picture side `render` draws
VERSION = "art1"

# Palettes as colour stops (dark to light); "rgb" uses three outputs as red, green, blue.
PALETTE_STOPS = {
    "ember": [(12, 6, 30), (110, 20, 70), (220, 70, 40), (250, 180, 60), (255, 245, 200)],
    "ocean": [(4, 14, 40), (16, 70, 120), (30, 150, 170), (150, 220, 210), (240, 255, 250)],
    "forest": [(10, 20, 12), (30, 80, 40), (110, 150, 60), (210, 200, 120), (250, 245, 220)],
    "neon": [(20, 0, 40), (120, 0, 200), (0, 200, 255), (80, 255, 120), (255, 255, 90)],
    "mono": [(8, 8, 8), (250, 250, 250)],
}
PALETTES = (*PALETTE_STOPS, "rgb")
SYMMETRIES = ("none", "mirror", "quad", "radial-3", "radial-5", "radial-8")
ACTIVATIONS = ("mix", "sin", "tanh", "gauss")
DEPTHS = (1, 8)  # inclusive range of hidden layers
WIDTHS = (2, 64)  # inclusive range of units per layer
ZOOMS = (0.05, 20.0)  # inclusive range of the zoom


class RecipeError(ValueError):
    """A recipe that cannot be drawn; the message is one sentence for the learner."""


@dataclass(frozen=True)
class Recipe:
    """Everything that decides the picture (two equal recipes draw equal bytes).

    ``t`` is the latent's position on its loop, 0 .. DRIFT_STEPS-1.
    """

    seed: int = 42
    palette: str = "ember"
    symmetry: str = "none"
    zoom: float = 1.0
    depth: int = 4
    width: int = 16
    activation: str = "mix"
    t: int = 0

    def __post_init__(self) -> None:
        check_recipe(self)


def check_recipe(r: Recipe) -> None:
    """Raise RecipeError naming the first setting that is out of range."""
    if isinstance(r.seed, bool) or not isinstance(r.seed, int) or not 0 <= r.seed < 2**32:
        raise RecipeError(f"seed must be a whole number from 0 to {2**32 - 1}, not {r.seed!r}")
    for name, value, choices in (
        ("palette", r.palette, PALETTES),
        ("symmetry", r.symmetry, SYMMETRIES),
        ("activation", r.activation, ACTIVATIONS),
    ):
        if value not in choices:
            raise RecipeError(f"{name} {value!r} is not one of {', '.join(choices)}")
    if not isinstance(r.zoom, float) or not math.isfinite(r.zoom) or not ZOOMS[0] <= r.zoom <= ZOOMS[1]:
        raise RecipeError(f"zoom must be a number from {ZOOMS[0]:g} to {ZOOMS[1]:g}, not {r.zoom!r}")
    for setting, number, (low, high) in (
        ("depth", r.depth, DEPTHS),
        ("width", r.width, WIDTHS),
        ("t", r.t, (0, DRIFT_STEPS - 1)),
    ):
        if isinstance(number, bool) or not isinstance(number, int) or not low <= number <= high:
            raise RecipeError(f"{setting} must be a whole number from {low} to {high}, not {number!r}")


# ---------------------------------------------------------------------- the recipe as text

KEYS = {
    "seed": "seed",
    "pal": "palette",
    "sym": "symmetry",
    "zoom": "zoom",
    "depth": "depth",
    "width": "width",
    "act": "activation",
    "t": "t",
}
"""Short name in the text -> field of Recipe, in the order the text lists them."""


def _number(value: float) -> str:
    """Shortest text that reads back as exactly ``value`` ("1" for 1.0, "0.75")."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def format_recipe(r: Recipe) -> str:
    """The recipe as one shareable line, e.g. ``art1:seed=42,pal=ember,...,t=0``."""
    parts = []
    for short, name in KEYS.items():
        value = getattr(r, name)
        parts.append(f"{short}={_number(value) if isinstance(value, float) else value}")
    return f"{VERSION}:" + ",".join(parts)


def _read_int(short: str, text: str) -> int:
    try:
        return int(text, 10)
    except ValueError:
        raise RecipeError(f"{short}={text!r} is not a whole number") from None


def _read_float(short: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise RecipeError(f"{short}={text!r} is not a number") from None
    if not math.isfinite(value):
        raise RecipeError(f"{short}={text!r} is not a finite number")
    return value


def parse_recipe(text: str, base: Recipe | None = None) -> Recipe:
    """Read a recipe line. Settings it leaves out keep ``base``'s values (default: the
    default Recipe), so ``pal=ocean,sym=quad`` is a recipe too. Raises RecipeError with
    one sentence saying what is wrong."""
    body = text.strip()
    head, colon, rest = body.partition(":")
    if colon and "=" not in head:
        if head != VERSION:
            raise RecipeError(
                f"the recipe starts {head + ':'!r}, but this version of "
                f"genai-tutor reads {VERSION + ':'!r} recipes"
            )
        body = rest
    if not body:
        raise RecipeError("the recipe is empty: write settings like seed=42,pal=ocean")
    values: dict[str, object] = {}
    for item in body.split(","):
        item = item.strip()
        short, equals, value = item.partition("=")
        short, value = short.strip().lower(), value.strip()
        if not equals or not short or not value:
            raise RecipeError(f"{item!r} is not a setting: write name=value, e.g. seed=42")
        if short not in KEYS:
            raise RecipeError(f"unknown setting {short!r} (the settings are {', '.join(KEYS)})")
        name = KEYS[short]
        if name in values:
            raise RecipeError(f"{short} is given twice")
        if name == "zoom":
            values[name] = _read_float(short, value)
        elif name in ("seed", "depth", "width", "t"):
            values[name] = _read_int(short, value)
        else:
            values[name] = value.lower()
    return replace(base or Recipe(), **values)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- the network


@dataclass(frozen=True)
class Network:
    """The CPPN's weights, decided by the recipe's seed, depth and width alone (the
    other settings change how it is looked at, not the weights)."""

    layers: tuple[tuple[np.ndarray, np.ndarray], ...]  # (W, b) per layer, last = output
    latent_in: np.ndarray  # (LATENT, width): z enters layer 1
    loop: tuple[np.ndarray, np.ndarray]  # z(t) = cos·a + sin·b
    key: tuple[int, int, int]  # (seed, depth, width)


def network(r: Recipe) -> Network:
    """Draw the weights from the seed. Separate streams keep the latent loop the same
    whatever the complexity, so depth and width change the painter, not the path."""
    loop_rng = np.random.default_rng([r.seed, 1])
    loop = (loop_rng.standard_normal(LATENT), loop_rng.standard_normal(LATENT))
    rng = np.random.default_rng([r.seed, 2, r.depth, r.width])
    sizes = [3, *([r.width] * r.depth), 3]
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        w = rng.standard_normal((fan_in, fan_out)) * (WEIGHT_SCALE / math.sqrt(fan_in))
        if fan_out == 3:
            w *= OUTPUT_GAIN
        b = rng.standard_normal(fan_out) * 0.5
        layers.append((w, b))
    latent_in = rng.standard_normal((LATENT, r.width)) * (WEIGHT_SCALE / math.sqrt(3 + LATENT))
    return Network(tuple(layers), latent_in, loop, (r.seed, r.depth, r.width))


def latent(net: Network, t: int) -> np.ndarray:
    """The latent vector at step ``t`` of the drift loop (a closed ellipse in R^LATENT)."""
    angle = 2.0 * math.pi * (t % DRIFT_STEPS) / DRIFT_STEPS
    return math.cos(angle) * net.loop[0] + math.sin(angle) * net.loop[1]


def _sin(a: np.ndarray) -> None:
    np.sin(a, out=a)


def _tanh(a: np.ndarray) -> None:
    np.tanh(a, out=a)


def _gauss(a: np.ndarray) -> None:
    """A bump, 2·exp(-a²) - 1, centred on zero like sin and tanh (plain exp(-a²) is
    always positive and drags every later layer one way)."""
    np.square(a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    a *= np.float32(2.0)
    a -= np.float32(1.0)


_FUNCTIONS = {"sin": _sin, "tanh": _tanh, "gauss": _gauss}
_MIX = ("sin", "tanh", "gauss")


def mix_blocks(width: int) -> list[tuple[str, int, int]]:
    """Which units use which function under "mix": three contiguous blocks, as equal as
    possible (sin, tanh, gauss: waves, edges and blobs)."""
    cuts = [round(width * k / 3) for k in range(4)]
    return [(name, cuts[k], cuts[k + 1]) for k, name in enumerate(_MIX)]


def activate(a: np.ndarray, name: str) -> np.ndarray:
    """Apply the activation to pre-activations ``(N, width)`` in place; returns ``a``."""
    if name == "mix":
        for fn, lo, hi in mix_blocks(a.shape[1]):
            if hi > lo:
                _FUNCTIONS[fn](a[:, lo:hi])
    else:
        _FUNCTIONS[name](a)
    return a


def coordinates(r: Recipe, height: int, width: int, rows: slice = slice(None)) -> np.ndarray:
    """The network's inputs for the pixels of ``rows``, ``(n*W, 3)`` float32: x, y, r
    after zoom and symmetry. Row 0 is the top; y points up; the shorter side spans -1..1."""
    unit = min(height, width) / 2.0
    xs = (np.arange(width, dtype=np.float64) + 0.5 - width / 2.0) / unit / r.zoom
    ys = (height / 2.0 - np.arange(height, dtype=np.float64)[rows] - 0.5) / unit / r.zoom
    x, y = np.meshgrid(xs.astype(np.float32), ys.astype(np.float32))
    x, y = fold(x.ravel(), y.ravel(), r.symmetry)
    return np.stack([x, y, np.hypot(x, y)], axis=1) * np.float32(INPUT_SCALE)


def fold(x: np.ndarray, y: np.ndarray, symmetry: str) -> tuple[np.ndarray, np.ndarray]:
    """Fold the plane so mirrored points share inputs (and therefore colours).

    mirror: left = right. quad: also top = bottom. radial-k: the angle is taken modulo
    2π/k and reflected inside its wedge, a kaleidoscope with k mirrors."""
    if symmetry == "none":
        return x, y
    if symmetry == "mirror":
        return np.abs(x), y
    if symmetry == "quad":
        return np.abs(x), np.abs(y)
    k = int(symmetry.split("-")[1])
    wedge = np.float32(2.0 * math.pi / k)
    radius = np.hypot(x, y)
    angle = np.mod(np.arctan2(y, x) + np.float32(math.pi / 2.0), wedge)  # wedges start at the top
    angle = np.abs(angle - wedge / np.float32(2.0))
    return radius * np.sin(angle), radius * np.cos(angle)


CHUNK_ROWS = 4096
"""Pixels per pass through the network: the activations of a chunk stay in the cache
(measured: about 1.2x faster than the whole picture at once at 256x256)."""


def _float32_layers(net: Network, t: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The weights as float32, with the latent folded into layer 1's bias (z is one
    vector for every pixel, so z @ latent_in is a constant shift)."""
    shift = latent(net, t) @ net.latent_in
    return [
        (w.astype(np.float32), (b + shift if i == 0 else b).astype(np.float32))
        for i, (w, b) in enumerate(net.layers)
    ]


def outputs(r: Recipe, height: int, width: int, net: Network | None = None) -> np.ndarray:
    """The network's three outputs per pixel, ``(H, W, 3)`` float32 in [0, 1].

    float32 and numpy's SIMD functions: four times faster than float64 here. The same
    machine always gives the same bits; another CPU may round a last digit differently."""
    if net is None or net.key != (r.seed, r.depth, r.width):
        net = network(r)
    layers = _float32_layers(net, r.t)
    *hidden, (w_out, b_out) = layers
    out = np.empty((height * width, 3), np.float32)
    rows_per_chunk = max(1, CHUNK_ROWS // width)
    for top in range(0, height, rows_per_chunk):
        rows = slice(top, min(height, top + rows_per_chunk))
        h = coordinates(r, height, width, rows)
        for w, b in hidden:
            a = h @ w
            a += b
            h = activate(a, r.activation)
        o = h @ w_out
        o += b_out
        out[rows.start * width : rows.stop * width] = o
    np.tanh(out, out=out)
    out *= np.float32(0.5)
    out += np.float32(0.5)
    return out.reshape(height, width, 3)


def palette_table(name: str, n: int = 256) -> np.ndarray:
    """The palette as an ``(n, 3)`` float64 table of 0..255 colours."""
    stops = np.asarray(PALETTE_STOPS[name], np.float64)
    at = np.linspace(0.0, 1.0, len(stops))
    t = np.linspace(0.0, 1.0, n)
    return np.stack([np.interp(t, at, stops[:, k]) for k in range(3)], axis=1)


def colour(values: np.ndarray, palette: str) -> np.ndarray:
    """Outputs ``(H, W, 3)`` in (0, 1) -> an ``(H, W, 3)`` uint8 picture.

    "rgb": the outputs are red, green and blue. A named palette: output 0 picks the
    colour and output 1 shades it (0.6 .. 1.0 of its brightness)."""
    if palette == "rgb":
        rgb = values * 255.0
    else:
        table = palette_table(palette)
        index = np.rint(values[..., 0] * (len(table) - 1)).astype(np.intp)
        rgb = table[index] * (0.6 + 0.4 * values[..., 1:2])
    return np.rint(np.clip(rgb, 0.0, 255.0)).astype(np.uint8)


def render(r: Recipe, height: int, width: int | None = None, net: Network | None = None) -> np.ndarray:
    """Paint the recipe at ``height`` x ``width`` pixels (square if width is None):
    an ``(H, W, 3)`` uint8 buffer. ``net`` reuses weights already drawn for this seed
    (ignored if they belong to another seed, depth or width)."""
    width = height if width is None else width
    if not (1 <= height <= MAX_SIDE and 1 <= width <= MAX_SIDE):
        raise RecipeError(f"the picture must be 1 to {MAX_SIDE} pixels a side, not {height}x{width}")
    return colour(outputs(r, height, width, net), r.palette)


def drift(r: Recipe, steps: int = 1) -> Recipe:
    """The recipe ``steps`` further along the latent loop (wrapping round)."""
    return replace(r, t=(r.t + steps) % DRIFT_STEPS)


def fingerprint(pixels: np.ndarray) -> str:
    """The first 12 hex digits of the pixels' SHA-256: equal pictures, equal prints."""
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(pixels).tobytes()).hexdigest()[:12]


def save_png(path, r: Recipe, size: int):
    """Render ``r`` at ``size`` x ``size`` and write it as a PNG; returns the path."""
    return png.write_png(path, render(r, size))

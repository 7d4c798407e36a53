"""Datasets the labs learn from. Deterministic: every generator takes a seed.

Sections:
  1. 2-D toy distributions (GAN and families labs): ring, grid, moons, moons-bridge,
     spiral, line, learner points (drawn, or a CSV file: ``csv:FILE``)
  2. image datasets (sprites, digits)          -- added with the image labs
  3. text (corpus tokenisation)                -- added with the language-model lab

All 2-D toys live inside ``VIEW`` (the square the labs draw), as float32 (n, 2) arrays.
Toys made of Gaussian blobs also report their ``modes`` (centres) and ``std``, which
``engine.metrics.mode_coverage`` needs.
"""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

F32 = np.float32

# ------------------------------------------------------------------ 1. 2-D toy data

VIEW = (-2.0, 2.0)  # both axes: the square the labs draw and the metrics grid covers


@dataclass(frozen=True)
class Toy:
    """A 2-D point set. ``modes``/``std`` are None for continuous shapes."""

    name: str
    points: np.ndarray  # (n, 2) float32
    modes: np.ndarray | None = None  # (k, 2) float32 mode centres
    std: float | None = None  # per-axis standard deviation of every mode


def _blobs(name: str, centres: np.ndarray, std: float, n: int, seed: int) -> Toy:
    """n points shared as evenly as possible between the centres, in shuffled order."""
    rng = np.random.default_rng(seed)
    which = np.arange(n) % len(centres)
    rng.shuffle(which)
    pts = centres[which] + rng.standard_normal((n, 2)) * std
    return Toy(name, pts.astype(F32), centres.astype(F32), float(std))


def ring(n: int = 2048, seed: int = 0, modes: int = 8, radius: float = 1.5, std: float = 0.06) -> Toy:
    """``modes`` Gaussians evenly spaced on a circle (the classic mode-collapse test)."""
    angles = 2 * np.pi * np.arange(modes) / modes
    centres = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return _blobs("ring", centres, std, n, seed)


def grid(n: int = 2048, seed: int = 0, side: int = 5, spacing: float = 0.7, std: float = 0.04) -> Toy:
    """side x side Gaussians on a square lattice centred on the origin."""
    axis = (np.arange(side) - (side - 1) / 2) * spacing
    centres = np.stack(np.meshgrid(axis, axis), axis=-1).reshape(-1, 2)
    return _blobs("grid", centres, std, n, seed)


def moons(n: int = 2048, seed: int = 0, noise: float = 0.06) -> Toy:
    """Two interleaving half circles (scikit-learn's shape), centred and scaled."""
    rng = np.random.default_rng(seed)
    upper = np.arange(n) % 2 == 0
    t = rng.uniform(0, np.pi, n)
    x = np.where(upper, np.cos(t), 1 - np.cos(t))
    y = np.where(upper, np.sin(t), 0.5 - np.sin(t))
    pts = np.stack([x - 0.5, y - 0.25], axis=1) * 1.2 + rng.standard_normal((n, 2)) * noise
    return Toy("moons", pts.astype(F32))


def moons_bridge(n: int = 2048, seed: int = 0, noise: float = 0.06, bridge: float = 0.1) -> Toy:
    """The two moons joined by a thin straight bridge carrying ``bridge`` of the points.

    The bridge runs from the tip of the upper moon to the tip of the lower one: a thin
    low-density link that smooth models smear into a wide band and GANs often drop.
    """
    rng = np.random.default_rng(seed)
    n_bridge = int(round(n * bridge))
    base = moons(n - n_bridge, seed, noise).points.astype(np.float64)
    # the moons' inner tips, in moons()'s centred and scaled coordinates
    start = (np.array([1.0, 0.0]) - [0.5, 0.25]) * 1.2
    end = (np.array([0.0, 0.5]) - [0.5, 0.25]) * 1.2
    t = rng.uniform(0, 1, (n_bridge, 1))
    link = start + t * (end - start) + rng.standard_normal((n_bridge, 2)) * noise * 0.5
    pts = np.concatenate([base, link])
    pts = pts[rng.permutation(len(pts))]
    return Toy("moons-bridge", pts.astype(F32))


def spiral(n: int = 2048, seed: int = 0, turns: float = 1.75, noise: float = 0.04) -> Toy:
    """An Archimedean spiral from the centre outwards (radius 0.1 -> 1.7)."""
    rng = np.random.default_rng(seed)
    t = np.sqrt(rng.uniform(0, 1, n))  # sqrt: even density along the arm
    angle = 2 * np.pi * turns * t
    r = 0.1 + 1.6 * t
    pts = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)
    pts += rng.standard_normal((n, 2)) * noise
    return Toy("spiral", pts.astype(F32))


def line(n: int = 2048, seed: int = 0, noise: float = 0.03) -> Toy:
    """A diagonal segment from (-1.4, -1) to (1.4, 1): the simplest thing to learn."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(-1, 1, n)
    pts = np.stack([1.4 * t, t], axis=1) + rng.standard_normal((n, 2)) * noise
    return Toy("line", pts.astype(F32))


TOYS: dict[str, Callable[..., Toy]]
TOYS = {
    "ring": ring,
    "grid": grid,
    "moons": moons,
    "moons-bridge": moons_bridge,
    "spiral": spiral,
    "line": line,
}


def toy(name: str, n: int = 2048, seed: int = 0) -> Toy:
    """A toy by name (see ``TOYS``)."""
    if name not in TOYS:
        raise ValueError(f"unknown dataset {name!r}; choose from {', '.join(TOYS)}")
    return TOYS[name](n=n, seed=seed)


def from_points(points, name: str = "custom") -> Toy:
    """The learner's own points (drawn with the cursor, or loaded from CSV)."""
    pts = np.asarray(points, dtype=F32)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"points must be an (n, 2) array, got shape {pts.shape}")
    if len(pts) < 2:
        raise ValueError("need at least 2 points to learn a distribution")
    if not np.isfinite(pts).all():
        raise ValueError("points must be finite numbers (no NaN or infinity)")
    return Toy(name, np.ascontiguousarray(pts))


#: A learner's CSV may hold at most this many bytes (about a million short lines):
#: enough for any drawing, small enough that a mistaken path (a log, a disk image)
#: is refused at once instead of filling the memory.
MAX_CSV_BYTES = 16 * 1024 * 1024
#: Coordinates must fit a float32 with room to spare (the models compute in float32).
MAX_COORD = 1e30


def load_csv(path: str | Path) -> Toy:
    """Points from a text file of ``x,y`` lines (optional header line, # comments).

    Only a regular file is read (a FIFO or a device could block or never end; that is
    checked before opening it), at most ``MAX_CSV_BYTES``. Every value must be a finite
    number that fits float32 (``1e300`` parses in Python but would become infinity).
    A bad file raises ValueError with a plain message naming the file and line.
    """
    path = Path(path)
    try:
        info = os.stat(path)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(
            f"{path}: not a regular file (a folder, pipe or device); give a CSV file of x,y lines"
        )
    if info.st_size > MAX_CSV_BYTES:
        raise ValueError(
            f"{path}: the file is {info.st_size / 1e6:.1f} MB; the limit is "
            f"{MAX_CSV_BYTES / 1e6:.0f} MB of x,y lines"
        )
    try:
        with open(path, "rb") as handle:
            raw_bytes = handle.read(MAX_CSV_BYTES + 1)
        if len(raw_bytes) > MAX_CSV_BYTES:  # grew since the stat
            raise ValueError(f"{path}: the file is larger than the {MAX_CSV_BYTES / 1e6:.0f} MB limit")
        lines = raw_bytes.decode("utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the file ({exc})") from None
    rows: list[tuple[float, float]] = []
    first = _first_content_line(lines)
    for number, raw in enumerate(lines, start=1):
        text = raw.split("#", 1)[0].strip()
        if not text:
            continue
        fields = [f.strip() for f in text.replace(";", ",").split(",")]
        if len(fields) != 2:
            raise ValueError(f"{path}:{number}: expected two numbers 'x,y', got {_show(raw)}")
        try:
            x, y = float(fields[0]), float(fields[1])
        except ValueError:
            if not rows and number == first:
                continue  # a header such as "x,y"
            raise ValueError(f"{path}:{number}: {_show(raw)} is not two numbers") from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ValueError(f"{path}:{number}: {_show(raw)} is not a finite point")
        if max(abs(x), abs(y)) > MAX_COORD:
            raise ValueError(
                f"{path}:{number}: {_show(raw)} is too large (coordinates must lie within ±{MAX_COORD:g})"
            )
        rows.append((x, y))
    if len(rows) < 2:
        raise ValueError(f"{path}: needs at least 2 points, found {len(rows)}")
    return from_points(rows, name=path.stem)


def _show(raw: str, limit: int = 60) -> str:
    """A line for an error message: stripped, and shortened if it is long."""
    text = raw.strip()
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _first_content_line(lines: list[str]) -> int:
    for number, raw in enumerate(lines, start=1):
        if raw.split("#", 1)[0].strip():
            return number
    return 0


CSV_PREFIX = "csv:"


def dataset_names() -> str:
    """The accepted dataset names for a message: the toys and ``csv:FILE``."""
    return ", ".join(TOYS) + f", {CSV_PREFIX}FILE"


def resolve(spec: str, n: int = 2048, seed: int = 0) -> Toy:
    """A dataset from a command-line spec: a toy name, or ``csv:FILE`` (the learner's
    points). Raises ValueError with a plain message."""
    if spec.startswith(CSV_PREFIX):
        if not spec[len(CSV_PREFIX) :]:
            raise ValueError("csv: needs a file name, e.g. csv:points.csv")
        return load_csv(spec[len(CSV_PREFIX) :])
    if spec not in TOYS:
        raise ValueError(f"unknown dataset {spec!r}; choose from {dataset_names()}")
    return toy(spec, n=n, seed=seed)


def dataset_label(spec: str) -> str:
    """A file-name-safe name for a dataset spec: the toy's name, or ``csv-`` and the
    CSV file's stem (so a file called ring.csv never overwrites the ring's model)."""
    if not spec.startswith(CSV_PREFIX):
        return spec
    name = Path(spec[len(CSV_PREFIX) :]).stem
    return "csv-" + "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)

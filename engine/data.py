"""Datasets the labs learn from. Deterministic: every generator takes a seed.

Sections:
  1. 2-D toy distributions (GAN lab): ring, grid, moons, spiral, line, learner points
  2. image datasets (sprites, digits)          -- added with the image labs
  3. text (corpus tokenisation)                -- added with the language-model lab

All 2-D toys live inside ``VIEW`` (the square the labs draw), as float32 (n, 2) arrays.
Toys made of Gaussian blobs also report their ``modes`` (centres) and ``std``, which
``engine.metrics.mode_coverage`` needs.
"""
from __future__ import annotations

import math
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
    points: np.ndarray                # (n, 2) float32
    modes: np.ndarray | None = None   # (k, 2) float32 mode centres
    std: float | None = None          # per-axis standard deviation of every mode


def _blobs(name: str, centres: np.ndarray, std: float, n: int, seed: int) -> Toy:
    """n points shared as evenly as possible between the centres, in shuffled order."""
    rng = np.random.default_rng(seed)
    which = np.arange(n) % len(centres)
    rng.shuffle(which)
    pts = centres[which] + rng.standard_normal((n, 2)) * std
    return Toy(name, pts.astype(F32), centres.astype(F32), float(std))


def ring(n: int = 2048, seed: int = 0, modes: int = 8, radius: float = 1.5,
         std: float = 0.06) -> Toy:
    """``modes`` Gaussians evenly spaced on a circle (the classic mode-collapse test)."""
    angles = 2 * np.pi * np.arange(modes) / modes
    centres = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return _blobs("ring", centres, std, n, seed)


def grid(n: int = 2048, seed: int = 0, side: int = 5, spacing: float = 0.7,
         std: float = 0.04) -> Toy:
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
TOYS = {"ring": ring, "grid": grid, "moons": moons, "spiral": spiral, "line": line}


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


def load_csv(path: str | Path) -> Toy:
    """Points from a text file of ``x,y`` lines (optional header line, # comments).

    A bad file raises ValueError with a plain message naming the file and line.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the file ({exc})") from None
    rows: list[tuple[float, float]] = []
    for number, raw in enumerate(lines, start=1):
        text = raw.split("#", 1)[0].strip()
        if not text:
            continue
        fields = [f.strip() for f in text.replace(";", ",").split(",")]
        if len(fields) != 2:
            raise ValueError(f"{path}:{number}: expected two numbers 'x,y', got {raw.strip()!r}")
        try:
            x, y = float(fields[0]), float(fields[1])
        except ValueError:
            if not rows and number == _first_content_line(lines):
                continue  # a header such as "x,y"
            raise ValueError(f"{path}:{number}: {raw.strip()!r} is not two numbers") from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ValueError(f"{path}:{number}: {raw.strip()!r} is not a finite point")
        rows.append((x, y))
    if len(rows) < 2:
        raise ValueError(f"{path}: needs at least 2 points, found {len(rows)}")
    return from_points(rows, name=path.stem)


def _first_content_line(lines: list[str]) -> int:
    for number, raw in enumerate(lines, start=1):
        if raw.split("#", 1)[0].strip():
            return number
    return 0

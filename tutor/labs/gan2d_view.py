"""Pictures and words for the GAN lab (tutor.labs.gan2d): the frame and the stats column.

The frame is a square pixel buffer over the data view (-2..2 on both axes): the
discriminator's opinion D(x) as the background, real points as small rings, fake points
as crosses (two colours *and* two shapes), optional white arrows showing where the
generator's gradient pushes each fake.

Monochrome (16 colours or NO_COLOR: the canvas shows one shade glyph per cell from the
mean luminance) needs more than shapes, which blur at two pixels per cell: ``mono=True``
squeezes D(x) into the middle shades (░ ▒ ▓) and draws real points as solid white (█)
and fakes as solid black (blank cells), so the two stay apart by glyph alone.
Everything here takes plain arrays; only the lab touches the model.
"""

from __future__ import annotations

import math

import numpy as np
from rich.text import Text

from engine import render as R
from engine.data import VIEW

SIDE = 36  # pixels per side: 36 columns x 18 terminal rows
EXTENT = (VIEW[0], VIEW[1], VIEW[0], VIEW[1])
REAL = (70, 235, 110)    # green rings
FAKE = (250, 80, 250)    # magenta crosses
ARROW = (255, 255, 255)
CURSOR = (255, 230, 0)
EMPTY = (38, 38, 44)
N_REAL = 64
N_FAKE = 96
N_ARROWS = 24


def frame(d_grid: np.ndarray | None, real: np.ndarray, fake: np.ndarray | None,
          arrows: tuple[np.ndarray, np.ndarray] | None = None,
          mono: bool = False, levels: int = 16) -> np.ndarray:
    """The lab's picture: D(x) heatmap (or an empty background), real, fake, arrows.

    D(x) is rounded to ``levels`` steps first: the background then changes only where
    the detective's opinion really moved, so a playing lab repaints (and sends) little.
    """
    if d_grid is not None:
        d_grid = np.round(np.asarray(d_grid, np.float32) * levels) / levels
    if d_grid is None:
        buf = R.canvas(SIDE, SIDE, (128, 128, 128) if mono else EMPTY)
    else:  # mono: 0..1 spans only the palette's middle (shades ░ to ▓)
        lo, hi = (-0.3, 1.3) if mono else (0.0, 1.0)
        buf = np.ascontiguousarray(R.heatmap(d_grid, lo, hi, palette="diverging"))
    real_style = ((255, 255, 255), "dot") if mono else (REAL, "ring")
    fake_style = ((0, 0, 0), "dot") if mono else (FAKE, "cross")
    R.scatter(buf, real, real_style[0], EXTENT, radius=1, marker=real_style[1])
    if fake is not None:
        R.scatter(buf, fake, fake_style[0], EXTENT, radius=1, marker=fake_style[1])
    if arrows is not None:
        points, vectors = arrows
        norms = np.sqrt((vectors.astype(np.float64) ** 2).sum(axis=1))
        biggest = float(norms.max()) if len(norms) and np.isfinite(norms).all() else 0.0
        if biggest > 0:  # longest arrow = 0.5 data units; the others in proportion
            R.arrows(buf, points, vectors, (0, 0, 0) if mono else ARROW, EXTENT,
                     scale=0.5 / biggest, head=1)
    return buf


def with_cursor(base: np.ndarray, points: list, cursor: tuple[float, float],
                mono: bool = False) -> np.ndarray:
    """Draw mode: the learner's points (even before the model is rebuilt) and the cursor."""
    buf = base.copy()
    if points:
        R.scatter(buf, np.asarray(points, np.float32), (255, 255, 255) if mono else REAL,
                  EXTENT, radius=1, marker="dot" if mono else "ring")
    R.scatter(buf, np.asarray([cursor], np.float32), (0, 0, 0) if mono else CURSOR, EXTENT,
              radius=2, marker="plus")
    return buf


def snap(value: float) -> float:
    """A cursor coordinate on the pixel grid (the centre of a pixel)."""
    step = (VIEW[1] - VIEW[0]) / SIDE
    index = min(SIDE - 1, max(0, math.floor((value - VIEW[0]) / step)))
    return VIEW[0] + (index + 0.5) * step


def _style(rgb: tuple[int, int, int]) -> str:
    return "bold rgb({},{},{})".format(*rgb)


def _num(value, fmt: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return fmt.format(value)


def stats_text(*, dataset: str, preset: str, iteration: int, rate: float, evaluation: dict,
               acc_real: float | None, acc_fake: float | None, arrows: bool,
               drawing: bool, n_points: int, mono: bool = False) -> Text:
    """The column right of the canvas: legend, scores, and what the keys do."""
    t = Text()
    if mono:
        t.append("█=real blank=fake\n")
    else:
        t.append("o", style=_style(REAL))
        t.append(" real  ")
        t.append("x", style=_style(FAKE))
        t.append(" fake\n")
    t.append("back: D(x)\n", style="dim")
    t.append("dark=fake  pale=real\n", style="dim")
    t.append(f"{dataset[:18]}\n", style="bold")
    t.append(f"{preset[:18]}\n", style="dim")
    t.append(f"iteration {iteration}\n")
    t.append(f"steps/s {rate:.0f}\n" if rate else "steps/s —\n")
    total = evaluation.get("modes_total") or 0
    if total:
        t.append(f"modes {evaluation.get('modes_covered', 0)}/{total}\n", style="bold")
        t.append(f"high-quality {_num(100 * evaluation.get('high_quality', 0.0), '{:.0f}')}%\n")
    else:
        t.append("modes —\n(no blobs to count)\n", style="dim")
    t.append(f"KL {_num(evaluation.get('kl_grid'), '{:.2f}')}  "
             f"JS {_num(evaluation.get('js_grid'), '{:.2f}')}\n")
    t.append(f"D acc real {_num(acc_real, '{:.0%}')}\n")
    t.append(f"D acc fake {_num(acc_fake, '{:.0%}')}\n")
    t.append(f"a arrows {'on' if arrows else 'off'}\n")
    if drawing:
        t.append(f"{n_points} points drawn\n", style="bold")
        t.append("arrows move\nEnter add ⌫ undo\nl load CSV", style="dim")
    else:
        t.append("d/g: step D/G\n", style="dim")
        t.append("o draw  l CSV", style="dim")
    return t

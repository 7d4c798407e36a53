"""Pictures and words for the GAN lab (tutor.labs.gan2d): the frame and the stats column.

The frame is a square pixel buffer over the data view (-2..2 on both axes): the
discriminator's opinion D(x) as the background, real points as small rings, fake points
as crosses (two colours *and* two shapes). The generator's gradient is shown on top as
arrow glyphs (→ ↗ ↑ ↖ ← ↙ ↓ ↘), one per cell, pointing where the detective pushes
each fake: at two pixels per cell a drawn arrow head is only a dot, a glyph reads.

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
REAL = (70, 235, 110)  # green rings
FAKE = (250, 80, 250)  # magenta crosses
ARROW = (255, 255, 255)
CURSOR = (255, 230, 0)
EMPTY = (38, 38, 44)
N_REAL = 64
N_FAKE = 96
N_ARROWS = 24


def frame(
    d_grid: np.ndarray | None,
    real: np.ndarray,
    fake: np.ndarray | None,
    mono: bool = False,
    levels: int = 16,
    bg: tuple[int, int, int] = EMPTY,
) -> np.ndarray:
    """The lab's picture: D(x) heatmap (or the theme's background `bg`), real, fake.

    D(x) is rounded to ``levels`` steps first: the background then changes only where
    the detective's opinion really moved, so a playing lab repaints (and sends) little.
    """
    if d_grid is not None:
        d_grid = np.round(np.asarray(d_grid, np.float32) * levels) / levels
    if d_grid is None:
        buf = R.canvas(SIDE, SIDE, (128, 128, 128) if mono else bg)
    else:  # mono: 0..1 spans only the palette's middle (shades ░ to ▓)
        lo, hi = (-0.3, 1.3) if mono else (0.0, 1.0)
        buf = np.ascontiguousarray(R.heatmap(d_grid, lo, hi, palette="diverging"))
    real_style = ((255, 255, 255), "dot") if mono else (REAL, "ring")
    fake_style = ((0, 0, 0), "dot") if mono else (FAKE, "cross")
    R.scatter(buf, real, real_style[0], EXTENT, radius=1, marker=real_style[1])
    if fake is not None:
        R.scatter(buf, fake, fake_style[0], EXTENT, radius=1, marker=fake_style[1])
    return buf


GLYPHS = "→↗↑↖←↙↓↘"  # by direction, counter-clockwise from +x (data y points up)
WEAK = 0.1  # arrows shorter than this share of the longest are left out


def arrow_glyphs(points: np.ndarray, vectors: np.ndarray) -> dict[tuple[int, int], str]:
    """{(cell row, column): glyph} for the gradient arrows, in the frame's cell grid.

    Each arrow becomes the one of eight glyphs nearest its direction, in the cell of the
    fake point it pushes (the last one wins where two share a cell). Pushes weaker than
    `WEAK` of the strongest are left out: they would only add noise."""
    p = np.asarray(points, np.float64).reshape(-1, 2)
    v = np.asarray(vectors, np.float64).reshape(-1, 2)
    ok = np.isfinite(p).all(axis=1) & np.isfinite(v).all(axis=1)
    p, v = p[ok], v[ok]
    norms = np.sqrt((v**2).sum(axis=1))
    if not len(norms) or norms.max() <= 0:
        return {}
    pix = R.to_pixels(p, EXTENT, SIDE, SIDE)
    out: dict[tuple[int, int], str] = {}
    for (row, col), (vx, vy), norm in zip(pix, v, norms, strict=True):
        r, c = int(math.floor(row)), int(math.floor(col))
        if norm < WEAK * norms.max() or not (0 <= r < SIDE and 0 <= c < SIDE):
            continue
        k = int(round(math.atan2(vy, vx) / (math.pi / 4))) % 8
        out[(r // 2, c)] = GLYPHS[k]
    return out


def with_cursor(
    base: np.ndarray, points: list, cursor: tuple[float, float], mono: bool = False
) -> np.ndarray:
    """Draw mode: the learner's points (even before the model is rebuilt) and the cursor."""
    buf = base.copy()
    if points:
        R.scatter(
            buf,
            np.asarray(points, np.float32),
            (255, 255, 255) if mono else REAL,
            EXTENT,
            radius=1,
            marker="dot" if mono else "ring",
        )
    R.scatter(
        buf, np.asarray([cursor], np.float32), (0, 0, 0) if mono else CURSOR, EXTENT, radius=2, marker="plus"
    )
    return buf


def snap(value: float) -> float:
    """A cursor coordinate on the pixel grid (the centre of a pixel)."""
    step = (VIEW[1] - VIEW[0]) / SIDE
    index = min(SIDE - 1, max(0, math.floor((value - VIEW[0]) / step)))
    return VIEW[0] + (index + 0.5) * step


def _style(rgb: tuple[int, int, int]) -> str:
    return "bold rgb({},{},{})".format(*rgb)


def headline(*, evaluation: dict, d_loss: float | None, g_loss: float | None) -> str:
    """The numbers a learner watches, in one short line (the compact strip)."""
    total = evaluation.get("modes_total") or 0
    modes = f"modes {evaluation.get('modes_covered', 0)}/{total}" if total else "modes —"
    return f"{modes}  D loss {_num(d_loss, '{:.3f}')}  G loss {_num(g_loss, '{:.3f}')}"


def _num(value, fmt: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return fmt.format(value)


def stats_text(
    *,
    iteration: int,
    rate: float,
    evaluation: dict,
    acc_real: float | None,
    acc_fake: float | None,
    arrows: bool,
    drawing: bool,
    n_points: int,
    mono: bool = False,
) -> Text:
    """The column right of the canvas: legend, scores, and what the keys do.

    The dataset and preset names are not repeated here: the knob column shows them."""
    t = Text()
    if mono:
        t.append("█=real blank=fake\n")
    else:
        t.append("o", style=_style(REAL))
        t.append(" real  ")
        t.append("x", style=_style(FAKE))
        t.append(" fake\n")
    t.append("back: D(x)\n")
    t.append("dark=fake  pale=real\n")
    if arrows:
        t.append("→↗↑: G's push\n")
    t.append(f"iteration {iteration}\n")
    t.append(f"steps/s {rate:.0f}\n" if rate else "steps/s —\n")
    total = evaluation.get("modes_total") or 0
    if total:
        t.append(f"modes {evaluation.get('modes_covered', 0)}/{total}\n", style="bold")
        t.append(f"high-quality {_num(100 * evaluation.get('high_quality', 0.0), '{:.0f}')}%\n")
    else:
        t.append("modes —\n(no blobs to count)\n")
    t.append(
        f"KL {_num(evaluation.get('kl_grid'), '{:.2f}')}  JS {_num(evaluation.get('js_grid'), '{:.2f}')}\n"
    )
    t.append(f"D acc real {_num(acc_real, '{:.0%}')}\n")
    t.append(f"D acc fake {_num(acc_fake, '{:.0%}')}\n")
    t.append(f"a arrows {'on' if arrows else 'off'}\n")
    if drawing:
        t.append(f"{n_points} points drawn\n", style="bold")
        t.append("arrows move\nEnter add ⌫ undo\nl load CSV")
    else:
        t.append("d/g: step D/G\n")
        t.append("o draw  l CSV")
    return t

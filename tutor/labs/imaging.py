"""Picture helpers shared by the image labs (not a lab: labs never import each other)."""

from __future__ import annotations

import numpy as np

BG = (16, 16, 24)


def to_tiles(x: np.ndarray, shape: tuple) -> np.ndarray:
    """Model-space vectors (n, D) -> RGB tiles (n, 16, 16, 3) in [-1, 1] for display."""
    img = np.asarray(x, np.float32).reshape((len(x),) + tuple(shape))
    if img.shape[-1] == 1:                       # 8x8 grey digits: grey RGB, doubled
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

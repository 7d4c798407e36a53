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

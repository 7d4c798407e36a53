"""The two loops every model's training shares, written once.

A model in this package owns its step (one Adam update on a random batch, returning the
batch loss). Around that step there are only two loops:

- ``mean_loss``: ``n`` steps and their mean loss, as the dict a lab shows (``train(n)``);
- ``in_chunks``: a long run cut into chunks, so a headless command can report progress
  between them and a lab can stay responsive.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def mean_loss(step: Callable[[], float], n: int, steps_so_far: Callable[[], int]) -> dict:
    """Run ``step`` ``n`` times; returns {"loss": mean, "steps": total, "diverged": bool}.

    ``steps_so_far`` is read after the loop (the model counts its own steps)."""
    n = int(n)
    total = 0.0
    for _ in range(n):
        total += step()
    loss = total / max(n, 1)
    return {"loss": loss, "steps": steps_so_far(), "diverged": not math.isfinite(loss)}


def in_chunks(
    train: Callable[[int], T],
    steps: int,
    progress: Callable[[int, int], object] | None = None,
    chunk: int = 100,
) -> tuple[list[T], float]:
    """Call ``train(k)`` with k <= ``chunk`` until ``steps`` steps are done, reporting
    ``progress(done, steps)`` after each chunk. Returns (each chunk's result, seconds)."""
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1, got {chunk}")
    start, done, results = time.perf_counter(), 0, []
    while done < steps:
        k = min(chunk, steps - done)
        results.append(train(k))
        done += k
        if progress is not None:
            progress(done, steps)
    return results, time.perf_counter() - start

"""The families lab's sample measures: the pair kernels against their numpy twins.

    python benchmarks/bench_measures.py --json [--repeats 7]

What the lab computes before its first frame: for a dataset of 2,048 points, the data-only
parts once (k-NN radii, MMD's k(y, y') term), then precision, coverage and MMD of five
models' 512 samples (``engine.metrics.sample_quality`` with a cache). "kernels" is the
engine as shipped (numba, one pass over the pairs); "numpy" runs the same function with
each kernel swapped for its numpy twin (distance matrices in row blocks: what ran before
the kernels, and what runs while their compile is deferred). Medians of ``--repeats``
runs, in seconds, and their ratio. Kernels compiled or loaded before timing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from contextlib import contextmanager

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from engine import data, metrics  # noqa: E402

PAIR_KERNELS = ("_kth_nearest_sq", "_gaussian_sum", "_gaussian_self_sum", "_balls")


@contextmanager
def numpy_twins():
    """engine.metrics with every pair kernel replaced by its numpy twin."""
    saved = {name: getattr(metrics, name) for name in PAIR_KERNELS}
    try:
        for name, kernel in saved.items():
            setattr(metrics, name, kernel._twin)
        yield
    finally:
        for name, kernel in saved.items():
            setattr(metrics, name, kernel)


def lab_measures(toy, samples: list[np.ndarray]) -> float:
    """Seconds for what the lab's build measures: the data cache, then five models."""
    start = time.perf_counter()
    cache: dict = {}
    for s in samples:
        metrics.sample_quality(s, toy.points, toy.modes, toy.std, cache=cache)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    toy = data.toy("ring", 2048, seed=0)
    rng = np.random.default_rng(0)
    samples = [toy.points[:512] + rng.normal(0, spread, (512, 2)) for spread in (0.02, 0.1, 0.3, 1.0, 3.0)]
    lab_measures(toy, samples[:1])  # compile or load the kernels
    times: dict[str, list[float]] = {"kernels": [], "numpy": []}
    for _ in range(args.repeats):  # interleaved, so a busy spell hits both
        times["kernels"].append(lab_measures(toy, samples))
        with numpy_twins():
            times["numpy"].append(lab_measures(toy, samples))
    with numpy_twins():
        reference = [metrics.sample_quality(s, toy.points, toy.modes, toy.std) for s in samples]
    shipped = [metrics.sample_quality(s, toy.points, toy.modes, toy.std) for s in samples]
    figures = ("precision", "coverage", "mmd")
    worst = max(abs(a[k] - b[k]) for a, b in zip(shipped, reference) for k in figures)
    kernels, numpy_s = statistics.median(times["kernels"]), statistics.median(times["numpy"])
    result = {
        "case": "2,048 ring points; five sets of 512 samples; data cache once",
        "kernels_s": round(kernels, 4),
        "numpy_s": round(numpy_s, 4),
        "speed_up": round(numpy_s / kernels, 2),
        "largest_difference": worst,
        "repeats": args.repeats,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(result, indent=2 if args.json else None))


if __name__ == "__main__":
    main()

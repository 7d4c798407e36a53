"""Tiny CLIP: training speed, time from scratch to issue 13's bars, and the shipped figures.

    python benchmarks/bench_clip.py --json [--budget 120]

* ``steps_per_s``: median Adam steps per second (batch 128) over three ~2 s windows,
  after a warm-up.
* ``to_bar``: a fresh model (seed 0) trained in chunks of 100 steps; after each chunk the
  figures are measured (not timed) until every bar of ``engine.clip.BARS`` is met or the
  budget runs out. ``seconds`` (wall clock) and ``cpu_seconds`` (this process's CPU time,
  the honest figure on a shared machine) count the training steps plus building the
  training set (sprites and caption bank): everything "from scratch" but JIT compilation.
* ``shipped``: the figures of content/weights/clip_sprites.npz.

Figures: zero-shot accuracy per attribute on 1,000 fresh sprites (seed 2026), and
text -> image top-1 retrieval on held-out phrasings and held-out combinations
(engine.clip.evaluation_set). One BLAS thread (engine.runtime's default): one core.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from engine import clip, runtime  # noqa: E402 - after the sys.path insert
from engine.weights import WeightsError  # noqa: E402


def _rounded(figures: dict) -> dict:
    return {k: round(v, 4) for k, v in figures.items() if isinstance(v, float)}


def speed(seconds: float = 2.0, repeats: int = 3) -> float:
    model = clip.CLIP(clip.ClipConfig(seed=1))
    model.train(10)
    rates = []
    for _ in range(repeats):
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            model.train(10)
            n += 10
        rates.append(n / (time.perf_counter() - start))
    return statistics.median(rates)


def time_to_bar(budget: float, chunk: int = 100) -> dict:
    data = clip.evaluation_set()
    start, cpu_start = time.perf_counter(), time.process_time()
    model = clip.CLIP(clip.ClipConfig(seed=0))
    model._training_data()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    figures: dict = {}
    while elapsed < budget:
        t, c = time.perf_counter(), time.process_time()
        model.train(chunk)
        elapsed += time.perf_counter() - t
        cpu += time.process_time() - c
        figures = clip.evaluate(model, data)
        if clip.meets_bars(figures):
            break
    return {
        "reached": clip.meets_bars(figures) if figures else False,
        "seconds": round(elapsed, 2),
        "cpu_seconds": round(cpu, 2),
        "steps": model.steps,
        "figures": _rounded(figures),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--budget", type=float, default=120.0, help="seconds of training at most")
    args = ap.parse_args()
    runtime.warm_up()
    result = {
        "blas_threads": runtime.blas_threads(),
        "load_average": round(os.getloadavg()[0], 2),
        "steps_per_s": round(speed(), 1),
        "to_bar": time_to_bar(args.budget),
        "bars": clip.BARS,
    }
    try:
        result["shipped"] = _rounded(clip.evaluate(clip.pretrained()))
    except WeightsError as exc:
        result["shipped"] = {"error": str(exc)}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()

"""Diffusion: denoiser training throughput vs plain numpy, and time to sample one image.

    python benchmarks/bench_diffusion.py --json [--seconds 1.0] [--repeats 3]

Training: one full DDPM step (draw data rows, t and noise; build the standardised x_t,
the Gaussian-guess target and the timestep embedding; forward; MSE; backward; Adam; EMA) of the
shipped recipes' denoisers, the
engine (fused kernels + BLAS into preallocated buffers) against the same step written
the obvious way in numpy (tests/reference.py MLP and Adam, numpy's Generator for noise).
Sampling: seconds for ONE 16x16x3 sprite with DDIM-50 and with DDPM-1000 (batch of 1),
and per image in a batch of 64. Median of several runs.

Sharpness (``--spiral``, also part of the full run): the 2-D recipe on raw (x, y) against
the default one with Fourier features of each coordinate, both trained the recipe's
steps on the spiral; precision and coverage (engine.metrics) of 2000 DDIM-50 samples
against fresh spiral points, and each recipe's training steps per second. The bar:
Fourier precision and coverage both >= raw, at >= 2/3 of raw's steps per second.

    python benchmarks/bench_diffusion.py --spiral --json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import replace
from functools import partial

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from engine import diffusion_recipes as recipes  # noqa: E402 - after the sys.path line
from engine import runtime  # noqa: E402 - after the sys.path line
from engine.diffusion import Diffusion, Schedule, timestep_embedding_freqs  # noqa: E402 - after the sys.path line
from tests import reference as R  # noqa: E402 - after the sys.path line


def _rate(step, seconds: float, repeats: int) -> float:
    step()
    t0, n = time.perf_counter(), 0
    while time.perf_counter() - t0 < 0.1:
        step()
        n += 1
    per_run = max(3, int(n * seconds / 0.1))
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(per_run):
            step()
        rates.append(per_run / (time.perf_counter() - t0))
    return statistics.median(rates)


def numpy_step_fn(model: Diffusion):
    """The same training step in plain numpy (float32), on a copy of the weights."""
    c = model.config
    ref = R.MLP.from_engine(model.net)
    opt = R.Adam(ref.parameters(), lr=c.lr)
    ema = [p.copy() for p in ref.parameters()]
    s = Schedule(c.schedule, c.T)
    sab, s1ab = s.sqrt_ab, s.sqrt_1mab
    freqs = timestep_embedding_freqs(c.emb)
    data = model._rotate(model.data)  # PCA coordinates (once, as the engine)
    mean, var, k = model.mean, model.var, model.k
    rng = np.random.default_rng(0)

    def step():
        rows = rng.integers(0, len(data), c.batch)
        t = rng.integers(1, c.T + 1, c.batch)
        eps = rng.standard_normal((c.batch, c.dim), dtype=np.float32)
        a, b = sab[t][:, None], s1ab[t][:, None]
        u = a * (data[rows] - mean) + b * eps
        s2 = a * a * var + b * b
        target = eps - b / s2 * u
        arg = t[:, None] * freqs[None, :]
        inp = np.concatenate(
            [(u / np.sqrt(s2))[:, :k], np.sin(arg).astype(np.float32), np.cos(arg).astype(np.float32)], axis=1
        )
        R.train_step(ref, opt, inp, target[:, :k])
        for e, p in zip(ema, ref.parameters()):
            e *= np.float32(c.ema)
            e += np.float32(1 - c.ema) * p

    return step


def bench_training(dataset: str, seconds: float, repeats: int) -> dict:
    model = recipes.new_model(dataset, seed=0)
    e = _rate(model.step, seconds, repeats)
    n = _rate(numpy_step_fn(model), seconds, repeats)
    c = model.config
    return {
        "dataset": dataset,
        "layers": list(model.net.sizes),
        "batch": c.batch,
        "engine_steps_per_s": round(e, 1),
        "numpy_steps_per_s": round(n, 1),
        "ratio": round(e / n, 2),
    }


def _median_time(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_sampling(repeats: int) -> dict:
    try:
        model = recipes.pretrained("sprites")
    except Exception:  # no shipped weights: time an untrained model of the same size
        model = recipes.new_model("sprites")
    out = {}
    for label, sampler, steps in (("ddim50", "ddim", 50), ("ddpm1000", "ddpm", 1000)):
        one = _median_time(partial(model.sample, 1, steps=steps, sampler=sampler), repeats)
        batch = _median_time(partial(model.sample, 64, steps=steps, sampler=sampler), max(1, repeats // 2))
        out[f"{label}_one_image_s"] = round(one, 4)
        out[f"{label}_per_image_in_batch64_s"] = round(batch / 64, 5)
    return out


def bench_spiral(seconds: float, repeats: int, steps: int | None = None, seed: int = 0) -> dict:
    """Raw-input vs Fourier-feature 2-D recipes on the spiral (see the module docstring)."""
    from engine import data, metrics

    test = data.toy("spiral", 2000, seed=7).points
    rows = {}
    for label, fourier in (("raw", False), ("fourier", True)):
        recipe = recipes.recipe("spiral", fourier=fourier)
        n_steps = recipe["steps"] if steps is None else steps
        model = Diffusion(replace(recipe["config"], seed=seed), recipes.load_dataset("spiral"))
        rate = _rate(model.step, seconds, repeats)  # also trains a little first
        model.train(max(0, n_steps - model.steps))
        samples, _ = model.sample(2000, steps=50, sampler="ddim", seed=1)
        q = metrics.precision_coverage(samples, test)
        rows[label] = {
            "steps": model.steps,
            "steps_per_s": round(rate, 1),
            "precision": round(q["precision"], 4),
            "coverage": round(q["coverage"], 4),
            "mmd": round(metrics.mmd(samples, test), 5),
            "fourier": model.config.fourier,
            "fourier_scale": model.config.fourier_scale,
            "first_layer": model.net.sizes[:2],
        }
    raw, four = rows["raw"], rows["fourier"]
    speed = four["steps_per_s"] / raw["steps_per_s"]
    return {
        **rows,
        "speed_ratio": round(speed, 3),
        "meets_bar": bool(
            four["precision"] >= raw["precision"] and four["coverage"] >= raw["coverage"] and speed >= 2 / 3
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--spiral", action="store_true", help="only the raw vs Fourier-feature comparison on the spiral"
    )
    args = parser.parse_args()
    runtime.warm_up(import_all=False)
    if args.spiral:
        result = {"runtime": runtime.configured(), "spiral": bench_spiral(args.seconds, args.repeats)}
        print(json.dumps(result, indent=2))
        return
    result = {
        "runtime": runtime.configured(),
        "training": [bench_training(d, args.seconds, args.repeats) for d in ("sprites", "digits", "ring")],
        "sampling_sprites": bench_sampling(args.repeats),
        "spiral": bench_spiral(args.seconds, args.repeats),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for row in result["training"]:
            print(
                f"train {row['dataset']:8s} engine {row['engine_steps_per_s']:8.1f}/s  "
                f"numpy {row['numpy_steps_per_s']:8.1f}/s  ratio {row['ratio']:.2f}"
            )
        for key, value in result["sampling_sprites"].items():
            print(f"{key}: {value}")
        sp = result["spiral"]
        for label in ("raw", "fourier"):
            r = sp[label]
            print(
                f"spiral {label:8s} {r['steps_per_s']:8.1f} steps/s  precision {r['precision']:.3f}  "
                f"coverage {r['coverage']:.3f}"
            )
        print(f"spiral speed ratio {sp['speed_ratio']:.2f}, meets the bar: {sp['meets_bar']}")


if __name__ == "__main__":
    main()

"""Engine MLP train step vs the plain-numpy reference, and warm-up cold vs cached.

    python benchmarks/bench_mlp.py --json

A train step is forward + MSE loss + backward + Adam. Each case reports the median
steps/second of several timed runs for the engine and for tests/reference.py, and
their ratio. Warm-up is measured in fresh subprocesses: once with an empty
NUMBA_CACHE_DIR (cold compile) and once more with the same directory (cached load).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from engine import kernels as K  # noqa: E402
from engine import runtime  # noqa: E402
from engine.nn import MLP, Adam  # noqa: E402
from tests import reference as R  # noqa: E402

SHAPES = {
    "denoiser-2d 2-128-128-128-2": [2, 128, 128, 128, 2],
    "image-16x16x3 768-256-256-768": [768, 256, 256, 768],
}
BATCHES = (32, 128, 512)


def _rate(step, seconds: float, repeats: int) -> float:
    """Median steps/s over ``repeats`` runs of about ``seconds`` each."""
    step()
    t0, n = time.perf_counter(), 0
    while time.perf_counter() - t0 < 0.05:
        step()
        n += 1
    per_run = max(5, int(n * seconds / 0.05))
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(per_run):
            step()
        rates.append(per_run / (time.perf_counter() - t0))
    return statistics.median(rates)


def bench_case(sizes, batch: int, activation: str, seconds: float, repeats: int) -> dict:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, sizes[0]), dtype=np.float32)
    y = rng.standard_normal((batch, sizes[-1]), dtype=np.float32)

    model = MLP(sizes, activation=activation, seed=0)
    opt = Adam(model.params, model.grads, lr=1e-3)
    grad = np.empty_like(y)

    def engine_step():
        out = model.forward(x)
        K.mse_loss(out, y, grad, 1.0)
        model.backward(grad)
        opt.step()

    ref = R.MLP.from_engine(model)
    ref_opt = R.Adam(ref.parameters(), lr=1e-3)

    def numpy_step():
        R.train_step(ref, ref_opt, x, y)

    e = _rate(engine_step, seconds, repeats)
    n = _rate(numpy_step, seconds, repeats)
    return {"batch": batch, "engine_steps_per_s": round(e, 1),
            "numpy_steps_per_s": round(n, 1), "ratio": round(e / n, 2)}


def warm_up_seconds() -> dict:
    """Cold compile and cached load of runtime.warm_up(), each in a fresh process."""
    code = ("import time; t=time.perf_counter(); from engine import runtime; "
            "w=runtime.warm_up(); print(w, time.perf_counter()-t)")
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for label in ("cold", "cached"):
            res = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT,
                                 capture_output=True, text=True, check=True)
            warm, total = map(float, res.stdout.split())
            out[f"warm_up_{label}_s"] = round(warm, 3)
            out[f"import_and_warm_up_{label}_s"] = round(total, 3)
    out["kernels_registered"] = len(runtime.registered()) if runtime.registered() else None
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON only")
    parser.add_argument("--seconds", type=float, default=0.3, help="length of one run")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--activation", default="silu")
    args = parser.parse_args()

    warm = warm_up_seconds()
    runtime.warm_up()
    rows = []
    for name, sizes in SHAPES.items():
        for batch in BATCHES:
            row = {"case": name, "activation": args.activation}
            row.update(bench_case(sizes, batch, args.activation, args.seconds, args.repeats))
            rows.append(row)
    report = {"runtime": runtime.configured(), "mlp_train_step": rows, "warm_up": warm}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for r in rows:
        print(f"{r['case']:34s} batch {r['batch']:4d}: engine {r['engine_steps_per_s']:9.1f}"
              f"/s  numpy {r['numpy_steps_per_s']:9.1f}/s  x{r['ratio']}")
    print(json.dumps(warm))


if __name__ == "__main__":
    main()

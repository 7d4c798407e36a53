"""Engine MLP train step vs the plain-numpy reference, and warm-up cold vs cached.

    python benchmarks/bench_mlp.py --json

A train step is forward + MSE loss + backward + Adam. Each case reports the median
steps/second of several timed runs for the engine and for tests/reference.py, and
their ratio. ``blas_threads_compare`` reruns batch 128 with 1 and 2 OpenBLAS threads
(the runtime.py decision; numba kernels are serial either way). Warm-up is measured in fresh
subprocesses: once with an empty
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


def _rates(steps, seconds: float, repeats: int) -> list[float]:
    """Median steps/s of each step function; runs alternate between the functions so
    a change in machine load hits both alike."""
    per_run = []
    for step in steps:
        step()
        t0, n = time.perf_counter(), 0
        while time.perf_counter() - t0 < 0.05:
            step()
            n += 1
        per_run.append(max(5, int(n * seconds / 0.05)))
    rates: list[list[float]] = [[] for _ in steps]
    for _ in range(repeats):
        for step, count, out in zip(steps, per_run, rates):
            t0 = time.perf_counter()
            for _ in range(count):
                step()
            out.append(count / (time.perf_counter() - t0))
    return [statistics.median(r) for r in rates]


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
        model.backward(grad, input_grad=False)
        opt.step()

    ref = R.MLP.from_engine(model)
    ref_opt = R.Adam(ref.parameters(), lr=1e-3)

    def numpy_step():
        with np.errstate(over="ignore"):  # exp(-z) overflowing to inf is harmless here
            R.train_step(ref, ref_opt, x, y)

    e, n = _rates([engine_step, numpy_step], seconds, repeats)
    return {
        "batch": batch,
        "engine_steps_per_s": round(e, 1),
        "numpy_steps_per_s": round(n, 1),
        "ratio": round(e / n, 2),
    }


_WARM_CODE = """
import json, time
t0 = time.perf_counter()
from engine import runtime
marks = []
seconds = runtime.warm_up(lambda done, total, name: marks.append((name, time.perf_counter())))
per = {a[0]: round(b[1] - a[1], 3) for a, b in zip(marks, marks[1:])}
print(json.dumps({"warm_up_s": seconds, "total_s": time.perf_counter() - t0, "per": per}))
"""


def warm_up_seconds() -> dict:
    """Cold compile and cached load of runtime.warm_up(), each in a fresh process.

    Covers every engine module's registered warm-up (not only this file's MLP).
    """
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for label in ("cold", "cached"):
            res = subprocess.run(
                [sys.executable, "-c", _WARM_CODE],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            )
            info = json.loads(res.stdout.strip().splitlines()[-1])
            out[f"warm_up_{label}_s"] = round(info["warm_up_s"], 3)
            out[f"import_and_warm_up_{label}_s"] = round(info["total_s"], 3)
            out[f"per_registration_{label}_s"] = info["per"]
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
    blas = []
    default = runtime.blas_threads()
    for threads in (1, 2):
        if not runtime.set_blas_threads(threads):
            break
        for name, sizes in SHAPES.items():
            row = bench_case(sizes, 128, args.activation, args.seconds, args.repeats)
            blas.append(
                {
                    "case": name,
                    "batch": 128,
                    "blas_threads": threads,
                    "engine_steps_per_s": row["engine_steps_per_s"],
                }
            )
    if default is not None:
        runtime.set_blas_threads(default)
    report = {
        "runtime": runtime.configured(),
        "mlp_train_step": rows,
        "blas_threads_compare": blas,
        "warm_up": warm,
        "load_average": os.getloadavg(),
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for r in blas:
        print(
            f"{r['case']:34s} batch 128, {r['blas_threads']} BLAS thread(s): {r['engine_steps_per_s']:9.1f}/s"
        )
    for r in rows:
        print(
            f"{r['case']:34s} batch {r['batch']:4d}: engine {r['engine_steps_per_s']:9.1f}"
            f"/s  numpy {r['numpy_steps_per_s']:9.1f}/s  x{r['ratio']}"
        )
    print(json.dumps(warm, indent=2))


if __name__ == "__main__":
    main()

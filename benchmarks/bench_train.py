"""Training steps per second: the engine against plain numpy, each side in its own process.

    python benchmarks/bench_train.py --json [--blas-threads N] [--numpy-blas-threads M]

Cases (issue 3, item 8):

* ``mlp``: a denoiser-shaped MLP 800-256-256-768, SiLU hidden layers, MSE loss, Adam,
  at batch 32, 128 and 512. Engine: ``engine.nn.MLP`` + ``Adam`` + ``kernels.mse_loss``;
  numpy: ``tests/reference.py``'s ``train_step``. Both start from the same weights.
* ``gan``: one GAN-lab round at ``engine.gan.GANConfig()``'s defaults (one D step and one
  G step, non-saturating BCE, Adam with betas (0.5, 0.999), batch 128, ReLU G 2-64-64-2
  and D 2-64-64-1, Gaussian noise, the ring). Engine: ``GAN.step()``; numpy:
  ``NumpyGAN.step()`` below, written on tests/reference.py's MLP, BCE and Adam.

Every measurement (one side of one case) runs in a fresh ``python`` process, so numba's
JIT state and OpenBLAS's thread count never carry over from one side to the other. The
numpy process never imports numba. Both processes get the same BLAS thread count through
``OPENBLAS_NUM_THREADS`` (and ``GENAI_TUTOR_BLAS_THREADS`` for the engine's runtime):
``--blas-threads`` or else the engine's default (``GENAI_TUTOR_BLAS_THREADS`` if set,
otherwise ``runtime.DEFAULT_BLAS_THREADS`` = 1). ``--numpy-blas-threads`` gives the numpy
side its own count. Each row's ``blas_threads`` is what OpenBLAS reported inside each
process after timing.

In each process: a few untimed steps (JIT cache load or compile, buffer allocation),
then a short calibration that sizes one run to ``--seconds``, then ``--repeats`` timed
runs. A row holds the median steps/s of each side, their ratio, and each side's
[min, max] over the runs.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

F32 = np.float32
MLP_SIZES = [800, 256, 256, 768]
MLP_BATCHES = (32, 128, 512)
SIDES = ("engine", "numpy")


# ------------------------------------------------------------------ plain-numpy GAN


def _input_grad(model, dy):
    """dL/d(input) of a reference MLP's last forward, without its parameter gradients
    (the generator step only needs the gradient through the frozen discriminator)."""
    from tests import reference as R

    d = dy
    for i in reversed(range(len(model.weights))):
        d = (d * R.act_grad(model.acts[i], model.zs[i], model.slope)) @ model.weights[i].T
    return d


class NumpyGAN:
    """One engine-GAN round with the default settings, in plain numpy.

    The same maths as ``engine.gan.GAN.step_d``/``step_g`` for the non-saturating loss:
    D on a real and a fake half (BCE with logits, gradients summed, accuracies taken),
    one Adam step for D; then G through the frozen D, one Adam step for G; a finiteness
    check of the losses and parameters after each. Draws from ``rng`` in the engine's
    order, so ``from_engine`` reproduces an engine GAN's trajectory.
    """

    def __init__(self, real, G, D, batch, noise_dim, g_lr, d_lr, rng, betas=(0.5, 0.999)):
        from tests import reference as R

        self.R, self.real, self.G, self.D, self.rng = R, real, G, D, rng
        self.batch, self.noise_dim = int(batch), int(noise_dim)
        self.opt_g = R.Adam(G.parameters(), lr=g_lr, betas=betas)
        self.opt_d = R.Adam(D.parameters(), lr=d_lr, betas=betas)
        self.ones = np.ones((batch, 1), F32)
        self.zeros = np.zeros((batch, 1), F32)
        self.diverged = False
        self.d_loss = self.g_loss = float("nan")

    @classmethod
    def from_engine(cls, gan) -> NumpyGAN:
        """Copy an ``engine.gan.GAN``'s weights, data and random state (for parity tests)."""
        import copy

        from tests import reference as R

        c = gan.config
        return cls(
            gan.real.copy(),
            R.MLP.from_engine(gan.G),
            R.MLP.from_engine(gan.D),
            c.batch,
            c.noise_dim,
            c.g_lr,
            c.d_lr,
            copy.deepcopy(gan.rng),
            betas=tuple(gan.opt_g.betas),
        )

    def _noise(self):
        return self.rng.standard_normal((self.batch, self.noise_dim), dtype=F32)

    def _check(self, loss, params):
        if not (np.isfinite(loss) and all(np.isfinite(p).all() for p in params)):
            self.diverged = True

    def step_d(self):
        R, D = self.R, self.D
        x_real = self.real[self.rng.integers(0, len(self.real), self.batch)]
        fake = self.G.forward(self._noise())
        logits = D.forward(x_real)
        self.acc_real = float((logits > 0).mean())
        loss, dlogit = R.bce_with_logits(logits, self.ones)
        D.backward(dlogit, input_grad=False)
        grads = D.gradients()
        logits = D.forward(fake)
        self.acc_fake = float((logits <= 0).mean())
        loss_fake, dlogit = R.bce_with_logits(logits, self.zeros)
        D.backward(dlogit, input_grad=False)
        loss += loss_fake
        self.opt_d.step([a + b for a, b in zip(grads, D.gradients())])
        self.d_loss = float(loss)
        self._check(loss, D.parameters())

    def step_g(self):
        fake = self.G.forward(self._noise())
        loss, dlogit = self.R.bce_with_logits(self.D.forward(fake), self.ones)
        self.G.backward(_input_grad(self.D, dlogit), input_grad=False)
        self.opt_g.step(self.G.gradients())
        self.g_loss = float(loss)
        self._check(loss, self.G.parameters())

    def step(self):
        if self.diverged:
            return
        with np.errstate(over="ignore"):  # exp(-x) -> inf in the sigmoid is harmless
            self.step_d()
            self.step_g()


# ------------------------------------------------------------- the timed step builders


def _init_mlp(sizes, activation, seed):
    """A reference MLP initialised exactly as ``engine.nn.MLP(sizes, activation, seed)``
    for ReLU or SiLU hidden layers (He init; Xavier for the identity output layer; zero
    biases), without importing the engine."""
    from tests import reference as R

    rng = np.random.default_rng(seed)
    pairs = list(zip(sizes[:-1], sizes[1:]))
    stds = [np.sqrt(2.0 / i) for i, _ in pairs[:-1]] + [np.sqrt(2.0 / sum(pairs[-1]))]
    weights = [rng.standard_normal(shape, dtype=F32) * F32(std) for shape, std in zip(pairs, stds)]
    return R.MLP(weights, [np.zeros(o, F32) for o in sizes[1:]], activation)


def _mlp_step(side: str, batch: int):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, MLP_SIZES[0]), dtype=F32)
    y = rng.standard_normal((batch, MLP_SIZES[-1]), dtype=F32)
    if side == "engine":
        from engine import kernels as K
        from engine.nn import MLP, Adam

        model = MLP(MLP_SIZES, activation="silu", seed=0)
        opt = Adam(model.params, model.grads, lr=1e-3)
        grad = np.empty_like(y)

        def step():
            K.mse_loss(model.forward(x), y, grad, 1.0)
            model.backward(grad, input_grad=False)
            opt.step()

        return step

    from tests import reference as R

    ref = _init_mlp(MLP_SIZES, "silu", 0)
    ref_opt = R.Adam(ref.parameters(), lr=1e-3)

    def step():
        with np.errstate(over="ignore"):
            R.train_step(ref, ref_opt, x, y)

    return step


def _gan_step(side: str, spec: dict):
    if side == "engine":
        from engine.gan import GAN, GANConfig

        return GAN(GANConfig()).step
    from engine import data  # plain numpy, no numba

    real = data.toy(spec["dataset"], n=spec["pool"], seed=0).points
    gan = NumpyGAN(
        real,
        _init_mlp(spec["g_sizes"], spec["activation"], 1),
        _init_mlp(spec["d_sizes"], spec["activation"], 2),
        spec["batch"],
        spec["noise_dim"],
        spec["g_lr"],
        spec["d_lr"],
        np.random.default_rng(3),
        betas=tuple(spec["betas"]),
    )
    return gan.step


def gan_spec() -> dict:
    """The GAN lab's default sizes, read from ``GANConfig()``; fails if the defaults
    stop being what ``NumpyGAN`` implements (then extend NumpyGAN first)."""
    from dataclasses import asdict

    from engine.gan import GANConfig

    c = GANConfig()
    implemented = {
        "noise": "gaussian",
        "loss": "non-saturating",
        "g_optimizer": "adam",
        "d_optimizer": "adam",
        "k_d": 1,
        "k_g": 1,
    }
    differs = {k: v for k, v in asdict(c).items() if k in implemented and v != implemented[k]}
    if differs:
        raise RuntimeError(f"GANConfig defaults changed ({differs}); NumpyGAN implements {implemented}")
    return {
        "batch": c.batch,
        "noise_dim": c.noise_dim,
        "activation": c.activation,
        "g_sizes": [c.noise_dim] + [c.g_width] * c.g_layers + [2],
        "d_sizes": [2] + [c.d_width] * c.d_layers + [1],
        "g_lr": c.g_lr,
        "d_lr": c.d_lr,
        "betas": [0.5, 0.999],  # engine.gan's Adam
        "dataset": c.dataset,
        "pool": c.pool,
    }


def _openblas_threads() -> int | None:
    """OpenBLAS's thread count in this process (numpy's bundled library), or None."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line}
    except OSError:
        return None
    for path in sorted(paths):
        lib = ctypes.CDLL(path)
        for name in (
            "scipy_openblas_get_num_threads64_",
            "scipy_openblas_get_num_threads",
            "openblas_get_num_threads64_",
            "openblas_get_num_threads",
        ):
            fn = getattr(lib, name, None)
            if fn is not None:
                return int(fn())
    return None


def time_step(step, steps: int | None, seconds: float, repeats: int) -> list[float]:
    """Steps/s of ``repeats`` timed runs of ``steps`` calls each (``None``: as many as
    fit in ``seconds``, from a short calibration), after three untimed warm-up calls."""
    for _ in range(3):
        step()
    if steps is None:
        t0, n = time.perf_counter(), 0
        while time.perf_counter() - t0 < 0.2:
            step()
            n += 1
        steps = max(3, round(n * seconds / (time.perf_counter() - t0)))
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        rates.append(steps / (time.perf_counter() - t0))
    return rates


def _worker(job: dict) -> dict:
    """Runs inside the measuring process: build one side's step, time it."""
    if job["case"] == "mlp":
        step = _mlp_step(job["side"], job["batch"])
    else:
        step = _gan_step(job["side"], job["spec"])
    rates = time_step(step, job["steps"], job["seconds"], job["repeats"])
    return {"rates": rates, "blas_threads": _openblas_threads(), "numba_loaded": "numba" in sys.modules}


def measure(
    case: str,
    side: str,
    batch: int,
    blas_threads: int,
    *,
    steps=None,
    seconds: float = 0.7,
    repeats: int = 5,
    spec: dict | None = None,
) -> dict:
    """One side of one case, timed in a fresh ``python`` process."""
    job = {
        "case": case,
        "side": side,
        "batch": batch,
        "steps": steps,
        "seconds": seconds,
        "repeats": repeats,
        "spec": spec,
    }
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(blas_threads), GENAI_TUTOR_BLAS_THREADS=str(blas_threads))
    res = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(job)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if res.returncode != 0:
        raise RuntimeError(f"{case}/{side} batch {batch} failed:\n{res.stderr}")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    if side == "numpy" and out["numba_loaded"]:
        raise RuntimeError("the numpy side imported numba")
    return out


def measure_row(
    case: str,
    batch: int | None = None,
    *,
    blas_threads: int | None = None,
    numpy_blas_threads: int | None = None,
    steps: int | None = None,
    seconds: float = 0.7,
    repeats: int = 5,
) -> dict:
    """One output row: the engine and the numpy side of ``case``, each in its process.

    ``batch`` is ignored for ``gan`` (the lab's default batch is used).
    """
    threads = default_blas_threads() if blas_threads is None else blas_threads
    np_threads = threads if numpy_blas_threads is None else numpy_blas_threads
    spec = None
    if case == "gan":
        spec = gan_spec()
        batch = spec["batch"]
        sizes = f"G {'-'.join(map(str, spec['g_sizes']))}, D {'-'.join(map(str, spec['d_sizes']))}"
    elif case == "mlp":
        sizes = "-".join(map(str, MLP_SIZES))
    else:
        raise ValueError(f"unknown case {case!r}; choose mlp or gan")
    res = {
        side: measure(case, side, batch, t, steps=steps, seconds=seconds, repeats=repeats, spec=spec)
        for side, t in zip(SIDES, (threads, np_threads))
    }
    med = {side: statistics.median(res[side]["rates"]) for side in SIDES}
    row = {
        "case": case,
        "batch": batch,
        "engine_steps_per_s": round(med["engine"], 1),
        "numpy_steps_per_s": round(med["numpy"], 1),
        "ratio": round(med["engine"] / med["numpy"], 2),
        "blas_threads": {side: res[side]["blas_threads"] for side in SIDES},
        "sizes": sizes,
        "runs": repeats,
    }
    for side in SIDES:
        row[f"{side}_range"] = [round(min(res[side]["rates"]), 1), round(max(res[side]["rates"]), 1)]
    return row


def default_blas_threads() -> int:
    """The engine's own default: GENAI_TUTOR_BLAS_THREADS / OPENBLAS_NUM_THREADS, else 1."""
    from engine import runtime

    env = os.environ.get("GENAI_TUTOR_BLAS_THREADS") or os.environ.get("OPENBLAS_NUM_THREADS")
    return int(env) if env else runtime.DEFAULT_BLAS_THREADS


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument("--seconds", type=float, default=0.7, help="length of one run")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per side")
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=None,
        help="OpenBLAS threads for both sides (default: the engine's)",
    )
    parser.add_argument(
        "--numpy-blas-threads", type=int, default=None, help="OpenBLAS threads for the numpy side only"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(json.loads(args.worker))))
        return
    kw = {
        "blas_threads": args.blas_threads,
        "numpy_blas_threads": args.numpy_blas_threads,
        "seconds": args.seconds,
        "repeats": args.repeats,
    }
    rows = [measure_row("mlp", b, **kw) for b in MLP_BATCHES] + [measure_row("gan", **kw)]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print("| case | sizes | batch | engine steps/s | numpy steps/s | ratio | BLAS threads |")
    print("|---|---|---:|---:|---:|---:|---|")
    for r in rows:
        t = r["blas_threads"]
        print(
            f"| {r['case']} | {r['sizes']} | {r['batch']} | {r['engine_steps_per_s']} "
            f"| {r['numpy_steps_per_s']} | {r['ratio']}x | "
            f"engine {t['engine']}, numpy {t['numpy']} |"
        )
    print(f"medians of {args.repeats} runs of ~{args.seconds}s; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

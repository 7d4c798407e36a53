"""The engine against PyTorch (CPU, eager) on the same shapes at the same thread count.

    python benchmarks/bench_vs_torch.py --json [--threads 2] [--torch-python PATH]

PyTorch is not a dependency: give ``--torch-python`` (or ``GENAI_TUTOR_TORCH_PYTHON``) a
Python that can ``import torch``, e.g. a separate virtual environment::

    python -m venv /tmp/torchvenv --system-site-packages
    /tmp/torchvenv/bin/pip install torch

Without one (and when this Python cannot import torch) the script says so and exits 2.

Cases, each side in its own fresh process (the engine with ``GENAI_TUTOR_THREADS``,
PyTorch with ``torch.set_num_threads``), same shapes, float32, same initialisation
scheme and optimizer settings:

* ``mlp``: 800-256-256-768, SiLU, MSE, Adam(lr 1e-3), batch 32/128/512 (forward, loss,
  backward without the input gradient, Adam). PyTorch twice: the default Adam
  (``foreach``) and ``Adam(fused=True)``.
* ``gan``: one round of the GAN lab's defaults (D on a real and a fake batch, Adam; G
  through the frozen D, Adam), sizes from ``GANConfig()``.
* ``diffusion``: one training step of the shipped sprite denoiser's network (its
  ``net.sizes``, SiLU, batch 128, MSE, Adam) plus the EMA update; the engine runs its
  whole ``Diffusion.step`` (which also draws the batch and noise), so the comparison
  favours PyTorch.

``--cases`` and ``--batches`` pick a subset (e.g. ``--cases mlp --batches 512``).
Rows report median steps/s over ``--repeats`` runs and the ratio engine / PyTorch.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MLP_SIZES = [800, 256, 256, 768]
BATCHES = (32, 128, 512)
CASES = ("mlp", "gan", "diffusion")


def _rates(step, seconds: float, repeats: int) -> list[float]:
    for _ in range(3):
        step()
    t0, n = time.perf_counter(), 0
    while time.perf_counter() - t0 < 0.2:
        step()
        n += 1
    count = max(3, round(n * seconds / (time.perf_counter() - t0)))
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(count):
            step()
        rates.append(count / (time.perf_counter() - t0))
    return rates


# ------------------------------------------------------------------------ engine side


def engine_step(job: dict):
    sys.path.insert(0, ROOT)
    if job["case"] == "mlp":
        from benchmarks.bench_scaling import build

        return build(f"mlp{job['batch']}")
    if job["case"] == "gan":
        from engine.gan import GAN, GANConfig

        return GAN(GANConfig()).step
    if job["case"] == "diffusion":
        from engine import diffusion_recipes as recipes

        return recipes.new_model("sprites", seed=0).step
    raise ValueError(job["case"])


# ------------------------------------------------------------------------- torch side


def torch_step(job: dict):
    import torch
    from torch import nn

    torch.manual_seed(0)

    def mlp(sizes, act):
        layers = []
        for i, (a, b) in enumerate(itertools.pairwise(sizes)):
            layers.append(nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(act())
        return nn.Sequential(*layers)

    def adam(params, **kw):
        return torch.optim.Adam(params, fused=job.get("fused", False) or None, **kw)

    if job["case"] in ("mlp", "diffusion"):
        sizes, batch = (MLP_SIZES, job["batch"]) if job["case"] == "mlp" else (job["sizes"], job["batch"])
        net = mlp(sizes, nn.SiLU)
        opt = adam(net.parameters(), lr=1e-3)
        x = torch.randn(batch, sizes[0])
        y = torch.randn(batch, sizes[-1])
        ema = [p.detach().clone() for p in net.parameters()] if job["case"] == "diffusion" else None

        def step():
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.mse_loss(net(x), y)
            loss.backward()
            opt.step()
            if ema is not None:
                with torch.no_grad():
                    torch._foreach_lerp_(ema, list(net.parameters()), 0.001)

        return step
    if job["case"] == "gan":
        s = job["spec"]
        act = nn.ReLU if s["activation"] == "relu" else nn.LeakyReLU
        G, D = mlp(s["g_sizes"], act), mlp(s["d_sizes"], act)
        opt_g = adam(G.parameters(), lr=s["g_lr"], betas=tuple(s["betas"]))
        opt_d = adam(D.parameters(), lr=s["d_lr"], betas=tuple(s["betas"]))
        real = torch.randn(s["pool"], 2)
        bce = torch.nn.functional.binary_cross_entropy_with_logits
        b = s["batch"]
        ones, zeros = torch.ones(b, 1), torch.zeros(b, 1)

        def step():
            x = real[torch.randint(0, s["pool"], (b,))]
            with torch.no_grad():
                fake = G(torch.randn(b, s["noise_dim"]))
            opt_d.zero_grad(set_to_none=True)
            (bce(D(x), ones) + bce(D(fake), zeros)).backward()
            opt_d.step()
            opt_g.zero_grad(set_to_none=True)
            for p in D.parameters():
                p.requires_grad_(False)
            bce(D(G(torch.randn(b, s["noise_dim"]))), ones).backward()
            for p in D.parameters():
                p.requires_grad_(True)
            opt_g.step()

        return step
    raise ValueError(job["case"])


def worker(job: dict) -> dict:
    if job["side"] == "torch":
        import torch

        torch.set_num_threads(job["threads"])
        step = torch_step(job)
        info = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    else:
        step = engine_step(job)
        from engine import runtime

        info = {"threads": runtime.threads(), "blas": runtime.blas_threads()}
    return {"rates": _rates(step, job["seconds"], job["repeats"]), **info}


# ----------------------------------------------------------------------------- parent


def _run(python: str, job: dict) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OPENBLAS_NUM_THREADS", "GENAI_TUTOR_BLAS_THREADS", "OMP_NUM_THREADS")
    }
    env["GENAI_TUTOR_THREADS"] = str(job["threads"])
    res = subprocess.run(
        [python, os.path.abspath(__file__), "--worker", json.dumps(job)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if res.returncode != 0:
        raise RuntimeError(f"{job['side']} {job['case']} failed:\n{res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def find_torch_python(given: str | None) -> str | None:
    for python in (given, os.environ.get("GENAI_TUTOR_TORCH_PYTHON"), sys.executable):
        if (
            python
            and subprocess.run([python, "-c", "import torch"], capture_output=True, check=False).returncode
            == 0
        ):
            return python
    return None


def diffusion_sizes() -> list[int]:
    sys.path.insert(0, ROOT)
    from engine import diffusion_recipes as recipes

    return list(recipes.new_model("sprites", seed=0).net.sizes)


def run(
    torch_python: str, threads: int, seconds: float, repeats: int, cases=CASES, batches=BATCHES
) -> list[dict]:
    sys.path.insert(0, ROOT)
    from benchmarks.bench_train import gan_spec

    base = {"threads": threads, "seconds": seconds, "repeats": repeats}
    jobs = [dict(base, case="mlp", batch=b) for b in batches] if "mlp" in cases else []
    if "gan" in cases:
        jobs.append(dict(base, case="gan", spec=gan_spec(), batch=gan_spec()["batch"]))
    if "diffusion" in cases:
        jobs.append(dict(base, case="diffusion", sizes=diffusion_sizes(), batch=128))
    rows = []
    for job in jobs:
        med = {}
        torch_version = None
        for side, fused in (("engine", False), ("torch", False), ("torch", True)):
            try:
                out = _run(
                    torch_python if side == "torch" else sys.executable, dict(job, side=side, fused=fused)
                )
            except RuntimeError as exc:  # keep the other rows; say which side failed
                print(exc, file=sys.stderr)
                out = {"rates": [float("nan")]}
            key = "engine" if side == "engine" else ("torch_fused" if fused else "torch_eager")
            med[key] = statistics.median(out["rates"])
            torch_version = out.get("torch", torch_version)
        row = {
            "case": job["case"],
            "batch": job["batch"],
            "threads": threads,
            **{f"{k}_steps_per_s": round(v, 1) for k, v in med.items()},
            "vs_eager": round(med["engine"] / med["torch_eager"], 2),
            "vs_fused": round(med["engine"] / med["torch_fused"], 2),
            "torch": torch_version,
        }
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=0.7)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--torch-python", default=None, help="a Python that can import torch (default: this one)"
    )
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated: " + ", ".join(CASES))
    parser.add_argument(
        "--batches", default=",".join(map(str, BATCHES)), help="MLP batch sizes, comma-separated"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return
    python = find_torch_python(args.torch_python)
    if python is None:
        print("PyTorch is not importable here: pass --torch-python (see the docstring).", file=sys.stderr)
        raise SystemExit(2)
    load = os.getloadavg()[0]
    cases = [c for c in args.cases.split(",") if c]
    unknown = sorted(set(cases) - set(CASES))
    if unknown:
        parser.error(f"unknown case {unknown[0]!r}; choose from {', '.join(CASES)}")
    try:
        batches = [int(b) for b in args.batches.split(",") if b]
    except ValueError:
        parser.error(f"--batches must be whole numbers separated by commas, got {args.batches!r}")
    rows = run(python, args.threads, args.seconds, args.repeats, cases, batches)
    result = {
        "rows": rows,
        "load_average_before": round(load, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
        "cores": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print("| case | batch | engine | PyTorch eager | PyTorch fused Adam | vs eager | vs fused |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['case']} | {r['batch']} | {r['engine_steps_per_s']} | "
            f"{r['torch_eager_steps_per_s']} | {r['torch_fused_steps_per_s']} | "
            f"{r['vs_eager']}x | {r['vs_fused']}x |"
        )
    print(
        f"{args.threads} threads, medians of {args.repeats} runs; load average "
        f"{load:.2f} -> {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()

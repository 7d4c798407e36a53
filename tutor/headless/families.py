"""`genai-tutor train families|flow|autoregressive` and the 2-D side of `train gan|vae|diffusion`
and `generate`: the five families on the same 2-D points.

    genai-tutor train families --dataset ring --budget 20s --json     the comparison table
    genai-tutor train flow --dataset csv:points.csv --steps 3000 --json
    genai-tutor generate --model flow --dataset ring --n 500 --out samples.csv --json

A dataset is a toy name (ring, moons, moons-bridge, spiral, ...) or ``csv:FILE`` (two
numeric columns, optional header). A trained model is saved under the user data folder
($GENAI_TUTOR_HOME, else platformdirs' user_data_path("genai-tutor")) as
``weights/<family>_<dataset>.npz``; `generate` reads it from there.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from pathlib import Path

from tutor.headless import emit, progress_printer

FAMILIES = ("autoregressive", "gan", "vae", "diffusion", "flow")


def data_home() -> Path:
    """The user data folder: $GENAI_TUTOR_HOME if set, else the platform's (content.paths)."""
    from content import paths

    return paths.user_home()


def _refuse_package(path: Path) -> str | None:
    """A message if ``path`` lies inside the installed package (never written to)."""
    from content import paths

    if paths.is_inside_package(path):
        return f"{path} is inside the installed package; choose a folder of your own"
    return None


def model_path(family: str, dataset: str) -> Path:
    """Where `train FAMILY --dataset D` saves and `generate` looks."""
    from engine import data

    return data_home() / "weights" / f"{family}_{data.dataset_label(dataset)}.npz"


def is_points(dataset: str) -> bool:
    """True for a 2-D dataset spec (a toy name or csv:FILE)."""
    from engine import data

    return dataset.startswith(data.CSV_PREFIX) or dataset in data.TOYS


def point_dataset(value: str) -> str:
    """argparse type: a toy name or csv:FILE (the file is read when the command runs)."""
    if is_points(value):
        return value
    from engine import data

    raise argparse.ArgumentTypeError(f"unknown dataset '{value}' (choose from {data.dataset_names()})")


def parse_budget(value: str) -> float:
    """argparse type: seconds as ``20``, ``20s``, ``1.5m``."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*(s|m|min)?\s*", value)
    if not match:
        raise argparse.ArgumentTypeError(f"'{value}' is not a time budget (e.g. 20s or 1m)")
    seconds = float(match.group(1)) * (60.0 if match.group(2) in ("m", "min") else 1.0)
    if not 0.5 <= seconds <= 3600:
        raise argparse.ArgumentTypeError("the budget must be between 0.5 s and 1 hour per family")
    return seconds


def _error(message: str, code: int = 1) -> int:
    print(f"genai-tutor: {message}", file=sys.stderr)
    return code


def _load_points(dataset: str, seed: int = 0):
    """(toy, held-out points or None) for a spec; ValueError with a plain message."""
    from engine import data

    toy = data.resolve(dataset, n=2048, seed=seed)
    test = None if dataset.startswith(data.CSV_PREFIX) else data.resolve(dataset, 2048, seed + 1000).points
    return toy, test


def _rounded(value):
    return round(value, 4) if isinstance(value, float) and math.isfinite(value) else value


# ------------------------------------------------------------------ train families


def train_families(args: argparse.Namespace) -> int:
    from engine import families

    try:
        toy, test = _load_points(args.dataset, args.seed)
    except ValueError as exc:
        return _error(str(exc))
    chosen = tuple(args.only.split(",")) if args.only else families.FAMILIES
    try:
        fam = families.Families(toy, seed=args.seed, families=chosen, test=test)
    except ValueError as exc:
        return _error(str(exc), 2)
    total = round(args.budget * len(fam.members), 1)
    bar = progress_printer(f"training {len(fam.members)} families", int(total), args.json)
    start = time.perf_counter()
    fam.train(args.budget, progress=lambda done, _total: bar(int(done), int(total)))
    bar(int(total), int(total))
    rows = fam.table(n=args.n)
    result = {
        "dataset": args.dataset,
        "budget_per_family_s": args.budget,
        "seed": args.seed,
        "points": len(toy.points),
        "nll_on": "training points" if test is None else "2048 fresh points of the same distribution",
        "wall_seconds": round(time.perf_counter() - start, 1),
        "families": rows,
    }
    if args.json:
        emit(result, True)
    else:
        print(format_table(result))
    return 0


def format_table(result: dict) -> str:
    """The families table as plain text (what `train families` prints without --json)."""
    head = (
        f"{'family':<15}{'steps':>7}{'samples/s':>11}{'prec':>6}{'cover':>6}{'MMD':>8}{'modes':>7}{'NLL':>8}"
    )
    lines = [f"{result['dataset']}: {result['budget_per_family_s']:g} s of training per family", head]
    for r in result["families"]:
        modes = "-" if r["modes_total"] is None else f"{r['modes_covered']}/{r['modes_total']}"
        nll = "-" if r["nll"] is None else f"{r['nll']:.2f}"
        lines.append(
            f"{r['family']:<15}{r['steps']:>7}{r['samples_per_s']:>11.0f}{r['precision']:>6.2f}"
            f"{r['coverage']:>6.2f}{r['mmd']:>8.4f}{modes:>7}{nll:>8}"
        )
    return "\n".join(lines)


# ------------------------------------------------------------------ train one family


def train_family(family: str, args: argparse.Namespace) -> int:
    """Train one family on a 2-D dataset and save it under the user data folder."""
    from engine import families

    try:
        toy, test = _load_points(args.dataset, args.seed)
    except ValueError as exc:
        return _error(str(exc))
    steps = families.DEFAULT_STEPS[family] if getattr(args, "steps", None) is None else args.steps
    if steps < 1:
        return _error("--steps must be at least 1", 2)
    progress = progress_printer(f"training {family} on {toy.name}", steps, args.json)
    model, frame, seconds = families.train_one(family, toy, steps, seed=args.seed, progress=progress)
    row = families.evaluate(family, model, frame, toy, toy.points if test is None else test)
    out = Path(args.out) if getattr(args, "out", None) else model_path(family, args.dataset)
    refused = _refuse_package(out)
    if refused:
        return _error(refused, 2)
    families.save(family, model, frame, out, dataset=args.dataset, seed=args.seed)
    result = {
        "family": family,
        "dataset": args.dataset,
        "steps": steps,
        "seconds": round(seconds, 2),
        **{k: v for k, v in row.items() if k != "family"},
        "out": str(out),
    }
    emit({k: _rounded(v) for k, v in result.items()}, args.json)
    return 0


# ------------------------------------------------------------------ generate


def generate_points(args: argparse.Namespace) -> int:
    """`generate --model F --dataset D`: n samples of a trained 2-D model into a CSV."""
    import numpy as np

    from engine import data, families, metrics
    from engine.weights import WeightsError

    if args.n < 1:
        return _error("error: --n must be at least 1", 2)
    if args.out and Path(args.out).suffix.lower() != ".csv":
        return _error(f"error: 2-D samples are written as CSV; give --out a .csv name, not {args.out}", 2)
    try:
        toy, _ = _load_points(args.dataset)
    except ValueError as exc:
        return _error(str(exc))
    path = model_path(args.model, args.dataset)
    try:
        if path.is_file() or args.model != "diffusion" or args.dataset not in data.TOYS:
            frame_points = families.frame_for(toy.points).to_model(toy.points)
            model, frame, _ = families.load(args.model, path, frame_points)
        else:  # the shipped 2-D diffusion model of a toy
            from engine import diffusion_recipes

            model, frame = diffusion_recipes.pretrained(args.dataset), families.Frame()
            path = diffusion_recipes.pretrained_path(args.dataset)
    except WeightsError as exc:
        return _error(f"{exc}; train it first: genai-tutor train {args.model} --dataset {args.dataset}")
    families.warm_up()  # compile-or-load first: time sampling only
    start = time.perf_counter()
    samples = frame.to_data(families.model_sample(args.model, model, args.n, seed=args.seed))
    seconds = time.perf_counter() - start
    out = (
        Path(args.out)
        if args.out
        else data_home() / "samples" / f"{args.model}_{data.dataset_label(args.dataset)}.csv"
    )
    refused = _refuse_package(out)
    if refused:
        return _error(refused, 2)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "w", encoding="utf-8") as handle:
            handle.write("x,y\n")
            np.savetxt(handle, samples, fmt="%.6g", delimiter=",")
    except OSError as exc:
        return _error(f"cannot write {out} ({exc.strerror or exc})")
    quality = metrics.sample_quality(samples, toy.points, toy.modes, toy.std)
    result = {
        "samples": len(samples),
        "seconds": round(seconds, 4),
        "samples_per_s": round(len(samples) / max(seconds, 1e-9), 1),
        **{k: _rounded(v) for k, v in quality.items()},
        "model": args.model,
        "dataset": args.dataset,
        "weights": str(path),
        "out": str(out),
    }
    emit(result, args.json)
    return 0


# ------------------------------------------------------------------ registration


def _add_family_parser(models, name: str, help_text: str) -> None:
    p = models.add_parser(name, help=help_text)
    p.add_argument(
        "--dataset",
        default="ring",
        type=point_dataset,
        help="ring, moons, moons-bridge, spiral, grid, line or csv:FILE",
    )
    p.add_argument("--steps", type=int, default=None, help="training steps (default: the family's recipe)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="weights file (default: the user data folder)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=lambda args, f=name: train_family(f, args))


def register(models: argparse._SubParsersAction, commands: argparse._SubParsersAction) -> None:
    """Add `train families`, `train flow` and `train autoregressive`."""
    p = models.add_parser("families", help="all five families on one 2-D dataset, same time budget each")
    p.add_argument(
        "--dataset",
        default="ring",
        type=point_dataset,
        help="ring, moons, moons-bridge, spiral, grid, line or csv:FILE",
    )
    p.add_argument(
        "--budget", default=20.0, type=parse_budget, help="training time per family, e.g. 20s (default) or 1m"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n", type=int, default=2048, help="samples per family for the measures")
    p.add_argument("--only", default=None, help=argparse.SUPPRESS)  # tests: a subset, comma-separated
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=train_families)

    _add_family_parser(models, "flow", "the RealNVP normalizing flow on 2-D points")
    _add_family_parser(models, "autoregressive", "the p(x)·p(y|x) autoregressive model on 2-D points")

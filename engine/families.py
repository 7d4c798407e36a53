"""Five families, one dataset: train every generative family on the same 2-D points
with the same time budget, and measure them with the same numbers.

The families and the file that defines each:

    autoregressive   engine/autoregressive.py   p(x) · p(y | x), a softmax per token
    gan              engine/gan.py              generator against discriminator
    vae              engine/vae.py (PointVAE)   encoder, latent, Gaussian decoder
    diffusion        engine/diffusion.py        learn to remove noise, then denoise
    flow             engine/flow.py             invertible map to a Gaussian (RealNVP)

Every model trains in the same *model space*: the labs' view square. Built-in toys
already live there; a learner's points (a CSV file, or drawn ones) are moved and scaled
into it by a :class:`Frame`, and samples are mapped back. A density in model space
converts to data space with the frame's Jacobian (log p_data = log p_model + 2 log a).

Training is round-robin by *time*: :meth:`Families.train_chunk` always advances the
family that has trained the least so far, for about ``chunk_seconds``, so after any
number of chunks every family has had the same CPU time to within one chunk. Time is
the training thread's CPU time (``time.thread_time``; BLAS and the kernels run on that
one thread), so a budget means "this many seconds of one core" however busy the
machine is; wall-clock time would hand the luckier family more work.

Measures (engine.metrics): samples per second, precision and coverage (k-NN balls
around the data), MMD, modes covered (where the data has modes) and, for the two
families with an exact likelihood (flow, autoregressive), the NLL of held-out points.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from . import data as toys
from . import metrics, runtime, training, weights
from .autoregressive import ARConfig, Autoregressive
from .diffusion import Diffusion
from .diffusion_recipes import recipe as diffusion_recipe
from .flow import Flow, FlowConfig
from .gan import GAN, GANConfig
from .vae import PointVAE, PointVaeConfig

F32 = np.float32
FAMILIES = ("autoregressive", "gan", "vae", "diffusion", "flow")
EXACT_LIKELIHOOD = ("autoregressive", "flow")
DIFFUSION_SAMPLE_STEPS = 50  # DDIM steps when the diffusion model draws samples
GAN_VERSION = 1


def warm_up() -> None:
    """Compile (or load) the five families' kernels first, so no family's budget pays
    for it."""
    runtime.warm_up(family="families")


# ------------------------------------------------------------------ model space


@dataclass(frozen=True)
class Frame:
    """model = (data - centre) · scale; identity for data already inside the view."""

    centre: tuple[float, float] = (0.0, 0.0)
    scale: float = 1.0

    def to_model(self, x: np.ndarray) -> np.ndarray:
        return ((np.asarray(x, np.float64) - self.centre) * self.scale).astype(F32)

    def to_data(self, y: np.ndarray) -> np.ndarray:
        return (np.asarray(y, np.float64) / self.scale + self.centre).astype(F32)

    @property
    def log_det(self) -> float:
        """log |det| of data -> model (2 log scale): add it to a model-space log p."""
        return 2.0 * math.log(self.scale)


def frame_for(points: np.ndarray, reach: float = 1.6) -> Frame:
    """Identity when the points fit the view; else centre them and scale their larger
    half-extent to ``reach`` (the toys' size)."""
    pts = np.asarray(points, np.float64)
    lo, hi = toys.VIEW
    if pts.min() >= lo * 0.95 and pts.max() <= hi * 0.95:
        return Frame()
    a, b = pts.min(0), pts.max(0)
    half = max(float((b - a).max()) / 2.0, 1e-6)
    centre = (a + b) / 2.0
    return Frame((float(centre[0]), float(centre[1])), reach / half)


# ------------------------------------------------------------------ one family


def new_model(family: str, points: np.ndarray, seed: int = 0):
    """An untrained model of ``family`` on model-space ``points`` (n, 2)."""
    pts = np.ascontiguousarray(points, F32)
    if family == "autoregressive":
        return Autoregressive(ARConfig(seed=seed), pts)
    if family == "gan":
        return GAN(GANConfig.preset("healthy", seed=seed), points=pts)
    if family == "vae":
        return PointVAE(PointVaeConfig(seed=seed), pts)
    if family == "diffusion":
        config = replace(diffusion_recipe("ring")["config"], seed=seed, extra={})
        return Diffusion(config, pts)
    if family == "flow":
        return Flow(FlowConfig(seed=seed), pts)
    raise ValueError(f"unknown family {family!r}; choose from {', '.join(FAMILIES)}")


def model_sample(family: str, model, n: int, seed: int = 1) -> np.ndarray:
    """n model-space samples (a fresh float32 array)."""
    if family == "diffusion":
        out, _ = model.sample(n, steps=DIFFUSION_SAMPLE_STEPS, sampler="ddim", seed=seed)
        return np.asarray(out, F32).reshape(n, 2)
    return np.asarray(model.sample(n, seed=seed), F32)


def model_train(family: str, model, n: int) -> None:
    model.train(n)


def diverged(family: str, model) -> bool:
    if family == "gan":
        return bool(model.diverged)
    params = model.net.params if family in ("diffusion", "autoregressive") else model.params
    return not bool(np.isfinite(params).all())


@dataclass
class Member:
    """One family in a comparison: its model, steps and training CPU seconds so far."""

    family: str
    model: object
    seconds: float = 0.0
    steps: int = 0
    rate: float = 0.0  # measured steps per second (0 until the first chunk)

    def train_for(self, seconds: float) -> int:
        """Train about ``seconds``; returns the steps taken."""
        n = 5 if self.rate <= 0 else max(1, int(self.rate * seconds))
        start = time.thread_time()
        model_train(self.family, self.model, n)
        spent = time.thread_time() - start
        self.seconds += spent
        self.steps += n
        self.rate = n / max(spent, 1e-6) if self.rate <= 0 else 0.7 * self.rate + 0.3 * n / max(spent, 1e-6)
        return n


class Families:
    """All (or some) families on one dataset, trained round-robin by time."""

    def __init__(
        self,
        toy: toys.Toy,
        seed: int = 0,
        families=FAMILIES,
        chunk_seconds: float = 0.1,
        test: np.ndarray | None = None,
    ):
        unknown = [f for f in families if f not in FAMILIES]
        if unknown:
            raise ValueError(f"unknown family {unknown[0]!r}; choose from {', '.join(FAMILIES)}")
        self.toy, self.seed = toy, int(seed)
        self.frame = frame_for(toy.points)
        self.points = self.frame.to_model(toy.points)
        self.test = toy.points if test is None else np.asarray(test, F32)
        self.chunk_seconds = float(chunk_seconds)
        self.members = {f: Member(f, new_model(f, self.points, seed)) for f in families}
        self._cache: dict = {}  # the data's k-NN radii and MMD term, computed once

    def train_chunk(self, budget: float | None = None) -> str | None:
        """Advance the family with the least training time by one chunk; its name.

        With a ``budget`` (seconds per family) only families still under it train, and
        None is returned once every family has used it up."""
        behind = [m for m in self.members.values() if budget is None or m.seconds < budget]
        if not behind:
            return None
        member = min(behind, key=lambda m: m.seconds)
        left = self.chunk_seconds if budget is None else min(self.chunk_seconds, budget - member.seconds)
        member.train_for(left)
        return member.family

    def look(self, family: str, n: int = 512, seed: int = 1) -> tuple[dict, np.ndarray]:
        """(table row, the data-space samples it was measured on) for one family."""
        m = self.members[family]
        row, samples = evaluate_with_samples(
            family, m.model, self.frame, self.toy, self.test, n, seed, self._cache
        )
        row.update(steps=m.steps, train_seconds=round(m.seconds, 2))
        return row, samples

    def train(self, budget: float, progress=None) -> None:
        """Train until every family has had ``budget`` seconds (CPU time, one core).

        ``progress(done, total)`` gets the seconds spent so far over the total.
        """
        warm_up()
        total = budget * len(self.members)
        while True:
            behind = [m for m in self.members.values() if m.seconds < budget]
            if not behind:
                break
            member = min(behind, key=lambda m: m.seconds)
            member.train_for(min(self.chunk_seconds, budget - member.seconds))
            if progress is not None:
                done = sum(min(m.seconds, budget) for m in self.members.values())
                progress(round(done, 1), round(total, 1))

    def sample(self, family: str, n: int, seed: int = 1) -> np.ndarray:
        """n data-space samples of one family."""
        return self.frame.to_data(model_sample(family, self.members[family].model, n, seed))

    def nll(self, family: str, points: np.ndarray | None = None) -> float | None:
        """Exact mean NLL (nats per point, data space) for flow and AR; None otherwise."""
        pts = self.test if points is None else points
        return data_nll(family, self.members[family].model, self.frame, pts)

    def evaluate(self, family: str, n: int = 2048, seed: int = 1) -> dict:
        """One row of the families table."""
        return self.look(family, n, seed)[0]

    def table(self, n: int = 2048, seed: int = 1) -> list[dict]:
        return [self.evaluate(f, n, seed) for f in self.members]


# ------------------------------------------------------------------ measures


def data_nll(family: str, model, frame: Frame, points: np.ndarray) -> float | None:
    """Exact mean NLL in nats per data-space point (flow, AR); None for the others."""
    if family not in EXACT_LIKELIHOOD:
        return None
    return float(model.nll(frame.to_model(points)) - frame.log_det)


def evaluate(
    family: str, model, frame: Frame, toy: toys.Toy, test: np.ndarray, n: int = 2048, seed: int = 1
) -> dict:
    """Samples per second, precision, coverage, MMD, modes covered and exact NLL of a
    model against its dataset (``test``: the held-out points for the NLL)."""
    return evaluate_with_samples(family, model, frame, toy, test, n, seed)[0]


def evaluate_with_samples(
    family: str,
    model,
    frame: Frame,
    toy: toys.Toy,
    test: np.ndarray,
    n: int = 2048,
    seed: int = 1,
    cache: dict | None = None,
) -> tuple[dict, np.ndarray]:
    """:func:`evaluate` and the samples it measured (``cache``: see
    ``metrics.sample_quality``)."""
    start = time.perf_counter()
    samples = frame.to_data(model_sample(family, model, n, seed))
    sample_seconds = time.perf_counter() - start
    quality = metrics.sample_quality(samples, toy.points, toy.modes, toy.std, cache=cache)
    nll = data_nll(family, model, frame, test)
    return {
        "family": family,
        "samples_per_s": round(n / max(sample_seconds, 1e-9), 1),
        "precision": round(quality["precision"], 4),
        "coverage": round(quality["coverage"], 4),
        "mmd": round(quality["mmd"], 5),
        "modes_covered": quality["modes_covered"],
        "modes_total": quality["modes_total"],
        "nll": None if nll is None or not math.isfinite(nll) else round(nll, 4),
        "diverged": diverged(family, model),
    }, samples


# ------------------------------------------------------------------ saving one family


def save(family: str, model, frame: Frame, path: str | Path, **extra) -> Path:
    """Write one trained family (with the frame that maps it to the data)."""
    meta = {"family": family, "frame": {"centre": list(frame.centre), "scale": frame.scale}, **extra}
    if family == "gan":
        return weights.save(
            path,
            {"g": model.G.params, "d": model.D.params},
            {"model": "gan-2d", "version": GAN_VERSION, "config": asdict(model.config), **meta},
        )
    return model.save(path, **meta)


_KINDS = {
    "autoregressive": "autoregressive",
    "gan": "gan-2d",
    "vae": "point-vae",
    "diffusion": "diffusion",
    "flow": "flow",
}


def load(family: str, path: str | Path, points: np.ndarray | None = None):
    """(model, frame, meta) from :func:`save`'s file (raises weights.WeightsError).

    A GAN needs the model-space ``points`` it was trained on to be rebuilt (its
    discriminator's data); the other families sample from the file alone.
    """
    model: Any
    if family == "autoregressive":
        model = Autoregressive.load(path)
    elif family == "vae":
        model = PointVAE.load(path)
    elif family == "flow":
        model = Flow.load(path)
    elif family == "diffusion":
        model = Diffusion.load(path)
    elif family == "gan":
        arrays, meta = weights.load(path, "gan-2d", GAN_VERSION)
        config = weights.model_config(meta, GANConfig, path)  # checked before allocating
        pts = points if points is not None else np.zeros((2, 2), F32)
        model = GAN(replace(config, dataset="custom"), points=pts)
        weights.fill(model.G.params, arrays, "g", path)
        weights.fill(model.D.params, arrays, "d", path)
        model.info = meta
    else:
        raise ValueError(f"unknown family {family!r}; choose from {', '.join(FAMILIES)}")
    meta = model.info
    if meta.get("family", family) != family:
        raise weights.WeightsError(f"{Path(path).name} holds a {meta.get('family')} model")
    fr = meta.get("frame", {"centre": [0.0, 0.0], "scale": 1.0})
    return model, Frame((float(fr["centre"][0]), float(fr["centre"][1])), float(fr["scale"])), meta


def train_one(family: str, toy: toys.Toy, steps: int, seed: int = 0, progress=None, chunk: int = 100):
    """Train one family ``steps`` steps on a dataset; returns (model, frame, seconds)."""
    warm_up()
    frame = frame_for(toy.points)
    model = new_model(family, frame.to_model(toy.points), seed)
    _, seconds = training.in_chunks(lambda k: model_train(family, model, k), steps, progress, chunk)
    return model, frame, seconds


#: Training steps of ``train_one`` when none are given (about 10-30 s each, one core).
DEFAULT_STEPS = {"autoregressive": 3000, "gan": 4000, "vae": 3000, "diffusion": 4000, "flow": 3000}


# ------------------------------------------------------------------ what to notice


def what_to_notice(rows: list[dict]) -> list[str]:
    """Short sentences that point at what the measured table shows, for the lab's
    "what to notice" panel. Each one is derived from the numbers (never canned), and
    names the lesson's point only when the numbers show it."""
    notes: list[str] = []
    live = [r for r in rows if not r.get("diverged") and r.get("steps", 1) > 0]
    if not live:
        return notes
    by = {r["family"]: r for r in live}
    # sharp but incomplete: precision well above coverage
    gap = max(live, key=lambda r: r["precision"] - r["coverage"])
    if gap["precision"] - gap["coverage"] >= 0.1:
        modes = f", {gap['modes_covered']} of {gap['modes_total']} modes" if gap.get("modes_total") else ""
        notes.append(
            f"{gap['family']}: sharp but incomplete (precision {gap['precision']:.2f}, "
            f"coverage {gap['coverage']:.2f}{modes}): it draws some parts well and "
            "leaves others out."
        )
    # blurry: the lowest precision, if clearly below the best
    blur = min(live, key=lambda r: r["precision"])
    best = max(r["precision"] for r in live)
    if blur is not gap and best - blur["precision"] >= 0.15:
        notes.append(
            f"{blur['family']}: blurry (precision {blur['precision']:.2f} against "
            f"{best:.2f} for the sharpest): many samples land between the data."
        )
    # sampling speed: the slowest against the fastest
    slow = min(live, key=lambda r: r["samples_per_s"])
    fast = max(live, key=lambda r: r["samples_per_s"])
    if fast["samples_per_s"] >= 5 * slow["samples_per_s"]:
        why = " (one network pass per denoising step)" if slow["family"] == "diffusion" else ""
        notes.append(
            f"{slow['family']} samples {fast['samples_per_s'] / slow['samples_per_s']:.0f}x "
            f"slower than {fast['family']}{why}."
        )
    scored = [by[f] for f in EXACT_LIKELIHOOD if f in by and by[f].get("nll") is not None]
    if scored:
        parts = " and ".join(f"{r['family']} {r['nll']:.2f}" for r in scored)
        notes.append(
            f"Only the flow and the autoregressive model can score a point exactly: "
            f"NLL {parts} nats per point (lower is better)."
        )
    return notes

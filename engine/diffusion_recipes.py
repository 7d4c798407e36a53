"""The shipped diffusion models: datasets, recipes, weights paths and headless training.

``train_headless(dataset, steps, seed)`` reproduces ``content/weights/diffusion_<D>.npz``
(``genai-tutor train diffusion --dataset D``); ``pretrained(dataset)`` loads it.
Image sets are the ones every image family shares (``engine.vae.load_dataset``: the
sprite training set and the UCI digits); the 2-D sets come from ``engine.data``.
The sprite model is conditioned on each sprite's attribute ids (:func:`load_labels`) and
samples with classifier-free guidance (``engine.diffusion``, step 6). The same MLP trained
unconditionally drew sprites the classifier recognised only about 40 % of the time; with
conditioning and guidance scale s = 2, 97-99 % (DDIM-50, 64 to 256 samples).
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from . import data as toys
from . import images as imgs
from . import training, vae, weights
from .diffusion import F32, Diffusion, DiffusionConfig

IMAGE_SETS = ("sprites", "digits")
POINT_SETS = tuple(toys.TOYS)
DATASETS = IMAGE_SETS + POINT_SETS

#: The sprite model is conditioned on the four attribute ids of engine.images (see
#: engine.diffusion, step 6): sizes of SHAPES, COLOURS, POSITIONS, SIZES.
SPRITE_COND = (len(imgs.SHAPES), len(imgs.COLOURS), len(imgs.POSITIONS), len(imgs.SIZES))
_IMAGE: dict[str, Any] = dict(shift=0.5, scale=0.5, clip=1.0, ema=0.999)  # pixels [0, 1] -> [-1, 1]
RECIPES = {
    "sprites": dict(
        steps=20000,
        config=DiffusionConfig(
            shape=(16, 16, 3),
            hidden=512,
            layers=3,
            emb=64,
            lr=1e-3,
            batch=128,
            pca=True,
            net_dims=96,
            cond=SPRITE_COND,
            p_uncond=0.15,
            guidance=2.0,
            **_IMAGE,
        ),
    ),
    "digits": dict(
        steps=8000,
        config=DiffusionConfig(shape=(8, 8, 1), hidden=256, layers=3, emb=32, lr=1e-3, batch=128, **_IMAGE),
    ),
}
#: 2-D points: the raw (x, y) recipe, and the default one that adds Fourier features of
#: each coordinate (engine.diffusion, step 3). Measured on the spiral, 4000 steps, DDIM-50
#: (benchmarks/bench_diffusion.py --spiral): precision 0.78 -> 0.93, coverage 0.90 -> 0.94,
#: at about 0.8x the raw recipe's steps per second.
_POINTS_RAW_CONFIG = DiffusionConfig(shape=(2,), hidden=128, layers=3, emb=32, lr=2e-3, batch=256, ema=0.995)
_POINTS_RAW = dict(steps=4000, config=_POINTS_RAW_CONFIG)
_POINTS = dict(steps=4000, config=replace(_POINTS_RAW_CONFIG, fourier=4, fourier_scale=1.0))


def recipe(dataset: str, fourier: bool = True) -> dict:
    """The training recipe of a dataset; ``fourier=False`` gives 2-D sets the raw-input
    recipe (for comparisons)."""
    if dataset in RECIPES:
        return RECIPES[dataset]
    if dataset in POINT_SETS:
        return _POINTS if fourier else _POINTS_RAW
    raise ValueError(f"unknown dataset {dataset!r}; choose from {', '.join(DATASETS)}")


def load_dataset(dataset: str, first: int | None = None) -> np.ndarray:
    """Training data in data space: images (N, h, w, c) in [0, 1] or points (N, 2)
    (``first``: only the first ones, the same as the whole set's)."""
    if dataset in IMAGE_SETS:
        return vae.load_dataset(dataset, first)
    if dataset in POINT_SETS:
        return toys.toy(dataset, 4096, seed=0).points[:first]
    raise ValueError(f"unknown dataset {dataset!r}; choose from {', '.join(DATASETS)}")


def load_labels(dataset: str) -> np.ndarray | None:
    """Attribute ids (N, 4) of the sprite training set (shape, colour, position, size),
    row for row with :func:`load_dataset`; None for sets without attributes."""
    if dataset != "sprites":
        return None
    s = imgs.sprites(vae.SPRITE_TRAIN_N, vae.SPRITE_TRAIN_SEED)
    return np.stack([s.shape, s.colour, s.position, s.size], axis=1).astype(np.int64)


def pretrained_path(dataset: str) -> Path:
    name = dataset if dataset in IMAGE_SETS else f"2d_{dataset}"
    return weights.default_dir() / f"diffusion_{name}.npz"


def pretrained(dataset: str, with_data: bool = False) -> Diffusion:
    """The shipped model (raises engine.weights.WeightsError with a plain message)."""
    return Diffusion.load(pretrained_path(dataset), load_dataset(dataset) if with_data else None)


def new_model(dataset: str, seed: int = 0, **overrides) -> Diffusion:
    """An untrained model from the dataset's recipe, with its training data attached."""
    config = replace(recipe(dataset)["config"], seed=int(seed), **overrides)
    config.extra = {"dataset": dataset}
    return Diffusion(config, load_dataset(dataset), load_labels(dataset) if config.cond else None)


def evaluate(
    model: Diffusion,
    dataset: str,
    samples: np.ndarray | None = None,
    n: int = 256,
    steps: int = 50,
    sampler: str = "ddim",
    seed: int = 1,
) -> dict:
    """Quality figures of samples: FID-lite, attribute accuracy and copies (images),
    mode coverage (2-D sets with modes); None where a figure does not apply or the
    metric is unavailable."""
    if samples is None:
        samples, _ = model.sample(n, steps=steps, sampler=sampler, seed=seed)
    out: dict[str, Any] = {"fid_lite": None, "attribute_accuracy": None, "copies": None}
    if dataset in IMAGE_SETS:
        real = load_dataset(dataset)
        images = np.clip(samples, 0.0, 1.0).reshape((len(samples),) + real.shape[1:])
        out.update(image_quality(images, real, dataset))
    elif dataset in POINT_SETS:
        from . import metrics

        toy = toys.toy(dataset, 4096, seed=0)
        if toy.modes is not None:
            assert toy.std is not None  # every toy with modes has a std
            cov = metrics.mode_coverage(samples, toy.modes, toy.std)
            out["modes_covered"] = int(cov["modes_covered"])
            out["high_quality"] = float(cov["high_quality"])
    return out


def image_quality(images: np.ndarray, real: np.ndarray, dataset: str) -> dict:
    """FID-lite against the training set, attribute accuracy (sprites; None when the
    classifier is missing) and the number of samples flagged as training copies."""
    from . import image_metrics as im
    from .weights import WeightsError

    images = np.asarray(images, F32).reshape((len(images),) + real.shape[1:])
    out = {
        "fid_lite": float(im.fid_lite(real, images)),
        "attribute_accuracy": None,
        "copies": int(np.sum(im.copies(images, real))),
    }
    if dataset == "sprites":
        with contextlib.suppress(WeightsError):
            out["attribute_accuracy"] = float(im.attribute_accuracy(images))
    return out


def train_headless(
    dataset: str,
    steps: int | None = None,
    seed: int = 0,
    out: str | Path | None = None,
    progress=None,
    chunk: int = 250,
    eval_n: int = 256,
) -> dict:
    """Train from the recipe, save the weights, return {"steps", "seconds", "loss", ...}."""
    steps = recipe(dataset)["steps"] if steps is None else int(steps)
    model = new_model(dataset, seed)
    chunks, seconds = training.in_chunks(model.train, steps, progress, chunk)
    losses = [c["loss"] for c in chunks]
    loss = float(np.mean(losses[-4:])) if losses else float("nan")
    quality = evaluate(model, dataset, n=eval_n)
    path = pretrained_path(dataset) if out is None else Path(out)
    model.save(
        path,
        dataset=dataset,
        loss=loss,
        fid_lite=quality["fid_lite"],
        attribute_accuracy=quality["attribute_accuracy"],
    )
    return {
        "steps": steps,
        "seconds": round(seconds, 2),
        "loss": round(loss, 5),
        "fid_lite": quality["fid_lite"],
        "attribute_accuracy": quality["attribute_accuracy"],
        **{k: v for k, v in quality.items() if k not in ("fid_lite", "attribute_accuracy", "copies")},
        "dataset": dataset,
        "out": str(path),
    }

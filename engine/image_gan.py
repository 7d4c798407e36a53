"""An image GAN (MLP generator and discriminator) on the shared sprites or digits.

The 2-D GAN of the GAN lab (engine.gan) draws points; this one draws whole pictures,
so GAN, VAE and diffusion samples of the same data can sit side by side, and mode
collapse shows up as a grid of near-identical icons. One training round::

    z ~ N(0, I) (batch, noise)          fake = tanh(G(z))              pixels in [-1, 1]
    D step:  BCE(D(real), 1) + BCE(D(fake), 0)          (gradients of both halves summed)
    G step:  BCE(D(G(z)), 1)                             the non-saturating loss
             (minimise -log D(G(z)) rather than log(1 - D(G(z))): strong gradients
             early, when D easily spots the fakes)

Networks are engine.nn MLPs (BLAS matmuls, fused bias+activation kernels, fused Adam
with β1 = 0.5 as in DCGAN). Noise comes from a seeded numpy Generator.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from . import kernels as K
from . import training, vae, weights
from .nn import MLP, Adam
from .runtime import register_warmup

F32 = np.float32
VERSION = 1
SHAPES = {"sprites": (16, 16, 3), "digits": (8, 8, 1)}


@dataclass(frozen=True)
class ImageGanConfig:
    dataset: str = "sprites"
    noise: int = 32
    g_width: int = 256
    d_width: int = 256
    layers: int = 2  # hidden layers in each network
    g_lr: float = 2e-4
    d_lr: float = 2e-4
    batch: int = 128
    seed: int = 0


class ImageGAN:
    def __init__(self, config: ImageGanConfig = ImageGanConfig(), data: np.ndarray | None = None):
        if config.dataset not in SHAPES:
            raise ValueError(f"unknown dataset {config.dataset!r}; choose from {', '.join(SHAPES)}")
        self.config = c = config
        self.shape = SHAPES[c.dataset]
        self.dim = int(np.prod(self.shape))
        seeds = np.random.SeedSequence(c.seed).spawn(3)
        g_seed, d_seed = (int(s.generate_state(1)[0]) for s in seeds[:2])
        self.rng = np.random.default_rng(seeds[2])
        self.G = MLP([c.noise] + [c.g_width] * c.layers + [self.dim], "leaky_relu", "tanh", seed=g_seed)
        self.D = MLP([self.dim] + [c.d_width] * c.layers + [1], "leaky_relu", seed=d_seed)
        self.opt_g = Adam(self.G.params, self.G.grads, lr=c.g_lr, betas=(0.5, 0.999))
        self.opt_d = Adam(self.D.params, self.D.grads, lr=c.d_lr, betas=(0.5, 0.999))
        self.real = (
            None
            if data is None
            else np.ascontiguousarray(np.asarray(data, F32).reshape(len(data), -1) * 2.0 - 1.0)
        )
        b = c.batch
        self.z = np.empty((b, c.noise), F32)
        self.x_real = np.empty((b, self.dim), F32)
        self.ones, self.zeros = np.ones((b, 1), F32), np.zeros((b, 1), F32)
        self.dlogit = np.empty((b, 1), F32)
        self.steps = 0

    def step(self) -> dict:
        """One D update then one G update; returns both losses."""
        c = self.config
        assert self.real is not None, "training needs data (ImageGAN(config, data))"
        idx = self.rng.integers(0, len(self.real), c.batch)
        np.take(self.real, idx, axis=0, out=self.x_real)
        self.rng.standard_normal(out=self.z, dtype=F32)
        fake = self.G.forward(self.z)
        d_loss = K.bce_with_logits(self.D.forward(self.x_real), self.ones, self.dlogit, 1.0)
        self.D.backward(self.dlogit)
        d_loss += K.bce_with_logits(self.D.forward(fake), self.zeros, self.dlogit, 1.0)
        self.D.backward(self.dlogit, accumulate=True)
        self.opt_d.step()
        self.rng.standard_normal(out=self.z, dtype=F32)
        fake = self.G.forward(self.z)
        g_loss = K.bce_with_logits(self.D.forward(fake), self.ones, self.dlogit, 1.0)
        self.G.backward(self.D.backward(self.dlogit, param_grads=False))
        self.opt_g.step()
        self.steps += 1
        return {"d_loss": float(d_loss), "g_loss": float(g_loss)}

    def train(self, n: int) -> dict:
        d = g = 0.0
        for _ in range(int(n)):
            out = self.step()
            d, g = d + out["d_loss"], g + out["g_loss"]
        n = max(int(n), 1)
        return {
            "d_loss": d / n,
            "g_loss": g / n,
            "steps": self.steps,
            "diverged": not (math.isfinite(d) and math.isfinite(g)),
        }

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """(n, h, w, c) images in [0, 1]: one generator run per batch."""
        z = np.random.default_rng(seed).standard_normal((int(n), self.config.noise), dtype=F32)
        out = self.G.forward(z)
        return ((out + 1.0) * 0.5).reshape((int(n),) + self.shape).copy()

    def save(self, path: str | Path, **extra) -> Path:
        meta = {
            "model": "image_gan",
            "version": VERSION,
            "config": asdict(self.config),
            "steps": self.steps,
            **extra,
        }
        return weights.save(path, {"G": self.G.params, "D": self.D.params}, meta)

    @classmethod
    def load(cls, path: str | Path, data: np.ndarray | None = None) -> ImageGAN:
        arrays, meta = weights.load(path, "image_gan", VERSION)
        config = weights.model_config(meta, ImageGanConfig, path)
        with weights.building(path):
            model = cls(config, data)
            weights.fill(model.G.params, arrays, "G", path)
            weights.fill(model.D.params, arrays, "D", path)
            model.steps = int(meta.get("steps", 0))
        return model


def pretrained_path(dataset: str) -> Path:
    return weights.default_dir() / f"gan_{dataset}.npz"


def pretrained(dataset: str) -> ImageGAN:
    return ImageGAN.load(pretrained_path(dataset))


RECIPES: dict[str, dict[str, Any]]
RECIPES = {
    "sprites": dict(steps=6000, config=ImageGanConfig("sprites", g_width=512, d_width=256)),
    "digits": dict(steps=6000, config=ImageGanConfig("digits", g_width=256, d_width=128)),
}


def train_headless(
    dataset: str,
    steps: int | None = None,
    seed: int = 0,
    out: str | Path | None = None,
    progress=None,
    chunk: int = 200,
) -> dict:
    recipe = RECIPES[dataset]
    steps = recipe["steps"] if steps is None else int(steps)
    model = ImageGAN(replace(recipe["config"], seed=seed), vae.load_dataset(dataset))
    chunks, seconds = training.in_chunks(model.train, steps, progress, chunk)
    last = chunks[-1] if chunks else {}
    path = pretrained_path(dataset) if out is None else Path(out)
    model.save(path, d_loss=last.get("d_loss"), g_loss=last.get("g_loss"))
    return {
        "steps": steps,
        "seconds": round(seconds, 2),
        "d_loss": last.get("d_loss"),
        "g_loss": last.get("g_loss"),
        "dataset": dataset,
        "out": str(path),
    }


def _warm_up() -> None:
    K.warm_up_activations("leaky_relu", "tanh")
    gan = ImageGAN(
        ImageGanConfig("digits", noise=2, g_width=4, d_width=4, layers=1, batch=2),
        np.zeros((3, 8, 8, 1), F32),
    )
    gan.step()
    gan.sample(2)


register_warmup("image_gan", _warm_up, needs=("nn", "vae"))

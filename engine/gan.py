"""A GAN on 2-D points: a forger (generator G) against a detective (discriminator D).

One training round, as in Goodfellow et al. (2014), Algorithm 1::

    repeat k_d times:                                      step_d()
        x ~ data, z ~ noise
        D loss = BCE(D(x), real) + BCE(D(G(z)), fake)      push D(x) up, D(G(z)) down
        update D only
    repeat k_g times:                                      step_g()
        z ~ noise
        G loss = BCE(D(G(z)), real)     non-saturating (default): -log D(G(z))
               = -BCE(D(G(z)), fake)    minimax: log(1 - D(G(z))), vanishes when D wins
               = (D(G(z)) - 1)^2 / 2    least squares (D is then a regressor, no sigmoid)
        gradient flows through D (frozen) into G; update G only

G and D are ``engine.nn.MLP``s (numba kernels + BLAS); D outputs a logit.
Everything is seeded: the same config gives the same numbers. A NaN/inf in a loss or
a parameter sets ``diverged`` and further steps do nothing (never an exception).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import numpy as np

from . import data as datasets
from . import kernels as K
from . import metrics
from .nn import MLP, make_optimizer
from .runtime import register_warmup

F32 = np.float32
LOSSES = ("non-saturating", "minimax", "least-squares")
NOISES = ("gaussian", "uniform")
OPTIMIZERS = ("adam", "sgd")
RESET_KEYS = (
    "dataset",
    "noise_dim",
    "g_layers",
    "g_width",
    "d_layers",
    "d_width",
    "activation",
    "seed",
    "pool",
)  # changing these needs a new GAN


@dataclass
class GANConfig:
    dataset: str = "ring"  # a name in data.TOYS, or "custom"
    noise_dim: int = 2  # 1 or 2
    noise: str = "gaussian"  # or "uniform" (on [-1, 1])
    loss: str = "non-saturating"  # or "minimax", "least-squares"
    g_optimizer: str = "adam"
    d_optimizer: str = "adam"
    g_lr: float = 1e-3
    d_lr: float = 1e-3
    g_layers: int = 2  # hidden layers
    g_width: int = 64
    d_layers: int = 2
    d_width: int = 64
    activation: str = "relu"
    k_d: int = 1  # discriminator steps per round
    k_g: int = 1  # generator steps per round
    batch: int = 128
    seed: int = 0
    pool: int = 2048  # real points drawn once from the dataset

    def validate(self) -> None:
        for key, allowed in (
            ("noise", NOISES),
            ("loss", LOSSES),
            ("g_optimizer", OPTIMIZERS),
            ("d_optimizer", OPTIMIZERS),
        ):
            if getattr(self, key) not in allowed:
                raise ValueError(f"{key} must be one of {', '.join(allowed)}, got {getattr(self, key)!r}")
        if self.noise_dim not in (1, 2):
            raise ValueError(f"noise_dim must be 1 or 2, got {self.noise_dim}")
        if self.dataset != "custom" and self.dataset not in datasets.TOYS:
            raise ValueError(
                f"unknown dataset {self.dataset!r}; choose from {', '.join(datasets.TOYS)}, custom"
            )
        for key in ("k_d", "k_g", "batch", "g_width", "d_width", "pool"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be at least 1")

    @classmethod
    def preset(cls, name: str, **overrides) -> GANConfig:
        """A named preset (see ``PRESETS``) with optional field overrides."""
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
        return cls(**{**PRESETS[name], **overrides})


PRESETS: dict[str, dict] = {
    # Balanced: Adam (beta1 0.5) for both, equal learning rates, one step each.
    # Measured on the ring, 4000 rounds, seeds 0-7: all 8 modes, 69-88 % high quality.
    "healthy": {
        "loss": "non-saturating",
        "g_optimizer": "adam",
        "d_optimizer": "adam",
        "g_lr": 1e-3,
        "d_lr": 1e-3,
        "k_d": 1,
        "k_g": 1,
    },
    # Plain SGD with a big step: G jumps to wherever D is fooled right now, D chases
    # it there, and the samples pile up on a few modes (seeds 0-5: 1-4 of 8 modes).
    "mode collapse": {
        "loss": "non-saturating",
        "g_optimizer": "sgd",
        "d_optimizer": "sgd",
        "g_lr": 0.05,
        "d_lr": 0.05,
        "k_d": 1,
        "k_g": 1,
    },
    # A wide D trained 5x as often and faster than G, with the minimax loss: D wins,
    # log(1 - D(G(z))) goes flat and G barely moves (accuracies stay above 90 %).
    "discriminator too strong": {
        "loss": "minimax",
        "g_optimizer": "adam",
        "d_optimizer": "adam",
        "g_lr": 1e-4,
        "d_lr": 3e-3,
        "k_d": 5,
        "k_g": 1,
        "d_width": 128,
        "g_width": 32,
    },
}


# A diverging run overflows on purpose; it is reported by the `diverged` flag instead.
_quiet = np.errstate(over="ignore", invalid="ignore", divide="ignore")


def _locked(method):
    """Run a method under the GAN's lock: a lab may train in a worker thread while the
    UI thread asks for samples or the heatmap; both use the networks' work buffers."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper


class GAN:
    """Generator + discriminator on 2-D data; see the module docstring for the maths.

    Thread-safe at method granularity: steps and the looking-at-it methods (sample,
    discriminator, generator_gradients, evaluate) share one lock, so a UI thread can
    ask for a frame while a worker trains and waits at most one step.
    """

    def __init__(self, config: GANConfig | None = None, points: np.ndarray | None = None):
        self._lock = threading.RLock()
        self.config = config = replace(config or GANConfig())
        if points is not None:
            config.dataset = "custom"
        config.validate()
        if config.dataset == "custom":
            toy = datasets.from_points(points if points is not None else np.zeros((0, 2)))
        else:
            toy = datasets.toy(config.dataset, n=config.pool, seed=config.seed)
        self.toy, self.real = toy, toy.points
        seeds = np.random.SeedSequence(config.seed).spawn(4)
        g_seed, d_seed = (int(s.generate_state(1)[0]) for s in seeds[:2])
        self.rng = np.random.default_rng(seeds[2])  # training noise and batches
        self._sample_seed = seeds[3]  # fixed noise for sample()
        act = config.activation
        self.G = MLP([config.noise_dim] + [config.g_width] * config.g_layers + [2], act, seed=g_seed)
        self.D = MLP([2] + [config.d_width] * config.d_layers + [1], act, seed=d_seed)
        self._build_optimizers()
        self._targets: dict[tuple[float, int], np.ndarray] = {}
        self._alloc(config.batch)
        self.iteration = 0
        self.diverged = False
        self.d_loss = self.g_loss = float("nan")
        self.acc_real = self.acc_fake = float("nan")

    # -- setup ------------------------------------------------------------------------
    def _build_optimizers(self) -> None:
        c = self.config
        kw = {"adam": {"betas": (0.5, 0.999)}, "sgd": {}}
        self.opt_g = make_optimizer(c.g_optimizer, self.G.params, self.G.grads, c.g_lr, **kw[c.g_optimizer])
        self.opt_d = make_optimizer(c.d_optimizer, self.D.params, self.D.grads, c.d_lr, **kw[c.d_optimizer])

    def _alloc(self, batch: int) -> None:
        self.z = np.empty((batch, self.config.noise_dim), F32)
        self.x_real = np.empty((batch, 2), F32)
        self.dlogit = np.empty((batch, 1), F32)

    def _target(self, value: float, n: int) -> np.ndarray:
        """A cached (n, 1) array filled with 0.0 or 1.0 (BCE targets)."""
        key = (value, n)
        arr = self._targets.get(key)
        if arr is None:
            arr = self._targets[key] = np.full((n, 1), value, F32)
        return arr

    @_locked
    def set_live(self, **changes) -> None:
        """Change hyperparameters mid-training: lr, k_d, k_g, loss, batch, optimizers,
        noise. Anything in ``RESET_KEYS`` needs a new GAN (ValueError says so)."""
        needs_reset = [k for k in changes if k in RESET_KEYS]
        if needs_reset:
            raise ValueError(f"changing {', '.join(needs_reset)} needs a reset")
        new = replace(self.config, **changes)
        new.validate()
        old, self.config = self.config, new
        if (new.g_optimizer, new.d_optimizer) != (old.g_optimizer, old.d_optimizer):
            self._build_optimizers()
        self.opt_g.lr, self.opt_d.lr = new.g_lr, new.d_lr
        if new.batch != old.batch:
            self._alloc(new.batch)

    @_locked
    def reset(self, **changes) -> None:
        """Start again from scratch (in place), optionally with config changes; a
        learner's custom points are kept unless the dataset changes."""
        config = replace(self.config, **changes)
        points = self.real if config.dataset == "custom" else None
        self.__init__(config, points=points)  # type: ignore[misc]  # a reset in place, on purpose

    # -- one step of each network -----------------------------------------------------
    def _noise(self, out: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if self.config.noise == "gaussian":
            rng.standard_normal(out=out, dtype=F32)
        else:
            rng.random(out=out, dtype=F32)
            out *= 2.0
            out -= 1.0
        return out

    def _d_loss(self, logits: np.ndarray, real: bool, grad: np.ndarray) -> float:
        """D's loss on one half-batch; its gradient w.r.t. the logits goes into grad."""
        label = 1.0 if real else 0.0
        if self.config.loss == "least-squares":
            return K.least_squares(logits, label, grad, 1.0)
        return K.bce_with_logits(logits, self._target(label, len(logits)), grad, 1.0)

    def _g_loss(self, logits: np.ndarray, grad: np.ndarray) -> float:
        """G's loss given D's logits on fakes; its gradient w.r.t. the logits into grad."""
        loss = self.config.loss
        if loss == "least-squares":
            return K.least_squares(logits, 1.0, grad, 1.0)
        if loss == "minimax":  # minimise log(1 - D(G(z))) = -BCE(logit, 0)
            return K.bce_with_logits(logits, self._target(0.0, len(logits)), grad, -1.0)
        return K.bce_with_logits(logits, self._target(1.0, len(logits)), grad, 1.0)

    @_locked
    @_quiet
    def step_d(self) -> float:
        """One discriminator update on a real batch and a fake batch. Returns D loss."""
        if self.diverged:
            return self.d_loss
        idx = self.rng.integers(0, len(self.real), self.config.batch)
        np.take(self.real, idx, axis=0, out=self.x_real)
        fake = self.G.forward(self._noise(self.z, self.rng))
        threshold = 0.5 if self.config.loss == "least-squares" else 0.0
        logits = self.D.forward(self.x_real)
        self.acc_real = float((logits > threshold).mean())
        loss = self._d_loss(logits, True, self.dlogit)
        self.D.backward(self.dlogit, input_grad=False)
        logits = self.D.forward(fake)
        self.acc_fake = float((logits <= threshold).mean())
        loss += self._d_loss(logits, False, self.dlogit)
        self.D.backward(self.dlogit, accumulate=True, input_grad=False)
        self.opt_d.step()
        self.d_loss = loss
        self._check(loss, self.D.params)
        return loss

    @_locked
    @_quiet
    def step_g(self) -> float:
        """One generator update through the frozen discriminator. Returns G loss."""
        if self.diverged:
            return self.g_loss
        fake = self.G.forward(self._noise(self.z, self.rng))
        loss = self._g_loss(self.D.forward(fake), self.dlogit)
        dfake = self.D.backward(self.dlogit, param_grads=False)
        self.G.backward(dfake, input_grad=False)
        self.opt_g.step()
        self.g_loss = loss
        self._check(loss, self.G.params)
        return loss

    def step(self) -> dict:
        """One full round: k_d discriminator steps, then k_g generator steps."""
        for _ in range(self.config.k_d):
            self.step_d()
        for _ in range(self.config.k_g):
            self.step_g()
        if not self.diverged:
            self.iteration += 1
        return self.status()

    def train(self, n: int) -> dict:
        """n rounds (stops early if training diverges); returns ``status()``."""
        for _ in range(n):
            if self.diverged:
                break
            self.step()
        return self.status()

    def _check(self, loss: float, params: np.ndarray) -> None:
        if not (np.isfinite(loss) and K.all_finite(params)):
            self.diverged = True

    def status(self) -> dict:
        return {
            "iteration": self.iteration,
            "d_loss": self.d_loss,
            "g_loss": self.g_loss,
            "acc_real": self.acc_real,
            "acc_fake": self.acc_fake,
            "diverged": self.diverged,
        }

    # -- looking at it ----------------------------------------------------------------
    @_locked
    def sample(self, n: int, seed: int | None = None) -> np.ndarray:
        """n generated points. The noise is fixed per GAN (or per ``seed``), so frames
        of a training animation move the same points; returns a fresh (n, 2) array."""
        rng = np.random.default_rng(self._sample_seed if seed is None else seed)
        z = self._noise(np.empty((n, self.config.noise_dim), F32), rng)
        return self.G.forward(z).copy()

    @_locked
    def discriminator(self, points: np.ndarray) -> np.ndarray:
        """D's opinion "real" in [0, 1] for each point (clipped output for least squares)."""
        out = self.D.forward(points)[:, 0]
        if self.config.loss == "least-squares":
            return np.clip(out, 0.0, 1.0)
        e = np.exp(-np.abs(out))  # stable sigmoid: never exp of a large positive number
        return np.where(out >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(F32)

    def discriminator_grid(self, res: int = 64, extent=datasets.VIEW) -> np.ndarray:
        """(res, res) D(x) over the view; row 0 is the TOP (largest y), like an image."""
        return self.discriminator(grid_points(res, extent)).reshape(res, res)

    @_locked
    def generator_gradients(self, n: int = 64) -> tuple[np.ndarray, np.ndarray]:
        """(points, arrows): n fixed-noise fakes and -dL_G/dx at each, the direction
        the discriminator's gradient pushes each fake point (scaled by n: per point)."""
        points = self.sample(n)
        dlogit = np.empty((n, 1), F32)
        self._g_loss(self.D.forward(points), dlogit)
        arrows = -self.D.backward(dlogit, param_grads=False) * F32(n)
        return points, arrows.copy()

    @_locked
    def evaluate(self, n: int = 2048) -> dict:
        """Mode coverage (when the dataset has modes) and grid KL/JS against the data."""
        fake = self.sample(n)
        out = metrics.grid_divergences(self.real, fake)
        if self.toy.modes is not None:
            assert self.toy.std is not None  # every toy with modes has a std
            cov = metrics.mode_coverage(fake, self.toy.modes, self.toy.std)
            out.update(
                modes_total=cov["modes_total"],
                modes_covered=cov["modes_covered"],
                high_quality=cov["high_quality"],
            )
        else:
            out.update(modes_total=0, modes_covered=0, high_quality=None)
        return out

    def config_dict(self) -> dict:
        return asdict(self.config)


def grid_points(res: int, extent=datasets.VIEW) -> np.ndarray:
    """Centres of a res x res grid over the square, row-major from the top-left."""
    lo, hi = extent
    step = (hi - lo) / res
    xs = lo + step * (np.arange(res) + 0.5)
    ys = xs[::-1]
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], axis=1).astype(F32)


def train_headless(
    dataset: str = "ring",
    iterations: int = 4000,
    seed: int = 0,
    preset: str = "healthy",
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Train from a preset without a UI; what ``genai-tutor train gan --json`` prints.

    ``progress(done, total)`` is called every 100 iterations and at the end.
    """
    gan = GAN(GANConfig.preset(preset, dataset=dataset, seed=seed))
    start = time.perf_counter()
    done = 0
    while done < iterations and not gan.diverged:
        chunk = min(100, iterations - done)
        gan.train(chunk)
        done += chunk
        if progress is not None:
            progress(done, iterations)
    seconds = time.perf_counter() - start
    ev = (
        gan.evaluate()
        if not gan.diverged
        else {
            "modes_total": 0 if gan.toy.modes is None else len(gan.toy.modes),
            "modes_covered": 0,
            "high_quality": 0.0,
            "kl_grid": None,
            "js_grid": None,
        }
    )
    finite = lambda v: v if v is not None and np.isfinite(v) else None  # noqa: E731
    return {
        "iterations": gan.iteration,
        "seconds": round(seconds, 3),
        "modes_total": ev["modes_total"],
        "modes_covered": ev["modes_covered"],
        "high_quality": ev["high_quality"],
        "kl_grid": finite(ev["kl_grid"]),
        "js_grid": finite(ev["js_grid"]),
        "d_loss": finite(gan.d_loss),
        "g_loss": finite(gan.g_loss),
        "diverged": gan.diverged,
    }


def _warm_up() -> None:
    K.warm_up_activations(GANConfig().activation)  # other choices compile when picked
    for loss in LOSSES:
        gan = GAN(GANConfig(loss=loss, batch=4, g_width=4, d_width=4, pool=8))
        gan.train(1)
        gan.discriminator_grid(4)
        gan.generator_gradients(3)


register_warmup("gan", _warm_up, needs=("nn",))

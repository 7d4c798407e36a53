"""A normalizing flow on 2-D points: RealNVP affine coupling layers (Dinh et al. 2017).

The algorithm box. A flow is an invertible map f from data x to a latent z that should
look like the standard Gaussian N(0, I). Because f is invertible, the density of x is
exact (the change-of-variables formula)::

    log p(x) = log N(f(x); 0, I) + log |det ∂f/∂x|

f is a chain: first a fixed standardisation u = (x - m) / σ (per coordinate, from the
data; log-det -Σ log σ_j), then ``layers`` affine coupling layers. Layer i keeps one
coordinate c and moves the other, d, with a scale and a shift computed from the kept
one (the masks alternate, so d = 0, 1, 0, 1, ...)::

    raw          = net_i(u_c)                     MLP 1 -> hidden -> hidden -> 2
    s            = S · tanh(raw_0 / S)            log-scale, bounded to (-S, S)
    t            = raw_1                          shift
    u'_d         = u_d · exp(s) + t,  u'_c = u_c
    log |det|   += s                              the Jacobian is triangular

The inverse needs no inverse network: u_c is unchanged, so s and t are recomputed from
it and u_d = (u'_d - t) · exp(-s). Sampling: z ~ N(0, I), run the layers backwards.

Training maximises the exact log-likelihood: loss = -mean log p(x). Backward, written
out: with g = dL/du' (starting from dL/dz = z / n) and dL/d(log det) = -1/n::

    dL/du_d  = g_d · exp(s)
    dL/ds    = g_d · u_d · exp(s) - 1/n
    dL/draw  = [dL/ds · (1 - tanh²(raw_0 / S)),  g_d]       -> net_i.backward
    dL/du_c  = g_c + (net_i's dL/d(input))

The last layer of every net starts at zero, so an untrained flow is the
standardisation alone (a Gaussian fitted to the data) and training bends it from there.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from . import kernels as K
from . import training, weights
from .nn import MLP, Adam, share_buffer
from .runtime import kernel, register_warmup

F32 = np.float32
VERSION = 1
LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class FlowConfig:
    layers: int = 8  # coupling layers (masks alternate)
    hidden: int = 64  # width of each coupling net's two hidden layers
    scale_limit: float = 2.0  # S: every layer scales a coordinate by at most e^S
    lr: float = 2e-3
    batch: int = 256
    seed: int = 0
    activation: str = "silu"  # smooth nets give a smooth density


# ------------------------------------------------------------------- fused kernels


@kernel
def coupling_forward(u, raw, d, limit, out, s, logdet):
    """One coupling layer over a batch: out = u with column d moved by exp(s)·u_d + t.

    Writes the log-scales into ``s`` and adds them to ``logdet``.
    """
    n = u.shape[0]
    for i in range(n):
        si = limit * math.tanh(raw[i, 0] / limit)
        s[i] = si
        out[i, 0] = u[i, 0]
        out[i, 1] = u[i, 1]
        out[i, d] = u[i, d] * math.exp(si) + raw[i, 1]
        logdet[i] += si


@kernel
def coupling_backward(g, u, raw, s, d, limit, dlogdet, draw, gin):
    """dL/draw and dL/du of :func:`coupling_forward` from g = dL/d(out).

    ``gin`` receives dL/du without the path through the net (the caller adds the
    net's input gradient to column c = 1 - d).
    """
    n = u.shape[0]
    c = 1 - d
    for i in range(n):
        e = math.exp(s[i])
        gd = g[i, d]
        th = math.tanh(raw[i, 0] / limit)
        ds = gd * u[i, d] * e + dlogdet
        draw[i, 0] = ds * (1.0 - th * th)
        draw[i, 1] = gd
        gin[i, d] = gd * e
        gin[i, c] = g[i, c]


@kernel
def coupling_inverse(y, raw, d, limit, out):
    """The inverse of :func:`coupling_forward`: u_d = (y_d - t) · exp(-s)."""
    n = y.shape[0]
    for i in range(n):
        si = limit * math.tanh(raw[i, 0] / limit)
        out[i, 0] = y[i, 0]
        out[i, 1] = y[i, 1]
        out[i, d] = (y[i, d] - raw[i, 1]) * math.exp(-si)


# ------------------------------------------------------------------------ the model


class Flow:
    """RealNVP on 2-D points. ``data`` (n, 2) fixes the standardisation and is what
    :meth:`step` trains on; a loaded flow needs no data to sample or score."""

    def __init__(self, config: FlowConfig | None = None, data: np.ndarray | None = None):
        self.config = c = config or FlowConfig()
        if c.layers < 1 or c.hidden < 1 or c.batch < 1 or not c.scale_limit > 0:
            raise ValueError("layers, hidden and batch must be at least 1, scale_limit > 0")
        seeds = np.random.SeedSequence(c.seed).spawn(c.layers + 1)
        self.nets = [
            MLP([1, c.hidden, c.hidden, 2], activation=c.activation, seed=int(s.generate_state(1)[0]))
            for s in seeds[:-1]
        ]
        for net in self.nets:  # start as the identity map
            net.layers[-1].W[...] = 0.0
            net.layers[-1].b[...] = 0.0
        self.params, self.grads = share_buffer(*self.nets)
        self.opt = Adam(self.params, self.grads, lr=c.lr)
        self.rng = np.random.default_rng(seeds[-1])
        self.mean = np.zeros(2, F32)
        self.std = np.ones(2, F32)
        self.data: np.ndarray | None = None
        self.info: dict = {}
        if data is not None:
            self.set_data(data)
        self.steps = 0
        self.loss = float("nan")

    def set_data(self, data: np.ndarray) -> None:
        """Train on ``data`` and standardise by its per-coordinate mean and spread."""
        pts = np.ascontiguousarray(np.asarray(data, F32).reshape(-1, 2))
        if len(pts) < 2 or not np.isfinite(pts).all():
            raise ValueError("a flow needs at least 2 finite (x, y) points")
        self.data = pts
        self.mean = pts.mean(0).astype(F32)
        self.std = np.maximum(pts.std(0), 1e-3).astype(F32)

    @staticmethod
    def masked(i: int) -> int:
        """The coordinate layer i moves (0, 1, 0, 1, ...: alternating masks)."""
        return i % 2

    # -- data -> latent ---------------------------------------------------------------
    def forward(self, x: np.ndarray, keep: bool = False):
        """(z, log|det ∂z/∂x|) for points x (n, 2); ``keep`` stores what backward needs."""
        c = self.config
        u = np.ascontiguousarray((np.asarray(x, F32) - self.mean) / self.std, F32)
        n = len(u)
        logdet = np.full(n, -float(np.log(self.std.astype(np.float64)).sum()), np.float64)
        cache = []
        for i, net in enumerate(self.nets):
            d = self.masked(i)
            raw = net.forward(np.ascontiguousarray(u[:, 1 - d : 2 - d]))
            out, s = np.empty_like(u), np.empty(n, F32)
            coupling_forward(u, raw, d, float(c.scale_limit), out, s, logdet)
            if keep:
                cache.append((u, raw, s))  # raw: net i's buffer, kept until its next call
            u = out
        if keep:
            self._cache = cache
        return u, logdet

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        """Exact log-density of each point (nats), float64: log N(z) + log|det|."""
        z, logdet = self.forward(x)
        z = z.astype(np.float64)
        return -0.5 * (z * z).sum(1) - LOG_2PI + logdet

    def nll(self, x: np.ndarray) -> float:
        """Mean negative log-likelihood in nats per point (exact)."""
        return float(-self.log_prob(x).mean())

    # -- training ---------------------------------------------------------------------
    def loss_and_grads(self, x: np.ndarray) -> float:
        """-mean log p(x) on a batch; fills ``self.grads`` (the explicit backward)."""
        c = self.config
        z, logdet = self.forward(x, keep=True)
        n = len(z)
        z64 = z.astype(np.float64)
        loss = float(np.mean(0.5 * (z64 * z64).sum(1) + LOG_2PI - logdet))
        g = np.ascontiguousarray(z / F32(n))
        draw = np.empty((n, 2), F32)
        for i in range(len(self.nets) - 1, -1, -1):
            d = self.masked(i)
            u, raw, s = self._cache[i]
            gin = np.empty_like(g)
            coupling_backward(g, u, raw, s, d, float(c.scale_limit), -1.0 / n, draw, gin)
            da = self.nets[i].backward(draw)
            gin[:, 1 - d] += da[:, 0]
            g = gin
        self._cache = []
        return loss

    def step(self) -> float:
        """One Adam step on a random batch of the data; returns the batch's NLL."""
        if self.data is None:
            raise ValueError("this flow has no training data (Flow(config, data))")
        idx = self.rng.integers(0, len(self.data), self.config.batch)
        self.loss = self.loss_and_grads(self.data[idx])
        self.opt.step()
        self.steps += 1
        return self.loss

    def train(self, n: int) -> dict:
        """``n`` steps; returns {"loss": mean NLL over them, "steps", "diverged"}."""
        return training.mean_loss(self.step, n, lambda: self.steps)

    # -- latent -> data ---------------------------------------------------------------
    def inverse(self, z: np.ndarray) -> np.ndarray:
        """x = f⁻¹(z): the layers backwards, then undo the standardisation."""
        c = self.config
        y = np.ascontiguousarray(np.asarray(z, F32).reshape(-1, 2))
        for i in range(len(self.nets) - 1, -1, -1):
            d = self.masked(i)
            raw = self.nets[i].forward(np.ascontiguousarray(y[:, 1 - d : 2 - d]))
            out = np.empty_like(y)
            coupling_inverse(y, raw, d, float(c.scale_limit), out)
            y = out
        return y * self.std + self.mean

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """n points: Gaussian noise pushed through the inverse (fixed by ``seed``)."""
        z = np.random.default_rng(seed).standard_normal((int(n), 2)).astype(F32)
        return self.inverse(z)

    # -- saving -----------------------------------------------------------------------
    def save(self, path: str | Path, **extra) -> Path:
        meta = {
            "model": "flow",
            "version": VERSION,
            "config": asdict(self.config),
            "steps": self.steps,
            **extra,
        }
        return weights.save(path, {"params": self.params, "mean": self.mean, "std": self.std}, meta)

    @classmethod
    def load(cls, path: str | Path, data: np.ndarray | None = None) -> Flow:
        """A flow from a weights file (raises engine.weights.WeightsError)."""
        arrays, meta = weights.load(path, "flow", VERSION)
        config = weights.model_config(meta, FlowConfig, path)  # checked before allocating
        with weights.building(path):
            model = cls(config)
        weights.fill(model.params, arrays, "params", path)
        weights.fill(model.mean, arrays, "mean", path)
        weights.fill(model.std, arrays, "std", path)
        if data is not None:
            model.data = np.ascontiguousarray(np.asarray(data, F32).reshape(-1, 2))
        model.steps = int(meta.get("steps", 0))
        model.info = meta
        return model


def train_points(
    points: np.ndarray, steps: int, seed: int = 0, progress=None, chunk: int = 100, **overrides
) -> tuple[Flow, float]:
    """A flow trained ``steps`` steps on ``points``; returns (flow, seconds)."""
    model = Flow(replace(FlowConfig(), seed=int(seed), **overrides), points)
    _, seconds = training.in_chunks(model.train, steps, progress, chunk)
    return model, seconds


def _warm_up() -> None:
    K.warm_up_activations("silu")
    model = Flow(FlowConfig(layers=2, hidden=4, batch=4), np.arange(8, dtype=F32).reshape(4, 2))
    model.step()
    model.sample(3)
    model.log_prob(np.zeros((2, 2), F32))


register_warmup("flow", _warm_up, needs=("nn",))

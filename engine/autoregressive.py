"""An autoregressive model of 2-D points: p(x, y) = p(x) · p(y | x), one piece at a time.

This is a language model with two tokens per "sentence". Each axis of a box around the
data is cut into ``bins`` equal bins, so a point becomes two tokens (its x bin i and its
y bin j), and the model predicts them in order, each with a softmax::

    P(i)      = softmax(a)_i                   a: ``bins`` free logits (the unigram)
    P(j | i)  = softmax(net(onehot(i)))_j      MLP bins -> hidden -> hidden -> bins
    p(x, y)   = P(i) · P(j | i) / (w_x · w_y)  uniform inside the cell (exact density)

The density is exact and integrates to 1 over the box (0 outside it). Training
minimises the cross-entropy of both tokens, mean over the batch (nats per point, the
same number an LM calls its loss)::

    L        = -log P(i) - log P(j | i)
    dL/da    = softmax(a) - onehot(i)            (averaged over the batch)
    dL/dnet  = softmax(net(.)) - onehot(j)       -> the MLP's explicit backward

Sampling goes in the same order: draw i from P(i), then j from P(j | i), then a uniform
position inside the cell -- exactly how an LM writes a sentence word by word.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from . import data as toys
from . import kernels as K
from . import training, weights
from .nn import MLP, Adam
from .runtime import kernel, register_warmup

F32 = np.float32
VERSION = 1


@dataclass(frozen=True)
class ARConfig:
    bins: int = 64  # per axis: the "vocabulary" of each token
    hidden: int = 128
    lr: float = 3e-3
    batch: int = 256
    seed: int = 0
    activation: str = "relu"


# ------------------------------------------------------------------- fused kernels


@kernel
def softmax_xent(logits, target, grad, scale):
    """Mean cross-entropy of rows of logits against integer targets; grad gets
    scale · (softmax - onehot) / n. Stable: subtracts each row's maximum."""
    n, k = logits.shape
    total = 0.0
    for i in range(n):
        m = logits[i, 0]
        for j in range(1, k):
            m = max(m, logits[i, j])
        z = 0.0
        for j in range(k):
            e = math.exp(float(logits[i, j] - m))
            grad[i, j] = e
            z += e
        total += math.log(z) + float(m - logits[i, target[i]])
        for j in range(k):
            grad[i, j] = scale * grad[i, j] / (z * n)
        grad[i, target[i]] -= scale / n
    return total / n


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log softmax in float64."""
    z = np.asarray(logits, np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def box_for(points: np.ndarray, margin: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) per axis: the labs' view square when the data fits in it, else the
    data's bounding box widened by ``margin`` of its size on every side."""
    pts = np.asarray(points, np.float64)
    lo_v, hi_v = toys.VIEW
    if pts.min() >= lo_v and pts.max() <= hi_v:
        return np.full(2, lo_v), np.full(2, hi_v)
    lo, hi = pts.min(0), pts.max(0)
    size = np.maximum(hi - lo, 1e-3)
    return lo - margin * size, hi + margin * size


# ------------------------------------------------------------------------ the model


class Autoregressive:
    """p(x) · p(y | x) over binned coordinates; see the module docstring."""

    def __init__(
        self, config: ARConfig | None = None, data: np.ndarray | None = None, box: tuple | None = None
    ):
        self.config = c = config or ARConfig()
        if c.bins < 2 or c.hidden < 1 or c.batch < 1:
            raise ValueError("bins must be at least 2, hidden and batch at least 1")
        self.net = MLP([c.bins, c.hidden, c.hidden, c.bins], activation=c.activation, seed=c.seed)
        self.marginal = np.zeros(c.bins, F32)  # the logits a of P(i)
        self.d_marginal = np.zeros(c.bins, F32)
        self.opt = Adam(self.net.params, self.net.grads, lr=c.lr)
        self.opt_marginal = Adam(self.marginal, self.d_marginal, lr=c.lr)
        self.rng = np.random.default_rng([c.seed, 1])
        self.lo, self.hi = np.full(2, toys.VIEW[0]), np.full(2, toys.VIEW[1])
        self.data: np.ndarray | None = None
        self.info: dict = {}
        if data is not None:
            self.set_data(data, box)
        elif box is not None:
            self.lo, self.hi = np.asarray(box[0], np.float64), np.asarray(box[1], np.float64)
        self._onehot = np.zeros((c.batch, c.bins), F32)
        self._grad = np.empty((c.batch, c.bins), F32)
        self.steps = 0
        self.loss = float("nan")

    def set_data(self, data: np.ndarray, box: tuple | None = None) -> None:
        pts = np.asarray(data, F32).reshape(-1, 2)
        if len(pts) < 2 or not np.isfinite(pts).all():
            raise ValueError("the autoregressive model needs at least 2 finite (x, y) points")
        lo, hi = box_for(pts) if box is None else box
        self.lo, self.hi = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
        self.data = pts
        self.tokens = self.tokenize(pts)

    @property
    def widths(self) -> np.ndarray:
        return (self.hi - self.lo) / self.config.bins

    def tokenize(self, points: np.ndarray) -> np.ndarray:
        """(n, 2) int64 bin ids; points outside the box get -1 in that column."""
        pts = np.asarray(points, np.float64).reshape(-1, 2)
        idx = np.floor((pts - self.lo) / self.widths).astype(np.int64)
        outside = (idx < 0) | (idx >= self.config.bins)
        idx[pts == self.hi] = self.config.bins - 1  # the box's closed upper edge
        outside &= ~(pts == self.hi)
        idx[outside] = -1
        return idx

    def _conditional_logits(self, i: np.ndarray) -> np.ndarray:
        onehot = np.zeros((len(i), self.config.bins), F32)
        onehot[np.arange(len(i)), i] = 1.0
        return self.net.forward(onehot)

    # -- density ----------------------------------------------------------------------
    def log_prob(self, points: np.ndarray) -> np.ndarray:
        """Exact log-density (nats) of each point; -inf outside the box."""
        tok = self.tokenize(points)
        out = np.full(len(tok), -np.inf)
        ok = (tok >= 0).all(1)
        if ok.any():
            i, j = tok[ok, 0], tok[ok, 1]
            lp_i = log_softmax(self.marginal)[i]
            lp_j = log_softmax(self._conditional_logits(i))[np.arange(len(j)), j]
            out[ok] = lp_i + lp_j - np.log(self.widths).sum()
        return out

    def nll(self, points: np.ndarray) -> float:
        """Mean negative log-likelihood, nats per point (inf if a point is outside)."""
        return float(-self.log_prob(points).mean())

    # -- training ---------------------------------------------------------------------
    def loss_and_grads(self, tokens: np.ndarray) -> float:
        """Cross-entropy of both tokens on a batch of bin ids; fills the gradients."""
        n = len(tokens)
        i, j = np.ascontiguousarray(tokens[:, 0]), np.ascontiguousarray(tokens[:, 1])
        logits_i = np.broadcast_to(self.marginal, (n, self.config.bins))
        g_i = np.empty((n, self.config.bins), F32)
        loss = softmax_xent(np.ascontiguousarray(logits_i), i, g_i, 1.0)
        self.d_marginal[...] = g_i.sum(0)
        onehot = self._onehot if n == len(self._onehot) else np.zeros((n, self.config.bins), F32)
        onehot[...] = 0.0
        onehot[np.arange(n), i] = 1.0
        grad = self._grad if n == len(self._grad) else np.empty((n, self.config.bins), F32)
        loss += softmax_xent(self.net.forward(onehot), j, grad, 1.0)
        self.net.backward(grad, input_grad=False)
        return float(loss)

    def step(self) -> float:
        """One Adam step on a random batch; returns the batch loss (nats per point,
        of the two tokens: add log(w_x · w_y) for the continuous NLL)."""
        if self.data is None:
            raise ValueError("this model has no training data (Autoregressive(config, data))")
        idx = self.rng.integers(0, len(self.tokens), self.config.batch)
        self.loss = self.loss_and_grads(self.tokens[idx])
        self.opt.step()
        self.opt_marginal.step()
        self.steps += 1
        return self.loss

    def train(self, n: int) -> dict:
        return training.mean_loss(self.step, n, lambda: self.steps)

    # -- sampling ---------------------------------------------------------------------
    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """n points, one token at a time: x bin, then y bin given it, then a uniform
        place inside the cell (fixed by ``seed``)."""
        rng = np.random.default_rng(seed)
        n = int(n)
        p_i = np.exp(log_softmax(self.marginal))
        i = np.minimum(np.searchsorted(np.cumsum(p_i), rng.random(n) * p_i.sum()), self.config.bins - 1)
        p_j = np.exp(log_softmax(self._conditional_logits(i)))
        cum = np.cumsum(p_j, axis=1)
        j = (cum < rng.random(n)[:, None] * cum[:, -1:]).sum(1)
        j = np.minimum(j, self.config.bins - 1)
        cells = np.stack([i, j], axis=1) + rng.random((n, 2))
        return (self.lo + cells * self.widths).astype(F32)

    # -- saving -----------------------------------------------------------------------
    def save(self, path: str | Path, **extra) -> Path:
        meta = {
            "model": "autoregressive",
            "version": VERSION,
            "config": asdict(self.config),
            "steps": self.steps,
            **extra,
        }
        return weights.save(
            path,
            {"params": self.net.params, "marginal": self.marginal, "box": np.stack([self.lo, self.hi])},
            meta,
        )

    @classmethod
    def load(cls, path: str | Path) -> Autoregressive:
        arrays, meta = weights.load(path, "autoregressive", VERSION)
        config = weights.model_config(meta, ARConfig, path)  # checked before allocating
        with weights.building(path):
            model = cls(config)
        weights.fill(model.net.params, arrays, "params", path)
        weights.fill(model.marginal, arrays, "marginal", path)
        box = np.zeros((2, 2))
        weights.fill(box, arrays, "box", path)
        model.lo, model.hi = box[0].copy(), box[1].copy()
        model.steps = int(meta.get("steps", 0))
        model.info = meta
        return model


def train_points(
    points: np.ndarray, steps: int, seed: int = 0, progress=None, chunk: int = 100, **overrides
) -> tuple[Autoregressive, float]:
    """A model trained ``steps`` steps on ``points``; returns (model, seconds)."""
    model = Autoregressive(replace(ARConfig(), seed=int(seed), **overrides), points)
    _, seconds = training.in_chunks(model.train, steps, progress, chunk)
    return model, seconds


def _warm_up() -> None:
    K.warm_up_activations("relu")
    model = Autoregressive(ARConfig(bins=4, hidden=4, batch=4), np.zeros((3, 2), F32))
    model.step()
    model.sample(2)
    model.log_prob(np.zeros((2, 2), F32))


register_warmup("autoregressive", _warm_up, needs=("nn",))

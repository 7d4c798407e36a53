"""Dense layers and MLPs with explicit forward and backward over one flat buffer.

A model's parameters live in ONE flat float32 array ``model.params`` and its gradients
in a twin array ``model.grads``; each layer's ``W`` (in, out) and ``b`` (out,) are
views into them. That makes the optimizer one fused pass (``Adam(params, grads)``)
and lets several models train under one optimizer (``share_buffer(encoder, decoder)``).

One layer, forward and backward (x is the layer input, f the activation)::

    z = x @ W + b          runtime.matmul into a preallocated buffer, then a fused kernel
    a = f(z)               adds the bias and applies f in the same pass
    dz = da * f'(z)        fused kernel, also sums db = dz over the batch
    dW = x.T @ dz          BLAS, straight into the gradient buffer's view
    dx = dz @ W.T          BLAS; this is the next layer's da (and the model's dL/dx)

Work buffers (z, a, dz, dx per layer) are allocated once per batch size and reused,
so a training step allocates nothing. Arrays returned by ``forward``/``backward`` are
those buffers: valid until the next call with the same batch size (copy to keep).
For the same reason a model is used by one thread at a time (engine.gan holds a lock).
"""

from __future__ import annotations

import copy
import math
from typing import Literal, overload

import numpy as np

from . import kernels as K
from . import runtime
from .runtime import matmul

F32 = np.float32


class Dense:
    """y = f(x @ W + b). ``W`` and ``b`` are bound to slices of a flat buffer."""

    def __init__(self, n_in: int, n_out: int, activation: str = "relu", slope: float = 0.2):
        if activation not in K.ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose from {', '.join(K.ACTIVATIONS)}")
        self.n_in, self.n_out = int(n_in), int(n_out)
        self.activation, self.act, self.slope = activation, K.ACTIVATIONS[activation], float(slope)
        self.n_params = self.n_in * self.n_out + self.n_out

    def bind(self, params: np.ndarray, grads: np.ndarray, offset: int) -> int:
        """Point W, b, dW, db at ``params``/``grads`` from ``offset``; return the end."""
        nw = self.n_in * self.n_out
        end = offset + nw + self.n_out
        self.W = params[offset : offset + nw].reshape(self.n_in, self.n_out)
        self.b = params[offset + nw : end]
        self.dW = grads[offset : offset + nw].reshape(self.n_in, self.n_out)
        self.db = grads[offset + nw : end]
        return end

    def init(self, rng: np.random.Generator) -> None:
        """He init for ReLU-like activations, Xavier (Glorot) otherwise; zero bias."""
        if self.activation in ("relu", "silu"):
            std = math.sqrt(2.0 / self.n_in)
        elif self.activation == "leaky_relu":
            std = math.sqrt(2.0 / ((1.0 + self.slope**2) * self.n_in))
        else:
            std = math.sqrt(2.0 / (self.n_in + self.n_out))
        self.W[...] = rng.standard_normal(self.W.shape, dtype=F32) * F32(std)
        self.b[...] = 0.0


class _Work:
    """Per-batch-size buffers: for each layer z, a, and the gradient w.r.t. its input.

    The gradient buffers are made on the first backward: a batch size that is only ever
    evaluated (sampling, a held-out NLL) keeps half the memory."""

    def __init__(self, layers: list[Dense], batch: int):
        self.z = [np.empty((batch, l.n_out), F32) for l in layers]
        self.a = [z if l.act == K.IDENTITY else np.empty_like(z) for z, l in zip(self.z, layers)]
        self._layers = layers
        self._dz: list[np.ndarray] | None = None
        self._dx: list[np.ndarray] | None = None

    @property
    def dz(self) -> list[np.ndarray]:
        if self._dz is None:
            self._dz = [np.empty_like(z) for z in self.z]
        return self._dz

    @property
    def dx(self) -> list[np.ndarray]:
        if self._dx is None:
            self._dx = [np.empty((len(z), l.n_in), F32) for z, l in zip(self.z, self._layers)]
        return self._dx


class MLP:
    """A stack of Dense layers: ``sizes=[2, 128, 128, 2]`` gives three layers.

    Hidden layers use ``activation``; the last layer uses ``out_activation``
    (identity by default: the loss kernels take logits/raw outputs).
    """

    MAX_CACHED_BATCHES = 8

    def __init__(
        self,
        sizes,
        activation: str = "relu",
        out_activation: str = "identity",
        seed: int = 0,
        slope: float = 0.2,
    ):
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"MLP sizes must be >= 2 positive ints, got {sizes}")
        self.sizes, self.activation, self.out_activation = sizes, activation, out_activation
        self.seed, self.slope = int(seed), float(slope)
        acts = [activation] * (len(sizes) - 2) + [out_activation]
        self.layers = [Dense(i, o, a, slope) for i, o, a in zip(sizes[:-1], sizes[1:], acts)]
        self.n_params = sum(l.n_params for l in self.layers)
        self.bind(np.zeros(self.n_params, F32), np.zeros(self.n_params, F32))
        self.init(seed)
        self._work: dict[int, _Work] = {}
        self._x: np.ndarray | None = None
        self._scratch_db = [np.empty(l.n_out, F32) for l in self.layers]
        self._scratch_dw: list[np.ndarray] | None = None

    # -- parameters -------------------------------------------------------------------
    def bind(self, params: np.ndarray, grads: np.ndarray) -> None:
        """Use ``params``/``grads`` (flat float32, length n_params) as this model's storage."""
        if params.shape != (self.n_params,) or grads.shape != (self.n_params,):
            raise ValueError(f"expected flat buffers of {self.n_params} floats")
        self.params, self.grads = params, grads
        offset = 0
        for layer in self.layers:
            offset = layer.bind(params, grads, offset)

    def init(self, seed: int) -> None:
        """Re-initialise the weights from ``seed`` (same seed -> same weights)."""
        self.seed = int(seed)
        rng = np.random.default_rng(self.seed)
        for layer in self.layers:
            layer.init(rng)

    def zero_grad(self) -> None:
        self.grads[...] = 0.0

    def reader(self) -> MLP:
        """A second MLP over the SAME parameters with its own work buffers, for forward
        passes in another thread at the same time (sampling shards): ``forward`` keeps
        its activations in per-model buffers, so two threads must not share one model."""
        view = copy.copy(self)
        view._work, view._x = {}, None
        view._scratch_db = [np.empty(l.n_out, F32) for l in self.layers]
        view._scratch_dw = None
        return view

    # -- forward / backward -----------------------------------------------------------
    def _buffers(self, batch: int) -> _Work:
        work = self._work.get(batch)
        if work is None:
            if len(self._work) >= self.MAX_CACHED_BATCHES:
                self._work.pop(next(iter(self._work)))
            work = self._work[batch] = _Work(self.layers, batch)
        return work

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Output for a (batch, sizes[0]) input; keeps what backward needs."""
        x = np.ascontiguousarray(x, dtype=F32)
        work = self._buffers(x.shape[0])
        self._x = h = x
        for layer, z, a in zip(self.layers, work.z, work.a):
            matmul(h, layer.W, z)
            K.bias_act_forward(z, layer.b, a, layer.act, layer.slope)
            h = a
        return h

    __call__ = forward

    @overload
    def backward(
        self, dy: np.ndarray, accumulate: bool = ..., param_grads: bool = ..., input_grad: Literal[True] = ...
    ) -> np.ndarray: ...
    @overload
    def backward(
        self, dy: np.ndarray, accumulate: bool = ..., param_grads: bool = ..., *, input_grad: bool
    ) -> np.ndarray | None: ...
    def backward(
        self, dy: np.ndarray, accumulate: bool = False, param_grads: bool = True, input_grad: bool = True
    ) -> np.ndarray | None:
        """Back-propagate dL/d(output) of the last ``forward``; return dL/d(input).

        accumulate=False overwrites ``grads``; True adds to them (several losses or
        micro-batches). param_grads=False leaves ``grads`` untouched and only computes
        dL/d(input) (a GAN's generator step through a frozen discriminator).
        input_grad=False skips the first layer's dx product (one matmul as large as a
        forward one for wide inputs) and returns None: plain training never needs it.
        """
        if self._x is None:
            raise RuntimeError("backward() called before forward()")
        dy = np.ascontiguousarray(dy, dtype=F32)
        work = self._buffers(dy.shape[0])
        if accumulate and param_grads and self._scratch_dw is None:
            self._scratch_dw = [np.empty_like(l.W) for l in self.layers]
        da = dy
        for i in range(len(self.layers) - 1, -1, -1):
            layer, dz = self.layers[i], work.dz[i]
            db = layer.db if param_grads else self._scratch_db[i]
            K.act_backward(
                da, work.z[i], work.a[i], layer.act, layer.slope, dz, db, accumulate and param_grads
            )
            x = self._x if i == 0 else work.a[i - 1]
            if param_grads:
                if accumulate:
                    assert self._scratch_dw is not None  # allocated above when accumulating
                    matmul(x.T, dz, self._scratch_dw[i])
                    np.add(layer.dW, self._scratch_dw[i], out=layer.dW)
                else:
                    matmul(x.T, dz, layer.dW)
            if i == 0 and not input_grad:
                return None
            matmul(dz, layer.W.T, work.dx[i])
            da = work.dx[i]
        return da

    # -- saving -----------------------------------------------------------------------
    def config(self) -> dict:
        return {
            "sizes": list(self.sizes),
            "activation": self.activation,
            "out_activation": self.out_activation,
            "seed": self.seed,
            "slope": self.slope,
        }

    def state_dict(self) -> dict:
        """Config plus a copy of the flat parameter buffer (plain types + one array)."""
        return {"config": self.config(), "params": self.params.copy()}

    def load_state_dict(self, state: dict) -> None:
        params = np.asarray(state["params"], dtype=F32)
        if params.shape != (self.n_params,):
            raise ValueError(f"expected {self.n_params} parameters, got {params.size}")
        self.params[...] = params

    @classmethod
    def from_state(cls, state: dict) -> MLP:
        model = cls(**state["config"])
        model.load_state_dict(state)
        return model


def share_buffer(*models: MLP) -> tuple[np.ndarray, np.ndarray]:
    """Move several models' parameters into ONE flat buffer (values kept).

    Returns the shared ``(params, grads)``; each model's ``params``/``grads`` become
    consecutive slices of them, so one optimizer over the pair trains all the models.
    """
    total = sum(m.n_params for m in models)
    params, grads = np.zeros(total, F32), np.zeros(total, F32)
    offset = 0
    for m in models:
        end = offset + m.n_params
        params[offset:end] = m.params
        grads[offset:end] = m.grads
        m.bind(params[offset:end], grads[offset:end])
        offset = end
    return params, grads


# ------------------------------------------------------------------------- optimizers


class Adam:
    """Adam (AdamW-style decoupled weight decay) fused over a flat buffer.

    ``lr`` and the other hyperparameters are plain attributes: set them live.
    """

    def __init__(
        self,
        params: np.ndarray,
        grads: np.ndarray,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        self.params, self.grads = params, grads
        self.lr, self.betas, self.eps, self.weight_decay = lr, betas, eps, weight_decay
        # The moments are made at the first step: a model loaded only to sample (every lab
        # that shows a shipped model) never steps, and two zeroed copies of its parameters
        # would be resident memory for nothing.
        self.m: np.ndarray | None = None
        self.v: np.ndarray | None = None
        self.t = 0

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        """(m, v), made (zeroed) at the first call."""
        if self.m is None or self.v is None:
            shape, dtype = self.params.shape, self.params.dtype
            self.m, self.v = np.zeros(shape, dtype), np.zeros(shape, dtype)
        return self.m, self.v

    def step(self) -> None:
        m, v = self.moments()
        self.t += 1
        K.adam(
            self.params,
            self.grads,
            m,
            v,
            float(self.lr),
            float(self.betas[0]),
            float(self.betas[1]),
            float(self.eps),
            float(self.weight_decay),
            self.t,
        )

    def reset(self) -> None:
        self.m = self.v = None
        self.t = 0

    def state_dict(self) -> dict:
        return {
            "kind": "adam",
            "lr": self.lr,
            "betas": list(self.betas),
            "eps": self.eps,
            "weight_decay": self.weight_decay,
            "t": self.t,
            **{name: moment.copy() for name, moment in zip("mv", self.moments())},
        }


class SGD:
    """Plain SGD, optional heavy-ball momentum and weight decay, over a flat buffer."""

    def __init__(
        self,
        params: np.ndarray,
        grads: np.ndarray,
        lr: float = 1e-2,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
    ):
        self.params, self.grads = params, grads
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        self.buf = np.zeros(params.shape, params.dtype)  # calloc: untouched until the first step
        self.t = 0

    def step(self) -> None:
        self.t += 1
        K.sgd_step(
            self.params, self.grads, self.buf, float(self.lr), float(self.momentum), float(self.weight_decay)
        )

    def reset(self) -> None:
        self.buf[...] = 0.0
        self.t = 0

    def state_dict(self) -> dict:
        return {
            "kind": "sgd",
            "lr": self.lr,
            "momentum": self.momentum,
            "weight_decay": self.weight_decay,
            "t": self.t,
            "buf": self.buf.copy(),
        }


def make_optimizer(kind: str, params: np.ndarray, grads: np.ndarray, lr: float, **kw):
    """``"adam"`` or ``"sgd"`` by name (for configs and CLI flags)."""
    kinds = {"adam": Adam, "sgd": SGD}
    if kind not in kinds:
        raise ValueError(f"unknown optimizer {kind!r}; choose from adam, sgd")
    return kinds[kind](params, grads, lr=lr, **kw)


def _warm_up() -> None:
    model = MLP([2, 4, 1], activation="identity", seed=0)  # activations: the families' warm-ups
    out = model.forward(np.zeros((3, 2), F32))
    model.backward(np.ones_like(out))
    model.backward(np.ones_like(out), accumulate=True)
    model.backward(np.ones_like(out), param_grads=False)
    Adam(model.params, model.grads).step()
    SGD(model.params, model.grads, momentum=0.9).step()


runtime.register_warmup("nn", _warm_up, needs=("kernels",))

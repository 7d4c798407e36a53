"""Plain-numpy reference models: the same maths as engine/, written the obvious way.

Used by the tests (parity of forward, gradients, losses, optimizer steps) and by the
benchmarks (the "plain numpy" baseline). No numba, no flat buffers, no preallocation:
one array per weight and per bias, temporaries everywhere. ``dtype`` lets the
finite-difference checks run the same code in float64.
"""
from __future__ import annotations

import numpy as np

# ---------------------------------------------------------------------- activations

def act(name, z, slope=0.2):
    if name == "identity":
        return z
    if name == "relu":
        return np.maximum(z, 0)
    if name == "leaky_relu":
        return np.where(z > 0, z, slope * z)
    if name == "silu":
        return z / (1 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-z))
    raise ValueError(name)


def act_grad(name, z, slope=0.2):
    if name == "identity":
        return np.ones_like(z)
    if name == "relu":
        return (z > 0).astype(z.dtype)
    if name == "leaky_relu":
        return np.where(z > 0, 1, slope).astype(z.dtype)
    if name == "silu":
        s = 1 / (1 + np.exp(-z))
        return s * (1 + z * (1 - s))
    if name == "tanh":
        return 1 - np.tanh(z) ** 2
    if name == "sigmoid":
        s = 1 / (1 + np.exp(-z))
        return s * (1 - s)
    raise ValueError(name)


# ---------------------------------------------------------------------------- losses

def mse(pred, target):
    d = pred - target
    return np.mean(d * d), 2 * d / d.size


def bce_with_logits(x, y):
    loss = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
    return np.mean(loss), (1 / (1 + np.exp(-x)) - y) / x.size


def least_squares(pred, target):
    d = pred - target
    return 0.5 * np.mean(d * d), d / d.size


# ------------------------------------------------------------------------------- MLP

class MLP:
    """weights[i] is (in, out), biases[i] is (out,); same layout as engine.nn.MLP."""

    def __init__(self, weights, biases, activation="relu", out_activation="identity",
                 slope=0.2):
        self.weights = [np.array(w) for w in weights]
        self.biases = [np.array(b) for b in biases]
        n = len(self.weights)
        self.acts = [activation] * (n - 1) + [out_activation]
        self.slope = slope

    @classmethod
    def from_engine(cls, model, dtype=np.float32):
        """Copy an engine.nn.MLP's current parameters."""
        return cls([l.W.astype(dtype) for l in model.layers],
                   [l.b.astype(dtype) for l in model.layers],
                   model.activation, model.out_activation, model.slope)

    def flat(self):
        """Parameters in the engine's flat order (W then b, layer by layer)."""
        return np.concatenate([a.ravel() for w, b in zip(self.weights, self.biases)
                               for a in (w, b)])

    def forward(self, x):
        self.inputs, self.zs = [], []
        h = x
        for w, b, a in zip(self.weights, self.biases, self.acts):
            self.inputs.append(h)
            z = h @ w + b
            self.zs.append(z)
            h = act(a, z, self.slope)
        return h

    def backward(self, dy, input_grad=True):
        """Returns dL/dx (None if not input_grad); sets self.dweights / self.dbiases."""
        self.dweights = [None] * len(self.weights)
        self.dbiases = [None] * len(self.weights)
        d = dy
        for i in reversed(range(len(self.weights))):
            dz = d * act_grad(self.acts[i], self.zs[i], self.slope)
            self.dweights[i] = self.inputs[i].T @ dz
            self.dbiases[i] = dz.sum(axis=0)
            if i == 0 and not input_grad:
                return None
            d = dz @ self.weights[i].T
        return d

    def flat_grads(self):
        return np.concatenate([a.ravel() for w, b in zip(self.dweights, self.dbiases)
                               for a in (w, b)])

    def parameters(self):
        return [a for pair in zip(self.weights, self.biases) for a in pair]

    def gradients(self):
        return [a for pair in zip(self.dweights, self.dbiases) for a in pair]


# ------------------------------------------------------------------------ optimizers

class Adam:
    """Adam with bias correction and decoupled weight decay, one tensor at a time."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        self.params, self.lr, self.betas, self.eps = params, lr, betas, eps
        self.weight_decay = weight_decay
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads):
        self.t += 1
        b1, b2 = self.betas
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            m_hat = m / (1 - b1 ** self.t)
            v_hat = v / (1 - b2 ** self.t)
            p *= 1 - self.lr * self.weight_decay
            p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class SGD:
    def __init__(self, params, lr=1e-2, momentum=0.0, weight_decay=0.0):
        self.params, self.lr, self.momentum, self.weight_decay = params, lr, momentum, weight_decay
        self.buf = [np.zeros_like(p) for p in params]

    def step(self, grads):
        for p, g, b in zip(self.params, grads, self.buf):
            g = g + self.weight_decay * p
            if self.momentum > 0:
                b *= self.momentum
                b += g
                g = b
            p -= self.lr * g


def train_step(model, opt, x, y):
    """One MSE training step of the reference MLP (the benchmark's baseline)."""
    out = model.forward(x)
    loss, dy = mse(out, y)
    model.backward(dy, input_grad=False)
    opt.step(model.gradients())
    return loss


# ------------------------------------------------------------------- RealNVP flow

class Flow:
    """engine.flow.Flow the obvious way: one reference MLP per coupling layer."""

    def __init__(self, nets, mean, std, limit):
        self.nets, self.mean, self.std, self.limit = nets, mean, std, limit

    @classmethod
    def from_engine(cls, model, dtype=np.float64):
        return cls([MLP.from_engine(net, dtype) for net in model.nets],
                   model.mean.astype(dtype), model.std.astype(dtype),
                   float(model.config.scale_limit))

    def forward(self, x):
        """(z, logdet) of the data -> latent map; keeps what backward needs."""
        u = (x - self.mean) / self.std
        logdet = np.full(len(x), -np.log(self.std).sum())
        self.cache = []
        for i, net in enumerate(self.nets):
            d, c = i % 2, 1 - i % 2
            raw = net.forward(u[:, [c]])
            s = self.limit * np.tanh(raw[:, 0] / self.limit)
            self.cache.append((u, raw, s))
            u = u.copy()
            u[:, d] = u[:, d] * np.exp(s) + raw[:, 1]
            logdet = logdet + s
        return u, logdet

    def log_prob(self, x):
        z, logdet = self.forward(x)
        return -0.5 * (z * z).sum(1) - np.log(2 * np.pi) + logdet

    def loss(self, x):
        return -np.mean(self.log_prob(x))

    def backward(self, x):
        """Gradient of loss(x) w.r.t. every net's parameters (engine flat order)."""
        z, _ = self.forward(x)
        n = len(x)
        g = z / n
        grads = []
        for i in reversed(range(len(self.nets))):
            d, c = i % 2, 1 - i % 2
            u, raw, s = self.cache[i]
            e = np.exp(s)
            ds = g[:, d] * u[:, d] * e - 1.0 / n
            draw = np.stack([ds * (1 - np.tanh(raw[:, 0] / self.limit) ** 2), g[:, d]], 1)
            da = self.nets[i].backward(draw)
            g = g.copy()
            g[:, d] = g[:, d] * e
            g[:, c] = g[:, c] + da[:, 0]
            grads.insert(0, self.nets[i].flat_grads())
        return np.concatenate(grads)

    def set_flat(self, flat):
        """Load parameters from one flat vector in the engine's order."""
        offset = 0
        for net in self.nets:
            for arr in net.parameters():
                arr[...] = flat[offset:offset + arr.size].reshape(arr.shape)
                offset += arr.size


# --------------------------------------------------------- autoregressive p(x) p(y|x)

def log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


class Autoregressive:
    """engine.autoregressive.Autoregressive the obvious way."""

    def __init__(self, marginal, net, lo, hi):
        self.marginal, self.net, self.lo, self.hi = marginal, net, lo, hi
        self.bins = len(marginal)

    @classmethod
    def from_engine(cls, model, dtype=np.float64):
        return cls(model.marginal.astype(dtype), MLP.from_engine(model.net, dtype),
                   model.lo.copy(), model.hi.copy())

    def log_prob(self, pts):
        w = (self.hi - self.lo) / self.bins
        out = np.empty(len(pts))
        for r, p in enumerate(pts):
            i, j = (np.floor((p - self.lo) / w)).astype(int)
            if not (0 <= i < self.bins and 0 <= j < self.bins):
                out[r] = -np.inf
                continue
            onehot = np.eye(self.bins)[[i]]
            cond = log_softmax(self.net.forward(onehot))[0]
            out[r] = log_softmax(self.marginal)[i] + cond[j] - np.log(w).sum()
        return out

    def loss(self, tokens):
        i, j = tokens[:, 0], tokens[:, 1]
        lp_i = log_softmax(self.marginal)[i]
        lp_j = log_softmax(self.net.forward(np.eye(self.bins)[i]))[np.arange(len(j)), j]
        return -np.mean(lp_i + lp_j)

    def backward(self, tokens):
        """(d marginal, flat d net) of loss(tokens)."""
        n = len(tokens)
        i, j = tokens[:, 0], tokens[:, 1]
        p = np.exp(log_softmax(self.marginal))
        d_marg = p - np.bincount(i, minlength=self.bins) / n
        q = np.exp(log_softmax(self.net.forward(np.eye(self.bins)[i])))
        q[np.arange(n), j] -= 1
        self.net.backward(q / n, input_grad=False)
        return d_marg, self.net.flat_grads()

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


# ----------------------------------------------------------------------- transformer

def layernorm(x, g, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def gelu(u):
    return 0.5 * u * (1 + np.tanh(np.sqrt(2 / np.pi) * (u + 0.044715 * u ** 3)))


def causal_softmax(s):
    """softmax over the last axis of (..., T, T) scores with the future masked out."""
    T = s.shape[-1]
    s = np.where(np.tril(np.ones((T, T), bool)), s, -np.inf)
    e = np.exp(s - s.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def gpt_logits(p, config, ids):
    """GPT forward in plain numpy: ``p`` maps engine.transformer's parameter names to arrays."""
    B, T = ids.shape
    d, H = config.d, config.heads
    hd = d // H
    x = p["wte"][ids] + p["wpe"][:T]
    for i in range(config.layers):
        a = layernorm(x, p[f"h{i}.ln1.g"], p[f"h{i}.ln1.b"])
        q, k, v = np.split(a @ p[f"h{i}.attn.w"] + p[f"h{i}.attn.b"], 3, axis=-1)
        heads = lambda t: t.reshape(B, T, H, hd).transpose(0, 2, 1, 3)
        q, k, v = heads(q), heads(k), heads(v)
        att = causal_softmax(q @ k.transpose(0, 1, 3, 2) / np.sqrt(hd))
        y = (att @ v).transpose(0, 2, 1, 3).reshape(B, T, d)
        x = x + y @ p[f"h{i}.proj.w"] + p[f"h{i}.proj.b"]
        m = layernorm(x, p[f"h{i}.ln2.g"], p[f"h{i}.ln2.b"])
        x = x + gelu(m @ p[f"h{i}.fc.w"] + p[f"h{i}.fc.b"]) @ p[f"h{i}.out.w"] + p[f"h{i}.out.b"]
    return layernorm(x, p["lnf.g"], p["lnf.b"]) @ p["wte"].T


def gpt_loss(p, config, ids, targets):
    """Mean cross-entropy over the positions with a target >= 0."""
    z = gpt_logits(p, config, ids).reshape(-1, config.vocab)
    t = targets.reshape(-1)
    keep = t >= 0
    z, t = z[keep], t[keep]
    lse = z.max(1) + np.log(np.exp(z - z.max(1, keepdims=True)).sum(1))
    return float(np.mean(lse - z[np.arange(len(t)), t]))

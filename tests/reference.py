"""Plain-numpy reference models: the same maths as engine/, written the obvious way.

Used by the tests (parity of forward, gradients, losses, optimizer steps) and by the
benchmarks (the "plain numpy" baseline). No numba, no flat buffers, no preallocation:
one array per weight and per bias, temporaries everywhere. ``dtype`` lets the
finite-difference checks run the same code in float64.
"""

from __future__ import annotations

import itertools

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

    def __init__(self, weights, biases, activation="relu", out_activation="identity", slope=0.2):
        self.weights = [np.array(w) for w in weights]
        self.biases = [np.array(b) for b in biases]
        n = len(self.weights)
        self.acts = [activation] * (n - 1) + [out_activation]
        self.slope = slope

    @classmethod
    def from_engine(cls, model, dtype=np.float32):
        """Copy an engine.nn.MLP's current parameters."""
        return cls(
            [l.W.astype(dtype) for l in model.layers],
            [l.b.astype(dtype) for l in model.layers],
            model.activation,
            model.out_activation,
            model.slope,
        )

    def flat(self):
        """Parameters in the engine's flat order (W then b, layer by layer)."""
        return np.concatenate([a.ravel() for w, b in zip(self.weights, self.biases) for a in (w, b)])

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
        return np.concatenate([a.ravel() for w, b in zip(self.dweights, self.dbiases) for a in (w, b)])

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
            m_hat = m / (1 - b1**self.t)
            v_hat = v / (1 - b2**self.t)
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
    return 0.5 * u * (1 + np.tanh(np.sqrt(2 / np.pi) * (u + 0.044715 * u**3)))


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

        def heads(t):
            return t.reshape(B, T, H, hd).transpose(0, 2, 1, 3)

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


# ------------------------------------------------------------------------------ CLIP


def patchify(x, k):
    """(N, S, S, c) -> (N, P, k*k*c), patches in reading order, each row by row."""
    n, s, _, _c = x.shape
    out = []
    for py in range(0, s, k):
        for px in range(0, s, k):
            out.append(x[:, py : py + k, px : px + k, :].reshape(n, -1))
    return np.stack(out, axis=1)


def clip_params_from_engine(model, dtype=np.float64):
    """The engine CLIP's parameters as a dict of separate arrays (copies)."""
    pe, im, tm = model.patch_embed.layers[0], model.img_mlp.layers, model.txt_mlp.layers
    p = {
        "We": pe.W,
        "be": pe.b,
        "img_W1": im[0].W,
        "img_b1": im[0].b,
        "img_W2": im[1].W,
        "img_b2": im[1].b,
        "txt_W1": tm[0].W,
        "txt_b1": tm[0].b,
        "txt_W2": tm[1].W,
        "txt_b2": tm[1].b,
    }
    p.update(model.p)
    return {k: np.array(v, dtype=dtype) for k, v in p.items()}


def clip_grads_from_engine(model):
    pe, im, tm = model.patch_embed.layers[0], model.img_mlp.layers, model.txt_mlp.layers
    g = {
        "We": pe.dW,
        "be": pe.db,
        "img_W1": im[0].dW,
        "img_b1": im[0].db,
        "img_W2": im[1].dW,
        "img_b2": im[1].db,
        "txt_W1": tm[0].dW,
        "txt_b1": tm[0].db,
        "txt_W2": tm[1].dW,
        "txt_b2": tm[1].db,
    }
    g.update(model.g)
    return {k: np.array(v, dtype=np.float64) for k, v in g.items()}


def _token_mlp(p, prefix, t):
    z = t @ p[prefix + "W1"] + p[prefix + "b1"]
    a = np.maximum(z, 0)
    return t + a @ p[prefix + "W2"] + p[prefix + "b2"], (t, z, a)


def _token_mlp_backward(p, g, prefix, cache, dh):
    t, z, a = cache
    g[prefix + "W2"] = a.T @ dh
    g[prefix + "b2"] = dh.sum(0)
    dz = (dh @ p[prefix + "W2"].T) * (z > 0)
    g[prefix + "W1"] = t.T @ dz
    g[prefix + "b1"] = dz.sum(0)
    return dh + dz @ p[prefix + "W1"].T


def clip_loss(p, images, token_lists, match, patch):
    """Loss and gradients of the CLIP of engine/clip.py, the obvious way.

    ``token_lists``: one list of word ids per caption. Returns (loss, grads dict).
    """
    n = len(images)
    x = patchify(images, patch)  # (N, P, k*k*3)
    P = x.shape[1]
    t_img = x @ p["We"] + p["be"] + p["img_pos"][None]
    h_img, c_img = _token_mlp(p, "img_", t_img.reshape(n * P, -1))
    pooled_img = h_img.reshape(n, P, -1).mean(axis=1)
    f = pooled_img @ p["img_proj"]
    fn = np.linalg.norm(f, axis=1, keepdims=True)
    u = f / fn
    rows = [np.array([p["tok_emb"][w] + p["txt_pos"][j] for j, w in enumerate(ids)]) for ids in token_lists]
    t_txt = np.concatenate(rows)
    h_txt, c_txt = _token_mlp(p, "txt_", t_txt)
    bounds = np.cumsum([0] + [len(ids) for ids in token_lists])
    pooled_txt = np.array([h_txt[a:b].mean(axis=0) for a, b in itertools.pairwise(bounds)])
    gt = pooled_txt @ p["txt_proj"]
    gn = np.linalg.norm(gt, axis=1, keepdims=True)
    v = gt / gn
    scale = np.exp(p["logit_scale"][0])
    logits = scale * u @ v.T
    target_r = match / match.sum(axis=1, keepdims=True)
    target_c = match / match.sum(axis=0, keepdims=True)
    logp_r = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    logp_c = logits - np.log(np.exp(logits).sum(axis=0, keepdims=True))
    loss = 0.5 * (-(target_r * logp_r).sum() / n - (target_c * logp_c).sum() / n)
    dlogits = 0.5 * ((np.exp(logp_r) - target_r) + (np.exp(logp_c) - target_c)) / n
    g = {"logit_scale": np.array([(dlogits * logits).sum()])}
    du = scale * dlogits @ v
    dv = scale * dlogits.T @ u
    df = (du - u * (u * du).sum(axis=1, keepdims=True)) / fn
    dg = (dv - v * (v * dv).sum(axis=1, keepdims=True)) / gn
    g["img_proj"] = pooled_img.T @ df
    g["txt_proj"] = pooled_txt.T @ dg
    dh_img = np.repeat(df @ p["img_proj"].T / P, P, axis=0)
    dt_img = _token_mlp_backward(p, g, "img_", c_img, dh_img).reshape(n, P, -1)
    g["img_pos"] = dt_img.sum(axis=0)
    g["We"] = np.einsum("npi,npo->io", x, dt_img)
    g["be"] = dt_img.sum(axis=(0, 1))
    dpool_txt = dg @ p["txt_proj"].T
    dh_txt = np.concatenate(
        [np.tile(dpool_txt[i] / len(ids), (len(ids), 1)) for i, ids in enumerate(token_lists)]
    )
    dt_txt = _token_mlp_backward(p, g, "txt_", c_txt, dh_txt)
    g["tok_emb"] = np.zeros_like(p["tok_emb"])
    g["txt_pos"] = np.zeros_like(p["txt_pos"])
    k = 0
    for ids in token_lists:
        for j, w in enumerate(ids):
            g["tok_emb"][w] += dt_txt[k]
            g["txt_pos"][j] += dt_txt[k]
            k += 1
    return loss, g


# ------------------------------------------------------------------- RealNVP flow


class Flow:
    """engine.flow.Flow the obvious way: one reference MLP per coupling layer."""

    def __init__(self, nets, mean, std, limit):
        self.nets, self.mean, self.std, self.limit = nets, mean, std, limit

    @classmethod
    def from_engine(cls, model, dtype=np.float64):
        return cls(
            [MLP.from_engine(net, dtype) for net in model.nets],
            model.mean.astype(dtype),
            model.std.astype(dtype),
            float(model.config.scale_limit),
        )

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
                arr[...] = flat[offset : offset + arr.size].reshape(arr.shape)
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
        return cls(
            model.marginal.astype(dtype), MLP.from_engine(model.net, dtype), model.lo.copy(), model.hi.copy()
        )

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

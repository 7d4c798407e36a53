"""A tiny decoder-only transformer (GPT) with explicit backward, in the spirit of nanoGPT.

One forward pass, top to bottom (B sequences of T tokens, width d, H heads)::

    x = wte[ids] + wpe[0..T-1]                     token + position embeddings (B, T, d)
    for each block:
        a = LayerNorm1(x)                          pre-LN: normalise, then transform
        q, k, v = split(a @ Wqkv + bqkv)           H heads of size d/H
        P = softmax(q k^T / sqrt(d/H) + causal)    each token attends to itself and the past
        x = x + (P v) @ Wo + bo                    residual connection
        m = LayerNorm2(x)
        x = x + gelu(m @ Wfc + bfc) @ Wproj + bproj
    h = LayerNormF(x)
    logits = h @ wte^T                             tied head: the embedding table reads out

Backward runs the same list in reverse, beside each forward step in this file. Every piece
is checked against finite differences and a plain-numpy model (tests/reference.py).

Where the time goes: the matmuls go to BLAS (``np.matmul``); LayerNorm, GELU and the
masked softmax are fused numba kernels (one pass over memory instead of numpy's five or
six temporaries each); the cross-entropy is engine.lm's fused kernel. The loss is taken
only at the positions that carry a target (the answer tokens of a reading episode, all
tokens of plain text), and the 1024-wide head is computed only there.

Generation keeps a KV cache: the keys and values of the tokens already read are stored
per layer, so each new token costs one row of work instead of re-reading the whole
context (tests check that both give the same logits).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from . import runtime, sampling
from . import weights as W
from .kernels import fast_tanh
from .lm import softmax_xent
from .nn import Adam
from .runtime import kernel, register_warmup

F32 = np.float32
MODEL, VERSION = "transformer", 1
LN_EPS = 1e-5
_HALF, _ONE = F32(0.5), F32(1.0)
_C, _A, _A3 = F32(math.sqrt(2.0 / math.pi)), F32(0.044715), F32(3 * 0.044715)


# ------------------------------------------------------------------------ kernels


@kernel
def layernorm_forward(x, g, b, y, xhat, rstd):
    """Per row: xhat = (x - mean) / sqrt(var + eps); y = xhat * g + b. Rows are (N, d)."""
    n, d = x.shape
    for i in range(n):
        mu = 0.0
        for j in range(d):
            mu += x[i, j]
        mu /= d
        var = 0.0
        for j in range(d):
            c = x[i, j] - mu
            var += c * c
        r = 1.0 / math.sqrt(var / d + 1e-5)
        rstd[i] = r
        for j in range(d):
            h = (x[i, j] - mu) * r
            xhat[i, j] = h
            y[i, j] = h * g[j] + b[j]


@runtime.twin_of(layernorm_forward)
def _layernorm_forward_twin(x, g, b, y, xhat, rstd):
    x64 = x.astype(np.float64)
    c = x64 - x64.mean(axis=1, keepdims=True)
    r = 1.0 / np.sqrt((c * c).mean(axis=1) + 1e-5)
    rstd[:] = r
    h = c * r[:, None]
    xhat[...] = h
    y[...] = h * g + b


@kernel
def layernorm_backward(dy, xhat, rstd, g, dx, dg, db):
    """dx = rstd (dxh - mean(dxh) - xhat mean(dxh xhat)), dxh = dy g; dg, db accumulate."""
    n, d = dy.shape
    for i in range(n):
        m1 = 0.0
        m2 = 0.0
        for j in range(d):
            dxh = dy[i, j] * g[j]
            m1 += dxh
            m2 += dxh * xhat[i, j]
            dg[j] += dy[i, j] * xhat[i, j]
            db[j] += dy[i, j]
        m1 /= d
        m2 /= d
        r = rstd[i]
        for j in range(d):
            dx[i, j] = r * (dy[i, j] * g[j] - m1 - xhat[i, j] * m2)


@kernel
def gelu_forward(u, out):
    """GELU, tanh form (GPT-2's): 0.5 u (1 + tanh(c (u + 0.044715 u^3))).

    float32 constants and engine.kernels.fast_tanh keep the loop vectorisable (libm's
    tanh made this kernel the slowest step of training).
    """
    n, m = u.shape
    for i in range(n):
        for j in range(m):
            z = u[i, j]
            out[i, j] = _HALF * z * (_ONE + fast_tanh(_C * (z + _A * z * z * z)))


@runtime.twin_of(gelu_forward)
def _gelu_forward_twin(u, out):
    out[...] = _HALF * u * (_ONE + np.tanh(_C * (u + _A * u * u * u)))


@kernel
def gelu_backward(dout, u, du):
    """du = dout * gelu'(u)."""
    n, m = u.shape
    for i in range(n):
        for j in range(m):
            z = u[i, j]
            t = fast_tanh(_C * (z + _A * z * z * z))
            dt = (_ONE - t * t) * _C * (_ONE + _A3 * z * z)
            du[i, j] = dout[i, j] * (_HALF * (_ONE + t) + _HALF * z * dt)


@kernel
def causal_softmax(s, scale, p):
    """p[n, i, :] = softmax(scale * s[n, i, :i+1]), zeros after i (the future is masked)."""
    N, T, _ = s.shape
    for n in range(N):
        for i in range(T):
            m = s[n, i, 0] * scale
            for j in range(1, i + 1):
                m = max(m, s[n, i, j] * scale)
            tot = 0.0
            for j in range(i + 1):
                e = math.exp(s[n, i, j] * scale - m)
                p[n, i, j] = e
                tot += e
            inv = 1.0 / tot
            for j in range(i + 1):
                p[n, i, j] *= inv
            for j in range(i + 1, T):
                p[n, i, j] = 0.0


@runtime.twin_of(causal_softmax)
def _causal_softmax_twin(s, scale, p):
    T = s.shape[1]
    z = np.where(np.tri(T, dtype=bool), s.astype(np.float64) * scale, -np.inf)
    e = np.exp(z - z.max(axis=2, keepdims=True))
    p[...] = e / e.sum(axis=2, keepdims=True)


@kernel
def softmax_backward(dp, p, scale, ds):
    """ds = scale * p * (dp - sum(dp * p)) per row: the softmax Jacobian times dp."""
    N, T, _ = p.shape
    for n in range(N):
        for i in range(T):
            dot = 0.0
            for j in range(i + 1):
                dot += dp[n, i, j] * p[n, i, j]
            for j in range(i + 1):
                ds[n, i, j] = scale * p[n, i, j] * (dp[n, i, j] - dot)
            for j in range(i + 1, T):
                ds[n, i, j] = 0.0


@kernel
def scatter_rows(dx, ids, table):
    """table[ids[i]] += dx[i]: each embedding row collects the gradient of its uses."""
    n, d = dx.shape
    for i in range(n):
        r = ids[i]
        for j in range(d):
            table[r, j] += dx[i, j]


# ------------------------------------------------------------------------- model


@dataclass
class TransformerConfig:
    vocab: int = 1024
    context: int = 128  # the longest sequence the position table covers
    d: int = 64  # width of every token vector
    heads: int = 4
    layers: int = 2
    mlp: int = 4  # the MLP is mlp * d wide
    seed: int = 0


def layout(c: TransformerConfig) -> list[tuple[str, tuple[int, ...]]]:
    """Every parameter's name and shape, in the flat buffer's order."""
    d = c.d
    names: list[tuple[str, tuple[int, ...]]] = [("wte", (c.vocab, d)), ("wpe", (c.context, d))]
    for i in range(c.layers):
        names += [
            (f"h{i}.ln1.g", (d,)),
            (f"h{i}.ln1.b", (d,)),
            (f"h{i}.attn.w", (d, 3 * d)),
            (f"h{i}.attn.b", (3 * d,)),
            (f"h{i}.proj.w", (d, d)),
            (f"h{i}.proj.b", (d,)),
            (f"h{i}.ln2.g", (d,)),
            (f"h{i}.ln2.b", (d,)),
            (f"h{i}.fc.w", (d, c.mlp * d)),
            (f"h{i}.fc.b", (c.mlp * d,)),
            (f"h{i}.out.w", (c.mlp * d, d)),
            (f"h{i}.out.b", (d,)),
        ]
    return names + [("lnf.g", (d,)), ("lnf.b", (d,))]


class Transformer:
    """Parameters ``p[name]`` and gradients ``g[name]`` are views into two flat float32 buffers."""

    def __init__(self, config: TransformerConfig | None = None):
        self.config = c = config or TransformerConfig()
        if c.d % c.heads:
            raise ValueError("the width d must be a multiple of the number of heads")
        shapes = layout(c)
        total = sum(math.prod(s) for _, s in shapes)
        self.params, self.grads = np.zeros(total, F32), np.zeros(total, F32)
        self.p: dict[str, np.ndarray] = {}
        self.g: dict[str, np.ndarray] = {}
        offset = 0
        for name, shape in shapes:
            n = math.prod(shape)
            self.p[name] = self.params[offset : offset + n].reshape(shape)
            self.g[name] = self.grads[offset : offset + n].reshape(shape)
            offset += n
        self._init(np.random.default_rng(c.seed))
        self.cache: dict = {}

    def _init(self, rng: np.random.Generator) -> None:
        """GPT-2's init: N(0, 0.02), residual projections scaled by 1/sqrt(2 layers), LN = identity."""
        c = self.config
        for name, w in self.p.items():
            if name.endswith(".g"):
                w[...] = 1.0
            elif name.endswith(".b"):
                w[...] = 0.0
            else:
                std = 0.02 / math.sqrt(2 * c.layers) if name.endswith(("proj.w", "out.w")) else 0.02
                w[...] = rng.standard_normal(w.shape, dtype=F32) * F32(std)

    @property
    def n_params(self) -> int:
        return self.params.size

    # -- pieces, forward beside backward ----------------------------------------------------
    @staticmethod
    def _ln(x2, g, b):
        y, xhat = np.empty_like(x2), np.empty_like(x2)
        rstd = np.empty(x2.shape[0], F32)
        layernorm_forward(x2, g, b, y, xhat, rstd)
        return y, (xhat, rstd)

    @staticmethod
    def _ln_back(dy, saved, g, dg, db):
        dx = np.empty_like(dy)
        layernorm_backward(dy, saved[0], saved[1], g, dx, dg, db)
        return dx

    def _attn(self, a, i, B, T):
        """Causal multi-head self-attention of the LayerNorm output a (B*T, d)."""
        c, p = self.config, self.p
        H, hd = c.heads, c.d // c.heads
        qkv = a @ p[f"h{i}.attn.w"] + p[f"h{i}.attn.b"]
        qkv = qkv.reshape(B, T, 3, H, hd).transpose(2, 0, 3, 1, 4)  # (3, B, H, T, hd)
        q, k, v = (np.ascontiguousarray(t) for t in qkv)
        s = (q @ k.transpose(0, 1, 3, 2)).reshape(B * H, T, T)
        probs = np.empty_like(s)
        causal_softmax(s, 1.0 / math.sqrt(hd), probs)
        probs = probs.reshape(B, H, T, T)
        y = (probs @ v).transpose(0, 2, 1, 3).reshape(B * T, c.d)
        out = y @ p[f"h{i}.proj.w"] + p[f"h{i}.proj.b"]
        return out, (a, q, k, v, probs, y)

    def _attn_back(self, dout, saved, i, B, T):
        c, p, g = self.config, self.p, self.g
        H, hd = c.heads, c.d // c.heads
        a, q, k, v, probs, y = saved
        g[f"h{i}.proj.w"] += y.T @ dout
        g[f"h{i}.proj.b"] += dout.sum(0)
        dy = np.ascontiguousarray((dout @ p[f"h{i}.proj.w"].T).reshape(B, T, H, hd).transpose(0, 2, 1, 3))
        dprobs = (dy @ v.transpose(0, 1, 3, 2)).reshape(B * H, T, T)
        dv = probs.transpose(0, 1, 3, 2) @ dy
        ds = np.empty_like(dprobs)
        softmax_backward(dprobs, probs.reshape(B * H, T, T), 1.0 / math.sqrt(hd), ds)
        ds = ds.reshape(B, H, T, T)
        dq = ds @ k
        dk = ds.transpose(0, 1, 3, 2) @ q
        dqkv = np.stack([dq, dk, dv]).transpose(1, 3, 0, 2, 4).reshape(B * T, 3 * c.d)
        g[f"h{i}.attn.w"] += a.T @ dqkv
        g[f"h{i}.attn.b"] += dqkv.sum(0)
        return dqkv @ p[f"h{i}.attn.w"].T

    def _mlp(self, m, i):
        p = self.p
        u = m @ p[f"h{i}.fc.w"] + p[f"h{i}.fc.b"]
        act = np.empty_like(u)
        gelu_forward(u, act)
        return act @ p[f"h{i}.out.w"] + p[f"h{i}.out.b"], (m, u, act)

    def _mlp_back(self, dout, saved, i):
        p, g = self.p, self.g
        m, u, act = saved
        g[f"h{i}.out.w"] += act.T @ dout
        g[f"h{i}.out.b"] += dout.sum(0)
        dact = dout @ p[f"h{i}.out.w"].T
        du = np.empty_like(u)
        gelu_backward(dact, u, du)
        g[f"h{i}.fc.w"] += m.T @ du
        g[f"h{i}.fc.b"] += du.sum(0)
        return du @ p[f"h{i}.fc.w"].T

    # -- whole model ---------------------------------------------------------------------------
    def hidden(self, ids: np.ndarray) -> np.ndarray:
        """The final LayerNorm's output (B*T, d) for token ids (B, T); keeps what backward needs."""
        c, p = self.config, self.p
        ids = np.ascontiguousarray(ids, dtype=np.int32)
        B, T = ids.shape
        if c.context < T:
            raise ValueError(f"{T} tokens do not fit the context of {c.context}")
        x = (p["wte"][ids] + p["wpe"][:T]).reshape(B * T, c.d)
        saved = []
        for i in range(c.layers):
            a, ln1 = self._ln(x, p[f"h{i}.ln1.g"], p[f"h{i}.ln1.b"])
            att, at = self._attn(a, i, B, T)
            x = x + att
            m, ln2 = self._ln(x, p[f"h{i}.ln2.g"], p[f"h{i}.ln2.b"])
            mlp, ml = self._mlp(m, i)
            x = x + mlp
            saved.append((ln1, at, ln2, ml))
        h, lnf = self._ln(x, p["lnf.g"], p["lnf.b"])
        self.cache = {"ids": ids, "B": B, "T": T, "saved": saved, "lnf": lnf, "h": h}
        return h

    def backward_hidden(self, dh: np.ndarray) -> None:
        """Add to the gradients given dL/dh for the last ``hidden`` call (h is (B*T, d))."""
        c, p, g, cache = self.config, self.p, self.g, self.cache
        B, T = cache["B"], cache["T"]
        dx = self._ln_back(
            np.ascontiguousarray(dh, dtype=F32), cache["lnf"], p["lnf.g"], g["lnf.g"], g["lnf.b"]
        )
        for i in reversed(range(c.layers)):
            ln1, at, ln2, ml = cache["saved"][i]
            dm = self._mlp_back(dx, ml, i)
            dx = dx + self._ln_back(dm, ln2, p[f"h{i}.ln2.g"], g[f"h{i}.ln2.g"], g[f"h{i}.ln2.b"])
            da = self._attn_back(dx, at, i, B, T)
            dx = dx + self._ln_back(da, ln1, p[f"h{i}.ln1.g"], g[f"h{i}.ln1.g"], g[f"h{i}.ln1.b"])
        g["wpe"][:T] += dx.reshape(B, T, c.d).sum(0)
        scatter_rows(dx, cache["ids"].reshape(-1), g["wte"])

    def logits(self, ids: np.ndarray) -> np.ndarray:
        """Next-token logits (B, T, V) at every position (tied head: h @ wte^T)."""
        B, T = np.shape(ids)
        return (self.hidden(ids) @ self.p["wte"].T).reshape(B, T, -1)

    def loss_and_grad(self, ids: np.ndarray, targets: np.ndarray) -> float:
        """Mean cross-entropy over the positions whose target is >= 0; fills ``grads``.

        ``targets[b, t]`` is the token that should follow ``ids[b, :t+1]``, or -1 where
        nothing is learned (padding, or the document and question of a reading episode).
        """
        self.grads[...] = 0.0
        h = self.hidden(ids)
        flat = np.asarray(targets).reshape(-1)
        where = np.flatnonzero(flat >= 0)
        if where.size == 0:
            return 0.0
        hs = h[where]
        logits = hs @ self.p["wte"].T
        dlogits = np.empty_like(logits)
        loss = softmax_xent(logits, np.ascontiguousarray(flat[where], dtype=np.int32), dlogits, 1.0)
        self.g["wte"] += dlogits.T @ hs
        dh = np.zeros_like(h)
        dh[where] = dlogits @ self.p["wte"]
        self.backward_hidden(dh)
        return float(loss)

    def attention(self) -> list[np.ndarray]:
        """The attention weights (B, H, T, T) of each layer from the last forward pass."""
        return [s[1][4] for s in self.cache["saved"]]

    # -- generation with a KV cache --------------------------------------------------------------
    def start(self, ids: list[int]) -> tuple[np.ndarray, dict]:
        """Read a prompt in one pass; return the next-token logits (V,) and the KV cache."""
        c, p = self.config, self.p
        ids = list(ids)[-c.context :]
        if not ids:
            raise ValueError("the prompt is empty")
        h = self.hidden(np.asarray([ids], np.int32))
        H, hd, T = c.heads, c.d // c.heads, len(ids)
        kv: dict = {"pos": T, "k": [], "v": []}
        for i in range(c.layers):
            _, _q, k, v, _, _ = self.cache["saved"][i][1]
            K = np.zeros((H, c.context, hd), F32)
            V = np.zeros((H, c.context, hd), F32)
            K[:, :T], V[:, :T] = k[0], v[0]
            kv["k"].append(K)
            kv["v"].append(V)
        return h[-1] @ p["wte"].T, kv

    def step(self, token: int, kv: dict) -> np.ndarray:
        """Read one more token using the cache (updated in place); return the next logits (V,)."""
        c, p = self.config, self.p
        pos = kv["pos"]
        if pos >= c.context:
            raise ValueError(f"the context of {c.context} tokens is full")
        H, hd = c.heads, c.d // c.heads
        x = (p["wte"][token] + p["wpe"][pos])[None, :]
        for i in range(c.layers):
            a, _ = self._ln(x, p[f"h{i}.ln1.g"], p[f"h{i}.ln1.b"])
            q, k, v = (a @ p[f"h{i}.attn.w"] + p[f"h{i}.attn.b"]).reshape(3, H, hd)
            kv["k"][i][:, pos], kv["v"][i][:, pos] = k, v
            K, V = kv["k"][i][:, : pos + 1], kv["v"][i][:, : pos + 1]
            s = np.einsum("hd,htd->ht", q, K) / F32(math.sqrt(hd))
            w = np.exp(s - s.max(1, keepdims=True))
            w /= w.sum(1, keepdims=True)
            y = np.einsum("ht,htd->hd", w, V).reshape(1, c.d)
            x = x + y @ p[f"h{i}.proj.w"] + p[f"h{i}.proj.b"]
            m, _ = self._ln(x, p[f"h{i}.ln2.g"], p[f"h{i}.ln2.b"])
            x = x + self._mlp(m, i)[0]
        kv["pos"] = pos + 1
        h, _ = self._ln(x, p["lnf.g"], p["lnf.b"])
        return h[0] @ p["wte"].T

    def generate(
        self,
        ids: list[int],
        n: int,
        rng: np.random.Generator | None = None,
        temperature: float = 0.0,
        top_k: int = 0,
        top_p: float = 1.0,
        stop: int | None = None,
    ) -> tuple[list[int], list[float]]:
        """Up to ``n`` new tokens (stopping after ``stop``) and the model's own probability
        of each (softmax at T = 1, before any warp).

        The prompt is cut from the left to leave room for ``n`` tokens in the context.
        T = 0 is greedy; otherwise the engine.sampling warps choose the token.
        """
        rng = rng or np.random.default_rng(0)
        n = min(int(n), self.config.context - 1)
        logits, kv = self.start(list(ids)[-(self.config.context - n) :])
        out, probs = [], []
        for step in range(n):
            if temperature > 0:
                token = sampling.sample(sampling.warp(logits, temperature, top_k, top_p), rng)
            else:
                token = sampling.greedy(logits)
            out.append(token)
            probs.append(float(sampling.softmax(logits)[token]))
            if token == stop or step == n - 1:
                break
            logits = self.step(token, kv)
        return out, probs

    # -- saving ----------------------------------------------------------------------------------
    def save(self, path: str | Path, **meta) -> Path:
        record = {"model": MODEL, "version": VERSION, "config": asdict(self.config), **meta}
        return W.save(path, {"params": self.params.copy()}, record)

    @classmethod
    def load(cls, path: str | Path) -> tuple[Transformer, dict]:
        arrays, meta = W.load(path, MODEL, VERSION)
        config = W.model_config(meta, TransformerConfig, path)
        with W.building(path):
            model = cls(config)
        W.fill(model.params, arrays, "params", path)
        return model, meta


def make_optimizer(model: Transformer, lr: float = 3e-3, weight_decay: float = 0.0) -> Adam:
    """Adam over the flat buffer (betas 0.9/0.95 as in nanoGPT)."""
    return Adam(model.params, model.grads, lr=lr, betas=(0.9, 0.95), weight_decay=weight_decay)


def _warm_up() -> None:
    model = Transformer(TransformerConfig(vocab=8, context=4, d=8, heads=2, layers=1))
    ids = np.array([[1, 2, 3]], np.int32)
    model.loss_and_grad(ids, np.array([[2, 3, -1]], np.int32))
    model.generate([1, 2], 2)


register_warmup("transformer", _warm_up, needs=("nn", "sampling"))

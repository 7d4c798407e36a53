"""A tiny CLIP (Radford et al., 2021): sprites and their captions in one shared space.

Two encoders map a 16x16 sprite and a caption to unit vectors of the same size E; training
pulls each sprite towards the captions that describe it and pushes it away from the others
in the batch. Afterwards a sprite can be classified by captions alone ("zero-shot") and
found by typing a caption ("retrieval").

The algorithm box, one training step on N sprites and N captions::

    image encoder                                   text encoder
    p  = patchify(x)        (N*P, 3 k^2)            t  = emb[ids] + pos_txt[position]
    t  = p @ We + be + pos_img[patch]  (N*P, D)          (one row per word of every caption)
    h  = t + mlp_img(t)     per token, residual     h  = t + mlp_txt(t)
    pooled = mean of a sprite's P tokens  (N, D)    pooled = mean of a caption's tokens
    f  = pooled @ Wi        (N, E) projection       g  = pooled @ Wt
    u  = f / |f|            unit vectors            v  = g / |g|

    logits = exp(s) * u @ v.T     (N, N): cosine similarity times a learned scale exp(s)
    loss   = 1/2 [ CE over each row (image -> captions) + CE over each column (caption -> images) ]

P = (16 / k)^2 patches of k x k pixels (k = ``patch``, 4 by default: 16 tokens of 48 numbers);
mlp_* is D -> H (ReLU) -> D applied to every token on its own. The targets of the
cross-entropies come from the match matrix M (M[i, j] = 1 when caption j is true of
sprite i; engine.captions.match_matrix): row i's target is M[i] / sum(M[i]), column j's
is M[:, j] / sum(M[:, j]). With one full, distinct caption per sprite M is the identity
and this is exactly CLIP's symmetric loss; with partial captions ("a red heart") several
sprites in a batch fit one caption, and pushing them apart would teach a falsehood.

Backward, written out (no autograd)::

    dlogits = [(softmax_rows(logits) - T_rows) + (softmax_cols(logits) - T_cols)] / (2N)
    ds      = sum(dlogits * logits)                 (logits = exp(s) S, so d/ds = logits)
    du      = exp(s) dlogits @ v ;  dv = exp(s) dlogits.T @ u
    df      = (du - u (u . du)) / |f|               through the normalisation
    dWi     = pooled.T @ df ; dpooled = df @ Wi.T
    dh      = dpooled / P copied to each token ;  dt = dh + mlp.backward(dh)
    dpos_img = sum over sprites of dt ; dWe, dbe by the patch-embedding layer
    demb[ids] += dt ; dpos_txt[position] += dt      (scatter-add kernel)

Every parameter lives in one flat float32 buffer (as in engine.nn), so one fused Adam
step trains both encoders and the temperature. s starts at log(1/0.07) (CLIP's choice)
and is kept within [0, log 100] after each step, as in the paper. Matmuls go to BLAS;
the token lookup and its scatter-add, the segment means, the normalisation and the loss
are numba kernels (one pass each, no temporaries).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import captions as C
from . import images as imgs
from . import kernels as K
from . import nn, training, weights
from .runtime import kernel, register_warmup, twin_of

F32 = np.float32
WEIGHTS_VERSION = 1
MAX_SCALE = math.log(100.0)
EVAL_N, EVAL_SEED = 1000, 2026  # the fresh sprites of the figures

#: Zero-shot prompts per attribute ("{colour}" etc. filled with each class's first word).
ZERO_SHOT_TEMPLATES: dict[str, tuple[str, ...]] = {
    "colour": ("a {colour} shape", "something {colour}"),
    "shape": ("a {shape}", "there is a {shape}"),
    "position": ("a shape {where}", "something {where}"),
    "size": ("a {size} shape", "something {size}"),
}
#: The bars of issue 13 (zero-shot accuracy per attribute, top-1 retrieval hit rates).
BARS = {
    "colour": 0.97,
    "shape": 0.90,
    "position": 0.90,
    "size": 0.90,
    "retrieval_held_out_phrasings": 0.85,
    "retrieval_held_out_combinations": 0.70,
}


@dataclass(frozen=True)
class ClipConfig:
    patch: int = 4  # patch side in pixels (16 must be a multiple)
    width: int = 64  # D: token width of both encoders
    hidden: int = 128  # H: hidden units of the per-token MLPs
    embed: int = 32  # E: size of the shared space
    max_len: int = 16  # longest caption in words (longer ones are cut)
    temperature: float = 0.07
    lr: float = 3e-3
    batch: int = 128
    seed: int = 0
    train_n: int = 20000  # training sprites (held-out combinations excluded)
    captions: int = 64  # phrasings in the caption bank per training combination


# ---------------------------------------------------------------- fused kernels


@kernel
def embed_tokens(ids, positions, emb, pos, out):
    """out[k] = emb[ids[k]] + pos[positions[k]] for every token k of a packed batch."""
    for k in range(ids.shape[0]):
        a, b = ids[k], positions[k]
        for j in range(out.shape[1]):
            out[k, j] = emb[a, j] + pos[b, j]


@kernel
def embed_tokens_backward(ids, positions, dout, demb, dpos):
    """demb[ids[k]] += dout[k]; dpos[positions[k]] += dout[k] (both zeroed first)."""
    demb[:, :] = 0.0
    dpos[:, :] = 0.0
    for k in range(ids.shape[0]):
        a, b = ids[k], positions[k]
        for j in range(dout.shape[1]):
            demb[a, j] += dout[k, j]
            dpos[b, j] += dout[k, j]


@kernel
def segment_mean(h, offsets, out):
    """out[i] = mean of rows h[offsets[i]:offsets[i+1]] (each segment non-empty)."""
    d = h.shape[1]
    for i in range(offsets.shape[0] - 1):
        a, b = offsets[i], offsets[i + 1]
        for j in range(d):
            out[i, j] = 0.0
        for k in range(a, b):
            for j in range(d):
                out[i, j] += h[k, j]
        inv = np.float32(1.0 / (b - a))
        for j in range(d):
            out[i, j] *= inv


@kernel
def segment_mean_backward(dout, offsets, dh):
    """dh[k] = dout[i] / len(segment i) for every row k of segment i."""
    for i in range(offsets.shape[0] - 1):
        a, b = offsets[i], offsets[i + 1]
        inv = np.float32(1.0 / (b - a))
        for k in range(a, b):
            for j in range(dh.shape[1]):
                dh[k, j] = dout[i, j] * inv


@kernel
def l2_normalise(f, u, norms):
    """u[i] = f[i] / |f[i]|; norms[i] = |f[i]| (floored at 1e-12)."""
    for i in range(f.shape[0]):
        s = 0.0
        for j in range(f.shape[1]):
            s += float(f[i, j]) * float(f[i, j])
        r = max(math.sqrt(s), 1e-12)
        norms[i] = r
        for j in range(f.shape[1]):
            u[i, j] = f[i, j] / r


@kernel
def l2_normalise_backward(u, norms, du, df):
    """df = (du - u (u . du)) / |f|, the gradient through u = f / |f|."""
    for i in range(u.shape[0]):
        dot = 0.0
        for j in range(u.shape[1]):
            dot += float(u[i, j]) * float(du[i, j])
        for j in range(u.shape[1]):
            df[i, j] = (du[i, j] - u[i, j] * dot) / norms[i]


@kernel
def contrastive_loss(logits, match, grad):
    """Symmetric cross-entropy of an (N, N) logit matrix with soft targets from ``match``.

    Row i's target is match[i] / sum(match[i]) (image -> captions), column j's is
    match[:, j] / sum(match[:, j]) (caption -> images); returns the mean of the two mean
    losses and writes d(loss)/d(logits) into ``grad``. Every row and column needs a match.
    """
    n, m = logits.shape
    grad[:, :] = 0.0
    total_rows = 0.0
    for i in range(n):
        mx = logits[i, 0]
        for j in range(m):
            mx = max(mx, logits[i, j])
        z = 0.0
        t = 0.0
        for j in range(m):
            z += math.exp(logits[i, j] - mx)
            t += match[i, j]
        logz = math.log(z) + mx
        for j in range(m):
            target = match[i, j] / t
            total_rows -= target * (logits[i, j] - logz)
            grad[i, j] += (math.exp(logits[i, j] - logz) - target) / (2.0 * n)
    total_cols = 0.0
    for j in range(m):
        mx = logits[0, j]
        for i in range(n):
            mx = max(mx, logits[i, j])
        z = 0.0
        t = 0.0
        for i in range(n):
            z += math.exp(logits[i, j] - mx)
            t += match[i, j]
        logz = math.log(z) + mx
        for i in range(n):
            target = match[i, j] / t
            total_cols -= target * (logits[i, j] - logz)
            grad[i, j] += (math.exp(logits[i, j] - logz) - target) / (2.0 * m)
    return 0.5 * (total_rows / n + total_cols / m)


# Numpy twins: what runs while the kernels' compile is deferred (engine/runtime.py). The
# interpreted loops ran the lab's first training steps at about one a second.


@twin_of(embed_tokens)
def _embed_tokens_numpy(ids, positions, emb, pos, out):
    out[:] = emb[ids] + pos[positions]


@twin_of(embed_tokens_backward)
def _embed_tokens_backward_numpy(ids, positions, dout, demb, dpos):
    demb[:, :] = 0.0
    dpos[:, :] = 0.0
    np.add.at(demb, ids, dout)
    np.add.at(dpos, positions, dout)


@twin_of(segment_mean)
def _segment_mean_numpy(h, offsets, out):
    counts = np.diff(offsets)
    out[:] = np.add.reduceat(h[: offsets[-1]], offsets[:-1], axis=0)
    out *= (1.0 / counts).astype(np.float32)[:, None]


@twin_of(segment_mean_backward)
def _segment_mean_backward_numpy(dout, offsets, dh):
    counts = np.diff(offsets)
    scaled = dout * (1.0 / counts).astype(np.float32)[:, None]
    dh[offsets[0] : offsets[-1]] = np.repeat(scaled, counts, axis=0)


@twin_of(l2_normalise)
def _l2_normalise_numpy(f, u, norms):
    r = np.maximum(np.sqrt(np.square(f, dtype=np.float64).sum(axis=1)), 1e-12)
    norms[:] = r
    u[:] = f / r[:, None]


@twin_of(l2_normalise_backward)
def _l2_normalise_backward_numpy(u, norms, du, df):
    dot = (u.astype(np.float64) * du).sum(axis=1)
    df[:] = (du - u * dot[:, None]) / norms[:, None]


@twin_of(contrastive_loss)
def _contrastive_loss_numpy(logits, match, grad):
    x, w = logits.astype(np.float64), match.astype(np.float64)
    n, m = x.shape
    total, g = 0.0, np.zeros_like(x)
    for axis, size in ((1, n), (0, m)):  # rows (image -> captions), then columns
        top = x.max(axis=axis, keepdims=True)
        log_p = x - (np.log(np.exp(x - top).sum(axis=axis, keepdims=True)) + top)
        target = w / w.sum(axis=axis, keepdims=True)
        total -= (target * log_p).sum() / size
        g += (np.exp(log_p) - target) / (2.0 * size)
    grad[:] = g
    return 0.5 * total


# ------------------------------------------------------------------ helpers


def patchify(images: np.ndarray, patch: int) -> np.ndarray:
    """(N, S, S, c) images -> (N * P, patch * patch * c) patch rows.

    Patches in reading order (left to right, top to bottom); each patch flattened row by
    row, pixel by pixel, channel by channel.
    """
    x = np.asarray(images, F32)
    n, s, _, c = x.shape
    if s % patch:
        raise ValueError(f"patch size {patch} does not divide the image size {s}")
    g = s // patch
    x = x.reshape(n, g, patch, g, patch, c).transpose(0, 1, 3, 2, 4, 5)
    return np.ascontiguousarray(x.reshape(n * g * g, patch * patch * c))


def _residual_backward(mlp: nn.MLP, dh: np.ndarray) -> np.ndarray:
    """dL/dt of h = t + mlp(t): the skip path plus the MLP's own input gradient."""
    dx = mlp.backward(dh)
    if dx is None:
        raise RuntimeError("the token MLP returned no input gradient")
    return dh + dx


def sprite_attributes(s: imgs.SpriteSet) -> np.ndarray:
    """(N, 4) int64 attribute ids (shape, colour, position, size) of a sprite set."""
    return np.stack([s.shape, s.colour, s.position, s.size], axis=1).astype(np.int64)


def training_sprites(n: int, seed: int) -> imgs.SpriteSet:
    """``n`` sprites with uniformly drawn training combinations (no held-out pair)."""
    rng = np.random.default_rng(seed)
    combos = C.training_combinations()
    pick = combos[rng.integers(0, len(combos), int(n))]
    return imgs.sprites_with(pick[:, 0], pick[:, 1], pick[:, 2], pick[:, 3], seed=seed + 1)


# ------------------------------------------------------------------------ model


class CLIP:
    def __init__(self, config: ClipConfig = ClipConfig()):
        if imgs.SIZE % config.patch:
            raise ValueError(f"patch must divide {imgs.SIZE} (2, 4, 8 or 16)")
        self.config = cfg = config
        D, H, E = cfg.width, cfg.hidden, cfg.embed
        self.n_patches = (imgs.SIZE // cfg.patch) ** 2
        self.patch_dim = cfg.patch * cfg.patch * 3
        self.patch_embed = nn.MLP([self.patch_dim, D], out_activation="identity", seed=cfg.seed)
        self.img_mlp = nn.MLP([D, H, D], activation="relu", seed=cfg.seed + 1)
        self.txt_mlp = nn.MLP([D, H, D], activation="relu", seed=cfg.seed + 2)
        mlps = (self.patch_embed, self.img_mlp, self.txt_mlp)
        shapes = {
            "img_pos": (self.n_patches, D),
            "img_proj": (D, E),
            "tok_emb": (len(C.VOCAB), D),
            "txt_pos": (cfg.max_len, D),
            "txt_proj": (D, E),
            "logit_scale": (1,),
        }
        n_mlp = sum(m.n_params for m in mlps)
        total = n_mlp + sum(int(np.prod(s)) for s in shapes.values())
        self.params, self.grads = np.zeros(total, F32), np.zeros(total, F32)
        offset = 0
        for m in mlps:  # keep each MLP's seeded init
            end = offset + m.n_params
            self.params[offset:end] = m.params
            m.bind(self.params[offset:end], self.grads[offset:end])
            offset = end
        self.p: dict[str, np.ndarray] = {}
        self.g: dict[str, np.ndarray] = {}
        for name, shape in shapes.items():
            end = offset + int(np.prod(shape))
            self.p[name] = self.params[offset:end].reshape(shape)
            self.g[name] = self.grads[offset:end].reshape(shape)
            offset = end
        rng = np.random.default_rng(cfg.seed + 3)
        self.p["img_pos"][...] = rng.normal(0, 0.1, (self.n_patches, D))
        self.p["tok_emb"][...] = rng.normal(0, 1.0, (len(C.VOCAB), D))
        self.p["txt_pos"][...] = rng.normal(0, 0.1, (cfg.max_len, D))
        self.p["img_proj"][...] = rng.normal(0, 1 / math.sqrt(D), (D, E))
        self.p["txt_proj"][...] = rng.normal(0, 1 / math.sqrt(D), (D, E))
        self.p["logit_scale"][0] = math.log(1.0 / cfg.temperature)
        self.opt = nn.Adam(self.params, self.grads, lr=cfg.lr)
        self.rng = np.random.default_rng(cfg.seed + 4)
        self.steps = 0
        self.batch = cfg.batch
        self.fixed_scale: float | None = None  # set_temperature(t) holds s = log(1/t)
        self.history: dict[str, list[float]] = {"loss": [], "temperature": []}
        self._data: tuple | None = None
        self._img_cache: tuple[Any, ...] = ()  # what the image backward needs
        self._txt_cache: tuple[Any, ...] = ()  # what the text backward needs

    # -- the two encoders, forward ---------------------------------------------------
    def _image_forward(self, images: np.ndarray) -> np.ndarray:
        n, P = len(images), self.n_patches
        t = self.patch_embed.forward(patchify(images, self.config.patch))
        t = (t.reshape(n, P, -1) + self.p["img_pos"]).reshape(n * P, -1)
        h = t + self.img_mlp.forward(t)
        offsets = np.arange(0, n * P + 1, P, dtype=np.int64)
        pooled = np.empty((n, self.config.width), F32)
        segment_mean(h, offsets, pooled)
        f = pooled @ self.p["img_proj"]
        u, norms = np.empty_like(f), np.empty(n, F32)
        l2_normalise(f, u, norms)
        self._img_cache = (n, offsets, pooled, u, norms)
        return u

    def _text_forward(self, ids: np.ndarray, positions: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        n = len(offsets) - 1
        t = np.empty((len(ids), self.config.width), F32)
        embed_tokens(ids, positions, self.p["tok_emb"], self.p["txt_pos"], t)
        h = t + self.txt_mlp.forward(t)
        pooled = np.empty((n, self.config.width), F32)
        segment_mean(h, offsets, pooled)
        g = pooled @ self.p["txt_proj"]
        v, norms = np.empty_like(g), np.empty(n, F32)
        l2_normalise(g, v, norms)
        self._txt_cache = (ids, positions, offsets, pooled, v, norms)
        return v

    # -- backward ----------------------------------------------------------------------
    def _image_backward(self, du: np.ndarray) -> None:
        n, offsets, pooled, u, norms = self._img_cache
        df = np.empty_like(du)
        l2_normalise_backward(u, norms, du, df)
        np.matmul(pooled.T, df, out=self.g["img_proj"])
        dh = np.empty((n * self.n_patches, self.config.width), F32)
        segment_mean_backward(df @ self.p["img_proj"].T, offsets, dh)
        dt = _residual_backward(self.img_mlp, dh)
        self.g["img_pos"][...] = dt.reshape(n, self.n_patches, -1).sum(axis=0)
        self.patch_embed.backward(dt, input_grad=False)

    def _text_backward(self, dv: np.ndarray) -> None:
        ids, positions, offsets, pooled, v, norms = self._txt_cache
        dg = np.empty_like(dv)
        l2_normalise_backward(v, norms, dv, dg)
        np.matmul(pooled.T, dg, out=self.g["txt_proj"])
        dh = np.empty((len(ids), self.config.width), F32)
        segment_mean_backward(dg @ self.p["txt_proj"].T, offsets, dh)
        dt = _residual_backward(self.txt_mlp, dh)
        embed_tokens_backward(ids, positions, dt, self.g["tok_emb"], self.g["txt_pos"])

    def loss(
        self,
        images: np.ndarray,
        ids: np.ndarray,
        positions: np.ndarray,
        offsets: np.ndarray,
        match: np.ndarray,
        backward: bool = True,
    ) -> dict:
        """Contrastive loss of N sprites against N packed captions; fills ``grads``."""
        u = self._image_forward(images)
        v = self._text_forward(ids, positions, offsets)
        scale = F32(math.exp(float(self.p["logit_scale"][0])))
        sim = u @ v.T
        logits = scale * sim
        dlogits = np.empty_like(logits)
        value = contrastive_loss(logits, np.ascontiguousarray(match, F32), dlogits)
        if backward:
            self.g["logit_scale"][0] = float(np.sum(dlogits * logits))
            dsim = scale * dlogits
            self._image_backward(dsim @ v)
            self._text_backward(dsim.T @ u)
        return {"loss": float(value), "logits": logits}

    # -- training ------------------------------------------------------------------------
    def _training_data(self) -> tuple:
        """The training sprites and a bank of ``config.captions`` phrasings per combination."""
        if self._data is None:
            cfg = self.config
            sprites = training_sprites(cfg.train_n, cfg.seed + 100)
            attrs = sprite_attributes(sprites)
            combos = C.training_combinations()
            index = {tuple(c): i for i, c in enumerate(combos)}
            combo_of = np.array([index[tuple(a)] for a in attrs], np.int64)
            rng = np.random.default_rng(cfg.seed + 200)
            texts, slots = C.random_captions(np.repeat(combos, cfg.captions, axis=0), rng)
            bank_ids = np.zeros((len(texts), cfg.max_len), np.int64)
            bank_len = np.zeros(len(texts), np.int64)
            for i, text in enumerate(texts):
                tokens = C.tokenize(text)[: cfg.max_len]
                bank_ids[i, : len(tokens)], bank_len[i] = tokens, len(tokens)
            self._data = (np.ascontiguousarray(sprites.images), attrs, combo_of, bank_ids, bank_len, slots)
        return self._data

    def sample_batch(self, n: int | None = None) -> tuple:
        """A random training batch: (images, ids, positions, offsets, match, texts' slots)."""
        images, attrs, combo_of, bank_ids, bank_len, slots = self._training_data()
        n = self.batch if n is None else int(n)
        idx = self.rng.integers(0, len(images), n)
        per = self.config.captions
        rows = combo_of[idx] * per + self.rng.integers(0, per, n)
        lens = bank_len[rows]
        mask = np.arange(self.config.max_len)[None, :] < lens[:, None]
        ids = bank_ids[rows][mask]
        positions = np.broadcast_to(np.arange(self.config.max_len), mask.shape)[mask]
        offsets = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
        match = C.match_matrix(attrs[idx], slots[rows])
        return images[idx], ids, np.ascontiguousarray(positions), offsets, match, slots[rows]

    def step(self) -> dict:
        images, ids, positions, offsets, match, _ = self.sample_batch()
        out = self.loss(images, ids, positions, offsets, match)
        self.opt.step()
        if self.fixed_scale is not None:
            self.p["logit_scale"][0] = self.fixed_scale
        np.clip(self.p["logit_scale"], 0.0, MAX_SCALE, out=self.p["logit_scale"])
        self.steps += 1
        return out

    def train(self, n: int) -> dict:
        """``n`` Adam steps; returns the mean loss, the temperature and the step count."""
        total = 0.0
        for _ in range(int(n)):
            total += self.step()["loss"]
        out = {"loss": total / max(int(n), 1), "temperature": self.temperature, "steps": self.steps}
        if not K.all_finite(self.params):
            out["diverged"] = True
        self.history["loss"].append(out["loss"])
        self.history["temperature"].append(out["temperature"])
        return out

    @property
    def temperature(self) -> float:
        """1 / exp(s): the softmax temperature of the similarity matrix."""
        return float(math.exp(-float(self.p["logit_scale"][0])))

    def set_lr(self, lr: float) -> None:
        self.opt.lr = float(lr)

    def set_temperature(self, temperature: float | None) -> None:
        """Hold the temperature at a value (the lab's knob), or None to learn it again."""
        if temperature is None:
            self.fixed_scale = None
            return
        if not 0.01 <= temperature <= 1.0:
            raise ValueError("temperature must lie in [0.01, 1]")
        self.fixed_scale = math.log(1.0 / temperature)
        self.p["logit_scale"][0] = self.fixed_scale

    def set_batch(self, n: int) -> None:
        """Captions and sprites per step: N x N similarities, N - 1 negatives for each."""
        if n < 2:
            raise ValueError("a contrastive batch needs at least 2 pairs")
        self.batch = int(n)

    def rank_texts(self, image: np.ndarray, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(indices, cosines) of ``texts`` sorted by similarity to one sprite, best first."""
        cos = self.encode_texts(texts) @ self.encode_images(np.asarray(image)[None])[0]
        order = np.argsort(-cos, kind="stable")
        return order, cos[order]

    # -- using the model ---------------------------------------------------------------
    def encode_images(self, images: np.ndarray, chunk: int = 512) -> np.ndarray:
        """Unit embeddings (N, E) of sprites (N, 16, 16, 3)."""
        x = np.asarray(images, F32).reshape(-1, imgs.SIZE, imgs.SIZE, 3)
        if len(x) == 0:
            return np.zeros((0, self.config.embed), F32)
        return np.concatenate([self._image_forward(x[s : s + chunk]).copy() for s in range(0, len(x), chunk)])

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        """Unit embeddings (N, E) of captions (ValueError for a text with no known word)."""
        ids, positions, offsets = C.encode(list(texts), self.config.max_len)
        return self._text_forward(ids, positions, offsets).copy()

    def clip_score(self, images: np.ndarray, texts: list[str]) -> np.ndarray:
        """CLIPScore-lite of each (image, caption) pair, row for row: 100 · max(cos, 0).

        CLIPScore (Hessel et al., 2021) rates how well a picture fits a caption with no
        reference picture: the clipped cosine of their CLIP embeddings, times a constant
        (2.5 in the paper, 100 in torchmetrics; we use 100, so 0..100). "Lite": this
        tiny sprite CLIP stands in for ViT-B/32, so numbers compare only with each other.
        """
        u, v = self.encode_images(images), self.encode_texts(list(texts))
        if len(u) != len(v):
            raise ValueError(f"{len(u)} images but {len(v)} captions; pair them row for row")
        return 100.0 * np.maximum(np.sum(u * v, axis=1), 0.0)

    def search(self, text: str, images: np.ndarray, n: int = 5) -> tuple[np.ndarray, np.ndarray]:
        """(indices, cosines) of the ``n`` sprites most similar to ``text``, best first."""
        cos = self.encode_images(images) @ self.encode_texts([text])[0]
        top = np.argsort(-cos, kind="stable")[: int(n)]
        return top, cos[top]

    def zero_shot(
        self, images: np.ndarray, attrs: np.ndarray, templates: dict[str, tuple[str, ...]] | None = None
    ) -> dict:
        """Classify each attribute by the most similar prompt; accuracy per template.

        ``templates`` maps an attribute to prompt templates with its slot ("{colour}"
        etc.); the attribute's accuracy is that of the first template.
        """
        chosen: dict[str, tuple[str, ...]] = dict(ZERO_SHOT_TEMPLATES) if templates is None else templates
        u = self.encode_images(images)
        attrs = np.asarray(attrs, np.int64)
        out: dict[str, dict] = {}
        for name, temps in chosen.items():
            k = C.ATTRIBUTES.index(name)
            per = {}
            for template in temps:
                pred = np.argmax(u @ self.class_prompts(name, template).T, axis=1)
                per[template] = float(np.mean(pred == attrs[:, k]))
            out[name] = {"accuracy": per[temps[0]], "per_template": per}
        return out

    def class_prompts(self, attribute: str, template: str) -> np.ndarray:
        """Unit text embeddings of ``template`` filled with each class of ``attribute``."""
        names = {
            "shape": imgs.SHAPES,
            "colour": imgs.COLOURS,
            "position": imgs.POSITIONS,
            "size": imgs.SIZES,
        }[attribute]
        slot = "where" if attribute == "position" else attribute
        if "{" + slot + "}" not in template:
            raise ValueError(f"the template {template!r} has no {{{slot}}} slot")
        texts = []
        for i in range(len(names)):
            v = [0, 0, 0, 0]
            v[C.ATTRIBUTES.index(attribute)] = i
            texts.append(C.describe(v[0], v[1], v[2], v[3], template)[0])
        return self.encode_texts(texts)

    def retrieval(
        self, images: np.ndarray, attrs: np.ndarray, texts: list[str], query_attrs: np.ndarray
    ) -> float:
        """Share of queries whose top-1 sprite has all four attributes of the query."""
        sims = self.encode_texts(texts) @ self.encode_images(images).T
        best = np.asarray(attrs)[np.argmax(sims, axis=1)]
        return float(np.mean(np.all(best == np.asarray(query_attrs), axis=1)))

    def patch_similarity(self, image: np.ndarray, texts: list[str]) -> np.ndarray:
        """(P, len(texts)) cosines between each patch token of one sprite and each text.

        A patch token is taken after the token MLP and sent through the image projection
        on its own (as if the sprite were that one patch), so it lands in the shared
        space; the lab shows which caption word each patch is closest to.
        """
        t = self.patch_embed.forward(patchify(np.asarray(image, F32)[None], self.config.patch))
        t = t + self.p["img_pos"]
        h = t + self.img_mlp.forward(np.ascontiguousarray(t))
        f = h @ self.p["img_proj"]
        u = f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)
        return u @ self.encode_texts(texts).T

    def modality_gap(self, images: np.ndarray, texts: list[str], match: np.ndarray) -> dict:
        """Mean cosine of matching and of mismatched (image, caption) pairs, and the gap.

        ``match`` (N_images, N_texts) marks which caption is true of which image. Also the
        distance between the centres of the two clouds (Liang et al., 2022, "Mind the
        gap": the image and text embeddings of a CLIP sit in two separate cones).
        """
        u, v = self.encode_images(images), self.encode_texts(texts)
        cos = u @ v.T
        match = np.asarray(match, bool)
        return {
            "matching": float(cos[match].mean()),
            "mismatched": float(cos[~match].mean()) if (~match).any() else float("nan"),
            "centre_distance": float(np.linalg.norm(u.mean(0) - v.mean(0))),
        }

    # -- weights ----------------------------------------------------------------------
    def save(self, path: str | Path, extra: dict | None = None) -> Path:
        meta = {
            "model": "clip",
            "version": WEIGHTS_VERSION,
            "config": asdict(self.config),
            "vocab": list(C.VOCAB),
            "steps": self.steps,
            **(extra or {}),
        }
        return weights.save(path, {"params": self.params}, meta)

    @classmethod
    def load(cls, path: str | Path) -> CLIP:
        arrays, meta = weights.load(path, "clip", WEIGHTS_VERSION)
        if meta.get("vocab") != list(C.VOCAB):
            raise weights.WeightsError(
                f"{Path(path).name} was trained with another "
                "vocabulary (retrain with 'genai-tutor train clip')"
            )
        config = weights.model_config(meta, ClipConfig, path)
        with weights.building(path):
            model = cls(config)
        weights.fill(model.params, arrays, "params", path)
        model.steps = int(meta.get("steps", 0))
        return model


def pretrained_path() -> Path:
    return weights.default_dir() / "clip_sprites.npz"


def pretrained() -> CLIP:
    """The shipped model (raises weights.WeightsError with a plain message if missing)."""
    return CLIP.load(pretrained_path())


def project_2d(*clouds: np.ndarray) -> list[np.ndarray]:
    """Project point clouds (each (N_k, E)) onto the top two principal axes of their union.

    Deterministic: each axis's sign is chosen so its largest coefficient is positive.
    """
    both = np.concatenate([np.asarray(c, np.float64) for c in clouds])
    centre = both.mean(axis=0)
    _, _, vt = np.linalg.svd(both - centre, full_matrices=False)
    axes = vt[:2]
    axes *= np.sign(axes[np.arange(len(axes)), np.argmax(np.abs(axes), axis=1)])[:, None]
    return [(np.asarray(c, np.float64) - centre) @ axes.T for c in clouds]


def display_batch(n: int = 8, seed: int = 0) -> tuple[imgs.SpriteSet, list[str]]:
    """``n`` sprites of ``n`` different training combinations and their full captions.

    For the lab's similarity matrix: with distinct combinations each caption is true of
    exactly one sprite, so a trained model's matrix should light up on the diagonal.
    """
    rng = np.random.default_rng(seed)
    combos = C.training_combinations()
    pick = combos[rng.choice(len(combos), int(n), replace=False)]
    sprites = imgs.sprites_with(pick[:, 0], pick[:, 1], pick[:, 2], pick[:, 3], seed=seed)
    return sprites, [C.describe(a[0], a[1], a[2], a[3], C.TRAIN_TEMPLATES[0])[0] for a in pick]


def image_tokens(image_side: int, patch: int) -> int:
    """How many patch tokens a square image of ``image_side`` pixels becomes."""
    if image_side < 1 or patch < 1 or patch > image_side:
        raise ValueError("need 1 <= patch <= image side")
    return (image_side // patch) ** 2


# ------------------------------------------------------------------ the figures


def evaluation_set(n: int = EVAL_N, seed: int = EVAL_SEED) -> dict:
    """Fresh sprites and the retrieval queries of the figures, deterministic.

    Queries use only :data:`captions.HELD_OUT_TEMPLATES` (phrasings never trained on):
    one per training combination present among the sprites, and one per held-out
    template for each held-out combination present (those never appeared in training
    in any phrasing).
    """
    sprites = imgs.sprites(n, seed)
    attrs = sprite_attributes(sprites)
    rng = np.random.default_rng(seed + 1)
    present = np.unique(attrs, axis=0)
    held = C.is_held_out(present)
    phr_attrs = present[~held]
    templates = C.HELD_OUT_TEMPLATES
    phr_texts = [
        C.describe(a[0], a[1], a[2], a[3], templates[i % len(templates)], rng)[0]
        for i, a in enumerate(phr_attrs)
    ]
    combo_attrs = np.repeat(present[held], len(C.HELD_OUT_TEMPLATES), axis=0)
    combo_texts = [
        C.describe(a[0], a[1], a[2], a[3], templates[i % len(templates)], rng)[0]
        for i, a in enumerate(combo_attrs)
    ]
    return {
        "images": sprites.images,
        "attrs": attrs,
        "phrasings": (phr_texts, phr_attrs),
        "combinations": (combo_texts, combo_attrs),
    }


def evaluate(model: CLIP, data: dict | None = None) -> dict:
    """The issue's figures: zero-shot accuracy per attribute, retrieval hit rates."""
    data = evaluation_set() if data is None else data
    zs = model.zero_shot(data["images"], data["attrs"])
    out = {name: zs[name]["accuracy"] for name in zs}
    out["retrieval_held_out_phrasings"] = model.retrieval(data["images"], data["attrs"], *data["phrasings"])
    out["retrieval_held_out_combinations"] = model.retrieval(
        data["images"], data["attrs"], *data["combinations"]
    )
    out["queries"] = {"phrasings": len(data["phrasings"][0]), "combinations": len(data["combinations"][0])}
    out["zero_shot_per_template"] = {name: zs[name]["per_template"] for name in zs}
    return out


def meets_bars(figures: dict) -> bool:
    return all(figures[k] >= v for k, v in BARS.items())


#: The shipped weights: ``genai-tutor train clip --seed 0`` (it saves under the data folder;
#: content/weights/clip_sprites.npz is a copy of that file).
RECIPE_STEPS = 3000


def train_headless(
    out: str | Path,
    steps: int = RECIPE_STEPS,
    seed: int = 0,
    progress=None,
    chunk: int = 100,
    config: ClipConfig | None = None,
) -> dict:
    """Train from scratch, save the weights to ``out``, return a JSON-ready summary.

    ``out`` has no default: the caller decides (the CLI: the learner's data folder), so
    nothing writes into the package by accident."""
    cfg = ClipConfig(seed=seed) if config is None else config
    model = CLIP(cfg)
    model._training_data()
    chunks, seconds = training.in_chunks(model.train, steps, progress, chunk)
    last: dict = chunks[-1] if chunks else {}
    figures = evaluate(model)
    path = Path(out)
    scalars = {k: v for k, v in figures.items() if isinstance(v, float)}
    model.save(path, extra={"figures": scalars})
    return {
        "steps": steps,
        "seed": seed,
        "seconds": round(seconds, 2),
        "loss": last.get("loss"),
        "temperature": model.temperature,
        **scalars,
        "meets_bars": meets_bars(figures),
        "out": str(path),
    }


def _warm_up() -> None:
    K.warm_up_activations("relu")
    ids = np.zeros(3, np.int64)
    offsets = np.array([0, 1, 3], np.int64)
    t = np.empty((3, 2), F32)
    embed_tokens(ids, ids, np.ones((2, 2), F32), np.ones((2, 2), F32), t)
    embed_tokens_backward(ids, ids, t, np.empty((2, 2), F32), np.empty((2, 2), F32))
    pooled = np.empty((2, 2), F32)
    segment_mean(t, offsets, pooled)
    segment_mean_backward(pooled, offsets, t)
    u, norms = np.empty_like(pooled), np.empty(2, F32)
    l2_normalise(pooled + 1, u, norms)
    l2_normalise_backward(u, norms, u, np.empty_like(u))
    contrastive_loss(pooled, np.eye(2, dtype=F32), np.empty_like(pooled))


register_warmup("clip", _warm_up, needs=("nn", "images"))

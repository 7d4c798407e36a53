"""Denoising diffusion (DDPM training, DDPM and DDIM sampling) with an MLP denoiser.

The algorithm box, top to bottom:

1. **Schedule.** β_1..β_T (linear 1e-4 -> 0.02 over T = 1000 as in DDPM, or the cosine
   schedule of Nichol & Dhariwal 2021); α_t = 1 - β_t; ᾱ_t = Π_{s<=t} α_s; ᾱ_0 = 1.
2. **Forward process (closed form).** x_t = √ᾱ_t · x_0 + √(1 - ᾱ_t) · ε,  ε ~ N(0, I).
3. **Denoiser.** ε̂ = √(1-ᾱ_t)·x_t + net([x_t, emb(t)]): an MLP over the flattened data
   (2 numbers for a point, 64 for an 8x8 digit, 768 for a 16x16x3 sprite) concatenated
   with a sinusoidal embedding of t (sin/cos of t at geometric frequencies, as in the
   Transformer). The first term is the best *linear* guess of ε for unit-variance data
   (and nearly all of ε when t is large); the network only learns the correction.
   Without it a hidden layer narrower than the image (512 < 768) cannot even copy
   x_t through, and the loss stalls.
   **Fourier features** (optional, ``config.fourier = F``): each input coordinate u also
   enters as [sin(f_k u), cos(f_k u)] for F frequencies f_k = fourier_scale · 2^k
   (Tancik et al. 2020). A small MLP on raw (x, y) can only draw smooth, blurry
   shapes; the high frequencies let it bend sharply (a spiral's arms), for a slightly
   wider first layer.
4. **Training step.** pick x_0 from the data, t uniform in 1..T, ε; minimise
   ‖ε̂ - ε‖² (mean over elements; the net regresses ε - √(1-ᾱ_t)·x_t); Adam; an exponential moving
   average (EMA) of the weights is what samples.
5. **Sampling.** start at x_T ~ N(0, I) and walk down a decreasing list of timesteps
   t -> s (all T of them, or a strided subset). At each step
       x̂_0 = (x_t - √(1-ᾱ_t) ε̂) / √ᾱ_t                 (the model's current guess)
       σ   = η · √((1-ᾱ_s)/(1-ᾱ_t)) · √(1 - ᾱ_t/ᾱ_s)
       x_s = √ᾱ_s x̂_0 + √(1 - ᾱ_s - σ²) · ε̂' + σ z
   (Song et al. 2020, eq. 12). η = 0 is DDIM (deterministic); η = 1 with s = t - 1 is
   exactly DDPM's ancestral step with the posterior variance β̃_t, and on a strided subset
   it is the usual "DDPM with fewer steps". ε̂' is ε̂ recomputed after x̂_0 is clipped to the
   data range, which keeps few-step samples inside the picture's colours.
6. **Conditioning and classifier-free guidance** (optional; Ho & Salimans 2022). A model
   with ``config.cond = (n_1, n_2, ...)`` is told what to draw: each training image has
   one id per attribute (for sprites: shape, colour, position, size), written as the
   concatenated one-hot vector c and appended to the net's input, [x_t, emb(t), c].
   With probability ``p_uncond`` a training row gets the null vector c = 0 instead, so
   the same net also learns the unconditional ε̂(x_t, t, ∅). Sampling mixes the two:
       ε̂ = ε̂(x_t, t, ∅) + s · (ε̂(x_t, t, c) - ε̂(x_t, t, ∅))
   s = 0 is the unconditional model, s = 1 the plain conditional one, s > 1 pushes the
   sample further towards "looks like c" (sharper, less varied). Without given labels the
   sampler draws each attribute uniformly from the seed, so ``sample(n, seed=...)``
   still needs nothing but a seed.
   **Any condition vector** (``config.cond_vec = E``): instead of one-hots the net can read
   an E-wide vector per training row from a callable ``conditions(rows)`` (engine's
   text-to-image model: a frozen text encoder's embedding of a random caption of the
   row's image). A vector has no natural "empty" value, so the null condition ∅ is
   then a **learned** vector n (``config.learned_null``, as in DALL·E 2 and Imagen):
   dropped rows read n, and n is trained by the gradient the net sends back to its
   input, dL/dn = Σ over dropped rows of dL/d(input)[row, cond columns].

Noise comes from a small counter-based generator inside the kernels (splitmix64 +
Box-Muller), so a seed fixes every number whichever thread runs the model.
Matmuls go to BLAS through engine.nn; batch assembly, the update and the EMA are fused
numba kernels.
"""

from __future__ import annotations

import copy
import functools
import itertools
import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np
from numba import prange

from . import kernels as K
from . import runtime, training
from .nn import MLP, Adam
from .runtime import kernel, parallel_kernel, register_warmup

F32 = np.float32
U64 = np.uint64
VERSION = 1

_GOLDEN, _MIX1, _MIX2 = U64(0x9E3779B97F4A7C15), U64(0xBF58476D1CE4E5B9), U64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = U64(30), U64(27), U64(31), U64(11)
_TWO_PI = 2.0 * math.pi


# ------------------------------------------------------------------------ 1. schedule


class Schedule:
    """β_t, α_t, ᾱ_t for t = 0..T (index 0 is the clean data: β_0 = 0, ᾱ_0 = 1)."""

    KINDS = ("linear", "cosine")

    def __init__(
        self,
        kind: str = "linear",
        T: int = 1000,
        beta_start: float = 1e-4,
        beta_end: float = 0.02,
        cosine_s: float = 0.008,
    ):
        if kind not in self.KINDS:
            raise ValueError(f"unknown schedule {kind!r}; choose from {', '.join(self.KINDS)}")
        self.kind, self.T = kind, int(T)
        t = np.arange(self.T + 1, dtype=np.float64)
        if kind == "linear":
            betas = np.concatenate([[0.0], np.linspace(beta_start, beta_end, self.T)])
            alpha_bar = np.cumprod(1.0 - betas)
        else:  # ᾱ(t) = f(t)/f(0), f(t) = cos²((t/T + s)/(1 + s) · π/2); β capped at 0.999
            f = np.cos((t / self.T + cosine_s) / (1 + cosine_s) * np.pi / 2) ** 2
            ratio = f[1:] / f[:-1]
            betas = np.concatenate([[0.0], np.minimum(1.0 - ratio, 0.999)])
            alpha_bar = np.cumprod(1.0 - betas)
        self.betas = betas  # float64, (T+1,)
        self.alphas = 1.0 - betas
        self.alpha_bar = alpha_bar
        self.sqrt_ab = np.sqrt(alpha_bar).astype(F32)
        self.sqrt_1mab = np.sqrt(1.0 - alpha_bar).astype(F32)

    def timesteps(self, steps: int) -> np.ndarray:
        """``steps`` distinct timesteps from T down to 1 (evenly spaced), as int64."""
        steps = max(1, min(int(steps), self.T))
        ts = np.unique(np.round(np.linspace(self.T, 1, steps)).astype(np.int64))[::-1]
        return np.ascontiguousarray(ts)


def timestep_embedding_freqs(dim: int) -> np.ndarray:
    """dim/2 frequencies 10000^(-k/(dim/2)); emb(t) = [sin(t f_k), cos(t f_k)]."""
    half = dim // 2
    return np.exp(-math.log(10000.0) * np.arange(half) / half).astype(np.float64)


# ------------------------------------------------------------------ 2. fused kernels


@kernel
def _mix(z):
    """splitmix64's output function of the counter value ``z``."""
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@kernel
def _uniform_at(start, k):
    """The ``k``-th (0-based) uniform a generator at counter ``start`` would return:
    splitmix64 is counter-based, so any draw can be computed without the ones before
    it, which lets a parallel kernel give every element its serial twin's numbers."""
    z = _mix(start + (U64(k) + U64(1)) * _GOLDEN)
    return (float(z >> _S11) + 1.0) * (1.0 / 9007199254740992.0)


@kernel
def _next_u64(state):
    """splitmix64: advance the counter in ``state[0]`` and return a mixed 64-bit word."""
    z = state[0] + _GOLDEN
    state[0] = z
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@kernel
def _uniform(state):
    """Uniform in (0, 1] with 53 random bits."""
    return (float(_next_u64(state) >> _S11) + 1.0) * (1.0 / 9007199254740992.0)


@kernel
def gaussian_fill(out, state):
    """Fill a flat float32 array with N(0, 1) samples (Box-Muller, two per pair)."""
    n = out.shape[0]
    i = 0
    while i < n:
        r = math.sqrt(-2.0 * math.log(_uniform(state)))
        a = _TWO_PI * _uniform(state)
        out[i] = r * math.cos(a)
        if i + 1 < n:
            out[i + 1] = r * math.sin(a)
        i += 2


@kernel
def _write_embedding(inp, row, col0, t, freqs):
    half = freqs.shape[0]
    for k in range(half):
        arg = t * freqs[k]
        inp[row, col0 + k] = math.sin(arg)
        inp[row, col0 + half + k] = math.cos(arg)


@kernel
def training_batch(x0, sqrt_ab, sqrt_1mab, freqs, skip, mean, var, state, inp, eps, target, ts):
    """:func:`training_batch_rows` without reporting which data rows were picked."""
    rows = np.empty(inp.shape[0], np.int64)
    training_batch_rows(x0, sqrt_ab, sqrt_1mab, freqs, skip, mean, var, state, inp, eps, target, ts, rows)


@kernel
def training_batch_rows(x0, sqrt_ab, sqrt_1mab, freqs, skip, mean, var, state, inp, eps, target, ts, rows):
    """One training batch in one pass: for each row pick a data row (its index goes to
    ``rows``, so a conditional model can look up that row's condition) and t in 1..T,
    draw ε, write x_t = √ᾱ_t x_0 + √(1-ᾱ_t) ε and emb(t) into ``inp``, ε into ``eps``
    and the network's regression target ε - skip·g_j(t)·(x_t - √ᾱ_t m_j) into ``target``
    with g_j(t) = √(1-ᾱ_t) / (ᾱ_t v_j + 1 - ᾱ_t) (see :func:`gaussian_guess`).
    The network sees x_t standardised per coordinate, (x_t - √ᾱ_t m_j) / √(ᾱ_t v_j + 1 - ᾱ_t)
    (unchanged when m = 0, v = 1)."""
    n_data, d = x0.shape
    T = sqrt_ab.shape[0] - 1
    for i in range(inp.shape[0]):
        r = min(int(_uniform(state) * n_data), n_data - 1)
        t = 1 + min(int(_uniform(state) * T), T - 1)
        ts[i] = t
        rows[i] = r
        a, b = sqrt_ab[t], sqrt_1mab[t]
        sk, ab, nb = F32(skip), a * a, b * b
        j = 0
        while j < d:
            rad = math.sqrt(-2.0 * math.log(_uniform(state)))
            ang = _TWO_PI * _uniform(state)
            e0 = F32(rad * math.cos(ang))
            eps[i, j] = e0
            c = x0[r, j] - mean[j]  # x_t - √ᾱ m = √ᾱ (x_0 - m) + √(1-ᾱ) ε
            u = a * c + b * e0
            s2 = ab * var[j] + nb
            inp[i, j] = u / math.sqrt(s2)
            target[i, j] = e0 - sk * b / s2 * u
            if j + 1 < d:
                e1 = F32(rad * math.sin(ang))
                eps[i, j + 1] = e1
                c = x0[r, j + 1] - mean[j + 1]
                u = a * c + b * e1
                s2 = ab * var[j + 1] + nb
                inp[i, j + 1] = u / math.sqrt(s2)
                target[i, j + 1] = e1 - sk * b / s2 * u
            j += 2
        _write_embedding(inp, i, d, float(t), freqs)


def gaussian_guess(x, t: int, schedule: Schedule, mean, var) -> np.ndarray:
    """E[ε | x_t] if every coordinate j of the data were Gaussian N(m_j, v_j), independent:

        ε̂_j = √(1-ᾱ_t) (x_j - √ᾱ_t m_j) / (ᾱ_t v_j + 1 - ᾱ_t)

    With m = 0, v = 1 this is √(1-ᾱ_t)·x_t. In a PCA basis of the data most coordinates
    have v_j ≈ 0 (no picture there, only noise), and this guess removes their noise
    exactly; the network only has to learn what is not Gaussian (shapes, edges).
    """
    a, b = float(schedule.sqrt_ab[t]), float(schedule.sqrt_1mab[t])
    gain = (b / (a * a * var + b * b)).astype(F32)
    return gain * (x - F32(a) * mean)


@kernel
def model_input(x, t, freqs, inp):
    """inp[:, :d] = x and inp[:, d:] = emb(t) for every row (one shared timestep)."""
    n, d = x.shape
    for i in range(n):
        for j in range(d):
            inp[i, j] = x[i, j]
        _write_embedding(inp, i, d, float(t), freqs)


def _embedding_numpy(t: float, freqs):
    arg = float(t) * freqs
    return np.concatenate([np.sin(arg), np.cos(arg)])


@runtime.twin_of(model_input)
def _model_input_twin(x, t, freqs, inp):
    d = x.shape[1]
    inp[:, :d] = x
    inp[:, d:] = _embedding_numpy(t, freqs)


def fourier_frequencies(n: int, scale: float) -> np.ndarray:
    """n frequencies scale · 2^k, k = 0..n-1 (radians per standardised unit)."""
    return (float(scale) * 2.0 ** np.arange(int(n))).astype(np.float64)


@kernel
def expand_input(src, d, k, ffreqs, out):
    """The network's input from a batch row [x (d), emb(t)]: the first k coordinates,
    then sin and cos of each of them at every Fourier frequency, then emb(t)."""
    n = src.shape[0]
    nf = ffreqs.shape[0]
    e = src.shape[1] - d
    col = k + 2 * k * nf
    for i in range(n):
        for j in range(k):
            v = src[i, j]
            out[i, j] = v
            base = k + 2 * nf * j
            for f in range(nf):
                arg = ffreqs[f] * v
                out[i, base + f] = math.sin(arg)
                out[i, base + nf + f] = math.cos(arg)
        for j in range(e):
            out[i, col + j] = src[i, d + j]


@runtime.twin_of(expand_input)
def _expand_input_twin(src, d, k, ffreqs, out):
    n, nf = src.shape[0], ffreqs.shape[0]
    v = src[:, :k]
    arg = ffreqs[None, None, :] * v[:, :, None].astype(np.float64)  # (n, k, nf)
    out[:, :k] = v
    waves = out[:, k : k + 2 * k * nf].reshape(n, k, 2 * nf)
    waves[:, :, :nf] = np.sin(arg)
    waves[:, :, nf:] = np.cos(arg)
    out[:, k + 2 * k * nf :] = src[:, d:]


@kernel
def denoise_step(x, eps_hat, ab_t, ab_s, eta, clip, state, x0_out):
    """x_t -> x_s in place (generalised DDIM step; see the module docstring).

    Writes the model's guess x̂_0 into ``x0_out``. ``clip`` > 0 clips x̂_0 to
    [-clip, clip]; ``eta`` = 0 is DDIM, 1 is DDPM.
    """
    n, d = x.shape
    sa_t, s1_t = math.sqrt(ab_t), math.sqrt(1.0 - ab_t)
    sa_s = math.sqrt(ab_s)
    sigma = 0.0
    if eta > 0.0 and ab_s > ab_t:
        sigma = eta * math.sqrt((1.0 - ab_s) / (1.0 - ab_t)) * math.sqrt(1.0 - ab_t / ab_s)
    c_dir = math.sqrt(max(1.0 - ab_s - sigma * sigma, 0.0))
    inv_sa, inv_s1 = 1.0 / sa_t, 1.0 / s1_t
    for i in range(n):
        for j in range(d):
            xt = float(x[i, j])
            x0 = (xt - s1_t * float(eps_hat[i, j])) * inv_sa
            if clip > 0.0:
                x0 = min(max(x0, -clip), clip)
            e = (xt - sa_t * x0) * inv_s1
            x0_out[i, j] = x0
            v = sa_s * x0 + c_dir * e
            if sigma > 0.0:
                u1 = _uniform(state)
                v += sigma * math.sqrt(-2.0 * math.log(u1)) * math.cos(_TWO_PI * _uniform(state))
            x[i, j] = v


@parallel_kernel
def denoise_step_parallel(x, eps_hat, ab_t, ab_s, eta, clip, state, x0_out):
    """``denoise_step`` with the rows shared over threads; same numbers as the serial
    kernel (element (i, j) takes draws 2(i d + j) and 2(i d + j) + 1 of the generator)."""
    n, d = x.shape
    sa_t, s1_t = math.sqrt(ab_t), math.sqrt(1.0 - ab_t)
    sa_s = math.sqrt(ab_s)
    sigma = 0.0
    if eta > 0.0 and ab_s > ab_t:
        sigma = eta * math.sqrt((1.0 - ab_s) / (1.0 - ab_t)) * math.sqrt(1.0 - ab_t / ab_s)
    c_dir = math.sqrt(max(1.0 - ab_s - sigma * sigma, 0.0))
    inv_sa, inv_s1 = 1.0 / sa_t, 1.0 / s1_t
    start = state[0]
    for i in prange(n):
        for j in range(d):
            xt = float(x[i, j])
            x0 = (xt - s1_t * float(eps_hat[i, j])) * inv_sa
            if clip > 0.0:
                x0 = min(max(x0, -clip), clip)
            e = (xt - sa_t * x0) * inv_s1
            x0_out[i, j] = x0
            v = sa_s * x0 + c_dir * e
            if sigma > 0.0:
                k = 2 * (i * d + j)
                u1 = _uniform_at(start, k)
                v += sigma * math.sqrt(-2.0 * math.log(u1)) * math.cos(_TWO_PI * _uniform_at(start, k + 1))
            x[i, j] = v
    if sigma > 0.0:
        state[0] = start + U64(2 * n * d) * _GOLDEN


def _uniforms_at(start, count: int) -> np.ndarray:
    """``_uniform_at(start, k)`` for k = 0..count-1, in numpy (uint64 wraps like the kernel's)."""
    z = U64(start) + (np.arange(count, dtype=U64) + U64(1)) * _GOLDEN
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    z = z ^ (z >> _S31)
    return ((z >> _S11).astype(np.float64) + 1.0) * (1.0 / 9007199254740992.0)


@runtime.twin_of(denoise_step, denoise_step_parallel)
def _denoise_step_twin(x, eps_hat, ab_t, ab_s, eta, clip, state, x0_out):
    n, d = x.shape
    sa_t, s1_t, sa_s = math.sqrt(ab_t), math.sqrt(1.0 - ab_t), math.sqrt(ab_s)
    sigma = 0.0
    if eta > 0.0 and ab_s > ab_t:
        sigma = eta * math.sqrt((1.0 - ab_s) / (1.0 - ab_t)) * math.sqrt(1.0 - ab_t / ab_s)
    c_dir = math.sqrt(max(1.0 - ab_s - sigma * sigma, 0.0))
    xt = x.astype(np.float64)
    x0 = (xt - s1_t * eps_hat.astype(np.float64)) * (1.0 / sa_t)
    if clip > 0.0:
        x0 = np.clip(x0, -clip, clip)
    e = (xt - sa_t * x0) * (1.0 / s1_t)
    x0_out[...] = x0
    v = sa_s * x0 + c_dir * e
    if sigma > 0.0:
        u = _uniforms_at(state[0], 2 * n * d).reshape(n, d, 2)
        v += sigma * np.sqrt(-2.0 * np.log(u[:, :, 0])) * np.cos(_TWO_PI * u[:, :, 1])
        with np.errstate(over="ignore"):  # uint64 wraps, as in the kernel
            state[0] = state[0] + U64(2 * n * d) * _GOLDEN
    x[...] = v


# Samples per shard of a deterministic sampling (see Diffusion._sample_sharded). Thinner
# shards cost CPU (DDIM-50 of 64 guided sprites, one thread: 2 shards of 32 cost 1-7 %
# more CPU than one batch of 64, 4 of 16 cost 20-40 %, 8 of 8 80 %; speed-up on 2 threads:
# benchmarks/bench_scaling.py --cases ddim50x64).
SHARD_ROWS = 32

# Work (elements, a noisy element counting as NOISE_COST) from which the sampler's update
# runs on every compute thread: the serial pass must take >= ~100 us (see
# engine/kernels.py). Serial cost per element from benchmarks/bench_scaling.py
# --thresholds: ~0.6 ns for DDIM, ~0.25 us with DDPM's noise (two draws, log, cos).
DENOISE_PARALLEL_MIN = 128 * 1024
NOISE_COST = 256


def denoise(x, eps_hat, ab_t, ab_s, eta, clip, state, x0_out) -> None:
    """``denoise_step``, on every compute thread for a big enough batch."""
    work = x.size * (NOISE_COST if eta > 0.0 else 1)
    runtime.launch(
        denoise_step_parallel,
        denoise_step,
        work,
        DENOISE_PARALLEL_MIN,
        x,
        eps_hat,
        ab_t,
        ab_s,
        eta,
        clip,
        state,
        x0_out,
    )


@kernel
def ema_update(ema, params, decay):
    """ema = decay · ema + (1 - decay) · params over a flat buffer."""
    d, c = F32(decay), F32(1.0 - decay)
    for i in range(ema.shape[0]):
        ema[i] = d * ema[i] + c * params[i]


def seed_state(seed: int, stream: int = 0) -> np.ndarray:
    """A generator state for the kernels: different (seed, stream) -> different numbers."""
    mixed = (int(seed) * 0x2545F4914F6CDD1D + int(stream) * 0x9E3779B97F4A7C15 + 1) % (1 << 64)
    return np.array([mixed], dtype=U64)


def q_sample(schedule: Schedule, x0: np.ndarray, t: int, eps: np.ndarray) -> np.ndarray:
    """The forward process in one step: x_t = √ᾱ_t · x_0 + √(1 − ᾱ_t) · ε."""
    return (schedule.sqrt_ab[t] * x0 + schedule.sqrt_1mab[t] * eps).astype(F32)


# ---------------------------------------------------------------------- 3. the model


@dataclass
class DiffusionConfig:
    shape: tuple = (2,)  # shape of one sample in data space
    hidden: int = 256
    layers: int = 3  # hidden layers
    emb: int = 32  # timestep embedding width (even)
    T: int = 1000
    schedule: str = "linear"
    lr: float = 1e-3
    batch: int = 128
    ema: float = 0.995
    shift: float = 0.0  # model space = (data - shift) / scale
    scale: float = 1.0
    clip: float = 0.0  # clip x̂_0 to [-clip, clip] while sampling (0 = off)
    skip: bool = True  # ε̂ = gaussian_guess(x_t) + net(...): the net learns a correction
    pca: bool = False  # run in the data's PCA basis (an orthonormal rotation)
    net_dims: int = 0  # the net corrects only the first k coordinates (0 = all)
    cond: tuple = ()  # sizes of the categorical attributes it is conditioned on (() = none)
    p_uncond: float = 0.1  # share of training rows whose condition is dropped to the null c = 0
    guidance: float = 1.0  # default classifier-free guidance scale s while sampling
    fourier: int = 0  # Fourier features: frequencies per input coordinate (0 = raw input)
    fourier_scale: float = 1.0  # the lowest of them; each next one doubles
    cond_vec: int = 0  # width of a free condition vector (0 = one-hots of ``cond``)
    learned_null: bool = False  # the null condition is a trained vector, not zeros
    seed: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def cond_dim(self) -> int:
        return int(self.cond_vec) if self.cond_vec else int(sum(self.cond))

    @property
    def dim(self) -> int:
        return int(np.prod(self.shape))


@dataclass
class Step:
    """One recorded sampling step: the timestep reached, x at it, and the guess x̂_0."""

    t: int
    x: np.ndarray
    x0_hat: np.ndarray


class Diffusion:
    """An ε-prediction diffusion model; ``data`` is (N, *shape) float32 in data space."""

    info: dict  # the saved metadata, set by load()

    def __init__(
        self,
        config: DiffusionConfig,
        data: np.ndarray | None = None,
        labels: np.ndarray | None = None,
        conditions=None,
    ):
        self.config = c = config
        c.shape = tuple(int(s) for s in c.shape)
        c.cond = tuple(int(s) for s in c.cond)
        self.schedule = Schedule(c.schedule, c.T)
        self.freqs = timestep_embedding_freqs(c.emb)
        k = self.k = c.dim if not c.net_dims else min(int(c.net_dims), c.dim)
        self.ffreqs = fourier_frequencies(c.fourier, c.fourier_scale)
        self.width = k + 2 * k * len(self.ffreqs) + 2 * len(self.freqs)  # before the condition
        sizes = [self.width + c.cond_dim] + [c.hidden] * c.layers + [k]
        self.net = MLP(sizes, activation="silu", seed=c.seed)
        self.ema_net = MLP(sizes, activation="silu", seed=c.seed)
        self.ema_params = self.net.params.copy()
        self.ema_net.bind(self.ema_params, np.zeros(self.ema_params.shape, F32))
        self.opt = Adam(self.net.params, self.net.grads, lr=c.lr)
        self.state = seed_state(c.seed, 1)
        self.steps = 0
        self.data = None if data is None else self.to_model(data)
        self.labels = None if labels is None else np.asarray(labels, np.int64).reshape(-1, len(c.cond))
        # the training rows' conditions: an (N, cond_dim) array or a callable rows -> array
        self._cond_train = conditions if self.labels is None else self.condition(self.labels)
        self.null = np.zeros(c.cond_dim, F32)  # the null condition ∅
        self.null_grad = np.zeros_like(self.null)
        self.ema_null = self.null.copy()
        self.null_opt = Adam(self.null, self.null_grad, lr=c.lr)
        self._drop_rng = np.random.default_rng([int(c.seed), 3])
        self.last_labels: np.ndarray | None = None  # the labels the last sample() drew
        self.basis: np.ndarray | None = None  # (dim, dim) orthonormal columns
        self.mean, self.var = np.zeros(c.dim, F32), np.ones(c.dim, F32)
        if c.pca and self.data is not None:
            self.set_basis(*pca_basis(self.data))
        self._train: np.ndarray | None = None
        b = c.batch
        self._inp = np.empty((b, c.dim + 2 * len(self.freqs)), F32)
        self._net_inp = np.empty((b, sizes[0]), F32)
        self._eps = np.empty((b, c.dim), F32)
        self._target = np.empty((b, c.dim), F32)
        self._grad = np.empty((b, k), F32)
        self._ts = np.empty(b, np.int64)
        self._rows = np.empty(b, np.int64)

    # -- data space <-> model space -------------------------------------------------
    def to_model(self, data: np.ndarray) -> np.ndarray:
        c = self.config
        flat = np.asarray(data, F32).reshape(len(data), c.dim)
        return np.ascontiguousarray((flat - F32(c.shift)) / F32(c.scale))

    def to_data(self, x: np.ndarray) -> np.ndarray:
        c = self.config
        return (np.asarray(x, F32) * F32(c.scale) + F32(c.shift)).reshape((len(x),) + c.shape)

    # -- forward process --------------------------------------------------------------
    def q_sample(self, x0: np.ndarray, t: int, eps: np.ndarray) -> np.ndarray:
        """x_t from model-space x_0 and noise ε (closed form) on this model's schedule."""
        return q_sample(self.schedule, x0, t, eps)

    def noise(self, n: int, seed: int, stream: int = 0) -> np.ndarray:
        """(n, dim) standard Gaussian noise from the kernels' generator."""
        out = np.empty(n * self.config.dim, F32)
        gaussian_fill(out, seed_state(seed, stream))
        return out.reshape(n, self.config.dim)

    # -- conditions -------------------------------------------------------------------
    def condition(self, labels) -> np.ndarray:
        """(n, cond_dim) concatenated one-hot vectors of integer ids (n, len(cond));
        an id of -1 leaves that attribute's block at zero (unspecified)."""
        sizes = self.config.cond
        labels = np.asarray(labels, np.int64).reshape(-1, len(sizes))
        out = np.zeros((len(labels), self.config.cond_dim), F32)
        col = 0
        for a, size in enumerate(sizes):
            ids = labels[:, a]
            if np.any(ids >= size):
                raise ValueError(f"attribute {a} has {size} values; got id {int(ids.max())}")
            rows = np.nonzero(ids >= 0)[0]
            out[rows, col + ids[rows]] = 1.0
            col += size
        return out

    def random_labels(self, n: int, seed: int) -> np.ndarray:
        """(n, len(cond)) ids, each attribute uniform, fixed by the seed."""
        rng = np.random.default_rng([int(seed), 4])
        return np.stack([rng.integers(0, size, n) for size in self.config.cond], axis=1).astype(np.int64)

    # -- the denoiser -----------------------------------------------------------------
    def set_basis(self, basis, mean, var) -> None:
        """Work in coordinates y = x @ basis, where the data has mean ``mean`` and
        variance ``var`` per coordinate (the Gaussian guess uses them)."""
        self.basis = None if basis is None else np.ascontiguousarray(basis, F32)
        self.mean, self.var = np.asarray(mean, F32), np.asarray(var, F32)
        self._train = None

    def _rotate(self, x: np.ndarray) -> np.ndarray:
        if self.basis is None:
            return x
        x = np.ascontiguousarray(x, F32)
        return runtime.matmul(x, self.basis, np.empty((len(x), self.basis.shape[1]), F32))

    def predict_eps(
        self, x: np.ndarray, t: int, ema: bool = True, cond: np.ndarray | None = None
    ) -> np.ndarray:
        """ε̂(x_t, t, c) for a (n, dim) model-space batch (a copy). ``cond``: (n, cond_dim)
        condition vectors (see :meth:`condition`); None is the null condition ∅."""
        y = self._rotate(np.ascontiguousarray(x, F32))
        a, b = float(self.schedule.sqrt_ab[int(t)]), float(self.schedule.sqrt_1mab[int(t)])
        scaled = ((y - F32(a) * self.mean) / np.sqrt(F32(a * a) * self.var + F32(b * b))).astype(F32)
        k = self.k
        base = np.empty((len(y), k + 2 * len(self.freqs)), F32)
        model_input(np.ascontiguousarray(scaled[:, :k]), int(t), self.freqs, base)
        if self.width == base.shape[1] and not self.config.cond_dim:
            inp = base
        else:
            inp = np.empty((len(y), self.net.sizes[0]), F32)
            expand_input(base, k, k, self.ffreqs, inp)
            if self.config.cond_dim:
                inp[:, self.width :] = (
                    (self.ema_null if ema else self.null) if cond is None else np.asarray(cond, F32)
                )
        out = np.zeros_like(y)
        out[:, :k] = (self.ema_net if ema else self.net).forward(inp)
        if self.config.skip:
            out += gaussian_guess(y, int(t), self.schedule, self.mean, self.var)
        if self.basis is None:
            return out
        return runtime.matmul(out, self.basis.T, np.empty((len(out), self.basis.shape[0]), F32))

    # -- training ---------------------------------------------------------------------
    def step(self) -> float:
        """One training step on a random batch; returns the loss."""
        if self._train is None:
            assert self.data is not None, "training needs data (Diffusion(config, data))"
            self._train = self._rotate(self.data)
        c = self.config
        if c.cond_dim and self._cond_train is None:
            raise ValueError(
                "a conditional model needs the training labels or conditions "
                "(Diffusion(config, data, labels) or conditions=...)"
            )
        training_batch_rows(
            self._train,
            self.schedule.sqrt_ab,
            self.schedule.sqrt_1mab,
            self.freqs,
            float(c.skip),
            self.mean,
            self.var,
            self.state,
            self._inp,
            self._eps,
            self._target,
            self._ts,
            self._rows,
        )
        k, d = self.k, c.dim
        if k == d and not c.cond_dim and not c.fourier:
            inp, target = self._inp, self._target
        else:  # the net sees the first k (PCA) coordinates, their Fourier features, emb(t), c
            inp = self._net_inp
            expand_input(self._inp, d, k, self.ffreqs, inp)
            if c.cond_dim:  # each row's condition, dropped to the null ∅ with p_uncond
                keep = self._drop_rng.random(len(inp)) >= c.p_uncond
                inp[:, self.width :] = np.where(keep[:, None], self.train_conditions(self._rows), self.null)
            target = self._target if k == d else np.ascontiguousarray(self._target[:, :k])
        loss = self.loss_and_grads(inp, target, None if not c.cond_dim else ~keep)
        self.opt.step()
        ema_update(self.ema_params, self.net.params, self.config.ema)
        if c.learned_null:
            self.null_opt.step()
            ema_update(self.ema_null, self.null, self.config.ema)
        self.steps += 1
        return loss

    def train_conditions(self, rows: np.ndarray) -> np.ndarray:
        """(len(rows), cond_dim) conditions of training rows (a callable may draw them
        afresh each time: a random caption of each row's image)."""
        assert self._cond_train is not None  # step() checks this first
        if callable(self._cond_train):
            return np.asarray(self._cond_train(rows), F32)
        return self._cond_train[rows]

    def loss_and_grads(self, inp: np.ndarray, target: np.ndarray, dropped: np.ndarray | None) -> float:
        """Mean squared error of the net on one built batch; fills the net's gradients
        and, for a learned null, ``null_grad`` = Σ over ``dropped`` rows of dL/d(input)
        over the condition columns (those rows read ∅ = ``self.null``)."""
        pred = self.net.forward(inp)
        loss = K.mse_loss(pred, target, self._grad[: len(inp)], 1.0)
        learn_null = self.config.learned_null and dropped is not None
        dinp = self.net.backward(self._grad[: len(inp)], input_grad=learn_null)
        if learn_null:
            assert dinp is not None and dropped is not None
            self.null_grad[...] = dinp[dropped, self.width :].sum(axis=0)
        return float(loss)

    def train(self, n: int) -> dict:
        """``n`` steps; returns {"loss": mean loss, "steps": total, "diverged": bool}."""
        return training.mean_loss(self.step, n, lambda: self.steps)

    # -- sampling ---------------------------------------------------------------------
    def guided_eps(self, x: np.ndarray, t: int, cond: np.ndarray, guidance: float) -> np.ndarray:
        """ε̂(∅) + s·(ε̂(c) - ε̂(∅)) (classifier-free guidance); one pass over 2n rows."""
        s = float(guidance)
        if s == 1.0:
            return self.predict_eps(x, t, cond=cond)
        if s == 0.0:
            return self.predict_eps(x, t)
        n = len(x)
        both = self.predict_eps(
            np.concatenate([x, x]), t, cond=np.concatenate([cond, np.broadcast_to(self.ema_null, cond.shape)])
        )
        e_c, e_u = both[:n], both[n:]
        return e_u + F32(s) * (e_c - e_u)

    def sample(
        self,
        n: int,
        steps: int = 50,
        sampler: str = "ddim",
        eta: float | None = None,
        seed: int = 0,
        record: bool = False,
        eps_fn=None,
        x_T: np.ndarray | None = None,
        labels: np.ndarray | None = None,
        guidance: float | None = None,
        cond: np.ndarray | None = None,
    ):
        """Generate ``n`` samples; returns (data-space samples, trajectory or None).

        ``sampler``: "ddim" (η = 0 unless given) or "ddpm" (η = 1). ``steps``: how many
        timesteps to visit (1..T). ``eps_fn(x, t)`` replaces the network (tests use an
        oracle). ``record``: keep a :class:`Step` (model space) after every step, the
        first one being the starting noise at t = T.
        Conditional models only: ``labels`` (n, len(cond)) attribute ids to draw (drawn
        from the seed when None; kept in ``self.last_labels``) and the guidance scale s
        (``config.guidance`` when None); or ``cond``, the (n, cond_dim) condition
        vectors themselves (a text embedding for a ``cond_vec`` model).
        """
        if sampler not in ("ddim", "ddpm"):
            raise ValueError(f"unknown sampler {sampler!r}; choose from ddim, ddpm")
        eta = (0.0 if sampler == "ddim" else 1.0) if eta is None else float(eta)
        s = self.schedule
        x = self.noise(n, seed, 0) if x_T is None else np.array(x_T, F32).reshape(n, -1)
        state = seed_state(seed, 2)
        network, scale = eps_fn is None, None
        if eps_fn is None and self.config.cond_dim:
            if cond is None:
                labels = self.random_labels(n, seed) if labels is None else np.asarray(labels, np.int64)
                self.last_labels = labels.reshape(n, len(self.config.cond))
                cond = self.condition(self.last_labels)
            cond = np.ascontiguousarray(np.broadcast_to(np.asarray(cond, F32), (n, self.config.cond_dim)))
            scale = self.config.guidance if guidance is None else float(guidance)

            def eps_fn(x_, t_, cond_=cond):
                return self.guided_eps(x_, t_, cond_, scale)

        ts = s.timesteps(steps)
        shards = self._shards(n) if network and eta == 0.0 else 1
        if shards > 1:
            conditional = bool(self.config.cond_dim)
            trajectory = self._sample_sharded(x, ts, shards, cond if conditional else None, scale, record)
            return self.to_data(x), trajectory
        eps_fn = eps_fn or self.predict_eps
        trajectory = self._chain(x, ts, eps_fn, eta, state, record)
        return self.to_data(x), trajectory

    def _chain(self, x, ts, eps_fn, eta: float, state, record: bool) -> list[Step] | None:
        """The sampler's loop over ``ts``, updating ``x`` in place; the trajectory if
        ``record``."""
        s = self.schedule
        x0_hat = np.zeros_like(x)
        trajectory = [Step(int(s.T), x.copy(), np.zeros_like(x))] if record else None
        for k, t in enumerate(ts):
            t_next = int(ts[k + 1]) if k + 1 < len(ts) else 0
            eps_hat = np.ascontiguousarray(eps_fn(x, int(t)), F32)
            denoise(
                x,
                eps_hat,
                float(s.alpha_bar[t]),
                float(s.alpha_bar[t_next]),
                eta,
                float(self.config.clip),
                state,
                x0_hat,
            )
            if trajectory is not None:
                trajectory.append(Step(t_next, x.copy(), x0_hat.copy()))
        return trajectory

    @staticmethod
    def _shards(n: int) -> int:
        """How many independent slices a batch of ``n`` samples is drawn in: a
        function of ``n`` only (every slice >= SHARD_ROWS samples), never of the thread
        count, so one thread (slices in turn) and many (slices at once) give the same
        bits: BLAS picks its inner kernel by a product's shape, so a row computed in a
        32-row product can differ in the last place from the same row in a 64-row one."""
        return max(1, n // SHARD_ROWS)

    def _reader(self) -> Diffusion:
        """This model for one sampling shard: the same weights, its own work buffers."""
        view = copy.copy(self)
        view.net, view.ema_net = self.net.reader(), self.ema_net.reader()
        return view

    def _sample_sharded(self, x, ts, shards: int, cond, guidance, record: bool) -> list[Step] | None:
        """DDIM (η = 0) over ``shards`` row slices of ``x``, each slice's whole chain on
        one thread (runtime.run_shards: in turn on one compute thread, at once on
        several), ``x`` updated in place.

        Why: the rows of a deterministic sampler never meet (each sample's ε̂ depends on
        that sample only, and η = 0 draws no noise), so a slice can run all its steps
        without waiting for the others: one hand-off per slice instead of one per step
        and layer. Every row computes exactly what the whole batch would (tested)."""
        n = len(x)
        edges = [n * i // shards for i in range(shards + 1)]
        parts: list[list[Step] | None] = [None] * shards
        slices = [np.ascontiguousarray(x[lo:hi]) for lo, hi in itertools.pairwise(edges)]

        def piece(i: int) -> None:
            view = self._reader()
            part = None if cond is None else np.ascontiguousarray(cond[edges[i] : edges[i + 1]])

            def eps_fn(x_, t_):
                if part is None:
                    return view.predict_eps(x_, t_)
                return view.guided_eps(x_, t_, part, guidance)

            parts[i] = view._chain(slices[i], ts, eps_fn, 0.0, seed_state(0, 2), record)

        runtime.run_shards([functools.partial(piece, i) for i in range(shards)])
        for (lo, hi), part in zip(itertools.pairwise(edges), slices):
            x[lo:hi] = part
        if not record:
            return None
        return [
            Step(steps[0].t, np.concatenate([p.x for p in steps]), np.concatenate([p.x0_hat for p in steps]))
            for steps in zip(*parts)
        ]

    def time_per_sample(self, steps: int, sampler: str = "ddim", n: int = 16, seed: int = 0) -> float:
        """Measured wall-clock seconds per sample (a batch of ``n``)."""
        start = time.perf_counter()
        self.sample(n, steps=steps, sampler=sampler, seed=seed)
        return (time.perf_counter() - start) / n

    # -- saving -----------------------------------------------------------------------
    def arrays(self) -> dict:
        out = {"params": self.ema_params.copy(), "mean": self.mean, "var": self.var}
        if self.basis is not None:
            out["basis"] = self.basis
        if self.config.learned_null:
            out["null"] = self.ema_null.copy()
        return out

    def meta(self, **extra) -> dict:
        return {
            "model": "diffusion",
            "version": VERSION,
            "config": asdict(self.config),
            "steps": self.steps,
            **extra,
        }

    def save(self, path, **extra):
        from . import weights

        return weights.save(path, self.arrays(), self.meta(**extra))

    @classmethod
    def load(cls, path, data: np.ndarray | None = None, conditions=None) -> Diffusion:
        """A model from a weights file (raises engine.weights.WeightsError)."""
        from . import weights

        arrays, meta = weights.load(path, "diffusion", VERSION)
        config = weights.model_config(meta, DiffusionConfig, path, shape=tuple, cond=tuple)
        with weights.building(path):
            model = cls(config, data, conditions=conditions)
            if config.learned_null:
                weights.fill(model.null, arrays, "null", path)
                model.ema_null[...] = model.null
            weights.fill(model.net.params, arrays, "params", path)
            model.ema_params[...] = arrays["params"]
            if "mean" in arrays:
                dim = config.dim
                for name, shape in (("mean", (dim,)), ("var", (dim,)), ("basis", (dim, dim))):
                    if name in arrays and arrays[name].shape != shape:
                        raise weights.unusable(path, f"'{name}' is {arrays[name].shape}, not {shape}")
                if "var" not in arrays:
                    raise weights.unusable(path, "it has 'mean' without 'var'")
                model.set_basis(arrays.get("basis"), arrays["mean"], arrays["var"])
            model.steps = int(meta.get("steps", 0))
        model.info = meta
        return model


def pca_basis(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Principal axes of the rows of ``x`` (columns, by falling variance), and the
    mean and variance of the data along each axis."""
    x64 = np.asarray(x, np.float64)
    centred = x64 - x64.mean(axis=0)
    var, vecs = np.linalg.eigh(centred.T @ centred / len(x64))
    order = np.argsort(var)[::-1]
    basis = vecs[:, order]
    y = x64 @ basis
    return basis.astype(F32), y.mean(axis=0).astype(F32), np.maximum(y.var(axis=0), 0).astype(F32)


def _warm_up() -> None:
    K.warm_up_activations("silu")
    model = Diffusion(DiffusionConfig(shape=(2,), hidden=8, layers=1, emb=4, batch=4), np.zeros((3, 2), F32))
    model.step()
    model.sample(2, steps=2, sampler="ddpm")
    model.sample(2, steps=2, sampler="ddim")
    fourier = Diffusion(
        DiffusionConfig(shape=(2,), hidden=8, layers=1, emb=4, batch=4, fourier=2), np.zeros((3, 2), F32)
    )
    fourier.step()
    fourier.sample(2, steps=2)
    gaussian_fill(np.empty(3, F32), seed_state(0))
    x = np.zeros((2, 2), F32)
    for eta in (0.0, 1.0) if runtime.parallel_possible() else ():
        denoise_step_parallel(x, x.copy(), 0.5, 0.6, eta, 1.0, seed_state(0), x.copy())


register_warmup("diffusion", _warm_up, needs=("nn",))

"""Choosing the next token: temperature, top-k, top-p (nucleus), greedy, seeded draws.

The order is the one LLM libraries use::

    logits z ──► softmax(z / T) ──► keep the k most likely ──► keep the smallest set
                 (temperature)       (top-k, 0 = off)           whose mass reaches p
                                                                 (top-p, 1 = off)
             ──► renormalise ──► draw one token with a seeded random number

Temperature is applied in log space: ``exp((z_i - max z) / T)``. The exponent is never
positive, so nothing overflows even at T = 0.01 with large logits (a browser demo that
computes ``exp(z / T)`` directly overflows there); the largest term is exactly 1, so the
sum is never 0. T = 0 is treated as greedy decoding: all the probability on the top token.

Everything here is float64 (one row of a thousand numbers is cheap, and sums of many tiny
probabilities stay accurate); float32 logits are widened on the way in. Entropy is in bits.
"""

from __future__ import annotations

import math

import numpy as np

from .runtime import kernel, register_warmup

MIN_TEMPERATURE, MAX_TEMPERATURE = 0.01, 10.0


@kernel
def tempered_softmax(logits, temperature, out):
    """out = softmax(logits / T), stable in log space; T <= 0 gives a one-hot greedy pick."""
    n = logits.shape[0]
    top = 0
    for i in range(1, n):
        if logits[i] > logits[top]:
            top = i
    if temperature <= 0.0:
        for i in range(n):
            out[i] = 0.0
        out[top] = 1.0
        return
    peak = logits[top]
    inv_t = 1.0 / temperature
    total = 0.0
    for i in range(n):
        e = math.exp((logits[i] - peak) * inv_t)  # exponent <= 0: no overflow
        out[i] = e
        total += e  # >= 1: the top term is exp(0)
    for i in range(n):
        out[i] /= total


def top_k_top_p(probs, top_k, top_p, out):
    """Keep the top-k tokens, then the smallest nucleus reaching p of what is left; renormalise.

    top_k <= 0 or >= n means no top-k; top_p >= 1 means no top-p. At least one token
    always survives. Ties are broken by token id (a stable sort). Returns how many
    tokens were kept. The sort is numpy's (microseconds for a vocabulary); the loops
    are a kernel: numba's own stable argsort took ~4 s to compile, most of the
    temperature lab's cold start.
    """
    order = np.argsort(-probs, kind="stable")
    return _keep_nucleus(probs, order, int(top_k), float(top_p), out)


@kernel
def _keep_nucleus(probs, order, top_k, top_p, out):
    """top_k_top_p's loops, given the tokens in order of falling probability."""
    n = probs.shape[0]
    keep = n
    if 0 < top_k < n:
        keep = top_k
    if top_p < 1.0:
        mass = 0.0
        for j in range(keep):
            mass += probs[order[j]]
        target = top_p * mass * (1.0 - 1e-12)  # forgive the last bit of rounding
        running = 0.0
        for j in range(keep):
            running += probs[order[j]]
            if running >= target:
                keep = j + 1
                break
    keep = max(keep, 1)
    total = 0.0
    for j in range(keep):
        total += probs[order[j]]
    for i in range(n):
        out[i] = 0.0
    if total <= 0.0:  # everything underflowed: fall back to the top token
        out[order[0]] = 1.0
        return keep
    for j in range(keep):
        out[order[j]] = probs[order[j]] / total
    return keep


@kernel
def draw(probs, uniforms, picks):
    """Inverse-CDF sampling: picks[s] = first i with cumsum(probs)[i] > uniforms[s] * total."""
    n = probs.shape[0]
    cdf = np.empty(n)
    total = 0.0
    last = 0
    for i in range(n):
        total += probs[i]
        cdf[i] = total
        if probs[i] > 0.0:
            last = i
    for s in range(uniforms.shape[0]):
        target = uniforms[s] * total
        lo, hi = 0, n - 1
        while lo < hi:  # binary search for the first cdf > target
            mid = (lo + hi) // 2
            if cdf[mid] > target:
                hi = mid
            else:
                lo = mid + 1
        picks[s] = lo if probs[lo] > 0.0 else last


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """softmax(logits / T) as float64 (T = 1: the model's own, untempered distribution).

    Logits are widened to float64 first: inside a fastmath kernel LLVM may narrow
    ``float(a32) - float(b32)`` back to a float32 subtraction, costing 1e-7 relative.
    """
    logits = np.ascontiguousarray(logits, dtype=np.float64)
    out = np.empty(logits.shape[0], np.float64)
    tempered_softmax(logits, float(temperature), out)
    return out


def warp(logits: np.ndarray, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0) -> np.ndarray:
    """The distribution a token is drawn from: temperature, then top-k, then top-p."""
    probs = softmax(logits, temperature)
    out = np.empty_like(probs)
    top_k_top_p(probs, int(top_k), float(top_p), out)
    return out


def greedy(logits: np.ndarray) -> int:
    """The single most likely token (ties: the lowest id)."""
    return int(np.argmax(logits))


def sample(probs: np.ndarray, rng: np.random.Generator) -> int:
    """One token drawn from ``probs`` with the generator's next uniform number."""
    return int(sample_many(probs, 1, rng)[0])


def sample_many(probs: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` independent draws from ``probs`` (int64 token ids)."""
    picks = np.empty(int(count), np.int64)
    draw(np.ascontiguousarray(probs, dtype=np.float64), rng.random(int(count)), picks)
    return picks


def entropy_bits(probs: np.ndarray) -> float:
    """H = -sum p log2 p over the tokens with p > 0: 1 bit = a fair coin's uncertainty."""
    p = np.asarray(probs, dtype=np.float64)
    p = p[p > 0]
    return float(max(0.0, -(p * np.log2(p)).sum()))


def _warm_up() -> None:
    logits = np.array([1.0, 2.0, 0.5])
    probs = np.empty(3, np.float64)
    tempered_softmax(logits, 0.7, probs)
    out = np.empty_like(probs)
    top_k_top_p(probs, 2, 0.9, out)
    draw(out, np.array([0.3, 0.9]), np.empty(2, np.int64))


register_warmup("sampling", _warm_up)

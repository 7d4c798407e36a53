"""Numbers that say how well a generative model is doing.

Sections:
  1. mode coverage and sample quality (VEEGAN)        -- 2-D GANs
  2. grid KL / JS divergence (GAN Lab)                -- 2-D GANs
  3. discriminator accuracy                           -- GANs
  4. image and text metrics (MMD, FID-lite, nearest neighbour, perplexity)
                                                      -- added with the image/text labs

Plain numpy: these run a few times per second at most, on a few thousand points.
"""
from __future__ import annotations

import numpy as np

from .data import VIEW

# ----------------------------------------------------- 1. mode coverage (VEEGAN style)


def mode_coverage(samples: np.ndarray, modes: np.ndarray, std: float,
                  n_sigma: float = 3.0, min_fraction: float = 0.1) -> dict:
    """How many modes a generator reaches, and how many of its samples are good.

    The rule (after VEEGAN, Srivastava et al. 2017):

    * each sample is assigned to its nearest mode centre;
    * it is **high quality** if it lies within ``n_sigma`` (3) standard deviations of
      that centre (Euclidean distance <= n_sigma * std);
    * a mode is **covered** if it received at least
      ``max(1, min_fraction * n / k)`` high-quality samples, i.e. at least 10 % of its
      fair share when n samples are spread over k modes. (A stray sample or two does
      not count as capturing a mode.)

    Returns ``{"modes_total", "modes_covered", "high_quality", "per_mode"}``:
    high_quality is the fraction of all samples, per_mode the high-quality count of
    each mode.
    """
    samples = np.asarray(samples, dtype=np.float64)
    modes = np.asarray(modes, dtype=np.float64)
    k, n = len(modes), len(samples)
    if n == 0:
        return {"modes_total": k, "modes_covered": 0, "high_quality": 0.0,
                "per_mode": [0] * k}
    d2 = ((samples[:, None, :] - modes[None, :, :]) ** 2).sum(-1)
    nearest = d2.argmin(1)
    good = d2[np.arange(n), nearest] <= (n_sigma * std) ** 2
    per_mode = np.bincount(nearest[good], minlength=k)
    threshold = max(1.0, min_fraction * n / k)
    return {"modes_total": int(k), "modes_covered": int((per_mode >= threshold).sum()),
            "high_quality": float(good.mean()), "per_mode": per_mode.tolist()}


# --------------------------------------------------------- 2. grid divergences (GAN Lab)


def grid_histogram(points: np.ndarray, bins: int = 20, extent=VIEW) -> np.ndarray:
    """Normalised 2-D histogram (bins x bins, sums to 1) over the square ``extent``.

    Points outside the square are clamped into the border cells, so probability mass
    that wanders off the view still counts (as a mismatch) instead of vanishing.
    """
    pts = np.asarray(points, dtype=np.float64)
    lo, hi = extent
    idx = np.floor((pts - lo) / (hi - lo) * bins).astype(np.int64)
    np.clip(idx, 0, bins - 1, out=idx)
    hist = np.bincount(idx[:, 1] * bins + idx[:, 0], minlength=bins * bins)
    hist = hist.reshape(bins, bins).astype(np.float64)
    return hist / max(hist.sum(), 1.0)


def _smooth(p: np.ndarray, eps: float) -> np.ndarray:
    p = p.ravel() + eps
    return p / p.sum()


def kl_divergence(p: np.ndarray, q: np.ndarray, eps: float = 1e-6) -> float:
    """KL(p || q) in nats between two histograms, after additive smoothing.

    Smoothing: ``eps`` is added to every cell of both histograms, which are then
    renormalised. Without it KL is infinite as soon as one cell has real mass and no
    generated mass, which is the normal state early in training.
    """
    p, q = _smooth(p, eps), _smooth(q, eps)
    return float(np.sum(p * np.log(p / q)))


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence in nats: 0 for equal histograms, ln 2 for disjoint.

    JS = (KL(p || m) + KL(q || m)) / 2 with m = (p + q) / 2. No smoothing is needed
    (m > 0 wherever p or q is), empty cells contribute 0 (0 log 0 = 0).
    """
    p = p.ravel() / p.sum()
    q = q.ravel() / q.sum()
    m = 0.5 * (p + q)

    def part(a):
        nz = a > 0
        return float(np.sum(a[nz] * np.log(a[nz] / m[nz])))

    return 0.5 * part(p) + 0.5 * part(q)


def grid_divergences(real: np.ndarray, fake: np.ndarray, bins: int = 20,
                     extent=VIEW, eps: float = 1e-6) -> dict:
    """GAN Lab's numbers: KL(real || fake) and JS(real, fake) on a bins x bins grid.

    ``eps`` is KL's additive smoothing (see ``kl_divergence``); JS needs none.
    """
    p = grid_histogram(real, bins, extent)
    q = grid_histogram(fake, bins, extent)
    return {"kl_grid": kl_divergence(p, q, eps), "js_grid": js_divergence(p, q)}


# ----------------------------------------------------------- 3. discriminator accuracy


def discriminator_accuracy(real_scores: np.ndarray, fake_scores: np.ndarray,
                           threshold: float = 0.0) -> tuple[float, float]:
    """Fraction of real samples scored above ``threshold`` and fakes at or below it.

    Scores are logits for BCE-trained discriminators (threshold 0 <=> D(x) = 0.5) and
    raw outputs for least-squares ones (threshold 0.5).
    """
    real = np.asarray(real_scores).ravel()
    fake = np.asarray(fake_scores).ravel()
    acc_real = float((real > threshold).mean()) if real.size else 0.0
    acc_fake = float((fake <= threshold).mean()) if fake.size else 0.0
    return acc_real, acc_fake


# -------------------------------------------------- 4. image and text metrics (later)
# MMD, FID-lite, nearest-neighbour distance and perplexity belong here.


# ------------------------------------------- 5. image metrics (engine/image_metrics.py)
# Nearest-training-neighbour copy check, FID-lite (Fréchet distance of fixed random
# ReLU features, matrix square roots via eigh) and the sprite attribute classifier live
# in engine/image_metrics.py, which documents the features and thresholds; they are
# re-exported here so `from engine.metrics import fid_lite` works too.
from .image_metrics import (  # noqa: E402, F401, I001 - a re-export after the 2-D metrics
    CONFIDENCE, COPY_RMS, attribute_accuracy, attribute_agreement, copies, fid_features,
    fid_lite, frechet_distance, nearest_neighbours, sqrtm_psd)

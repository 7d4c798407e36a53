"""Numbers that say how well a generative model is doing.

Sections:
  1. mode coverage and sample quality (VEEGAN)        -- 2-D GANs
  2. grid KL / JS divergence (GAN Lab)                -- 2-D GANs
  3. discriminator accuracy                           -- GANs
  4. precision, coverage and MMD of 2-D samples     -- the families lab
  5. image metrics (FID-lite, nearest neighbour)      -- engine/image_metrics.py
  6. rank correlation (Spearman)                      -- do people agree with a metric?

Plain numpy: these run a few times per second at most, on a few thousand points.
"""

from __future__ import annotations

import numpy as np

from .data import VIEW

# ----------------------------------------------------- 1. mode coverage (VEEGAN style)


def mode_coverage(
    samples: np.ndarray, modes: np.ndarray, std: float, n_sigma: float = 3.0, min_fraction: float = 0.1
) -> dict:
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
        return {"modes_total": k, "modes_covered": 0, "high_quality": 0.0, "per_mode": [0] * k}
    d2 = ((samples[:, None, :] - modes[None, :, :]) ** 2).sum(-1)
    nearest = d2.argmin(1)
    good = d2[np.arange(n), nearest] <= (n_sigma * std) ** 2
    per_mode = np.bincount(nearest[good], minlength=k)
    threshold = max(1.0, min_fraction * n / k)
    return {
        "modes_total": int(k),
        "modes_covered": int((per_mode >= threshold).sum()),
        "high_quality": float(good.mean()),
        "per_mode": per_mode.tolist(),
    }


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


def grid_divergences(
    real: np.ndarray, fake: np.ndarray, bins: int = 20, extent=VIEW, eps: float = 1e-6
) -> dict:
    """GAN Lab's numbers: KL(real || fake) and JS(real, fake) on a bins x bins grid.

    ``eps`` is KL's additive smoothing (see ``kl_divergence``); JS needs none.
    """
    p = grid_histogram(real, bins, extent)
    q = grid_histogram(fake, bins, extent)
    return {"kl_grid": kl_divergence(p, q, eps), "js_grid": js_divergence(p, q)}


# ----------------------------------------------------------- 3. discriminator accuracy


def discriminator_accuracy(
    real_scores: np.ndarray, fake_scores: np.ndarray, threshold: float = 0.0
) -> tuple[float, float]:
    """Fraction of real samples scored above ``threshold`` and fakes at or below it.

    Scores are logits for BCE-trained discriminators (threshold 0 <=> D(x) = 0.5) and
    raw outputs for least-squares ones (threshold 0.5).
    """
    real = np.asarray(real_scores).ravel()
    fake = np.asarray(fake_scores).ravel()
    acc_real = float((real > threshold).mean()) if real.size else 0.0
    acc_fake = float((fake <= threshold).mean()) if fake.size else 0.0
    return acc_real, acc_fake


# ------------------------------------------- 4. precision, coverage, MMD (2-D samples)


def pairwise_sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) squared Euclidean distances, in float64 (never negative)."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :]
    ab = a @ b.T
    ab *= 2.0  # in place: two (len(a), len(b)) arrays, not four
    d2 -= ab
    return np.maximum(d2, 0.0, out=d2)


ROW_CHUNK = 256
"""Rows of a distance matrix held at once by the data-only measures below: 2048 points
would otherwise need a 32 MiB matrix (and its temporaries) for a 16 KiB answer."""


def knn_radii(points: np.ndarray, k: int = 5) -> np.ndarray:
    """Distance from each point to its k-th nearest OTHER point of the same set."""
    points = np.asarray(points, np.float64)
    k = min(int(k), len(points) - 1)
    out = np.empty(len(points), np.float64)
    for s in range(0, len(points), ROW_CHUNK):
        d2 = pairwise_sq_dists(points[s : s + ROW_CHUNK], points)
        rows = np.arange(len(d2))
        d2[rows, s + rows] = np.inf  # not its own neighbour
        out[s : s + ROW_CHUNK] = np.sqrt(np.partition(d2, k - 1, axis=1)[:, k - 1])
    return out


def mean_gaussian_kernel(x: np.ndarray, y: np.ndarray, bandwidth: float = 0.2) -> float:
    """mean over all pairs of exp(-|x_i - y_j|^2 / 2h^2), a block of rows at a time."""
    g = -0.5 / float(bandwidth) ** 2
    total = 0.0
    for s in range(0, len(x), ROW_CHUNK):
        total += float(np.exp(g * pairwise_sq_dists(x[s : s + ROW_CHUNK], y)).sum())
    return total / (len(x) * len(y))


def precision_coverage(
    samples: np.ndarray, data: np.ndarray, k: int = 5, radii: np.ndarray | None = None
) -> dict:
    """Two numbers in [0, 1] that separate "sharp" from "complete".

    Around every data point draw a ball reaching its k-th nearest data neighbour (a
    local scale: small where the data is dense, large where it is thin).

    * **precision** (Kynkäänniemi et al. 2019): the share of samples that fall inside
      at least one ball -- samples near the data. A blurry model scores low.
    * **coverage** (Naeem et al. 2020): the share of data points whose ball holds at
      least one sample -- data near a sample. A model that drops modes scores low.

    ``radii``: the data's ``knn_radii(data, k)`` when the caller has them already (they
    cost a data x data distance matrix; a lab measuring often computes them once).
    """
    samples = np.asarray(samples, np.float64)
    data = np.asarray(data, np.float64)
    if len(samples) == 0 or len(data) < 2:
        return {"precision": 0.0, "coverage": 0.0}
    radii = knn_radii(data, k) if radii is None else radii
    inside = pairwise_sq_dists(samples, data) <= (radii**2)[None, :]
    return {"precision": float(inside.any(axis=1).mean()), "coverage": float(inside.any(axis=0).mean())}


def mmd(x: np.ndarray, y: np.ndarray, bandwidth: float = 0.2, kyy: float | None = None) -> float:
    """Squared maximum mean discrepancy with a Gaussian kernel (biased V-statistic).

    MMD² = mean k(x, x') + mean k(y, y') - 2 mean k(x, y), k(a, b) = exp(-|a-b|² / 2h²).
    0 for identical sets, at most 2; ``bandwidth`` h is in data units (0.2: about the
    size of a ring mode's blob, so it notices a missing mode or a smeared one).
    ``kyy``: mean k(y, y') when already known (it depends on y only).
    """
    g = -0.5 / float(bandwidth) ** 2
    kxx = np.exp(g * pairwise_sq_dists(x, x)).mean()
    if kyy is None:
        kyy = np.exp(g * pairwise_sq_dists(y, y)).mean()
    kxy = np.exp(g * pairwise_sq_dists(x, y)).mean()
    return float(max(kxx + kyy - 2.0 * kxy, 0.0))


def sample_quality(
    samples: np.ndarray,
    data: np.ndarray,
    modes: np.ndarray | None = None,
    std: float | None = None,
    k: int = 5,
    cache: dict | None = None,
) -> dict:
    """The families lab's numbers for one model: precision, coverage, MMD and, where
    the data is made of modes, how many of them the samples reach.

    ``cache``: a dict kept by the caller for this ``data``; the data-only parts (the
    k-NN radii and MMD's k(y, y') term) are computed once and stored in it."""
    samples = np.asarray(samples, np.float64)
    finite = np.isfinite(samples).all(axis=1)
    cache = {} if cache is None else cache
    if "radii" not in cache:
        cache["radii"] = knn_radii(data, k)
        cache["kyy"] = mean_gaussian_kernel(np.asarray(data, np.float64), np.asarray(data, np.float64))
    out = precision_coverage(samples[finite], data, k, radii=cache["radii"])
    out["precision"] *= float(finite.mean()) if len(samples) else 0.0
    out["mmd"] = mmd(samples[finite], data, kyy=cache["kyy"]) if finite.any() else 2.0
    if modes is not None and std is not None:
        cov = mode_coverage(samples[finite], modes, std)
        out.update(modes_covered=cov["modes_covered"], modes_total=cov["modes_total"])
    else:
        out.update(modes_covered=None, modes_total=None)
    return out


# ------------------------------------------- 5. image metrics (engine/image_metrics.py)
# Nearest-training-neighbour copy check, FID-lite (Fréchet distance of fixed random
# ReLU features, matrix square roots via eigh) and the sprite attribute classifier live
# in engine/image_metrics.py, which documents the features and thresholds; they are
# re-exported here so `from engine.metrics import fid_lite` works too.
from .image_metrics import (  # noqa: E402, F401, I001 - a re-export after the 2-D metrics
    CONFIDENCE,
    COPY_RMS,
    attribute_accuracy,
    attribute_agreement,
    copies,
    fid_features,
    fid_lite,
    frechet_distance,
    nearest_neighbours,
    sqrtm_psd,
)


# ------------------------------------------------------------- 6. rank correlation


def average_ranks(values) -> np.ndarray:
    """Ranks 1..n of ``values`` (float64); tied values share the mean of their ranks."""
    x = np.asarray(values, np.float64).ravel()
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x), np.float64)
    sorted_x = x[order]
    start = 0
    for end in range(1, len(x) + 1):
        if end == len(x) or sorted_x[end] != sorted_x[start]:
            ranks[order[start:end]] = (start + 1 + end) / 2.0  # mean of ranks start+1..end
            start = end
    return ranks


def spearman(a, b) -> float:
    """Spearman's rank correlation: the Pearson correlation of the average ranks.

    With no ties it equals 1 - 6 sum(d^2) / (n (n^2 - 1)). NaN when either side is
    constant (every rating the same): no ordering to agree with."""
    ra, rb = average_ranks(a), average_ranks(b)
    if len(ra) != len(rb):
        raise ValueError(f"spearman needs two equally long lists, not {len(ra)} and {len(rb)}")
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = float(np.sqrt((ra * ra).sum() * (rb * rb).sum()))
    return float((ra * rb).sum() / denom) if denom > 0 else float("nan")

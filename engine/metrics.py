"""Numbers that say how well a generative model is doing.

Sections:
  1. mode coverage and sample quality (VEEGAN)        -- 2-D GANs
  2. grid KL / JS divergence (GAN Lab)                -- 2-D GANs
  3. discriminator accuracy                           -- GANs
  4. precision, coverage and MMD of 2-D samples     -- the families lab
  5. image metrics (FID-lite, nearest neighbour)      -- engine/image_metrics.py
  6. rank correlation (Spearman)                      -- do people agree with a metric?

Plain numpy, except section 4's pair loops: the families lab measures five models
(512 samples against 2,048 data points each) before its first frame, and the kernels
below do it in one pass over the pairs with no distance matrix (0.36 s -> 0.10 s,
benchmarks/bench_measures.py).
"""

from __future__ import annotations

import numpy as np

from .data import VIEW
from .runtime import kernel, register_warmup, twin_of

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
"""Rows of a distance matrix the numpy twins below hold at once: 2048 points would
otherwise need a 32 MiB matrix (and its temporaries) for a 16 KiB answer."""

# The pair loops: each kernel visits every pair once, computing |a - b|^2 from the
# differences (no cancellation, never negative). Its numpy twin (what runs while the
# kernel's compile is deferred) uses pairwise_sq_dists in row blocks; the two agree to
# rounding (tests/engine/test_metrics.py).


NEGLIGIBLE = -40.0
"""exp(-40) = 4e-18: a Gaussian kernel term below it changes no mean of terms that
include the pairs' own exp(0) = 1 terms, so the loops skip its exp (most pairs of a
multi-mode dataset are that far apart at h = 0.2)."""


@kernel
def _sq_dist(a, i, b, j):
    """|a[i] - b[j]|^2 from the differences (never negative, no cancellation)."""
    d2 = 0.0
    for c in range(a.shape[1]):
        diff = a[i, c] - b[j, c]
        d2 += diff * diff
    return d2


@kernel
def _insert_smallest(best, d2):
    """Put d2 into ``best`` (the k smallest so far, ascending) if it belongs there."""
    k = best.shape[0]
    if d2 < best[k - 1]:
        p = k - 1
        while p > 0 and best[p - 1] > d2:
            best[p] = best[p - 1]
            p -= 1
        best[p] = d2


@kernel
def _kth_nearest_sq(points, k, out):
    """out[i] = squared distance from point i to its k-th nearest OTHER point. Each
    pair is measured once and offered to both of its points."""
    n = points.shape[0]
    best = np.full((n, k), np.inf)
    for i in range(n):
        for j in range(i + 1, n):
            d2 = _sq_dist(points, i, points, j)
            _insert_smallest(best[i], d2)
            _insert_smallest(best[j], d2)
    for i in range(n):
        out[i] = best[i, k - 1]


@twin_of(_kth_nearest_sq)
def _kth_nearest_sq_numpy(points, k, out):
    for s in range(0, len(points), ROW_CHUNK):
        d2 = pairwise_sq_dists(points[s : s + ROW_CHUNK], points)
        rows = np.arange(len(d2))
        d2[rows, s + rows] = np.inf  # not its own neighbour
        out[s : s + ROW_CHUNK] = np.partition(d2, k - 1, axis=1)[:, k - 1]


@kernel
def _gaussian_sum(x, y, g):
    """Sum over all pairs of exp(g |x_i - y_j|^2) (terms below NEGLIGIBLE skipped)."""
    total = 0.0
    for i in range(x.shape[0]):
        for j in range(y.shape[0]):
            d2 = _sq_dist(x, i, y, j)
            if g * d2 > NEGLIGIBLE:
                total += np.exp(g * d2)
    return total


@twin_of(_gaussian_sum)
def _gaussian_sum_numpy(x, y, g):
    total = 0.0
    for s in range(0, len(x), ROW_CHUNK):
        total += float(np.exp(g * pairwise_sq_dists(x[s : s + ROW_CHUNK], y)).sum())
    return total


@kernel
def _gaussian_self_sum(x, g):
    """_gaussian_sum(x, x, g), each pair once: 2 x (the pairs i < j) + n x exp(0)."""
    total = 0.0
    for i in range(x.shape[0]):
        for j in range(i + 1, x.shape[0]):
            d2 = _sq_dist(x, i, x, j)
            if g * d2 > NEGLIGIBLE:
                total += np.exp(g * d2)
    return 2.0 * total + x.shape[0]


@twin_of(_gaussian_self_sum)
def _gaussian_self_sum_numpy(x, g):
    return _gaussian_sum_numpy(x, x, g)


@kernel
def _balls(samples, data, r2, g, inside, covered):
    """One pass over every (sample, data point) pair: inside[i] = sample i lies in some
    data point's ball (|s_i - d_j|^2 <= r2[j]), covered[j] |= some sample lies in ball
    j; returns the sum over the pairs of exp(g |s_i - d_j|^2) (MMD's cross term)."""
    total = 0.0
    for i in range(samples.shape[0]):
        hit = False
        for j in range(data.shape[0]):
            d2 = _sq_dist(samples, i, data, j)
            if d2 <= r2[j]:
                hit = True
                covered[j] = True
            if g * d2 > NEGLIGIBLE:
                total += np.exp(g * d2)
        inside[i] = hit
    return total


@twin_of(_balls)
def _balls_numpy(samples, data, r2, g, inside, covered):
    total = 0.0
    for s in range(0, len(samples), ROW_CHUNK):
        d2 = pairwise_sq_dists(samples[s : s + ROW_CHUNK], data)
        near = d2 <= r2[None, :]
        inside[s : s + ROW_CHUNK] = near.any(axis=1)
        covered |= near.any(axis=0)
        total += float(np.exp(g * d2).sum())
    return total


def _points(a) -> np.ndarray:
    """(n, d) float64, C-ordered: what the pair kernels take."""
    a = np.ascontiguousarray(a, np.float64)
    return a.reshape(len(a), -1)


def knn_radii(points: np.ndarray, k: int = 5) -> np.ndarray:
    """Distance from each point to its k-th nearest OTHER point of the same set."""
    points = _points(points)
    k = min(int(k), len(points) - 1)
    out = np.empty(len(points), np.float64)
    _kth_nearest_sq(points, k, out)
    return np.sqrt(out)


def _gamma(bandwidth: float) -> float:
    return -0.5 / float(bandwidth) ** 2


def mean_gaussian_kernel(x: np.ndarray, y: np.ndarray, bandwidth: float = 0.2) -> float:
    """mean over all pairs of exp(-|x_i - y_j|^2 / 2h^2)."""
    x, y = _points(x), _points(y)
    if x is y or (x.shape == y.shape and np.array_equal(x, y)):  # half the pairs
        return _gaussian_self_sum(x, _gamma(bandwidth)) / (len(x) * len(x))
    return _gaussian_sum(x, y, _gamma(bandwidth)) / (len(x) * len(y))


def _balls_and_cross_term(samples, data, radii, bandwidth: float) -> tuple[np.ndarray, np.ndarray, float]:
    """(samples inside a ball, balls holding a sample, mean cross kernel) in one pass."""
    inside = np.zeros(len(samples), np.bool_)
    covered = np.zeros(len(data), np.bool_)
    r2 = np.ascontiguousarray(np.asarray(radii, np.float64) ** 2)
    total = _balls(samples, data, r2, _gamma(bandwidth), inside, covered)
    return inside, covered, total / (len(samples) * len(data))


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
    cost a pass over every data pair; a lab measuring often computes them once).
    """
    samples, data = _points(samples), _points(data)
    if len(samples) == 0 or len(data) < 2:
        return {"precision": 0.0, "coverage": 0.0}
    radii = knn_radii(data, k) if radii is None else radii
    inside, covered, _ = _balls_and_cross_term(samples, data, radii, 1.0)
    return {"precision": float(inside.mean()), "coverage": float(covered.mean())}


def mmd(x: np.ndarray, y: np.ndarray, bandwidth: float = 0.2, kyy: float | None = None) -> float:
    """Squared maximum mean discrepancy with a Gaussian kernel (biased V-statistic).

    MMD² = mean k(x, x') + mean k(y, y') - 2 mean k(x, y), k(a, b) = exp(-|a-b|² / 2h²).
    0 for identical sets, at most 2; ``bandwidth`` h is in data units (0.2: about the
    size of a ring mode's blob, so it notices a missing mode or a smeared one).
    ``kyy``: mean k(y, y') when already known (it depends on y only).
    """
    x, y = _points(x), _points(y)
    kxx = mean_gaussian_kernel(x, x, bandwidth)
    if kyy is None:
        kyy = mean_gaussian_kernel(y, y, bandwidth)
    kxy = mean_gaussian_kernel(x, y, bandwidth)
    return float(max(kxx + kyy - 2.0 * kxy, 0.0))


def sample_quality(
    samples: np.ndarray,
    data: np.ndarray,
    modes: np.ndarray | None = None,
    std: float | None = None,
    k: int = 5,
    cache: dict | None = None,
    bandwidth: float = 0.2,
) -> dict:
    """The families lab's numbers for one model: precision, coverage, MMD and, where
    the data is made of modes, how many of them the samples reach (the same numbers as
    :func:`precision_coverage` and :func:`mmd`, with one pass over the sample-data pairs
    for both).

    ``cache``: a dict kept by the caller for this ``data``; the data-only parts (the
    k-NN radii and MMD's k(y, y') term) are computed once and stored in it."""
    samples, data = _points(samples), _points(data)
    finite = np.isfinite(samples).all(axis=1)
    cache = {} if cache is None else cache
    if "radii" not in cache:
        cache["radii"] = knn_radii(data, k)
        cache["kyy"] = mean_gaussian_kernel(data, data, bandwidth)
    good = np.ascontiguousarray(samples[finite])
    out: dict = {"precision": 0.0, "coverage": 0.0, "mmd": 2.0}
    if len(good) and len(data) >= 2:
        inside, covered, kxy = _balls_and_cross_term(good, data, cache["radii"], bandwidth)
        out["precision"] = float(inside.mean()) * float(finite.mean())
        out["coverage"] = float(covered.mean())
        kxx = mean_gaussian_kernel(good, good, bandwidth)
        out["mmd"] = float(max(kxx + cache["kyy"] - 2.0 * kxy, 0.0))
    if modes is not None and std is not None:
        cov = mode_coverage(good, modes, std)
        out.update(modes_covered=cov["modes_covered"], modes_total=cov["modes_total"])
    else:
        out.update(modes_covered=None, modes_total=None)
    return out


def _warm_up() -> None:
    """Compile or load the pair kernels (float64 (n, 2) points, as the labs pass them)."""
    pts = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    sample_quality(pts[:2], pts, k=1)
    mean_gaussian_kernel(pts[:2], pts)  # two different sets (mmd's cross term)


register_warmup("metrics", _warm_up)


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

"""Metrics on hand-made samples with known answers."""

import math

import numpy as np
import pytest

from engine import data, metrics


def _ring():
    return data.ring(n=8)


def test_samples_on_three_modes():
    toy = _ring()
    samples = np.repeat(toy.modes[[0, 3, 5]], 100, axis=0)
    cov = metrics.mode_coverage(samples, toy.modes, toy.std)
    assert cov["modes_total"] == 8 and cov["modes_covered"] == 3
    assert cov["high_quality"] == 1.0
    assert cov["per_mode"] == [100, 0, 0, 100, 0, 100, 0, 0]


def test_far_samples_are_low_quality():
    toy = _ring()
    samples = np.zeros((50, 2))  # the ring's centre: 25 std from every mode
    cov = metrics.mode_coverage(samples, toy.modes, toy.std)
    assert cov["high_quality"] == 0.0 and cov["modes_covered"] == 0


def test_quality_boundary_is_three_std():
    toy = _ring()
    inside = toy.modes[0] + [2.9 * toy.std, 0]
    outside = toy.modes[0] + [3.1 * toy.std, 0]
    assert metrics.mode_coverage([inside], toy.modes, toy.std)["high_quality"] == 1.0
    assert metrics.mode_coverage([outside], toy.modes, toy.std)["high_quality"] == 0.0


def test_a_stray_sample_does_not_cover_a_mode():
    toy = _ring()
    samples = np.concatenate([np.repeat(toy.modes[:1], 999, axis=0), toy.modes[1:2]])
    cov = metrics.mode_coverage(samples, toy.modes, toy.std)
    assert cov["modes_covered"] == 1  # mode 1 got 1 sample, needs 10 % of 1000/8


def test_perfect_samples_cover_everything():
    toy = data.ring(n=4000, seed=1)
    cov = metrics.mode_coverage(toy.points, toy.modes, toy.std)
    assert cov["modes_covered"] == 8 and cov["high_quality"] > 0.98  # 3 std in 2-D: 98.9 %


def test_histogram_normalised_and_clamped():
    hist = metrics.grid_histogram(np.array([[0.0, 0.0], [100.0, 100.0], [-100, 0.0]]), bins=4)
    assert hist.sum() == pytest.approx(1.0)
    assert hist[3, 3] == pytest.approx(1 / 3) and hist[2, 0] == pytest.approx(1 / 3)


def test_js_and_kl_closed_forms():
    rng = np.random.default_rng(0)
    a = rng.uniform(-1.9, -0.1, (500, 2))
    b = rng.uniform(0.1, 1.9, (500, 2))
    same = metrics.grid_divergences(a, a)
    assert same["js_grid"] == pytest.approx(0.0, abs=1e-12)
    assert same["kl_grid"] == pytest.approx(0.0, abs=1e-12)
    apart = metrics.grid_divergences(a, b)
    assert apart["js_grid"] == pytest.approx(math.log(2), abs=1e-12)
    assert apart["kl_grid"] > 5.0
    p = metrics.grid_histogram(a)
    q = metrics.grid_histogram(rng.uniform(-1.9, 1.9, (500, 2)))
    assert metrics.js_divergence(p, q) == pytest.approx(metrics.js_divergence(q, p))
    assert 0.0 < metrics.js_divergence(p, q) < math.log(2)
    assert metrics.kl_divergence(p, q) >= 0.0


def test_discriminator_accuracy():
    real = np.array([2.0, 1.0, -1.0, 3.0])
    fake = np.array([-2.0, 0.5])
    assert metrics.discriminator_accuracy(real, fake) == (0.75, 0.5)
    assert metrics.discriminator_accuracy(real, fake, threshold=1.5) == (0.5, 1.0)


# ------------------------------------------------ precision, coverage, MMD (2-D samples)


def test_pairwise_distances_match_a_loop():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((7, 2)), rng.standard_normal((5, 2))
    loop = np.array([[np.sum((x - y) ** 2) for y in b] for x in a])
    np.testing.assert_allclose(metrics.pairwise_sq_dists(a, b), loop, atol=1e-12)


def test_knn_radius_on_a_line():
    pts = np.stack([np.arange(10.0), np.zeros(10)], 1)
    np.testing.assert_allclose(metrics.knn_radii(pts, k=2), [2] + [1] * 8 + [2])


def test_knn_radii_and_kernel_mean_in_row_blocks_match_the_whole_matrix():
    """The data-only measures work a block of rows at a time (memory); across block
    boundaries they must give what the whole distance matrix gives."""
    rng = np.random.default_rng(3)
    pts = rng.standard_normal((2 * metrics.ROW_CHUNK + 37, 2))
    d2 = ((pts[:, None, :] - pts[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d2, np.inf)
    np.testing.assert_allclose(metrics.knn_radii(pts, k=5), np.sqrt(np.sort(d2, axis=1)[:, 4]), rtol=1e-10)
    np.fill_diagonal(d2, 0.0)
    np.testing.assert_allclose(
        metrics.mean_gaussian_kernel(pts, pts[:100], 0.3),
        np.exp(-d2[:, :100] / (2 * 0.3**2)).mean(),
        rtol=1e-12,
    )


def test_sample_quality_is_precision_coverage_and_mmd_in_one_pass():
    rng = np.random.default_rng(5)
    toy = data.ring(n=700)
    samples = toy.points[:300] + rng.standard_normal((300, 2)) * 0.3
    cache: dict = {}
    q = metrics.sample_quality(samples, toy.points, cache=cache)
    pc = metrics.precision_coverage(samples, toy.points)
    assert q["precision"] == pc["precision"] and q["coverage"] == pc["coverage"]
    assert 0.05 < pc["precision"] < 0.95 and 0.05 < pc["coverage"] < 0.95  # neither end: a real check
    assert q["mmd"] == pytest.approx(metrics.mmd(samples, toy.points), rel=1e-9)
    assert set(cache) == {"radii", "kyy"}
    again = metrics.sample_quality(samples, toy.points, cache=cache)  # from the cache: same numbers
    assert again == q


def test_perfect_samples_are_precise_and_complete():
    toy = data.ring(n=1000)
    pc = metrics.precision_coverage(toy.points, toy.points)
    assert pc == {"precision": 1.0, "coverage": 1.0}


def test_dropping_modes_keeps_precision_and_loses_coverage():
    toy = data.ring(n=2000)
    d2 = ((toy.points[:, None] - toy.modes[None]) ** 2).sum(-1)
    on_half = d2.argmin(1) < 4  # the points of modes 0-3 only
    pc = metrics.precision_coverage(toy.points[on_half], toy.points)
    assert pc["precision"] == 1.0
    assert pc["coverage"] == pytest.approx(on_half.mean())  # exactly those data points


def test_blurred_samples_lose_precision_and_keep_coverage():
    toy = data.ring(n=2000)
    blurred = toy.points + np.random.default_rng(1).standard_normal(toy.points.shape) * 0.5
    far = np.full((100, 2), 10.0)
    pc = metrics.precision_coverage(np.concatenate([blurred, toy.points]), toy.points)
    assert pc["coverage"] == 1.0 and pc["precision"] < 0.8
    assert metrics.precision_coverage(far, toy.points) == {"precision": 0.0, "coverage": 0.0}


def test_mmd_closed_forms():
    x = np.zeros((50, 2))
    y = np.full((30, 2), 0.3)
    h = 0.2
    assert metrics.mmd(x, x, h) == pytest.approx(0.0, abs=1e-12)
    # two point masses: 1 + 1 - 2 k(a, b), |a - b|^2 = 2 * 0.09
    assert metrics.mmd(x, y, h) == pytest.approx(2 - 2 * math.exp(-0.18 / (2 * h * h)))


def test_mmd_matches_a_double_loop():
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((20, 2)), rng.standard_normal((15, 2)) + 0.5
    k = lambda a, b: math.exp(-np.sum((a - b) ** 2) / (2 * 0.3**2))  # noqa: E731
    kxx = np.mean([k(a, b) for a in x for b in x])
    kyy = np.mean([k(a, b) for a in y for b in y])
    kxy = np.mean([k(a, b) for a in x for b in y])
    assert metrics.mmd(x, y, 0.3) == pytest.approx(kxx + kyy - 2 * kxy, rel=1e-9)


def test_sample_quality_counts_non_finite_samples_as_bad():
    toy = data.ring(n=800)
    samples = toy.points.astype(np.float64).copy()
    samples[:400] = np.nan
    q = metrics.sample_quality(samples, toy.points, toy.modes, toy.std)
    assert q["precision"] == pytest.approx(0.5)
    assert q["modes_total"] == 8 and q["modes_covered"] == 8
    assert metrics.sample_quality(samples, toy.points)["modes_covered"] is None


def test_sample_quality_cache_gives_the_same_numbers():
    toy = data.ring(n=600)
    samples = toy.points[:300] + 0.05
    cache: dict = {}
    first = metrics.sample_quality(samples, toy.points, cache=cache)
    assert "radii" in cache and "kyy" in cache
    again = metrics.sample_quality(samples, toy.points, cache=cache)
    assert first == again == metrics.sample_quality(samples, toy.points)

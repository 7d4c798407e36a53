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
    hist = metrics.grid_histogram(np.array([[0.0, 0.0], [100.0, 100.0], [-100, 0.0]]),
                                  bins=4)
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

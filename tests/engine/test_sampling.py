"""Temperature, top-k, top-p and seeded sampling: closed forms and fixed-seed statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine import sampling as S


def plain_softmax(z):
    z = np.asarray(z, np.float64)
    e = np.exp(z - z.max())
    return e / e.sum()


@pytest.fixture
def logits():
    return np.random.default_rng(7).normal(0.0, 2.0, 50).astype(np.float32)


@pytest.mark.parametrize("T", [0.05, 0.3, 0.7, 1.0, 1.5, 4.0, 10.0])
def test_temperature_reshapes_as_p_to_the_one_over_T(logits, T):
    p = plain_softmax(logits)
    expected = p ** (1.0 / T)
    expected /= expected.sum()
    np.testing.assert_allclose(S.softmax(logits, T), expected, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(S.warp(logits, T), expected, rtol=1e-12, atol=1e-300)


def test_lesson_worked_example():
    z = np.array([4.0, 2.0, 1.0, -1.0], np.float32)  # Paris, Lyon, a, pizza
    np.testing.assert_allclose(S.softmax(z, 1.0), [0.84, 0.11, 0.04, 0.01], atol=0.01)
    np.testing.assert_allclose(S.softmax(z, 0.5)[0], 0.98, atol=0.01)
    np.testing.assert_allclose(S.softmax(z, 2.0), [0.60, 0.22, 0.13, 0.05], atol=0.01)
    np.testing.assert_allclose(S.warp(z, 1.0, top_k=2)[:2], [0.88, 0.12], atol=0.01)
    assert np.count_nonzero(S.warp(z, 1.0, top_p=0.9)) == 2
    assert np.count_nonzero(S.warp(z, 2.0, top_p=0.9)) == 3


@pytest.mark.parametrize("scale", [1.0, 1e3, 1e4])
def test_tiny_temperature_is_greedy_and_finite(logits, scale):
    z = (logits * scale).astype(np.float32)
    p = S.warp(z, S.MIN_TEMPERATURE)
    assert np.all(np.isfinite(p)) and math.isclose(p.sum(), 1.0)
    top = S.greedy(z)
    assert p[top] > 0.999 and int(np.argmax(p)) == top
    picks = S.sample_many(p, 500, np.random.default_rng(0))
    assert np.all(picks == top)


def test_zero_temperature_is_one_hot_greedy(logits):
    p = S.warp(logits, 0.0)
    assert p[S.greedy(logits)] == 1.0 and p.sum() == 1.0


def test_large_temperature_approaches_uniform(logits):
    n = logits.shape[0]
    entropies = [S.entropy_bits(S.softmax(logits, T)) for T in (0.5, 1, 2, 5, 10)]
    assert entropies == sorted(entropies)
    np.testing.assert_allclose(S.softmax(logits, 1e6), np.full(n, 1 / n), rtol=1e-4)
    assert S.entropy_bits(S.softmax(logits, 10.0)) > 0.95 * math.log2(n)


@pytest.mark.parametrize("k", [1, 2, 5, 17, 49])
def test_top_k_keeps_exactly_k_most_likely(logits, k):
    p = S.warp(logits, 1.0, top_k=k)
    kept = np.flatnonzero(p)
    assert kept.size == k
    assert set(kept) == set(np.argsort(-logits)[:k])
    base = plain_softmax(logits)[kept]
    np.testing.assert_allclose(p[kept], base / base.sum(), rtol=1e-12)


def test_top_k_off_or_larger_than_vocabulary_keeps_all(logits):
    for k in (0, 50, 500):
        assert np.count_nonzero(S.warp(logits, 1.0, top_k=k)) == logits.shape[0]


@pytest.mark.parametrize("top_p", [0.05, 0.3, 0.5, 0.8, 0.9, 0.95, 0.999])
def test_top_p_keeps_the_minimal_nucleus(logits, top_p):
    base = plain_softmax(logits)
    p = S.warp(logits, 1.0, top_p=top_p)
    kept = np.flatnonzero(p)
    order = np.argsort(-base)
    m = kept.size
    assert set(kept) == set(order[:m])  # the most likely tokens
    assert base[order[:m]].sum() >= top_p - 1e-12  # they reach p ...
    assert m == 1 or base[order[: m - 1]].sum() < top_p  # ... and one fewer would not
    np.testing.assert_allclose(p.sum(), 1.0)


def test_top_p_always_keeps_at_least_one_token(logits):
    assert np.count_nonzero(S.warp(logits, 1.0, top_p=1e-9)) == 1


def test_top_p_is_applied_after_top_k_and_renormalisation():
    z = np.log(np.array([0.4, 0.3, 0.2, 0.1]))
    # top-k 2 leaves 0.4/0.7 = 0.571 and 0.3/0.7; p = 0.5 then keeps only the first
    # (on the unrenormalised 0.4 it would have needed two)
    assert np.count_nonzero(S.warp(z, 1.0, top_k=2, top_p=0.5)) == 1
    assert np.count_nonzero(S.warp(z, 1.0, top_k=2, top_p=0.6)) == 2


def chi_square_critical(df: int, z_alpha: float = 3.09) -> float:
    """Wilson-Hilferty approximation of the chi-square quantile (z = 3.09: alpha 0.001)."""
    return df * (1 - 2 / (9 * df) + z_alpha * math.sqrt(2 / (9 * df))) ** 3


@pytest.mark.parametrize("T,top_k,top_p", [(1.0, 0, 1.0), (0.7, 10, 1.0), (1.5, 0, 0.9)])
def test_sampling_frequencies_match_probabilities_chi_square(logits, T, top_k, top_p):
    p = S.warp(logits, T, top_k, top_p)
    n = 40_000
    picks = S.sample_many(p, n, np.random.default_rng(1234))
    counts = np.bincount(picks, minlength=p.size)
    assert counts[p == 0].sum() == 0  # filtered tokens are never drawn
    expected = n * p
    cells = expected >= 5  # the usual validity rule
    rest_obs, rest_exp = counts[~cells & (p > 0)].sum(), expected[~cells & (p > 0)].sum()
    obs = np.append(counts[cells], rest_obs) if rest_exp > 0 else counts[cells]
    exp = np.append(expected[cells], rest_exp) if rest_exp > 0 else expected[cells]
    chi2 = float(((obs - exp) ** 2 / exp).sum())
    assert chi2 < chi_square_critical(len(obs) - 1)


def test_same_seed_same_draws(logits):
    p = S.warp(logits, 1.2, top_p=0.95)
    a = S.sample_many(p, 200, np.random.default_rng(5))
    b = S.sample_many(p, 200, np.random.default_rng(5))
    c = S.sample_many(p, 200, np.random.default_rng(6))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert S.sample(p, np.random.default_rng(5)) == a[0]


def test_entropy_in_bits():
    assert S.entropy_bits(np.full(8, 1 / 8)) == pytest.approx(3.0)
    assert S.entropy_bits(np.array([0.0, 1.0, 0.0])) == 0.0
    assert S.entropy_bits(np.array([0.5, 0.5])) == pytest.approx(1.0)

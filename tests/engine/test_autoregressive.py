"""Autoregressive p(x) · p(y | x): exact density, the softmax kernel, gradients, sampling."""

import numpy as np
import pytest

from engine import data, metrics
from engine.autoregressive import (
    ARConfig,
    Autoregressive,
    box_for,
    softmax_xent,
    train_points,
)
from tests import reference as R


def scrambled(bins=8, hidden=16, seed=0, points=None):
    pts = data.toy("moons", 256, seed=seed).points if points is None else points
    model = Autoregressive(ARConfig(bins=bins, hidden=hidden, seed=seed), pts)
    rng = np.random.default_rng(seed + 50)
    model.marginal[...] = rng.standard_normal(bins).astype(np.float32)
    model.net.params[...] = rng.standard_normal(model.net.params.shape).astype(np.float32) * 0.5
    return model


def test_softmax_xent_matches_the_reference():
    rng = np.random.default_rng(0)
    logits = (rng.standard_normal((6, 5)) * 30).astype(np.float32)  # large: stability
    target = rng.integers(0, 5, 6)
    grad = np.empty_like(logits)
    loss = softmax_xent(logits, target, grad, 1.0)
    l64 = R.log_softmax(logits.astype(np.float64))
    assert loss == pytest.approx(-l64[np.arange(6), target].mean(), rel=1e-5)
    expected = np.exp(l64)
    expected[np.arange(6), target] -= 1
    np.testing.assert_allclose(grad, expected / 6, atol=1e-6)


@pytest.mark.parametrize("scale", [1.0, 37.0])
def test_density_integrates_to_one(scale):
    """On a grid 4x finer than the bins (aligned with them), over a box two bins wider
    than the model's on every side."""
    model = scrambled(points=data.toy("ring", 512).points * np.float32(scale))
    bins, w = model.config.bins, model.widths
    axes = [model.lo[k] + w[k] / 4 * (np.arange(-8, 4 * bins + 8) + 0.5) for k in range(2)]
    gx, gy = np.meshgrid(*axes)
    grid = np.stack([gx.ravel(), gy.ravel()], 1)
    step = w[0] / 4, w[1] / 4
    dens = np.exp(model.log_prob(grid))
    assert dens.sum() * step[0] * step[1] == pytest.approx(1.0, abs=1e-5)
    outside = ((grid < model.lo) | (grid > model.hi)).any(1)
    assert outside.any() and np.all(dens[outside] == 0)


def test_log_prob_matches_the_reference():
    model = scrambled(seed=1)
    pts = np.random.default_rng(1).uniform(-2.5, 2.5, (60, 2))
    ref = R.Autoregressive.from_engine(model)
    np.testing.assert_allclose(model.log_prob(pts), ref.log_prob(pts), rtol=1e-5)
    assert np.isinf(model.log_prob([[5.0, 0.0]])[0])


def test_gradients_match_the_reference_and_finite_differences():
    model = scrambled(seed=2)
    tokens = model.tokens[:40]
    loss = model.loss_and_grads(tokens)
    ref = R.Autoregressive.from_engine(model)
    assert loss == pytest.approx(ref.loss(tokens), rel=1e-5)
    d_marg, d_net = ref.backward(tokens)
    np.testing.assert_allclose(model.d_marginal, d_marg, atol=1e-6)
    np.testing.assert_allclose(model.net.grads, d_net, rtol=1e-3, atol=1e-6)
    h = 1e-6
    for k in range(model.config.bins):
        ref.marginal[k] += h
        up = ref.loss(tokens)
        ref.marginal[k] -= 2 * h
        down = ref.loss(tokens)
        ref.marginal[k] += h
        assert (up - down) / (2 * h) == pytest.approx(d_marg[k], abs=1e-6)
    params = ref.net.parameters()
    for a, flat_idx in [(0, 3), (1, 2), (2, 5), (4, 7), (5, 1)]:
        arr = params[a].reshape(-1)
        arr[flat_idx] += h
        up = ref.loss(tokens)
        arr[flat_idx] -= 2 * h
        down = ref.loss(tokens)
        arr[flat_idx] += h
        ref.loss(tokens)
        ref.backward(tokens)
        assert (up - down) / (2 * h) == pytest.approx(
            ref.net.gradients()[a].reshape(-1)[flat_idx], rel=1e-4, abs=1e-8
        )


def test_sampling_follows_the_model():
    model = scrambled(bins=6, seed=3)
    s = model.sample(40000, seed=1)
    tok = model.tokenize(s)
    p_i = np.exp(R.log_softmax(model.marginal.astype(np.float64)))
    freq = np.bincount(tok[:, 0], minlength=6) / len(s)
    np.testing.assert_allclose(freq, p_i, atol=0.01)
    ref = R.Autoregressive.from_engine(model)
    first = tok[:, 0] == int(np.argmax(p_i))
    cond = np.exp(R.log_softmax(ref.net.forward(np.eye(6)[[int(np.argmax(p_i))]])))[0]
    np.testing.assert_allclose(np.bincount(tok[first, 1], minlength=6) / first.sum(), cond, atol=0.02)
    np.testing.assert_array_equal(model.sample(30, seed=5), model.sample(30, seed=5))


def test_learns_the_ring():
    toy = data.toy("ring", 2048)
    model, _ = train_points(toy.points, 300, seed=0)
    cov = metrics.mode_coverage(model.sample(2000, seed=1), toy.modes, toy.std)
    assert cov["modes_covered"] == 8
    assert model.nll(data.toy("ring", 1000, seed=4).points) < 1.0  # the Gaussian fit: ~3


def test_box_is_the_view_or_the_data():
    lo, hi = box_for(data.toy("ring", 100).points)
    assert list(lo) == [-2, -2] and list(hi) == [2, 2]
    lo, hi = box_for(np.array([[0, 0], [10, 20]]))
    np.testing.assert_allclose(lo, [-1, -2])
    np.testing.assert_allclose(hi, [11, 22])


def test_save_and_load_round_trip(tmp_path):
    model = scrambled(points=data.toy("ring", 200).points * np.float32(10))
    loaded = Autoregressive.load(model.save(tmp_path / "ar.npz"))
    np.testing.assert_array_equal(loaded.sample(25, seed=2), model.sample(25, seed=2))
    np.testing.assert_array_equal(loaded.lo, model.lo)

"""RealNVP flow: exact density, invertibility and the explicit backward."""

import numpy as np
import pytest

from engine import data, metrics
from engine.flow import Flow, FlowConfig, train_points
from engine.weights import WeightsError
from tests import reference as R


def scrambled(layers=4, hidden=16, seed=0, scale=0.4):
    """A flow whose nets have random (non-zero) weights, so every layer really moves."""
    pts = data.toy("moons", 512, seed=seed).points
    model = Flow(FlowConfig(layers=layers, hidden=hidden, seed=seed), pts)
    rng = np.random.default_rng(seed + 100)
    model.params[...] = rng.standard_normal(model.params.shape).astype(np.float32) * scale
    return model


def test_an_untrained_flow_is_the_fitted_gaussian():
    pts = data.toy("ring", 1024).points
    model = Flow(FlowConfig(layers=3, hidden=8), pts)
    z, _ = model.forward(pts)
    np.testing.assert_allclose(z, (pts - pts.mean(0)) / pts.std(0), atol=1e-5)


def test_inverse_of_forward_is_the_identity():
    model = scrambled()
    x = np.random.default_rng(1).uniform(-2, 2, (500, 2)).astype(np.float32)
    z, _ = model.forward(x)
    assert np.abs(z - (x - model.mean) / model.std).max() > 0.1  # the map is not trivial
    np.testing.assert_allclose(model.inverse(z), x, atol=1e-5)
    s = model.sample(300, seed=3)
    np.testing.assert_allclose(model.inverse(model.forward(s)[0]), s, atol=1e-5)


def test_log_likelihood_is_the_change_of_variables_formula():
    """log p(x) = log N(f(x)) + log|det J_f(x)|, J_f by finite differences of the
    plain-numpy map in float64 (no use of the engine's log-det bookkeeping)."""
    model = scrambled(seed=2)
    ref = R.Flow.from_engine(model)
    x = np.random.default_rng(2).uniform(-1.5, 1.5, (40, 2))
    h = 1e-5
    jac = np.empty((len(x), 2, 2))
    for k in range(2):
        step = np.zeros(2)
        step[k] = h
        jac[:, :, k] = (ref.forward(x + step)[0] - ref.forward(x - step)[0]) / (2 * h)
    z, _ = ref.forward(x)
    expected = -0.5 * (z * z).sum(1) - np.log(2 * np.pi) + np.log(np.abs(np.linalg.det(jac)))
    np.testing.assert_allclose(model.log_prob(x.astype(np.float32)), expected, atol=2e-3)
    np.testing.assert_allclose(ref.log_prob(x), expected, atol=1e-6)


def test_density_integrates_to_one_on_a_fine_grid():
    pts = data.toy("ring", 2048).points
    model, _ = train_points(pts, 150, layers=4, hidden=32)
    lo, hi, res = -4.5, 4.5, 450
    step = (hi - lo) / res
    axis = lo + step * (np.arange(res) + 0.5)
    gx, gy = np.meshgrid(axis, axis)
    grid = np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)
    total = np.exp(model.log_prob(grid)).sum() * step * step
    assert total == pytest.approx(1.0, abs=0.01)


def test_gradients_match_the_reference_and_finite_differences():
    model = scrambled(layers=4, hidden=8, seed=4, scale=0.3)
    x = np.random.default_rng(4).uniform(-1.5, 1.5, (32, 2)).astype(np.float32)
    loss = model.loss_and_grads(x)
    ref = R.Flow.from_engine(model)
    x64 = x.astype(np.float64)
    assert loss == pytest.approx(ref.loss(x64), rel=1e-4)
    ref_grads = ref.backward(x64)
    np.testing.assert_allclose(model.grads, ref_grads, rtol=2e-3, atol=2e-5)
    flat = np.concatenate([p.ravel() for net in ref.nets for p in net.parameters()])
    for idx in np.random.default_rng(5).choice(len(flat), 15, replace=False):
        h = 1e-6
        up, down = flat.copy(), flat.copy()
        up[idx] += h
        down[idx] -= h
        ref.set_flat(up)
        l_up = ref.loss(x64)
        ref.set_flat(down)
        l_down = ref.loss(x64)
        assert (l_up - l_down) / (2 * h) == pytest.approx(ref_grads[idx], rel=1e-4, abs=1e-7)
    ref.set_flat(flat)


@pytest.mark.slow
def test_training_learns_the_ring_and_is_deterministic():
    pts = data.toy("ring", 2048).points
    a, _ = train_points(pts, 400, seed=3)
    b, _ = train_points(pts, 400, seed=3)
    np.testing.assert_array_equal(a.params, b.params)
    gaussian = Flow(FlowConfig(), pts)
    test = data.toy("ring", 2048, seed=9).points
    assert a.nll(test) < gaussian.nll(test) - 0.5
    cov = metrics.mode_coverage(a.sample(2000, seed=1), data.ring().modes, 0.06)
    assert cov["modes_covered"] >= 6


def test_sampling_is_seeded():
    model = scrambled()
    np.testing.assert_array_equal(model.sample(50, seed=1), model.sample(50, seed=1))
    assert not np.array_equal(model.sample(50, seed=1), model.sample(50, seed=2))


def test_save_and_load_round_trip(tmp_path):
    model = scrambled()
    path = model.save(tmp_path / "flow.npz", dataset="moons")
    loaded = Flow.load(path)
    np.testing.assert_array_equal(loaded.sample(20, seed=4), model.sample(20, seed=4))
    assert loaded.info["dataset"] == "moons"
    with pytest.raises(WeightsError):
        Flow.load(tmp_path / "missing.npz")


def test_bad_inputs_are_plain_errors():
    with pytest.raises(ValueError, match="at least 2"):
        Flow(FlowConfig(), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="no training data"):
        Flow(FlowConfig()).step()

"""Fused kernels against plain numpy and against finite differences."""

import numpy as np
import pytest

from engine import kernels as K
from tests import reference as R

F32 = np.float32
ACTS = list(K.ACTIVATIONS)


def _points(shape=(6, 9), seed=0, scale=3.0):
    z = np.random.default_rng(seed).standard_normal(shape) * scale
    z[np.abs(z) < 1e-2] = 0.5  # keep clear of the ReLU kink for finite differences
    return z


def test_fast_tanh_accuracy():
    x = np.linspace(-30, 30, 20001).astype(F32)
    out = np.empty((1, x.size), F32)
    K.bias_act_forward(x[None, :].copy(), np.zeros(x.size, F32), out, K.TANH, 0.0)
    assert np.abs(out[0] - np.tanh(x.astype(np.float64))).max() < 5e-7
    assert np.abs(out).max() <= 1.0 and out[0, 0] < -0.9999 and out[0, -1] > 0.9999


@pytest.mark.parametrize("name", ACTS)
def test_bias_act_forward_matches_reference(name):
    z0 = _points().astype(F32)
    b = np.random.default_rng(1).standard_normal(z0.shape[1]).astype(F32)
    z, a = z0.copy(), np.empty_like(z0)
    K.bias_act_forward(z, b, a, K.ACTIVATIONS[name], 0.2)
    expect = R.act(name, z0.astype(np.float64) + b, 0.2)
    np.testing.assert_allclose(z, z0 + b, rtol=1e-6)
    np.testing.assert_allclose(a, expect, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ACTS)
def test_bias_act_in_place(name):
    z0 = _points().astype(F32)
    b = np.zeros(z0.shape[1], F32)
    z, a = z0.copy(), np.empty_like(z0)
    K.bias_act_forward(z, b, a, K.ACTIVATIONS[name], 0.2)
    z2 = z0.copy()
    K.bias_act_forward(z2, b, z2, K.ACTIVATIONS[name], 0.2)
    np.testing.assert_array_equal(z2, a)


@pytest.mark.parametrize("name", ACTS)
@pytest.mark.parametrize("accumulate", [False, True])
def test_act_backward_finite_differences(name, accumulate):
    """Kernel f'(z) * da against central differences of the float64 reference f."""
    z64 = _points(seed=2)
    da = np.random.default_rng(3).standard_normal(z64.shape).astype(F32)
    z = z64.astype(F32)
    a = np.empty_like(z)
    K.bias_act_forward(z, np.zeros(z.shape[1], F32), a, K.ACTIVATIONS[name], 0.2)
    dz = np.empty_like(z)
    db = np.full(z.shape[1], 10.0, F32)
    K.act_backward(da, z, a, K.ACTIVATIONS[name], 0.2, dz, db, accumulate)
    eps = 1e-6
    fd = (R.act(name, z64 + eps) - R.act(name, z64 - eps)) / (2 * eps)
    np.testing.assert_allclose(dz, da * fd, rtol=1e-4, atol=2e-6)
    np.testing.assert_allclose(db, dz.sum(0) + (10.0 if accumulate else 0.0), rtol=1e-5, atol=1e-5)


def _fd_loss(fn, pred, eps=1e-6):
    grad = np.zeros_like(pred)
    for idx in np.ndindex(pred.shape):
        p, m = pred.copy(), pred.copy()
        p[idx] += eps
        m[idx] -= eps
        grad[idx] = (fn(p) - fn(m)) / (2 * eps)
    return grad


LOSSES = {
    "mse": (lambda p, t, g, s: K.mse_loss(p, t, g, s), lambda p, t: R.mse(p, t)[0]),
    "bce": (lambda p, t, g, s: K.bce_with_logits(p, t, g, s), lambda p, t: R.bce_with_logits(p, t)[0]),
    "least_squares": (
        lambda p, t, g, s: K.least_squares(p, 0.7, g, s),
        lambda p, t: R.least_squares(p, 0.7)[0],
    ),
}


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("scale", [1.0, -0.5])
def test_loss_value_and_gradient(name, scale):
    kern, ref = LOSSES[name]
    rng = np.random.default_rng(4)
    pred64 = rng.standard_normal((5, 3)) * 2
    target64 = rng.uniform(0, 1, (5, 3))
    grad = np.empty((5, 3), F32)
    loss = kern(pred64.astype(F32), target64.astype(F32), grad, scale)
    p32, t32 = pred64.astype(F32).astype(np.float64), target64.astype(F32).astype(np.float64)
    assert loss == pytest.approx(scale * ref(p32, t32), rel=1e-5)
    fd = _fd_loss(lambda p: scale * ref(p, t32), p32)
    np.testing.assert_allclose(grad, fd, rtol=1e-4, atol=1e-7)


def test_bce_huge_logits_stay_finite():
    logits = np.array([[1e4, -1e4, 3e38, -3e38, 0.0, 88.0, -104.0]], F32)
    for y in (0.0, 1.0):
        target = np.full_like(logits, y)
        grad = np.empty_like(logits)
        loss = K.bce_with_logits(logits, target, grad, 1.0)
        assert np.isfinite(loss) and np.isfinite(grad).all()
        assert np.all(np.abs(grad) <= 1.0 / logits.size + 1e-9)
    grad = np.empty((1, 1), F32)
    assert K.bce_with_logits(np.array([[1e4]], F32), np.zeros((1, 1), F32), grad, 1.0) == pytest.approx(1e4)
    assert K.bce_with_logits(np.array([[1e4]], F32), np.ones((1, 1), F32), grad, 1.0) == 0.0


@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_adam_matches_reference(weight_decay):
    rng = np.random.default_rng(5)
    p = rng.standard_normal(50).astype(F32)
    ref_p = p.copy()
    m, v = np.zeros_like(p), np.zeros_like(p)
    ref = R.Adam([ref_p], lr=0.01, betas=(0.5, 0.99), weight_decay=weight_decay)
    for t in range(1, 21):
        g = rng.standard_normal(50).astype(F32)
        K.adam_step(p, g, m, v, 0.01, 0.5, 0.99, 1e-8, weight_decay, t)
        ref.step([g])
    np.testing.assert_allclose(p, ref_p, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_matches_reference(momentum):
    rng = np.random.default_rng(6)
    p = rng.standard_normal(40).astype(F32)
    ref_p, buf = p.copy(), np.zeros_like(p)
    ref = R.SGD([ref_p], lr=0.05, momentum=momentum, weight_decay=0.001)
    for _ in range(10):
        g = rng.standard_normal(40).astype(F32)
        K.sgd_step(p, g, buf, 0.05, momentum, 0.001)
        ref.step([g])
    np.testing.assert_allclose(p, ref_p, rtol=1e-5, atol=1e-6)


def test_all_finite():
    x = np.ones(10, F32)
    assert K.all_finite(x)
    for bad in (np.nan, np.inf, -np.inf):
        y = x.copy()
        y[7] = bad
        assert not K.all_finite(y)

"""engine.vae: closed-form KL, gradients through the reparameterisation, determinism."""

import numpy as np
import pytest

from engine import images, vae
from engine.weights import WeightsError

F32 = np.float32


@pytest.fixture(scope="module")
def digits():
    x, _ = images.digits_float()
    return x[:256, :, :, None]


def tiny(digits, **kw):
    cfg = dict(dataset="digits", latent=2, hidden=16, batch=32, seed=3)
    cfg.update(kw)
    return vae.VAE(vae.VaeConfig(**cfg), data=digits)


def test_kl_kernel_matches_closed_form_and_monte_carlo():
    rng = np.random.default_rng(0)
    mu = rng.normal(0, 1, (5, 3)).astype(F32)
    logvar = rng.normal(0, 0.7, (5, 3)).astype(F32)
    h = np.concatenate([mu, logvar], axis=1)
    z = np.empty_like(mu)
    kl = vae.reparameterise(h, np.zeros_like(mu), z)
    np.testing.assert_allclose(z, mu)  # eps = 0 gives the mean
    var = np.exp(logvar.astype(np.float64))
    closed = np.sum(np.log(1 / np.sqrt(var)) + (var + mu.astype(np.float64) ** 2) / 2 - 0.5)
    assert kl == pytest.approx(closed, rel=1e-5)
    # Monte Carlo: E_q[log q(z) - log p(z)] for one row
    m, s = mu[0].astype(np.float64), np.sqrt(var[0])
    zs = m + s * rng.standard_normal((400_000, 3))
    log_q = -0.5 * (((zs - m) / s) ** 2 + np.log(2 * np.pi * var[0])).sum(1)
    log_p = -0.5 * (zs**2 + np.log(2 * np.pi)).sum(1)
    row = vae.reparameterise(h[:1].copy(), np.zeros((1, 3), F32), np.empty((1, 3), F32))
    assert np.mean(log_q - log_p) == pytest.approx(row, abs=0.02)


def test_reparameterised_sample_has_the_posterior_statistics():
    n = 200_000
    h = np.tile(np.array([[1.5, -0.5, np.log(0.25), np.log(4.0)]], F32), (n, 1))
    eps = np.random.default_rng(1).standard_normal((n, 2), dtype=F32)
    z = np.empty((n, 2), F32)
    vae.reparameterise(h, eps, z)
    np.testing.assert_allclose(z.mean(0), [1.5, -0.5], atol=0.01)
    np.testing.assert_allclose(z.std(0), [0.5, 2.0], rtol=0.01)


def _loss(model, x, eps):
    return model.loss(x, eps, backward=False)["loss"]


@pytest.mark.parametrize("beta", [1.0, 3.0])
def test_gradients_match_finite_differences(digits, beta):
    model = tiny(digits, activation="tanh", beta=beta)
    x = model.data[:8]
    eps = np.random.default_rng(2).standard_normal((8, 2), dtype=F32)
    model.loss(x, eps)
    grads = model.grads.copy()
    rng = np.random.default_rng(5)
    enc_out = model.encoder.layers[-1]
    # the encoder's last bias: entries 0..1 feed mu, 2..3 feed logvar (the reparam path)
    offset = model.encoder.n_params - enc_out.n_out
    picks = list(offset + np.arange(4)) + list(rng.choice(model.params.size, 16, replace=False))
    h = 1e-2
    for i in picks:
        old = model.params[i]
        model.params[i] = old + h
        up = _loss(model, x, eps)
        model.params[i] = old - h
        down = _loss(model, x, eps)
        model.params[i] = old
        numeric = (up - down) / (2 * h)
        assert grads[i] == pytest.approx(numeric, rel=3e-2, abs=3e-3), i


def test_training_reduces_the_loss_and_is_deterministic(digits):
    a, b = tiny(digits), tiny(digits)
    before = a.evaluate()["loss"]
    ra, rb = a.train(60), b.train(60)
    assert ra == rb
    np.testing.assert_array_equal(a.params, b.params)
    assert a.evaluate()["loss"] < before
    c = tiny(digits, seed=4)
    c.train(60)
    assert not np.array_equal(a.params, c.params)


def test_beta_changes_the_objective(digits):
    model = tiny(digits)
    x = model.data[:16]
    eps = np.zeros((16, 2), F32)
    low = model.loss(x, eps, backward=False)
    model.set_beta(4.0)
    high = model.loss(x, eps, backward=False)
    assert high["recon"] == low["recon"] and high["kl"] == low["kl"]
    assert high["loss"] == pytest.approx(low["recon"] + 4.0 * low["kl"], rel=1e-6)


def test_encode_decode_sample_interpolate_map(digits):
    model = tiny(digits)
    mu, logvar = model.encode(digits[:5])
    assert mu.shape == logvar.shape == (5, 2)
    rec = model.reconstruct(digits[:5])
    assert rec.shape == (5, 8, 8, 1) and rec.min() >= 0 and rec.max() <= 1
    assert model.sample(7, seed=1).shape == (7, 8, 8, 1)
    np.testing.assert_array_equal(model.sample(3, seed=1), model.sample(3, seed=1))
    path = model.interpolate(digits[0], digits[1], steps=5)
    np.testing.assert_allclose(path[0], model.decode(mu[:1])[0], atol=1e-6)
    np.testing.assert_allclose(path[-1], model.decode(mu[1:2])[0], atol=1e-6)
    grid = model.latent_grid(4, extent=2.0)
    assert grid[0].tolist() == [-2.0, 2.0] and grid[-1].tolist() == [2.0, -2.0]
    assert model.latent_map(4).shape == (16, 8, 8, 1)


def test_sprites_model_shapes():
    data = images.sprites(64, 0).images
    model = vae.VAE(vae.VaeConfig("sprites", hidden=16, batch=16), data=data)
    assert model.dim == 768
    model.train(3)
    assert model.sample(2).shape == (2, 16, 16, 3)


def test_save_load_roundtrip(tmp_path, digits):
    model = tiny(digits)
    model.train(5)
    path = model.save(tmp_path / "v.npz")
    back = vae.VAE.load(path, data=digits)
    np.testing.assert_array_equal(back.params, model.params)
    assert back.config == model.config
    with pytest.raises(WeightsError):
        vae.VAE.load(tmp_path / "missing.npz", data=digits)


def test_unknown_dataset_is_a_plain_error():
    with pytest.raises(ValueError, match="choose from digits, sprites"):
        vae.VaeConfig("cats") and vae.VAE(vae.VaeConfig("cats"))


def test_higher_beta_gives_a_smaller_kl_and_a_worse_reconstruction(digits):
    low, high = tiny(digits, beta=0.1, hidden=32), tiny(digits, beta=4.0, hidden=32)
    low.train(300)
    high.train(300)
    a, b = low.evaluate(), high.evaluate()
    assert b["kl"] < a["kl"]
    assert b["recon"] > a["recon"]

"""GAN on 2-D points: closed forms, determinism, live knobs, divergence, acceptance."""

import numpy as np
import pytest

from engine import data
from engine.gan import GAN, PRESETS, GANConfig, grid_points, train_headless

SMALL = {"g_width": 16, "d_width": 16, "batch": 32}


def _identity_generator(gan, scale, shift):
    """Make G(z) = scale * z + shift exactly: relu(z) - relu(-z) = z."""
    first, last = gan.G.layers[0], gan.G.layers[-1]
    first.W[...] = [[1, 0, -1, 0], [0, 1, 0, -1]]
    first.b[...] = 0
    last.W[...] = np.array([[1, 0], [0, 1], [-1, 0], [0, -1]]) * scale
    last.b[...] = shift


@pytest.mark.parametrize("loss", ["non-saturating", "least-squares"])
def test_discriminator_learns_the_optimal_d(loss):
    """With G fixed, D -> D*(x) = p(x) / (p(x) + q(x)) (for BCE and for LSGAN's a=0, b=1).

    Real ~ N((0.5, 0), 0.5^2 I), fake ~ N((-0.5, 0), 0.5^2 I): D*(x) = sigmoid(4 x_0).
    """
    rng = np.random.default_rng(0)
    real = rng.normal([0.5, 0.0], 0.5, (20000, 2))
    cfg = GANConfig(
        dataset="custom", loss=loss, g_layers=1, g_width=4, d_width=32, batch=256, d_lr=3e-3, seed=1
    )
    gan = GAN(cfg, points=real)
    _identity_generator(gan, 0.5, [-0.5, 0.0])
    g_before = gan.G.params.copy()
    for _ in range(1500):
        gan.step_d()
    np.testing.assert_array_equal(gan.G.params, g_before)
    xs = np.array([[-0.5, 0.0], [-0.25, 0.0], [0.0, 0.0], [0.25, 0.2], [0.5, -0.2]])
    expect = 1 / (1 + np.exp(-4 * xs[:, 0]))
    np.testing.assert_allclose(gan.discriminator(xs), expect, atol=0.06)


def test_same_seed_same_training_and_samples():
    def run(seed):
        gan = GAN(GANConfig(seed=seed, **SMALL))
        gan.train(150)
        return gan.G.params.copy(), gan.D.params.copy(), gan.sample(64), gan.status()

    a, b, c = run(5), run(5), run(6)
    for x, y in zip(a[:3], b[:3]):
        np.testing.assert_array_equal(x, y)
    assert a[3] == b[3]
    assert not np.array_equal(a[0], c[0])


def test_looking_from_another_thread_does_not_disturb_training():
    """sample(batch) uses the same work buffers as training; the lock keeps them apart."""
    import threading

    def run(with_reader):
        gan = GAN(GANConfig(seed=2, **SMALL))
        stop = threading.Event()

        def reader():
            while not stop.is_set():
                gan.sample(SMALL["batch"])
                gan.discriminator_grid(8)
                gan.generator_gradients(SMALL["batch"])

        thread = threading.Thread(target=reader)
        if with_reader:
            thread.start()
        gan.train(150)
        stop.set()
        if with_reader:
            thread.join()
        return gan.G.params.copy(), gan.D.params.copy()

    quiet, busy = run(False), run(True)
    np.testing.assert_array_equal(quiet[0], busy[0])
    np.testing.assert_array_equal(quiet[1], busy[1])


def test_step_d_and_step_g_change_only_their_network():
    gan = GAN(GANConfig(**SMALL))
    g0, d0 = gan.G.params.copy(), gan.D.params.copy()
    gan.step_d()
    assert np.array_equal(gan.G.params, g0) and not np.array_equal(gan.D.params, d0)
    d1 = gan.D.params.copy()
    gan.step_g()
    assert np.array_equal(gan.D.params, d1) and not np.array_equal(gan.G.params, g0)
    assert gan.iteration == 0
    status = gan.step()
    assert status["iteration"] == 1 and 0 <= status["acc_real"] <= 1


@pytest.mark.parametrize("loss", ["non-saturating", "minimax", "least-squares"])
@pytest.mark.parametrize("noise,noise_dim", [("gaussian", 1), ("uniform", 2)])
def test_every_loss_and_noise_trains(loss, noise, noise_dim):
    gan = GAN(GANConfig(loss=loss, noise=noise, noise_dim=noise_dim, k_d=2, k_g=2, **SMALL))
    status = gan.train(20)
    assert status["iteration"] == 20 and not status["diverged"]
    assert np.isfinite(status["d_loss"]) and np.isfinite(status["g_loss"])
    if noise == "uniform":
        z = gan._noise(np.empty((1000, noise_dim), np.float32), np.random.default_rng(0))
        assert z.min() >= -1 and z.max() <= 1


def test_generator_arrows_point_uphill_on_d():
    gan = GAN(GANConfig(**SMALL))
    for _ in range(200):
        gan.step_d()
    points, arrows = gan.generator_gradients(50)
    assert points.shape == arrows.shape == (50, 2)
    step = 1e-3 * arrows / np.maximum(np.linalg.norm(arrows, axis=1, keepdims=True), 1e-12)
    gain = gan.discriminator(points + step) - gan.discriminator(points)
    assert (gain > 0).mean() > 0.9


def test_discriminator_grid_orientation_and_range():
    gan = GAN(GANConfig(**SMALL))
    heat = gan.discriminator_grid(16)
    assert heat.shape == (16, 16) and heat.min() >= 0 and heat.max() <= 1
    pts = grid_points(4)
    assert pts[0, 1] > pts[-1, 1] and pts[0, 0] < pts[3, 0]  # row 0 is the top


def test_absurd_learning_rate_diverges_quietly():
    gan = GAN(GANConfig(g_optimizer="sgd", d_optimizer="sgd", g_lr=1e30, d_lr=1e30, **SMALL))
    status = gan.train(50)
    assert status["diverged"] is True and status["iteration"] < 50
    before = gan.iteration
    gan.step()
    gan.step_d()
    gan.step_g()
    assert gan.iteration == before


def test_live_settings():
    gan = GAN(GANConfig(**SMALL))
    gan.train(2)
    gan.set_live(g_lr=0.5, d_lr=0.25, k_d=3, loss="least-squares")
    assert gan.opt_g.lr == 0.5 and gan.opt_d.lr == 0.25 and gan.config.k_d == 3
    gan.set_live(d_optimizer="sgd", batch=16)
    assert type(gan.opt_d).__name__ == "SGD" and gan.opt_d.lr == 0.25
    gan.set_live(g_lr=1e-3, d_lr=1e-3)
    assert not gan.train(3)["diverged"]
    with pytest.raises(ValueError, match="needs a reset"):
        gan.set_live(dataset="grid")
    with pytest.raises(ValueError, match="loss must be one of"):
        gan.set_live(loss="wasserstein")


def test_config_validation_and_presets():
    with pytest.raises(ValueError, match="noise_dim"):
        GAN(GANConfig(noise_dim=3))
    with pytest.raises(ValueError, match="unknown dataset"):
        GAN(GANConfig(dataset="cats"))
    with pytest.raises(ValueError, match="unknown preset"):
        GANConfig.preset("best")
    assert set(PRESETS) == {"healthy", "mode collapse", "discriminator too strong"}
    cfg = GANConfig.preset("discriminator too strong", seed=3)
    assert cfg.seed == 3 and cfg.k_d == 5 and cfg.loss == "minimax"


def test_reset_in_place():
    gan = GAN(GANConfig(**SMALL))
    fresh = gan.G.params.copy()
    gan.train(5)
    gan.reset()
    np.testing.assert_array_equal(gan.G.params, fresh)
    assert gan.iteration == 0 and not gan.diverged
    gan.reset(dataset="grid", seed=4)
    assert gan.config.dataset == "grid" and len(gan.toy.modes) == 25


def test_custom_points_and_evaluate():
    pts = data.moons(n=500).points
    gan = GAN(GANConfig(**SMALL), points=pts)
    assert gan.config.dataset == "custom"
    gan.train(5)
    gan.reset(g_lr=1e-4)
    np.testing.assert_array_equal(gan.real, pts)
    ev = gan.evaluate(256)
    assert ev["modes_total"] == 0 and ev["high_quality"] is None
    assert 0 <= ev["js_grid"] <= np.log(2)


def test_acceptance_ring_healthy_covers_modes_and_collapse_loses_them():
    seen = []
    healthy = train_headless(
        "ring", 4000, 0, "healthy", progress=lambda done, total: seen.append((done, total))
    )
    assert set(healthy) >= {
        "iterations",
        "seconds",
        "modes_total",
        "modes_covered",
        "high_quality",
        "kl_grid",
        "js_grid",
        "d_loss",
        "g_loss",
    }
    assert healthy["iterations"] == 4000 and healthy["modes_total"] == 8
    assert healthy["modes_covered"] >= 7 and healthy["high_quality"] >= 0.7
    assert seen[-1] == (4000, 4000) and len(seen) == 40
    collapsed = train_headless("ring", 4000, 0, "mode collapse")
    assert collapsed["modes_covered"] < healthy["modes_covered"]

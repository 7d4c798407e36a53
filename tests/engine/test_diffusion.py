"""engine.diffusion: schedule, forward process, samplers, gradients, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from engine import diffusion as D
from engine import kernels as K

F32 = np.float32


def small(dim=2, **kw):
    cfg = dict(shape=(dim,), hidden=16, layers=2, emb=8, batch=32, seed=3)
    cfg.update(kw)
    data = np.random.default_rng(0).standard_normal((64, dim)).astype(F32)
    return D.Diffusion(D.DiffusionConfig(**cfg), data)


# ------------------------------------------------------------------ schedule


def test_linear_schedule_alpha_bar_matches_closed_form():
    s = D.Schedule("linear", 1000)
    betas = np.linspace(1e-4, 0.02, 1000)
    for t in (1, 10, 100, 259, 500, 1000):
        assert s.alpha_bar[t] == pytest.approx(np.prod(1 - betas[:t]), rel=1e-9)
    assert s.alpha_bar[0] == 1.0
    # the lesson's table (L06)
    assert s.alpha_bar[100] == pytest.approx(0.897, abs=1e-3)
    assert s.alpha_bar[250] == pytest.approx(0.524, abs=1e-3)
    assert s.alpha_bar[500] == pytest.approx(0.079, abs=1e-3)
    assert s.alpha_bar[1000] == pytest.approx(4.0e-5, abs=1e-5)


def test_cosine_schedule_matches_its_definition():
    T, eps = 1000, 0.008
    s = D.Schedule("cosine", T)

    def f(t):
        return np.cos((t / T + eps) / (1 + eps) * np.pi / 2) ** 2

    for t in (1, 100, 500, 900):
        assert s.alpha_bar[t] == pytest.approx(f(t) / f(0), rel=1e-6)
    assert np.all(np.diff(s.alpha_bar) < 0)
    assert np.all(s.betas[1:] <= 0.999)


def test_unknown_schedule_is_a_plain_error():
    with pytest.raises(ValueError, match="linear, cosine"):
        D.Schedule("quadratic")


def test_timesteps_are_distinct_and_descending():
    s = D.Schedule("linear", 1000)
    for n in (1, 10, 50, 1000, 5000):
        ts = s.timesteps(n)
        assert ts[0] == 1000 and ts[-1] == (1 if n > 1 else 1000)
        assert np.all(np.diff(ts) < 0)
        assert len(ts) == min(n, 1000)


# ------------------------------------------------------------- forward process


def test_training_batch_has_the_forward_process_statistics():
    """x_t = sqrt(ab) x0 + sqrt(1-ab) eps: mean sqrt(ab) x0, variance 1 - ab."""
    s = D.Schedule("linear", 1000)
    x0 = np.full((1, 4), 0.7, F32)
    n = 20000
    inp = np.empty((n, 4 + 8), F32)
    eps = np.empty((n, 4), F32)
    ts = np.empty(n, np.int64)
    freqs = D.timestep_embedding_freqs(8)
    target = np.empty_like(eps)
    ones, zeros = np.ones(4, F32), np.zeros(4, F32)
    D.training_batch(
        x0, s.sqrt_ab, s.sqrt_1mab, freqs, 1.0, zeros, ones, D.seed_state(5), inp, eps, target, ts
    )
    assert ts.min() >= 1 and ts.max() <= 1000
    assert abs(ts.mean() - 500.5) < 10
    assert abs(eps.mean()) < 0.02 and abs(eps.std() - 1) < 0.02
    ab = s.alpha_bar[ts][:, None]
    z = (inp[:, :4] - np.sqrt(ab) * 0.7) / np.sqrt(1 - ab)  # standardised: N(0, 1)
    assert np.allclose(z, eps, atol=1e-3)
    assert np.allclose(target, eps - np.sqrt(1 - ab) * inp[:, :4], atol=1e-5)
    # the embedding columns are sin/cos of t
    assert np.allclose(inp[:, 4:8], np.sin(ts[:, None] * freqs), atol=1e-4)
    assert np.allclose(inp[:, 8:], np.cos(ts[:, None] * freqs), atol=1e-4)


def test_q_sample_at_fixed_t_mean_and_variance():
    model = small(dim=2)
    t = 300
    ab = model.schedule.alpha_bar[t]
    x0 = np.tile(np.array([[1.0, -0.5]], F32), (40000, 1))
    xt = model.q_sample(x0, t, model.noise(len(x0), seed=1))
    assert np.allclose(xt.mean(0), np.sqrt(ab) * x0[0], atol=0.02)
    assert np.allclose(xt.var(0), 1 - ab, rtol=0.03)


def test_gaussian_fill_is_standard_normal_and_seeded():
    a = np.empty(50001, F32)
    D.gaussian_fill(a, D.seed_state(7))
    b = np.empty(50001, F32)
    D.gaussian_fill(b, D.seed_state(7))
    assert np.array_equal(a, b)
    assert abs(a.mean()) < 0.02 and abs(a.std() - 1) < 0.02
    assert abs(np.mean(a**4) - 3) < 0.1  # Gaussian kurtosis
    D.gaussian_fill(b, D.seed_state(8))
    assert not np.array_equal(a, b)


# -------------------------------------------------------------------- samplers


def oracle_for(x0):
    """ε̂ that is exactly the noise separating x_t from the known x_0."""
    s = D.Schedule("linear", 1000)

    def eps_fn(x, t):
        return (x - s.sqrt_ab[t].astype(np.float64) * x0) / np.sqrt(1 - s.alpha_bar[t])

    return eps_fn


@pytest.mark.parametrize("steps", [1, 10, 50, 1000])
def test_ddim_with_an_oracle_recovers_x0(steps):
    model = small(dim=3)
    x0 = np.random.default_rng(1).uniform(-1, 1, (5, 3))
    out, _ = model.sample(5, steps=steps, sampler="ddim", seed=2, eps_fn=oracle_for(x0))
    assert np.allclose(out, x0, atol=1e-4)


def test_ddpm_with_an_oracle_ends_at_x0():
    model = small(dim=3)
    x0 = np.random.default_rng(1).uniform(-1, 1, (4, 3))
    out, traj = model.sample(4, steps=1000, sampler="ddpm", seed=2, eps_fn=oracle_for(x0), record=True)
    assert np.allclose(out, x0, atol=1e-3)
    # the guess of x_0 is exact at every step (the oracle knows it)
    assert all(np.allclose(step.x0_hat, x0, atol=1e-3) for step in traj[1:])


def test_ddim_eta0_is_deterministic_and_ddpm_depends_on_the_seed():
    model = small(dim=2)
    a, _ = model.sample(8, steps=20, sampler="ddim", seed=4)
    b, _ = model.sample(8, steps=20, sampler="ddim", seed=4)
    assert np.array_equal(a, b)
    x_T = model.noise(8, seed=4)
    c, _ = model.sample(8, steps=20, sampler="ddpm", seed=4, x_T=x_T)
    d, _ = model.sample(8, steps=20, sampler="ddpm", seed=5, x_T=x_T)
    e, _ = model.sample(8, steps=20, sampler="ddim", seed=5, x_T=x_T)
    assert not np.allclose(c, d)  # DDPM adds fresh noise
    assert np.array_equal(a, e)  # DDIM: start noise fixes the result


def test_ddpm_step_is_the_ancestral_step():
    """η = 1, s = t-1: x_{t-1} = (x_t - β/√(1-ᾱ) ε̂)/√α + σ z with σ² = β̃_t."""
    s = D.Schedule("linear", 1000)
    t = 400
    x = np.random.default_rng(0).standard_normal((20000, 1)).astype(F32)
    e = np.random.default_rng(1).standard_normal((20000, 1)).astype(F32)
    out = x.copy()
    D.denoise_step(
        out, e, float(s.alpha_bar[t]), float(s.alpha_bar[t - 1]), 1.0, 0.0, D.seed_state(3), np.empty_like(x)
    )
    mean = (x - s.betas[t] / np.sqrt(1 - s.alpha_bar[t]) * e) / np.sqrt(s.alphas[t])
    var = s.betas[t] * (1 - s.alpha_bar[t - 1]) / (1 - s.alpha_bar[t])
    z = (out - mean) / np.sqrt(var)
    assert abs(z.mean()) < 0.03 and abs(z.std() - 1) < 0.03


def test_trajectory_records_every_step():
    model = small(dim=2)
    out, traj = model.sample(3, steps=10, sampler="ddim", seed=0, record=True)
    assert [st.t for st in traj] == [1000] + list(model.schedule.timesteps(10)[1:]) + [0]
    assert np.allclose(traj[-1].x, out)


def test_clip_keeps_the_guess_in_range():
    model = small(dim=4, clip=1.0)
    _, traj = model.sample(6, steps=5, sampler="ddim", seed=0, record=True)
    assert all(np.abs(st.x0_hat).max() <= 1.0 + 1e-6 for st in traj)


# ------------------------------------------------------------------ training


def assert_fd_matches(model, inp, target, indices, h=1e-2):
    """Central finite differences of the MSE loss of `model.net` on (inp, target)
    against its backward pass, at the flat parameter positions `indices`."""

    def loss_at(params):
        saved = model.net.params.copy()
        model.net.params[...] = params
        pred = model.net.forward(inp).astype(np.float64)
        model.net.params[...] = saved
        return np.mean((pred - target) ** 2)

    pred = model.net.forward(inp)
    grad = np.empty_like(pred)
    K.mse_loss(pred, target, grad, 1.0)
    model.net.backward(grad)
    analytic = model.net.grads.copy()
    p0 = model.net.params.copy()
    for i in indices:
        up, down = p0.copy(), p0.copy()
        up[i] += h
        down[i] -= h
        numeric = (loss_at(up) - loss_at(down)) / (2 * h)
        assert numeric == pytest.approx(analytic[i], rel=0.05, abs=2e-4)


def test_training_gradient_matches_finite_differences():
    model = small(dim=3, hidden=6, layers=1, emb=4, batch=8)
    s = model.schedule
    D.training_batch(
        model.data,
        s.sqrt_ab,
        s.sqrt_1mab,
        model.freqs,
        1.0,
        model.mean,
        model.var,
        D.seed_state(9),
        model._inp,
        model._eps,
        model._target,
        model._ts,
    )
    inp, eps = model._inp.copy(), model._target.copy()
    rng = np.random.default_rng(0)
    assert_fd_matches(model, inp, eps, rng.choice(len(model.net.params), 12, replace=False))


def test_training_is_deterministic_and_learns_a_point_cloud():
    def run():
        model = small(dim=2, hidden=32, lr=3e-3, batch=64, seed=11, ema=0.9)
        model.data = np.ascontiguousarray(np.tile([[0.5, -0.5]], (64, 1)).astype(F32))
        first = model.train(20)["loss"]
        last = model.train(800)["loss"]
        return model, first, last

    m1, f1, l1 = run()
    m2, f2, l2 = run()
    assert np.array_equal(m1.net.params, m2.net.params) and f1 == f2 and l1 == l2
    assert l1 < f1
    out, _ = m1.sample(200, steps=50, sampler="ddim", seed=0)
    assert np.allclose(out.mean(0), [0.5, -0.5], atol=0.15)


def test_ema_update():
    ema, p = np.zeros(5, F32), np.ones(5, F32)
    D.ema_update(ema, p, 0.9)
    assert np.allclose(ema, 0.1)


def test_save_and_load_round_trip(tmp_path):
    model = small(dim=2)
    model.train(5)
    path = model.save(tmp_path / "d.npz", dataset="test")
    back = D.Diffusion.load(path)
    assert back.config.shape == (2,)
    assert np.array_equal(back.ema_params, model.ema_params)
    a, _ = model.sample(4, steps=5, seed=1)
    b, _ = back.sample(4, steps=5, seed=1)
    assert np.array_equal(a, b)


# ------------------------------------------------------ Gaussian guess and PCA basis


def test_gaussian_guess_limits():
    s = D.Schedule("linear", 1000)
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(F32)
    t = 300
    plain = D.gaussian_guess(x, t, s, np.zeros(3, F32), np.ones(3, F32))
    assert np.allclose(plain, s.sqrt_1mab[t] * x, atol=1e-6)
    # a coordinate with no data variance is pure noise: the guess is exact
    m = np.array([0.5, -0.2, 0.0], F32)
    eps = np.random.default_rng(1).standard_normal((5, 3)).astype(F32)
    xt = s.sqrt_ab[t] * m + s.sqrt_1mab[t] * eps
    exact = D.gaussian_guess(xt, t, s, m, np.zeros(3, F32))
    assert np.allclose(exact, eps, atol=1e-5)


def test_pca_basis_is_orthonormal_and_sorted():
    x = np.random.default_rng(0).standard_normal((500, 6)).astype(F32) * np.arange(1, 7, dtype=F32)
    basis, mean, var = D.pca_basis(x)
    assert np.allclose(basis.T @ basis, np.eye(6), atol=1e-5)
    assert np.all(np.diff(var) <= 1e-6) and var[0] == pytest.approx(36, rel=0.15)
    assert np.allclose(mean, (x @ basis).mean(0), atol=1e-4)


@pytest.mark.parametrize("net_dims", [0, 2])
def test_pca_model_trains_samples_and_round_trips(tmp_path, net_dims):
    model = small(dim=4, pca=True, ema=0.9, net_dims=net_dims)
    assert model.basis is not None
    assert model.net.sizes[0] == (net_dims or 4) + 8 and model.net.sizes[-1] == (net_dims or 4)
    loss = model.train(30)["loss"]
    assert np.isfinite(loss)
    # with an oracle the rotated model still recovers x_0 exactly (rotation is exact)
    x0 = np.random.default_rng(2).uniform(-1, 1, (3, 4))
    out, _ = model.sample(3, steps=20, eps_fn=oracle_for(x0))
    assert np.allclose(out, x0, atol=1e-4)
    back = D.Diffusion.load(model.save(tmp_path / "p.npz"))
    assert np.array_equal(back.basis, model.basis)
    a, _ = model.sample(4, steps=5, seed=1)
    b, _ = back.sample(4, steps=5, seed=1)
    assert np.allclose(a, b, atol=1e-6)


# ------------------------------------------------ conditioning and classifier-free guidance


def conditional(dim=3, **kw):
    cfg = dict(
        shape=(dim,), hidden=16, layers=2, emb=8, batch=32, seed=3, cond=(3, 2), p_uncond=0.2, guidance=2.5
    )
    cfg.update(kw)
    rng = np.random.default_rng(0)
    labels = np.stack([rng.integers(0, 3, 64), rng.integers(0, 2, 64)], axis=1)
    data = (labels[:, :1] - 1.0 + 0.1 * rng.standard_normal((64, dim))).astype(F32)
    return D.Diffusion(D.DiffusionConfig(**cfg), data, labels)


def test_condition_is_concatenated_one_hot_and_minus_one_is_unspecified():
    model = conditional()
    c = model.condition([[2, 0], [0, 1], [-1, 1]])
    assert c.tolist() == [[0, 0, 1, 1, 0], [1, 0, 0, 0, 1], [0, 0, 0, 0, 1]]
    assert model.net.sizes[0] == 3 + 8 + 5
    with pytest.raises(ValueError):
        model.condition([[3, 0]])


def test_training_batch_rows_is_training_batch_plus_the_rows():
    model = small(dim=3, batch=8)
    s = model.schedule
    outs = []
    for fn, extra in ((D.training_batch, ()), (D.training_batch_rows, (np.empty(8, np.int64),))):
        inp, eps, target, ts = (np.empty_like(a) for a in (model._inp, model._eps, model._target, model._ts))
        fn(
            model.data,
            s.sqrt_ab,
            s.sqrt_1mab,
            model.freqs,
            1.0,
            model.mean,
            model.var,
            D.seed_state(4),
            inp,
            eps,
            target,
            ts,
            *extra,
        )
        outs.append((inp, eps, target, ts))
    for a, b in zip(*outs):
        assert np.array_equal(a, b)
    # with m = 0, v = 1 the input is x_t = √ᾱ x_0 + √(1-ᾱ) ε; x_0 must be data[rows]
    inp, eps, _, ts = outs[1]
    rows = np.empty(8, np.int64)
    D.training_batch_rows(
        model.data,
        s.sqrt_ab,
        s.sqrt_1mab,
        model.freqs,
        1.0,
        model.mean,
        model.var,
        D.seed_state(4),
        inp,
        eps,
        np.empty_like(model._target),
        ts,
        rows,
    )
    x0 = (inp[:, :3] - s.sqrt_1mab[ts][:, None] * eps) / s.sqrt_ab[ts][:, None]
    assert np.allclose(x0, model.data[rows], atol=2e-3)


def test_guidance_scale_one_is_conditional_and_zero_is_unconditional():
    model = conditional()
    model.train(10)
    x = np.random.default_rng(1).standard_normal((4, 3)).astype(F32)
    c = model.condition([[0, 1], [1, 0], [2, 1], [2, 0]])
    cond, uncond = model.predict_eps(x, 300, cond=c), model.predict_eps(x, 300)
    assert not np.allclose(cond, uncond)
    assert np.allclose(model.guided_eps(x, 300, c, 1.0), cond, atol=1e-6)
    assert np.allclose(model.guided_eps(x, 300, c, 0.0), uncond, atol=1e-6)
    assert np.allclose(model.guided_eps(x, 300, c, 3.0), uncond + 3.0 * (cond - uncond), atol=1e-5)
    assert np.allclose(model.predict_eps(x, 300, cond=np.zeros_like(c)), uncond)


def test_conditional_training_gradient_reaches_the_condition_inputs():
    """Finite differences of the loss w.r.t. weights of the condition columns."""
    model = conditional(hidden=6, layers=1, batch=8)
    model.step()  # fills model._net_inp with [x_t, emb(t), c]
    inp = model._net_inp.copy()
    target = model._target.copy()
    assert np.any(inp[:, -5:] == 1.0)
    n_in, hidden = inp.shape[1], 6
    # the first layer's W is (n_in, hidden) at the front of the flat buffer (row-major)
    indices = [r * hidden + col for r in range(n_in - 5, n_in) for col in (0, 3)]
    for r in range(n_in - 5, n_in):
        for col in (0, 3):
            assert model.net.params[r * hidden + col] == model.net.layers[0].W[r, col]
    assert_fd_matches(model, inp, target, indices)


def test_conditional_model_follows_its_labels_and_round_trips(tmp_path):
    model = conditional(hidden=32, lr=3e-3, batch=64, ema=0.9)
    model.train(600)
    labels = np.array([[0, 0]] * 50 + [[2, 1]] * 50)
    out, _ = model.sample(100, steps=30, seed=0, labels=labels)
    assert out[:50].mean() == pytest.approx(-1.0, abs=0.3)
    assert out[50:].mean() == pytest.approx(1.0, abs=0.3)
    assert np.array_equal(model.last_labels, labels)
    back = D.Diffusion.load(model.save(tmp_path / "c.npz"))
    assert back.config.cond == (3, 2) and back.config.guidance == 2.5
    a, _ = model.sample(6, steps=5, seed=1)
    b, _ = back.sample(6, steps=5, seed=1)
    assert np.allclose(a, b, atol=1e-6)
    assert np.array_equal(model.last_labels, back.last_labels)
    with pytest.raises(ValueError):
        D.Diffusion(back.config, np.zeros((4, 3), F32)).step()  # no labels to train on


# ------------------------------------------------------------ Fourier input features


def test_fourier_frequencies_double():
    np.testing.assert_allclose(D.fourier_frequencies(4, 0.5), [0.5, 1, 2, 4])
    assert D.fourier_frequencies(0, 1.0).shape == (0,)


def test_expand_input_matches_numpy():
    rng = np.random.default_rng(0)
    d, k, e = 3, 2, 4
    src = rng.standard_normal((5, d + e)).astype(F32)
    freqs = D.fourier_frequencies(3, 1.5)
    out = np.empty((5, k + 2 * k * 3 + e), F32)
    D.expand_input(src, d, k, freqs, out)
    feats = [np.concatenate([np.sin(src[:, [j]] * freqs), np.cos(src[:, [j]] * freqs)], 1) for j in range(k)]
    expected = np.concatenate([src[:, :k]] + feats + [src[:, d:]], 1)
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_fourier_model_input_and_gradient():
    model = small(dim=2, hidden=6, layers=1, emb=4, batch=8, fourier=3, fourier_scale=2.0)
    assert model.net.sizes[0] == 2 + 2 * 2 * 3 + 4
    model.step()  # builds the expanded batch
    inp = model._net_inp.copy()
    np.testing.assert_allclose(inp[:, 2:5], np.sin(model._inp[:, [0]] * [2.0, 4.0, 8.0]), atol=1e-5)
    np.testing.assert_allclose(inp[:, -4:], model._inp[:, 2:], atol=0)
    target = model._target.copy()
    rng = np.random.default_rng(1)
    assert_fd_matches(model, inp, target, rng.choice(len(model.net.params), 12, replace=False))
    # predict_eps feeds the net the same features as training
    x = rng.standard_normal((4, 2)).astype(F32)
    base = np.empty((4, 2 + 4), F32)
    D.model_input(x, 10, model.freqs, base)
    full = np.empty((4, model.net.sizes[0]), F32)
    D.expand_input(base, 2, 2, model.ffreqs, full)
    expected = model.ema_net.forward(full) + D.gaussian_guess(x, 10, model.schedule, model.mean, model.var)
    np.testing.assert_allclose(model.predict_eps(x, 10), expected, atol=1e-5)


def test_fourier_model_round_trips(tmp_path):
    model = small(dim=2, fourier=2)
    model.train(5)
    back = D.Diffusion.load(model.save(tmp_path / "f.npz"))
    assert back.config.fourier == 2
    a, _ = model.sample(4, steps=5, seed=1)
    b, _ = back.sample(4, steps=5, seed=1)
    assert np.array_equal(a, b)

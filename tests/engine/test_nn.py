"""MLP forward/backward against the plain-numpy reference and finite differences."""

import numpy as np
import pytest

from engine import kernels as K
from engine.nn import MLP, SGD, Adam, make_optimizer, share_buffer
from tests import reference as R

F32 = np.float32
ACTS = list(K.ACTIVATIONS)


def _data(batch, n_in, n_out, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((batch, n_in)).astype(F32), rng.standard_normal((batch, n_out)).astype(F32))


@pytest.mark.parametrize("act", ACTS)
def test_forward_backward_match_reference(act):
    model = MLP([3, 16, 8, 2], activation=act, seed=1)
    x, dy = _data(7, 3, 2)
    ref = R.MLP.from_engine(model)
    out = model.forward(x)
    np.testing.assert_allclose(out, ref.forward(x), rtol=1e-4, atol=1e-5)
    dx = model.backward(dy)
    np.testing.assert_allclose(dx, ref.backward(dy), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(model.grads, ref.flat_grads(), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(model.params, ref.flat())


@pytest.mark.parametrize("act", ACTS)
def test_gradients_finite_differences(act):
    """Engine float32 gradients vs central differences of the float64 reference."""
    model = MLP([2, 5, 3], activation=act, out_activation="tanh", seed=3)
    x, r = _data(4, 2, 3, seed=4)
    model.forward(x)
    dx = model.backward(r).copy()
    ref = R.MLP.from_engine(model, dtype=np.float64)
    x64, r64 = x.astype(np.float64), r.astype(np.float64)

    def loss(flat=None, inp=x64):
        if flat is not None:
            offset = 0
            for w, b in zip(ref.weights, ref.biases):
                for arr in (w, b):
                    arr[...] = flat[offset : offset + arr.size].reshape(arr.shape)
                    offset += arr.size
        return float(np.sum(ref.forward(inp) * r64))

    flat = ref.flat().copy()
    eps = 1e-6
    fd = np.empty_like(flat)
    for i in range(flat.size):
        up, down = flat.copy(), flat.copy()
        up[i] += eps
        down[i] -= eps
        fd[i] = (loss(up) - loss(down)) / (2 * eps)
    loss(flat)
    fdx = np.empty_like(x64)
    for idx in np.ndindex(x64.shape):
        up, down = x64.copy(), x64.copy()
        up[idx] += eps
        down[idx] -= eps
        fdx[idx] = (loss(inp=up) - loss(inp=down)) / (2 * eps)
    scale = np.abs(fd).max()
    np.testing.assert_allclose(model.grads, fd, atol=2e-4 * scale)
    np.testing.assert_allclose(dx, fdx, atol=2e-4 * np.abs(fdx).max())


def test_accumulate_adds_and_param_grads_false_leaves_grads():
    model = MLP([2, 8, 1], activation="silu", seed=0)
    x, dy = _data(5, 2, 1)
    model.forward(x)
    model.backward(dy)
    once = model.grads.copy()
    model.backward(dy, accumulate=True)
    np.testing.assert_allclose(model.grads, 2 * once, rtol=1e-6)
    before = model.grads.copy()
    dx = model.backward(3 * dy, param_grads=False)
    np.testing.assert_array_equal(model.grads, before)
    ref = R.MLP.from_engine(model)
    ref.forward(x)
    np.testing.assert_allclose(dx, ref.backward(3 * dy), rtol=1e-4, atol=1e-6)


def test_input_grad_false_gives_the_same_param_grads():
    model = MLP([3, 8, 2], activation="tanh", seed=0)
    x, dy = _data(4, 3, 2)
    model.forward(x)
    model.backward(dy)
    full = model.grads.copy()
    model.grads[...] = 0
    assert model.backward(dy, input_grad=False) is None
    np.testing.assert_array_equal(model.grads, full)


def test_work_buffers_are_reused_per_batch_size():
    model = MLP([2, 4, 2], seed=0)
    a = model.forward(np.ones((3, 2), F32))
    b = model.forward(np.zeros((3, 2), F32))
    c = model.forward(np.zeros((5, 2), F32))
    assert a is b and c is not a and c.shape == (5, 2)


def test_a_batch_size_only_evaluated_holds_no_gradient_buffers():
    """Sampling and held-out NLLs run forward at batch sizes training never uses; their
    cached buffers must not include the backward half until a backward needs it."""
    model = MLP([2, 16, 16, 2], seed=0)
    x = np.random.default_rng(0).standard_normal((9, 2)).astype(F32)
    model.forward(x)
    work = model._work[9]
    assert work._dz is None and work._dx is None
    model.backward(np.ones((9, 2), F32))  # its values: test_forward_backward_match_reference
    assert [d.shape for d in work.dz] == [(9, 16), (9, 16), (9, 2)]
    assert [d.shape for d in work.dx] == [(9, 2), (9, 16), (9, 16)]


def test_float64_input_is_accepted():
    model = MLP([2, 4, 2], seed=0)
    out = model.forward(np.ones((3, 2)))
    assert out.dtype == F32


def test_same_seed_same_params_after_adam_steps():
    def run(seed):
        model = MLP([2, 32, 32, 2], activation="leaky_relu", seed=seed)
        opt = Adam(model.params, model.grads, lr=1e-2)
        x, y = _data(16, 2, 2, seed=seed)
        grad = np.empty_like(y)
        for _ in range(25):
            out = model.forward(x)
            K.mse_loss(out, y, grad, 1.0)
            model.backward(grad)
            opt.step()
        return model.params.copy()

    np.testing.assert_array_equal(run(7), run(7))
    assert not np.array_equal(run(7), run(8))


@pytest.mark.parametrize("opt_name", ["adam", "sgd"])
def test_training_matches_reference_over_steps(opt_name):
    model = MLP([2, 16, 16, 2], activation="tanh", seed=2)
    ref = R.MLP.from_engine(model)
    if opt_name == "adam":
        opt = Adam(model.params, model.grads, lr=1e-2)
        ref_opt = R.Adam(ref.parameters(), lr=1e-2)
    else:
        opt = make_optimizer("sgd", model.params, model.grads, lr=0.05, momentum=0.9)
        ref_opt = R.SGD(ref.parameters(), lr=0.05, momentum=0.9)
    x, y = _data(32, 2, 2, seed=9)
    grad = np.empty_like(y)
    for _ in range(10):
        out = model.forward(x)
        loss = K.mse_loss(out, y, grad, 1.0)
        model.backward(grad)
        opt.step()
        ref_loss = R.train_step(ref, ref_opt, x, y)
        assert loss == pytest.approx(ref_loss, rel=1e-4)
    np.testing.assert_allclose(model.params, ref.flat(), rtol=1e-4, atol=1e-5)


def test_lr_is_live():
    model = MLP([2, 4, 1], seed=0)
    opt = SGD(model.params, model.grads, lr=0.1)
    model.grads[...] = 1.0
    before = model.params.copy()
    opt.lr = 0.0
    opt.step()
    np.testing.assert_array_equal(model.params, before)
    opt.lr = 0.5
    opt.step()
    np.testing.assert_allclose(model.params, before - 0.5)


def test_share_buffer_trains_two_models_under_one_adam():
    enc = MLP([4, 8, 2], activation="silu", seed=0)
    dec = MLP([2, 8, 4], activation="silu", seed=1)
    enc_p, dec_p = enc.params.copy(), dec.params.copy()
    params, grads = share_buffer(enc, dec)
    assert params.size == enc.n_params + dec.n_params
    np.testing.assert_array_equal(params, np.concatenate([enc_p, dec_p]))
    assert np.shares_memory(enc.params, params) and np.shares_memory(dec.layers[0].W, params)
    opt = Adam(params, grads, lr=1e-2)
    x = np.random.default_rng(0).standard_normal((8, 4)).astype(F32)
    grad = np.empty_like(x)
    losses = []
    for _ in range(30):
        out = dec.forward(enc.forward(x))
        losses.append(K.mse_loss(out, x, grad, 1.0))
        enc.backward(dec.backward(grad))
        opt.step()
    assert losses[-1] < losses[0]
    assert not np.array_equal(enc.params, enc_p) and not np.array_equal(dec.params, dec_p)


def test_state_dict_round_trip():
    model = MLP([3, 5, 2], activation="sigmoid", out_activation="tanh", seed=4)
    state = model.state_dict()
    clone = MLP.from_state(state)
    x = np.ones((2, 3), F32)
    np.testing.assert_array_equal(clone.forward(x), model.forward(x))
    with pytest.raises(ValueError):
        MLP([3, 6, 2]).load_state_dict(state)
    assert Adam(model.params, model.grads).state_dict()["kind"] == "adam"


def test_init_scales():
    relu = MLP([400, 400, 1], activation="relu", seed=0)
    tanh = MLP([400, 200, 1], activation="tanh", seed=0)
    assert relu.layers[0].W.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    assert tanh.layers[0].W.std() == pytest.approx(np.sqrt(2 / 600), rel=0.02)
    assert np.all(relu.layers[0].b == 0)


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown activation"):
        MLP([2, 3, 1], activation="gelu")
    with pytest.raises(ValueError):
        MLP([2])
    with pytest.raises(ValueError, match="optimizer"):
        make_optimizer("rmsprop", np.zeros(1, F32), np.zeros(1, F32), lr=0.1)
    with pytest.raises(RuntimeError):
        MLP([2, 1]).backward(np.zeros((1, 1), F32))

"""Deferred compiles (engine/runtime.py): while a child process compiles a lab's kernels,
a kernel that is neither loaded nor cached runs its twin instead of compiling.

Every numpy twin must do what its kernel does (results and in-place writes, to float32
rounding); the interpreted twins are the kernels' own source. The cache behaviour is
checked end to end in fresh processes with an empty cache folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from engine import clip, diffusion, images, kernels, metrics, render, runtime, transformer, vae

RNG = np.random.default_rng(7)


def f32(*shape):
    return RNG.normal(size=shape).astype(np.float32)


def run_both(kernel, make_args):
    """Call the compiled kernel and its twin on equal copies of the same arguments."""
    a, b = make_args(), make_args()
    out_a = kernel(*a)
    out_b = kernel._twin(*b)
    return (out_a, a), (out_b, b)


def assert_same(first, second, tol=2e-6):
    (ra, a), (rb, b) = first, second
    if ra is None:
        assert rb is None
    else:
        assert np.allclose(ra, rb, rtol=tol, atol=tol), (ra, rb)
    for x, y in zip(a, b):
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype
            assert np.allclose(x, y, rtol=tol, atol=tol, equal_nan=True), np.abs(x.astype(float) - y).max()


def _cases():
    cases = {}
    for act in range(len(kernels.ACTIVATIONS)):
        forward, backward, _ = kernels._SPECIALISED[act]
        z, b = f32(9, 5), f32(5)
        cases[f"forward{act}"] = (forward, lambda z=z, b=b: [z.copy(), b, np.empty_like(z), 0.2])
        a = np.tanh(z)
        for accumulate in (False, True):
            cases[f"backward{act}{accumulate}"] = (
                backward,
                lambda z=z, a=a, acc=accumulate: [
                    f32(9, 5) * 0 + 1.5,
                    z,
                    a,
                    0.2,
                    np.empty_like(z),
                    np.ones(5, np.float32),
                    acc,
                ],
            )
    pred, target = f32(6, 4), f32(6, 4)
    cases["mse"] = (kernels.mse_loss, lambda: [pred, target, np.empty_like(pred), 0.5])
    cases["bce"] = (
        kernels.bce_with_logits,
        lambda: [pred * 30, (target > 0).astype(np.float32), np.empty_like(pred), 1.0],
    )
    cases["least_squares"] = (kernels.least_squares, lambda: [pred, 0.9, np.empty_like(pred), 1.0])
    p, g = f32(50), f32(50)
    m, v = f32(50), np.abs(f32(50))
    cases["adam"] = (
        kernels.adam_step,
        lambda: [p.copy(), g, m.copy(), v.copy(), 1e-2, 0.9, 0.999, 1e-8, 0.01, 3],
    )
    for mu in (0.0, 0.9):
        cases[f"sgd{mu}"] = (kernels.sgd_step, lambda mu=mu: [p.copy(), g, m.copy(), 0.1, mu, 0.01])
    bad = p.copy()
    bad[7] = np.nan
    cases["all_finite"] = (kernels.all_finite, lambda: [p])
    cases["all_finite_nan"] = (kernels.all_finite, lambda: [bad])
    logits = f32(7, 3) * 10
    cases["sigmoid_into"] = (vae.sigmoid_into, lambda: [logits, np.empty((7, 3), np.float32)])
    pixels = RNG.integers(0, 256, (5, 6, 3)).astype(np.uint8)
    cases["quantize"] = (render._quantize_kernel, lambda: [pixels, 16, np.empty_like(pixels)])
    n = 40
    shape = np.arange(n, dtype=np.int64) % len(images.SHAPES)
    where = RNG.uniform(4, 12, (n, 2)).astype(np.float32)
    radius = RNG.uniform(2, 6, n).astype(np.float32)
    colour, background = (
        RNG.uniform(0, 1, (n, 3)).astype(np.float32),
        RNG.uniform(0, 0.2, n).astype(np.float32),
    )
    cases["draw"] = (
        images._draw,
        lambda: [
            shape,
            where[:, 0].copy(),
            where[:, 1].copy(),
            radius,
            colour,
            background,
            4,
            np.empty((n, 16, 16, 3), np.float32),
        ],
    )
    freqs = diffusion.timestep_embedding_freqs(8)
    x = f32(5, 6)
    cases["model_input"] = (diffusion.model_input, lambda: [x, 17, freqs, np.empty((5, 14), np.float32)])
    ff = diffusion.fourier_frequencies(3, 1.5)
    src = f32(5, 6 + 8)
    cases["expand_input"] = (
        diffusion.expand_input,
        lambda: [src, 6, 4, ff, np.empty((5, 4 + 2 * 4 * 3 + 8), np.float32)],
    )
    eps = f32(5, 6)
    for eta in (0.0, 1.0):
        cases[f"denoise{eta}"] = (
            diffusion.denoise_step,
            lambda eta=eta: [
                x.copy(),
                eps,
                0.3,
                0.6,
                eta,
                1.0,
                np.array([2**64 - 3], np.uint64),
                np.empty_like(x),
            ],
        )
    rows, gain, shift = f32(6, 10) * 3 + 1, f32(10), f32(10)
    cases["layernorm"] = (
        transformer.layernorm_forward,
        lambda: [
            rows,
            gain,
            shift,
            np.empty_like(rows),
            np.empty_like(rows),
            np.empty(6, np.float32),
        ],
    )
    cases["gelu"] = (transformer.gelu_forward, lambda: [rows, np.empty_like(rows)])
    scores = f32(3, 5, 5) * 4
    cases["causal_softmax"] = (transformer.causal_softmax, lambda: [scores, 0.5, np.empty_like(scores)])
    # the 2-D sample measures: more rows than the twins' row block, some samples far away
    points = RNG.normal(size=(metrics.ROW_CHUNK + 40, 2))
    samples = np.concatenate([RNG.normal(size=(300, 2)) * 1.5, RNG.normal(size=(20, 2)) + 6.0])
    r2 = RNG.uniform(0.0, 0.05, len(points))
    cases["kth_nearest"] = (metrics._kth_nearest_sq, lambda: [points, 4, np.empty(len(points))])
    cases["gaussian_sum"] = (metrics._gaussian_sum, lambda: [samples, points, -3.0])
    cases["gaussian_self_sum"] = (metrics._gaussian_self_sum, lambda: [points, -3.0])
    cases["balls"] = (
        metrics._balls,
        lambda: [samples, points, r2, -12.5, np.zeros(len(samples), bool), np.zeros(len(points), bool)],
    )
    # the tiny CLIP's text and pooling kernels: a packed batch of three texts (names of
    # their own: the lambdas above read their variables when called)
    c_ids = np.array([3, 1, 4, 1, 5, 2, 0], np.int64)
    c_pos = np.array([0, 1, 2, 0, 1, 0, 1], np.int64)
    c_offsets = np.array([0, 3, 5, 7], np.int64)
    c_emb, c_pos_emb, c_tokens, c_pooled = f32(6, 4), f32(3, 4), f32(7, 4), f32(3, 4)
    cases["embed_tokens"] = (
        clip.embed_tokens,
        lambda: [c_ids, c_pos, c_emb, c_pos_emb, np.empty((7, 4), np.float32)],
    )
    cases["embed_tokens_backward"] = (
        clip.embed_tokens_backward,
        lambda: [c_ids, c_pos, c_tokens, np.ones((6, 4), np.float32), np.ones((3, 4), np.float32)],
    )
    cases["segment_mean"] = (clip.segment_mean, lambda: [c_tokens, c_offsets, np.empty((3, 4), np.float32)])
    cases["segment_mean_backward"] = (
        clip.segment_mean_backward,
        lambda: [c_pooled, c_offsets, np.empty((7, 4), np.float32)],
    )
    c_feats, c_grads = f32(5, 4) * 3, f32(5, 4)
    c_unit = c_feats / np.linalg.norm(c_feats, axis=1, keepdims=True)
    c_norms = np.linalg.norm(c_feats, axis=1).astype(np.float32)
    cases["l2_normalise"] = (
        clip.l2_normalise,
        lambda: [c_feats, np.empty_like(c_feats), np.empty(5, np.float32)],
    )
    cases["l2_normalise_backward"] = (
        clip.l2_normalise_backward,
        lambda: [c_unit, c_norms, c_grads, np.empty_like(c_grads)],
    )
    c_logits = f32(4, 4) * 3
    c_match = np.eye(4, dtype=np.float32)
    c_match[0, 1] = c_match[1, 0] = 1.0  # two texts fit two pictures: soft targets
    cases["contrastive_loss"] = (
        clip.contrastive_loss,
        lambda: [c_logits, c_match, np.empty_like(c_logits)],
    )
    return cases


CASES = _cases()


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_numpy_twin_does_what_its_kernel_does(name):
    kernel, make_args = CASES[name]
    first, second = run_both(kernel, make_args)
    assert_same(first, second)


def test_every_kernel_with_a_numpy_twin_is_checked_here():
    import gc

    twins = {
        id(d._twin)
        for d in gc.get_objects()
        if isinstance(d, runtime.DeferrableDispatcher) and hasattr(d, "_twin")
    }
    checked = {id(kernel._twin) for kernel, _ in CASES.values()}
    assert (
        twins and twins <= checked
    )  # a parallel kernel shares its serial twin's (test_parallel: same results)


def test_a_twin_raises_what_its_kernel_raises():
    z = f32(3, 4)
    with pytest.raises(ValueError, match="shapes of z, b, a"):
        kernels._SPECIALISED[0][0]._twin(z, f32(5), z, 0.2)
    with pytest.raises(ValueError, match="shapes differ"):
        kernels.adam_step._twin(f32(3), f32(4), f32(3), f32(3), 0.1, 0.9, 0.99, 1e-8, 0.0, 1)


MODULE = textwrap.dedent(
    """
    import numpy as np
    from engine import kernels as K
    from engine.runtime import kernel

    @kernel
    def inner(x):
        return x * 2.0

    @kernel
    def outer(a, out):
        for i in range(a.shape[0]):
            out[i] = inner(a[i]) + K.fast_sigmoid(a[i])
    """
)

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    from engine import runtime
    import deferred_probe as m
    runtime.set_deferring(sys.argv[2] == "defer")
    a = np.linspace(-2, 2, 7).astype(np.float32)
    out = np.empty_like(a)
    m.outer(a, out)
    print(json.dumps({
        "out": out.tolist(),
        "deferred": runtime.deferred_calls(),
        "compiled": [len(m.outer.overloads), len(m.inner.overloads)],
        "hits": sum(m.outer.stats.cache_hits.values()),
    }))
    """
)


def _probe(tmp_path, mode: str) -> dict:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba"), PYTHONPATH=root)
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), mode],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1])


def test_deferred_calls_run_the_source_then_load_what_the_cache_gains(tmp_path):
    (tmp_path / "deferred_probe.py").write_text(MODULE)
    a = np.linspace(-2, 2, 7).astype(np.float32)
    expected = a * 2.0 + 1.0 / (1.0 + np.exp(-a))
    # empty cache, deferring: the source runs, nested kernels included, nothing compiles
    first = _probe(tmp_path, "defer")
    assert first["deferred"] == 1 and first["compiled"] == [0, 0]
    assert np.allclose(first["out"], expected, atol=1e-6)
    # not deferring: it compiles, and numba caches it
    second = _probe(tmp_path, "compile")
    assert second["deferred"] == 0 and second["compiled"][0] == 1
    # deferring again, with the kernel in the cache: loaded, not a twin
    third = _probe(tmp_path, "defer")
    assert third["deferred"] == 0 and third["compiled"][0] == 1 and third["hits"] == 1
    assert np.allclose(third["out"], first["out"], atol=1e-6)


def test_deferring_on_one_thread_only(tmp_path):
    assert not runtime.deferring()
    before = runtime.deferred_calls()
    with runtime.deferred():
        assert runtime._deferred_calls.here
    assert not getattr(runtime._deferred_calls, "here", False) and runtime.deferred_calls() == before


def test_an_interpreted_closure_kernel_calls_the_twins_of_what_it_captures(monkeypatch):
    """``_specialise``'s kernels capture the activation; without a numpy twin the
    source runs with the scalar kernels it calls swapped for their own sources."""
    forward = kernels._SPECIALISED[kernels.SILU][0]
    monkeypatch.delattr(forward, "_twin")
    monkeypatch.delitem(forward.__dict__, "_interpreted", raising=False)
    z, b = f32(4, 3), f32(3)
    a1, a2 = np.empty_like(z), np.empty_like(z)
    z1, z2 = z.copy(), z.copy()
    runtime._interpreted(forward)(z1, b, a1, 0.2)
    forward(z2, b, a2, 0.2)
    assert np.allclose(a1, a2, atol=1e-6) and np.array_equal(z1, z2)

"""The thread policy, the split products and every prange kernel against its serial twin.

No timing assertions: speed lives in benchmarks/bench_scaling.py.
"""

import itertools
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from engine import diffusion as D
from engine import kernels as K
from engine import lm, render, runtime

F32 = np.float32


@pytest.fixture
def two_threads():
    """Run with two compute threads whatever the machine, then restore."""
    before = runtime.threads()
    runtime.set_threads(2)
    yield
    runtime.set_threads(before)


# --------------------------------------------------------------------------- policy


@pytest.mark.parametrize(
    "context, cores, override, expect",
    [
        ("headless", 1, None, 1),
        ("headless", 2, None, 2),
        ("headless", 8, None, 8),
        ("app", 1, None, 1),
        ("app", 2, None, 1),
        ("app", 8, None, 7),
        ("app", 8, "3", 3),
        ("headless", 2, " 4 ", 4),
        ("app", 2, "", 1),
    ],
)
def test_policy_threads_per_context(context, cores, override, expect):
    assert runtime.policy_threads(context, cores, override) == expect


@pytest.mark.parametrize("bad", ["0", "-1", "abc", "2.5", "257", "1e3"])
def test_bad_thread_setting_is_one_clear_error(bad):
    with pytest.raises(runtime.ThreadsSettingError, match="GENAI_TUTOR_THREADS must be a whole"):
        runtime.policy_threads("app", 4, bad)


def test_unknown_context_is_rejected():
    with pytest.raises(ValueError, match="unknown context"):
        runtime.set_context("server")


def test_set_context_applies_the_policy(monkeypatch):
    monkeypatch.delenv("GENAI_TUTOR_THREADS", raising=False)
    before = runtime.context(), runtime.threads()
    cores = runtime.available_cores()
    try:
        assert runtime.set_context("app") == max(1, cores - 1) == runtime.threads()
        assert runtime.set_context("headless") == cores == runtime.threads()
        monkeypatch.setenv("GENAI_TUTOR_THREADS", "3")
        assert runtime.set_context("app") == 3
    finally:
        runtime._context, runtime._threads = before


def _fresh(code: str, **env) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "GENAI_TUTOR_THREADS",
            "NUMBA_NUM_THREADS",
            "NUMBA_THREADING_LAYER",
            "OMP_WAIT_POLICY",
            "OPENBLAS_NUM_THREADS",
            "GENAI_TUTOR_BLAS_THREADS",
        )
    }
    return subprocess.run(
        [sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True, check=False
    )


def test_bad_environment_never_breaks_import():
    code = (
        "import json; from engine import nn, runtime\n"
        "try:\n    runtime.set_context('app'); raised = None\n"
        "except runtime.ThreadsSettingError as e:\n    raised = str(e)\n"
        "print(json.dumps([runtime.environment_error(), raised, runtime.threads()]))"
    )
    res = _fresh(code, GENAI_TUTOR_THREADS="many")
    assert res.returncode == 0, res.stderr
    error, raised, threads = json.loads(res.stdout)
    assert error == raised and "GENAI_TUTOR_THREADS" in error and "'many'" in error
    assert threads == max(1, runtime.available_cores() - 1)


def test_fresh_process_configuration():
    """Layer, wait policy, BLAS at one thread per caller, numba pool >= the override."""
    code = "import json, numba; from engine import nn, runtime; print(json.dumps(runtime.configured()))"
    cfg = json.loads(_fresh(code, GENAI_TUTOR_THREADS="3").stdout)
    assert cfg["threading_layer"] in ("omp", "workqueue") and cfg["omp_wait_policy"] == "PASSIVE"
    assert cfg["blas_threads"] in (None, 1)
    assert cfg["threads"] == 3 and cfg["numba_pool"] >= 3 and cfg["context"] == "headless"


# ------------------------------------------------------------------- split products


@pytest.mark.parametrize("shape", [(512, 800, 256), (129, 300, 130), (70, 2000, 64)])
def test_split_matmul_equals_numpy(two_threads, shape):
    m, k, n = shape
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k), dtype=F32)
    b = rng.standard_normal((k, n), dtype=F32)
    assert m * k * n >= runtime.GEMM_PARALLEL_MIN
    out = np.full((m, n), np.nan, F32)
    runtime.matmul(a, b, out)
    np.testing.assert_allclose(out, a.astype(np.float64) @ b, rtol=1e-4, atol=1e-3)
    # the transposed views nn.py uses for dW = x.T @ dz and dx = dz @ W.T
    dz = rng.standard_normal((m, n), dtype=F32)
    dw = np.full((k, n), np.nan, F32)
    runtime.matmul(a.T, dz, dw)
    np.testing.assert_allclose(dw, a.T.astype(np.float64) @ dz, rtol=1e-4, atol=1e-3)
    dx = np.full((m, k), np.nan, F32)
    runtime.matmul(dz, b.T, dx)
    np.testing.assert_allclose(dx, dz.astype(np.float64) @ b.T, rtol=1e-4, atol=1e-3)


def test_helper_errors_reach_the_caller():
    def boom():
        raise RuntimeError("block failed")

    with pytest.raises(RuntimeError, match="block failed"):
        runtime._helpers.run([boom, boom, boom], 1)
    done = []
    runtime._helpers.run([lambda: done.append(1)] * 5, 1)  # the pool still works
    assert len(done) == 5


def test_row_blocks_cover_every_row_once():
    for rows in (1, 15, 16, 33, 127, 128, 255, 256, 512, 800, 100_000):
        spans = runtime._row_blocks(rows)
        thinnest = runtime.MIN_BLOCK_ROWS if rows >= 2 * runtime.MIN_BLOCK_ROWS else rows // 2
        assert len(spans) <= runtime.MAX_BLOCKS and all(hi - lo >= thinnest for lo, hi in spans)
        assert (len(spans) > 1) == (rows >= runtime.MIN_BLOCK_ROWS)
        assert spans[0][0] == 0 and spans[-1][1] == rows
        assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))


def test_launch_chooses_by_size_and_thread_count(two_threads):
    calls = []
    par, ser = (lambda x: calls.append("parallel")), (lambda x: calls.append("serial"))
    runtime.launch(par, ser, 99, 100, 0)
    runtime.launch(par, ser, 100, 100, 0)
    runtime.set_threads(1)
    runtime.launch(par, ser, 10**6, 100, 0)
    assert calls == ["serial", "parallel", "serial"]


# ------------------------------------------------ each parallel kernel = its serial twin


@pytest.mark.parametrize("act", list(K.ACTIVATIONS.values()))
def test_bias_act_parallel_equals_serial(act):
    rng = np.random.default_rng(act)
    z0 = rng.standard_normal((67, 33), dtype=F32) * 3
    b = rng.standard_normal(33, dtype=F32)
    serial, parallel = K._SPECIALISED[act][0], K._SPECIALISED[act][2]
    z1, a1, z2, a2 = z0.copy(), np.empty_like(z0), z0.copy(), np.empty_like(z0)
    serial(z1, b, a1, 0.2)
    parallel(z2, b, a2, 0.2)
    assert np.array_equal(z1, z2) and np.array_equal(a1, a2)


def test_adam_parallel_equals_serial():
    rng = np.random.default_rng(0)
    bufs = [rng.standard_normal(10_001, dtype=F32) for _ in range(3)]
    v = np.abs(rng.standard_normal(10_001, dtype=F32))
    one = [x.copy() for x in bufs + [v]]
    two = [x.copy() for x in bufs + [v]]
    for t in (1, 2, 3):
        K.adam_step(*one, 1e-3, 0.9, 0.999, 1e-8, 0.01, t)
        K.adam_step_parallel(*two, 1e-3, 0.9, 0.999, 1e-8, 0.01, t)
    for x, y in zip(one, two):
        assert np.array_equal(x, y)


@pytest.mark.parametrize("eta", [0.0, 0.5, 1.0])
def test_denoise_parallel_equals_serial(eta):
    rng = np.random.default_rng(1)
    x0 = rng.standard_normal((37, 19), dtype=F32)
    eps = rng.standard_normal((37, 19), dtype=F32)
    runs = []
    for fn in (D.denoise_step, D.denoise_step_parallel):
        x, x0_hat, state = x0.copy(), np.empty_like(x0), D.seed_state(5, 2)
        for ab_t, ab_s in ((0.3, 0.5), (0.5, 0.9)):  # two steps: the counter carries on
            fn(x, eps, ab_t, ab_s, eta, 1.0, state, x0_hat)
        runs.append((x, x0_hat, state))
    (x1, h1, s1), (x2, h2, s2) = runs
    assert np.array_equal(x1, x2) and np.array_equal(h1, h2) and np.array_equal(s1, s2)
    if eta > 0:
        assert s1[0] != D.seed_state(5, 2)[0]


def test_heatmap_parallel_equals_serial():
    values = np.random.default_rng(2).standard_normal((41, 53)).astype(F32)
    lut = render.PALETTES["sequential"]
    outs = []
    for fn in (render._heatmap_kernel, render._heatmap_kernel_parallel):
        out = np.zeros(values.shape + (3,), np.uint8)
        fn(values, lut, F32(-1.5), F32(80.0), out)
        outs.append(out)
    assert np.array_equal(*outs) and outs[0].any()


def test_softmax_xent_parallel_equals_serial():
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((29, 101), dtype=F32) * 4
    targets = rng.integers(0, 101, 29).astype(np.int32)
    g1, g2 = np.empty_like(logits), np.empty_like(logits)
    l1 = lm.softmax_xent(logits, targets, g1, 0.5)
    l2 = lm.softmax_xent_parallel(logits, targets, g2, 0.5)
    assert l1 == l2 and np.array_equal(g1, g2)


def test_split_matmul_same_bits_at_any_thread_count():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((300, 500), dtype=F32)
    b = rng.standard_normal((500, 200), dtype=F32)
    outs = [np.empty((300, 200), F32) for _ in range(3)]
    for out, n in zip(outs, (1, 2, 3)):
        runtime.matmul(a, b, out, n)
    assert np.array_equal(outs[0], outs[1]) and np.array_equal(outs[0], outs[2])


def test_training_step_same_with_one_or_two_threads():
    """A whole MLP step above every threshold gives the same bits at 1 and 2 threads:
    products are cut into the same row blocks, kernels are elementwise or keep their
    summation order."""
    from engine.nn import MLP, Adam

    results = []
    before = runtime.threads()
    try:
        for n in (1, 2):
            runtime.set_threads(n)
            rng = np.random.default_rng(0)
            x = rng.standard_normal((512, 300), dtype=F32)
            y = rng.standard_normal((512, 200), dtype=F32)
            model = MLP([300, 256, 200], activation="silu", seed=0)
            opt, grad = Adam(model.params, model.grads), np.empty_like(y)
            for _ in range(2):
                loss = K.mse_loss(model.forward(x), y, grad, 1.0)
                model.backward(grad, input_grad=False)
                opt.step()
            results.append((loss, model.params.copy()))
    finally:
        runtime.set_threads(before)
    assert results[0][0] == results[1][0]
    assert np.array_equal(results[0][1], results[1][1])


# ------------------------------------------------------------------- sharded sampling


def _sprites_model():
    from engine import diffusion_recipes as recipes

    return recipes.new_model("sprites", seed=0)  # conditional, guided, PCA basis


def test_sharded_ddim_same_bits_with_one_or_two_threads():
    """64 guided sprites, DDIM: two 32-sample shards in turn (1 thread) or at once (2
    threads) give the same samples, trajectory and labels, bit for bit."""
    model = _sprites_model()
    assert model._shards(64) == 2 and model._shards(63) == 1
    results = []
    before = runtime.threads()
    try:
        for n in (1, 2):
            runtime.set_threads(n)
            out, film = model.sample(64, steps=4, sampler="ddim", seed=3, record=True)
            results.append((out, film, model.last_labels.copy()))
    finally:
        runtime.set_threads(before)
    (a, film_a, labels_a), (b, film_b, labels_b) = results
    assert np.array_equal(a, b) and np.array_equal(labels_a, labels_b)
    assert [s.t for s in film_a] == [s.t for s in film_b] and len(film_a) == 5
    for sa, sb in zip(film_a, film_b):
        assert np.array_equal(sa.x, sb.x) and np.array_equal(sa.x0_hat, sb.x0_hat)
    assert np.array_equal(model.to_data(film_a[-1].x), a)


def test_a_shard_computes_what_the_whole_batch_computes():
    """The sharded sampler is the plain loop: against one 64-row batch (shards turned
    off) it differs only where BLAS rounds a 64-row product differently from a 128-row
    one (last places), and each shard alone equals sampling its rows by themselves."""
    model = _sprites_model()
    sharded, _ = model.sample(64, steps=4, sampler="ddim", seed=3)
    labels = model.last_labels.copy()
    whole_model = _sprites_model()
    whole_model._shards = lambda n: 1
    whole, _ = whole_model.sample(64, steps=4, sampler="ddim", seed=3)
    assert np.array_equal(whole_model.last_labels, labels)
    np.testing.assert_allclose(sharded, whole, atol=1e-4)
    x_T = model.noise(64, 3, 0)
    first, _ = whole_model.sample(32, steps=4, sampler="ddim", x_T=x_T[:32], labels=labels[:32])
    assert np.array_equal(first, sharded[:32])


def test_ddpm_is_never_sharded():
    """DDPM draws noise in one stream over the whole batch: it keeps the batch whole."""
    model = _sprites_model()
    calls = []
    model._sample_sharded = lambda *a, **k: calls.append(a)
    model.sample(64, steps=2, sampler="ddpm", seed=3)
    model.sample(64, steps=2, sampler="ddim", seed=3, eps_fn=lambda x, t: np.zeros_like(x))
    assert calls == []


def test_run_shards_runs_each_piece_once_serially_inside(two_threads):
    seen = []
    runtime.run_shards([lambda i=i: seen.append((i, runtime.threads())) for i in range(5)])
    assert sorted(seen) == [(i, 1) for i in range(5)]
    assert runtime.threads() == 2  # the caller's count is back after its pieces

    def boom():
        raise ValueError("shard failed")

    with pytest.raises(ValueError, match="shard failed"):
        runtime.run_shards([boom, lambda: None])


# ------------------------------------------------------------------------- caching

PARALLEL_KERNELS = (
    "engine.kernels:adam_step_parallel",
    "engine.diffusion:denoise_step_parallel",
    "engine.render:_heatmap_kernel_parallel",
    "engine.lm:softmax_xent_parallel",
)


def test_parallel_kernels_load_from_cache_in_a_second_process(tmp_path):
    """First process compiles into an empty cache; the second loads without compiling."""
    code = (
        "import importlib, json; from engine import runtime, kernels as K\n"
        "for f in ('gan', 'diffusion', 'lm'): runtime.warm_up(family=f)\n"
        "ds = [getattr(importlib.import_module(m), n) for m, n in "
        f"(s.split(':') for s in {PARALLEL_KERNELS!r})] + [K._SPECIALISED[K.SILU][2]]\n"
        "print(json.dumps([[sum(d.stats.cache_hits.values()), "
        "sum(d.stats.cache_misses.values())] for d in ds]))"
    )
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    first = _fresh(code, **env)
    assert first.returncode == 0, first.stderr
    assert all(miss >= 1 for _, miss in json.loads(first.stdout.splitlines()[-1]))
    second = _fresh(code, **env)
    assert second.returncode == 0, second.stderr
    assert all(hit >= 1 and miss == 0 for hit, miss in json.loads(second.stdout.splitlines()[-1]))


# ------------------------------------------------------------------------- warm-up


def test_family_warm_up_runs_only_what_it_needs(monkeypatch):
    ran = []
    runtime._import_engine_modules(runtime.FAMILIES["gan"] + runtime.FAMILIES["diffusion"])
    monkeypatch.setattr(runtime, "_DONE", set())
    for name in list(runtime._WARMUPS):
        monkeypatch.setitem(runtime._WARMUPS, name, lambda n=name: ran.append(n))
    runtime.warm_up(family="gan")
    assert ran == ["kernels", "nn", "gan", "render"]
    ran.clear()
    runtime.warm_up(family="diffusion")  # kernels and nn already done in this process
    assert ran == ["diffusion"]
    with pytest.raises(ValueError, match="unknown model family"):
        runtime.warm_up(family="nope")


def test_warm_up_of_named_modules_runs_them_and_their_needs_only(monkeypatch):
    ran = []
    runtime._import_engine_modules(("clip", "render"))
    monkeypatch.setattr(runtime, "_DONE", set())
    for name in list(runtime._WARMUPS):
        monkeypatch.setitem(runtime._WARMUPS, name, lambda n=name: ran.append(n))
    runtime.warm_up(modules=("clip", "render"))
    assert ran == ["kernels", "nn", "images", "clip", "render"]


def _specialised_signatures(act: int) -> list[int]:
    return [len(d.signatures) for d in K._SPECIALISED[act]]


def test_activation_warm_up_compiles_the_twin_only_where_it_can_run():
    """One thread: forward and backward only (a 2-core app never launches a twin)."""
    before = runtime.threads()
    act = K.ACTIVATIONS["sigmoid"]
    try:
        runtime.set_threads(1)
        fwd, bwd, twin = _specialised_signatures(act)
        K.warm_up_activations("sigmoid")
        after = _specialised_signatures(act)
        assert after[0] >= 1 and after[1] >= 1 and after[2] == twin
        runtime.set_threads(2)
        K.warm_up_activations("sigmoid")
        assert _specialised_signatures(act)[2] >= 1
    finally:
        runtime.set_threads(before)

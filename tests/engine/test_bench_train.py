"""benchmarks/bench_train.py: row shape, and that its numpy GAN is the engine's maths.

No timing assertions (speed lives in the benchmark's output, not in tests).
"""

import importlib.util
from pathlib import Path

import numpy as np

from engine.gan import GAN, GANConfig

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_train.py"
_spec = importlib.util.spec_from_file_location("bench_train", _PATH)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

KEYS = {"case", "batch", "engine_steps_per_s", "numpy_steps_per_s", "ratio"}


def test_measure_row_has_the_issue_keys_and_positive_numbers():
    row = bench.measure_row("gan", blas_threads=1, steps=2, repeats=1)
    assert set(row) >= KEYS
    assert row["case"] == "gan" and row["batch"] == GANConfig().batch
    for key in ("engine_steps_per_s", "numpy_steps_per_s", "ratio"):
        assert row[key] > 0
    assert row["blas_threads"] == {"engine": 1, "numpy": 1}


def test_numpy_gan_follows_the_engine_gan():
    """Same weights, data and random stream: parameters agree after a few rounds."""
    gan = GAN(GANConfig(g_width=16, d_width=16, batch=32))
    ref = bench.NumpyGAN.from_engine(gan)
    for _ in range(3):
        gan.step()
        ref.step()
    np.testing.assert_allclose(ref.G.flat(), gan.G.params, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ref.D.flat(), gan.D.params, rtol=1e-4, atol=1e-5)
    assert abs(ref.d_loss - gan.d_loss) < 1e-4 and abs(ref.g_loss - gan.g_loss) < 1e-4


def test_numpy_mlp_starts_from_the_engine_weights():
    from engine.nn import MLP

    for sizes, act in ((bench.MLP_SIZES, "silu"), ([2, 64, 64, 1], "relu")):
        ref = bench._init_mlp(sizes, act, 0)
        np.testing.assert_array_equal(ref.flat(), MLP(sizes, act, seed=0).params)

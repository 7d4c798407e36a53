"""Weights files: round trip, and a plain WeightsError for every way a file can be wrong."""

from __future__ import annotations

import numpy as np
import pytest

from engine.weights import WeightsError, load, save


def arrays():
    rng = np.random.default_rng(0)
    return {"w": rng.standard_normal((3, 4)).astype(np.float32), "vocab_ids": np.arange(5, dtype=np.int32)}


def test_round_trip(tmp_path):
    path = save(tmp_path / "m.npz", arrays(), {"model": "lm", "version": 2, "config": {"width": 4}})
    loaded, meta = load(path, "lm", 2)
    assert meta["config"] == {"width": 4}
    for name, array in arrays().items():
        np.testing.assert_array_equal(loaded[name], array)
        assert loaded[name].dtype == array.dtype


@pytest.mark.parametrize(
    "model,version,message", [("vae", 2, "holds a 'lm' model"), ("lm", 3, "format version 2")]
)
def test_mismatch(tmp_path, model, version, message):
    path = save(tmp_path / "m.npz", arrays(), {"model": "lm", "version": 2})
    with pytest.raises(WeightsError, match=message):
        load(path, model, version)


def test_missing_and_garbage(tmp_path):
    with pytest.raises(WeightsError, match="no weights file"):
        load(tmp_path / "none.npz", "lm", 1)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip at all")
    with pytest.raises(WeightsError, match="cannot be read"):
        load(bad, "lm", 1)


def test_tampered_array_fails_checksum(tmp_path):
    path = save(tmp_path / "m.npz", arrays(), {"model": "lm", "version": 1})
    with np.load(path, allow_pickle=False) as data:
        content = {k: data[k] for k in data.files}
    content["w"] = content["w"] + 1
    np.savez(path, **content)
    with pytest.raises(WeightsError, match="checksum"):
        load(path, "lm", 1)


def test_fill_copies_in_place_and_refuses_a_wrong_shape(tmp_path):
    from engine.weights import fill

    buffer = np.zeros((3, 4), np.float32)
    fill(buffer, arrays(), "w", tmp_path / "m.npz")
    np.testing.assert_array_equal(buffer, arrays()["w"])
    with pytest.raises(WeightsError, match="does not fit"):
        fill(np.zeros(5, np.float32), arrays(), "w", tmp_path / "m.npz")
    with pytest.raises(WeightsError, match="has no 'x'"):
        fill(buffer, arrays(), "x", tmp_path / "m.npz")

"""Every shipped weights file, tampered with the checksum recomputed (so only the new
checks can catch it): a clear WeightsError, never a traceback, and nothing allocated for
a header that declares a huge array. `generate` and `sample` exit 1 with one line and
leave no output file behind."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from engine import weights
from engine.weights import META_KEY, WeightsError

SHIPPED = weights.default_dir()
FILES = sorted(p.name for p in SHIPPED.glob("*.npz"))


def _loader(name: str):
    from engine import clip, diffusion, image_gan, image_metrics, lm, transformer, vae

    if name.startswith("text_to_image_") and name.endswith("_autoencoder.npz"):
        return vae.VAE.load
    if name.startswith(("diffusion_", "text_to_image_")):  # text-to-image: a text-conditioned Diffusion
        return diffusion.Diffusion.load
    if name.startswith("gan_"):
        return image_gan.ImageGAN.load
    if name.startswith("vae_"):
        return vae.VAE.load
    if name == "lm.npz":
        return lambda path: lm.LanguageModel.load(path)[0]
    if name == "sprite_classifier.npz":
        return image_metrics.SpriteClassifier.load
    if name == "clip_sprites.npz":
        return clip.CLIP.load
    if name == "transformer.npz":
        return lambda path: transformer.Transformer.load(path)[0]
    raise AssertionError(f"no loader for {name}")


def _read(name: str) -> tuple[dict, dict]:
    with np.load(SHIPPED / name, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(arrays.pop(META_KEY).tobytes())
    meta.pop("checksum")
    return arrays, meta


def _raw_npz(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, blob in members.items():
            archive.writestr(name + ".npy", blob)
    return path


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _huge_header(shape: tuple) -> bytes:
    """A .npy member whose header declares `shape` but which holds only a few bytes."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f4", "fortran_order": False, "shape": shape})
    return buffer.getvalue() + b"\0" * 64


def _first_float(arrays: dict) -> str:
    return next(k for k, v in arrays.items() if v.dtype.kind == "f")


def _first_int_key(config: dict) -> str:
    return next(k for k in ("hidden", "g_width", "embed", "d") if k in config)


def tamper(kind: str, name: str, out: Path) -> Path:
    arrays, meta = _read(name)
    path = out / name
    if kind == "meta-not-object":
        blob = np.frombuffer(json.dumps([meta["model"], meta["version"]]).encode(), np.uint8)
        return _raw_npz(path, {**{k: _npy(v) for k, v in arrays.items()}, META_KEY: _npy(blob)})
    if kind == "huge-declared-shape":
        blob = np.frombuffer(json.dumps(dict(meta, checksum="x")).encode(), np.uint8)
        return _raw_npz(path, {_first_float(arrays): _huge_header((10**6, 10**6)), META_KEY: _npy(blob)})
    if kind == "config-missing":
        meta.pop("config")
    elif kind == "config-not-a-table":
        meta["config"] = 5
    elif kind == "config-huge-width":
        meta["config"][_first_int_key(meta["config"])] = 10**9
    elif kind == "config-unknown-setting":
        meta["config"]["\x1b]52;c;aGk=\x07"] = 1
    elif kind == "nan-parameter":
        key = _first_float(arrays)
        arrays[key] = arrays[key].copy()
        arrays[key].flat[len(arrays[key].flat) // 2] = np.nan
    elif kind == "wrong-shape":
        key = _first_float(arrays)
        arrays[key] = arrays[key].ravel()[:-7].copy()
    elif kind == "object-dtype-text":
        arrays["extra"] = np.array(["a", "b"])
    else:
        raise AssertionError(kind)
    return _save_fast(path, arrays, meta)


def _save_fast(path: Path, arrays: dict, meta: dict) -> Path:
    """weights.save without compression (the same format, a recomputed checksum; quicker)."""
    record = dict(meta, checksum=weights.checksum(arrays))
    blob = np.frombuffer(json.dumps(record, sort_keys=True).encode(), dtype=np.uint8)
    with open(path, "wb") as handle:
        np.savez(handle, **arrays, **{META_KEY: blob})
    return path


KINDS = [
    "meta-not-object",
    "huge-declared-shape",
    "config-missing",
    "config-not-a-table",
    "config-huge-width",
    "config-unknown-setting",
    "nan-parameter",
    "wrong-shape",
    "object-dtype-text",
]
EXPECTED = {
    "meta-not-object": "metadata is not a record",
    "huge-declared-shape": "declares shape (1000000, 1000000)",
    "config-missing": "no config record",
    "config-not-a-table": "'config' is not a record",
    "config-huge-width": "= 1000000000",
    "config-unknown-setting": "unknown settings",
    "nan-parameter": "NaN or infinite",
    "wrong-shape": "does not fit",
    "object-dtype-text": "not numbers",
}


@pytest.mark.parametrize("name", FILES)
def test_every_tampering_of_every_model_file_gives_a_clear_message(tmp_path, name):
    load = _loader(name)
    for kind in KINDS:
        path = tamper(kind, name, tmp_path)
        with pytest.raises(WeightsError) as raised:
            load(path)
        message = str(raised.value)
        assert EXPECTED[kind] in message, (kind, message)
        assert "\x1b" not in message and "\n" not in message, (kind, message)
        path.unlink()


def test_lm_vocabulary_with_an_escape_sequence_is_unusable(tmp_path):
    from engine import lm

    arrays, meta = _read("lm.npz")
    vocab = arrays["vocab"].astype("<U40")
    vocab[5] = "\x1b]52;c;cHduZWQ=\x07"
    arrays["vocab"] = vocab
    path = _save_fast(tmp_path / "lm.npz", arrays, meta)
    with pytest.raises(WeightsError, match=r"vocabulary word 5 .*control characters") as raised:
        lm.LanguageModel.load(path)
    assert "\x1b" not in str(raised.value)


def test_a_failed_write_leaves_no_file_behind(tmp_path):
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    target = tmp_path / "out.npz"

    def explode(handle):
        handle.write(b"half a file")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        weights.write_atomic(target, explode)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(IsADirectoryError):
        weights.write_atomic(tmp_path, lambda handle: None)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def tampered_shipped(tmp_path, monkeypatch):
    """default_dir() pointing at a copy of the shipped weights, NaN in every parameter set."""
    folder = tmp_path / "weights"
    folder.mkdir()
    for name in FILES:
        tamper("nan-parameter", name, folder)
    monkeypatch.setattr(weights, "default_dir", lambda: folder)
    return folder


@pytest.mark.parametrize("model,dataset", [("diffusion", "digits"), ("gan", "sprites")])
def test_generate_with_unusable_weights_exits_1_and_writes_nothing(
    tampered_shipped, tmp_path, capsys, model, dataset
):
    from tutor.cli import main

    out = tmp_path / "out" / "grid.png"
    out.parent.mkdir()
    code = main(
        ["generate", "--model", model, "--dataset", dataset, "--n", "4", "--steps", "5", "--out", str(out)]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and "unusable because" in err[0] and "NaN" in err[0], err
    assert list(out.parent.iterdir()) == []


def test_sample_with_unusable_weights_exits_1_with_one_line(tmp_path, capsys):
    from tutor.cli import main

    for kind in ("config-huge-width", "huge-declared-shape", "meta-not-object"):
        path = tamper(kind, "lm.npz", tmp_path)
        assert main(["sample", "The", "--weights", str(path)]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "unusable because" in err[0], (kind, err)
        path.unlink()


@pytest.mark.parametrize("family", ["flow", "autoregressive", "vae"])
def test_2d_family_weights_with_a_huge_config_are_refused_before_allocating(family, tmp_path):
    """The 2-D families' files (made by `train flow|autoregressive|vae`) are checked too."""
    from engine import autoregressive, flow, vae

    model_of = {
        "flow": (flow.Flow, flow.FlowConfig()),
        "autoregressive": (autoregressive.Autoregressive, autoregressive.ARConfig()),
        "vae": (vae.PointVAE, vae.PointVaeConfig()),
    }
    cls, config = model_of[family]
    path = tmp_path / f"{family}.npz"
    cls(config, np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32)).save(path)
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(arrays.pop(META_KEY).tobytes())
    meta.pop("checksum")
    meta["config"]["hidden"] = 10**9
    weights.save(path, arrays, meta)
    with pytest.raises(WeightsError, match="unusable"):
        cls.load(path)

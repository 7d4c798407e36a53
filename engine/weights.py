"""Pretrained weights on disk: one .npz per model, checked before use.

A weights file holds named float/int arrays plus a JSON metadata record stored as a
uint8 array under ``__meta__``: which model it is, the format version, the config it was
trained with, and a SHA-256 checksum over the arrays. Files are read with
``allow_pickle=False``, so a weights file can never run code.

`load` raises `WeightsError` with one plain sentence for every way a file can be wrong
(missing, unreadable, another model, another version, damaged), so a lab can say so and
offer to train from scratch instead.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np

META_KEY = "__meta__"


class WeightsError(Exception):
    """A weights file is missing, unreadable or does not fit the model that asked for it."""


def checksum(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over every array's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def save(path: str | Path, arrays: dict[str, np.ndarray], meta: dict) -> Path:
    """Write `arrays` and `meta` (must hold "model" and "version"; JSON-serialisable)."""
    if "model" not in meta or "version" not in meta:
        raise ValueError("weights metadata needs 'model' and 'version'")
    if META_KEY in arrays:
        raise ValueError(f"'{META_KEY}' is reserved")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = dict(meta, checksum=checksum(arrays))
    blob = np.frombuffer(json.dumps(record, sort_keys=True).encode(), dtype=np.uint8)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        np.savez_compressed(handle, **arrays, **{META_KEY: blob})
    tmp.replace(path)
    return path


def load(path: str | Path, model: str, version: int) -> tuple[dict[str, np.ndarray], dict]:
    """Read and check a weights file; returns (arrays, metadata)."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"no weights file at {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise WeightsError(f"the weights file {path.name} cannot be read ({exc})") from exc
    blob = arrays.pop(META_KEY, None)
    if blob is None:
        raise WeightsError(f"the weights file {path.name} has no metadata")
    try:
        meta = json.loads(blob.tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(f"the metadata in {path.name} is damaged") from exc
    if meta.get("model") != model:
        raise WeightsError(f"{path.name} holds a '{meta.get('model')}' model, not '{model}'")
    if meta.get("version") != version:
        raise WeightsError(f"{path.name} is format version {meta.get('version')}; this version of the "
                           f"tutor needs version {version} (retrain with 'genai-tutor train')")
    if meta.get("checksum") != checksum(arrays):
        raise WeightsError(f"{path.name} is damaged (its checksum does not match)")
    return arrays, meta


def fill(buffer: np.ndarray, arrays: dict[str, np.ndarray], name: str, path: str | Path) -> None:
    """Copy the loaded array `name` into a model's parameter `buffer`, in place.

    Raises WeightsError when the file lacks it or its shape does not fit (the file was
    trained with other layer sizes)."""
    if name not in arrays:
        raise WeightsError(f"{Path(path).name} has no '{name}' array")
    if arrays[name].shape != buffer.shape:
        raise WeightsError(f"{Path(path).name} does not fit this model's layer sizes "
                           f"('{name}' is {arrays[name].shape}, the model needs {buffer.shape})")
    buffer[...] = arrays[name]


def default_dir() -> Path:
    """Where the shipped weights live (read-only; see engine.paths)."""
    from engine import paths

    return paths.shipped("weights")

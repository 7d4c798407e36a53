"""Pretrained weights on disk: one .npz per model, checked before use.

A weights file holds named float/int arrays plus a JSON metadata record stored as a
uint8 array under ``__meta__``: which model it is, the format version, the config it was
trained with, and a SHA-256 checksum over the arrays. Files are read with
``allow_pickle=False``, so a weights file can never run code.

`load` raises `WeightsError` with one plain sentence for every way a file can be wrong
(missing, unreadable, another model, another version, damaged), so a lab can say so and
offer to train from scratch instead.

A checksum only catches accidents: whoever edits a file can recompute it. So a file is
also checked as if it were hostile, before anything big is allocated: its size, every
array's declared shape and dtype (read from the .npy headers inside the zip), the
metadata's types, every number in the config (`model_config`), and that every float
parameter is finite. Writing (`save`, `write_atomic`) goes to a temporary file that is
renamed into place only after success and removed on failure, so a failed or killed
write never leaves a half file behind.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

import numpy as np

META_KEY = "__meta__"
MAX_FILE_BYTES = 64 * 2**20  # the largest shipped file is 4.4 MB
MAX_ARRAY_ELEMENTS = 4_000_000  # the largest shipped array has 666,720
MAX_TOTAL_ELEMENTS = 8_000_000
MAX_META_BYTES = 1 * 2**20
MAX_CONFIG_INT = 2048  # widths, sizes, steps of a config (shipped: at most 1000)
CONFIG_INT_LIMITS = {
    "seed": 2**63 - 1,
    "T": 10_000,
    "layers": 8,
    "batch": 65_536,
    "train_n": 200_000,
}  # train_n: a data-set size, not a layer width
MAX_CONFIG_PRODUCT = 65_536  # a list of sizes (an image shape) multiplied out
_DTYPE_KINDS = "fiub"  # float, int, uint, bool; "U" (text) only where allowed


class _Dataclass(Protocol):
    """Any dataclass (what `model_config` builds), for type checking."""

    __dataclass_fields__: ClassVar[dict[str, Any]]


_Config = TypeVar("_Config", bound=_Dataclass)


class WeightsError(Exception):
    """A weights file is missing, unreadable or does not fit the model that asked for it."""


def shown(value: object, limit: int = 60) -> str:
    """A value read from a weights file, safe to put in a message: control characters
    (ESC, ...) written as escapes, and cut to `limit` characters."""
    text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def unusable(path: str | Path, reason: str) -> WeightsError:
    """The one wording every check uses, so a lab can show it as it is."""
    return WeightsError(f"the weights in {shown(Path(path).name)} are unusable because {shown(reason, 300)}")


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
    record = dict(meta, checksum=checksum(arrays))
    blob = np.frombuffer(json.dumps(record, sort_keys=True).encode(), dtype=np.uint8)
    # numpy's stub types savez's **kwds like its bool flag, so a **dict of arrays does not fit it
    return write_atomic(path, lambda handle: np.savez_compressed(handle, **arrays, **{META_KEY: blob}))  # type: ignore[arg-type]


def write_atomic(path: str | Path, write: Callable, mode: int = 0o644) -> Path:
    """Call ``write(handle)`` on a temporary file beside `path`, then rename it into place.

    On any failure the temporary file is removed and `path` is untouched (an earlier
    version of it stays as it was). A folder at `path` is refused before writing."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; give a file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _declared(path: Path, allow_text: frozenset[str]) -> None:
    """Check the file size and every member's .npy header (shape, dtype) before any
    array is read, so a header declaring 10**12 elements allocates nothing."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise unusable(path, f"the file is {size:,} bytes (at most {MAX_FILE_BYTES:,})")
    total = 0
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            name = info.filename.removesuffix(".npy")
            if not info.filename.endswith(".npy"):
                raise unusable(path, f"it holds '{info.filename}', which is not an array")
            with archive.open(info) as member:
                version = np.lib.format.read_magic(member)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(member, max_header_size=10_000)
                elif version in ((2, 0), (3, 0)):
                    shape, _, dtype = np.lib.format.read_array_header_2_0(member, max_header_size=10_000)
                else:
                    raise unusable(path, f"array '{name}' has an unknown format {version}")
            count = math.prod(shape)
            if name == META_KEY:
                if dtype != np.uint8 or len(shape) != 1 or count > MAX_META_BYTES:
                    raise unusable(path, "its metadata record is not a short byte string")
                continue
            if dtype.kind not in _DTYPE_KINDS and not (dtype.kind == "U" and name in allow_text):
                raise unusable(path, f"array '{name}' has dtype {dtype}, not numbers")
            if dtype.kind == "U" and dtype.itemsize > 4 * 256:
                raise unusable(path, f"array '{name}' holds strings over 256 characters")
            if count > MAX_ARRAY_ELEMENTS:
                raise unusable(
                    path,
                    f"array '{name}' declares shape {shape} "
                    f"({count:,} numbers; at most {MAX_ARRAY_ELEMENTS:,})",
                )
            total += count
    if total > MAX_TOTAL_ELEMENTS:
        raise unusable(path, f"its arrays hold {total:,} numbers (at most {MAX_TOTAL_ELEMENTS:,})")


def load(
    path: str | Path, model: str, version: int, allow_text: frozenset[str] = frozenset()
) -> tuple[dict[str, np.ndarray], dict]:
    """Read and check a weights file; returns (arrays, metadata).

    `allow_text` names arrays that may hold strings (the language model's vocabulary)."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"no weights file at {path}")
    try:
        _declared(path, allow_text)
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except WeightsError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError, TypeError, MemoryError) as exc:
        raise WeightsError(
            f"the weights file {path.name} cannot be read ({type(exc).__name__}: {exc})"
        ) from exc
    blob = arrays.pop(META_KEY, None)
    if blob is None:
        raise WeightsError(f"the weights file {path.name} has no metadata")
    try:
        meta = json.loads(blob.tobytes().decode(), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise WeightsError(f"the metadata in {path.name} is damaged") from exc
    if not isinstance(meta, dict):
        raise unusable(path, "its metadata is not a record of named values")
    if meta.get("model") != model:
        raise WeightsError(f"{path.name} holds a '{shown(meta.get('model'))}' model, not '{model}'")
    if meta.get("version") != version:
        raise WeightsError(
            f"{path.name} is format version {shown(meta.get('version'))}; this version of the "
            f"tutor needs version {version} (retrain with 'genai-tutor train')"
        )
    if meta.get("checksum") != checksum(arrays):
        raise WeightsError(f"{path.name} is damaged (its checksum does not match)")
    if "config" in meta and not isinstance(meta["config"], dict):
        raise unusable(path, "its 'config' is not a record of named values")
    for name, array in arrays.items():
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise unusable(path, f"array '{name}' holds NaN or infinite numbers (the training diverged)")
    return arrays, meta


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _check_value(key: str, value: object, path: Path) -> None:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        limit = CONFIG_INT_LIMITS.get(key, MAX_CONFIG_INT)
        if not 0 <= value <= limit:
            raise unusable(path, f"its config sets {key} = {value} (expected 0 to {limit})")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise unusable(path, f"its config sets {key} = {value}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (list, dict)):
                raise unusable(path, f"its config's {key} is nested too deeply")
            _check_value(key, item, path)
        numbers = [v for v in value if isinstance(v, int) and not isinstance(v, bool)]
        if math.prod(numbers) > MAX_CONFIG_PRODUCT:
            raise unusable(
                path, f"its config's {key} = {value} multiplies out to over {MAX_CONFIG_PRODUCT:,}"
            )
    elif isinstance(value, dict):
        if len(json.dumps(value)) > 10_000:
            raise unusable(path, f"its config's {key} is too long")
    else:
        raise unusable(path, f"its config's {key} has an odd type")


def model_config(meta: dict, cls: type[_Config], path: str | Path, **convert: Callable) -> _Config:
    """The config dataclass `cls` built from ``meta["config"]``, checked first: only the
    dataclass's fields, every int in a sane range (a config saying hidden = 10**9 would
    allocate gigabytes before any shape check), every float finite. `convert` maps a
    field name to a function applied to its value (e.g. ``shape=tuple``)."""
    path = Path(path)
    config = meta.get("config")
    if not isinstance(config, dict):
        raise unusable(path, "it has no config record")
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(config) - fields)
    if unknown:
        raise unusable(path, f"its config has unknown settings {', '.join(map(str, unknown[:5]))}")
    for key, value in config.items():
        _check_value(key, value, path)
    values = {key: convert[key](value) if key in convert else value for key, value in config.items()}
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise unusable(path, f"its config does not fit this model ({exc})") from exc


@contextmanager
def building(path: str | Path) -> Iterator[None]:
    """Around building a model from checked metadata: any error a nonsense value still
    causes (a wrong type, an impossible size) becomes WeightsError, not a traceback."""
    try:
        yield
    except WeightsError:
        raise
    except (
        TypeError,
        ValueError,
        KeyError,
        IndexError,
        OverflowError,
        ZeroDivisionError,
        MemoryError,
    ) as exc:
        raise unusable(
            path, f"its settings do not describe a working model ({type(exc).__name__}: {exc})"
        ) from exc


def fill(buffer: np.ndarray, arrays: dict[str, np.ndarray], name: str, path: str | Path) -> None:
    """Copy the loaded array `name` into a model's parameter `buffer`, in place.

    Raises WeightsError when the file lacks it or its shape does not fit (the file was
    trained with other layer sizes)."""
    if name not in arrays:
        raise WeightsError(f"{Path(path).name} has no '{name}' array")
    if arrays[name].shape != buffer.shape:
        raise WeightsError(
            f"{Path(path).name} does not fit this model's layer sizes "
            f"('{name}' is {arrays[name].shape}, the model needs {buffer.shape})"
        )
    if arrays[name].dtype.kind != buffer.dtype.kind:
        raise unusable(
            path, f"array '{name}' holds {arrays[name].dtype} numbers, the model needs {buffer.dtype}"
        )
    buffer[...] = arrays[name]


def default_dir() -> Path:
    """Where the shipped weights live (read-only; see engine.paths)."""
    from engine import paths

    return paths.shipped("weights")

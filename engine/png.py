"""A minimal PNG writer and reader (8-bit RGB, no interlace) on zlib: no image library.

A PNG is an 8-byte signature and chunks (length, type, data, CRC-32): IHDR (size and
pixel format), IDAT (the zlib-compressed rows, each prefixed by a filter byte; we use
filter 0, "none") and IEND. ``read_png`` reads back what ``write_png`` writes (and any
8-bit RGB/RGBA/grey PNG with filter types 0-4), which the tests use.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def encode_png(rgb: np.ndarray, level: int = 9) -> bytes:
    """(H, W, 3) uint8 -> PNG bytes."""
    rgb = np.ascontiguousarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 array, got {rgb.dtype} {rgb.shape}")
    h, w = rgb.shape[:2]
    raw = np.zeros((h, 1 + 3 * w), np.uint8)  # filter byte 0 at the start of each row
    raw[:, 1:] = rgb.reshape(h, 3 * w)
    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)  # 8 bits, colour type 2 = RGB
    return (
        SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw.tobytes(), level))
        + _chunk(b"IEND", b"")
    )


def write_png(path: str | Path, rgb: np.ndarray, scale: int = 1) -> Path:
    """Write ``rgb`` to ``path``, each pixel blown up to ``scale`` x ``scale``. The file
    appears only complete (temporary file + rename; nothing is left behind on failure)."""
    from .weights import write_atomic

    if scale > 1:
        rgb = np.repeat(np.repeat(np.asarray(rgb), scale, axis=0), scale, axis=1)
    blob = encode_png(rgb)
    return write_atomic(path, lambda handle: handle.write(blob))


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def read_png(path: str | Path) -> np.ndarray:
    """An 8-bit non-interlaced PNG -> (H, W, 3) uint8 (alpha dropped, grey expanded)."""
    blob = Path(path).read_bytes()
    if not blob.startswith(SIGNATURE):
        raise ValueError(f"{path} is not a PNG file")
    pos, idat, header = 8, b"", None
    while pos < len(blob):
        length, kind = struct.unpack(">I4s", blob[pos : pos + 8])
        data = blob[pos + 8 : pos + 8 + length]
        if (
            zlib.crc32(kind + data) & 0xFFFFFFFF
            != struct.unpack(">I", blob[pos + 8 + length : pos + 12 + length])[0]
        ):
            raise ValueError(f"{path}: bad CRC in chunk {kind!r}")
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", data)
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    if header is None:
        raise ValueError(f"{path}: no IHDR chunk")
    w, h, depth, ctype, _, _, interlace = header
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(ctype)
    if depth != 8 or channels is None or interlace:
        raise ValueError(f"{path}: only 8-bit non-interlaced grey/RGB(A) PNGs are supported")
    raw = zlib.decompress(idat)
    stride = w * channels
    out = np.zeros((h, stride), np.uint8)
    prev = np.zeros(stride, np.int64)
    for y in range(h):
        kind = raw[y * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int64)
        cur = np.zeros(stride, np.int64)
        for x in range(stride):
            a = cur[x - channels] if x >= channels else 0
            b = prev[x]
            c = prev[x - channels] if x >= channels else 0
            pred = (0, a, b, (a + b) // 2, _paeth(a, b, c))[kind]
            cur[x] = (line[x] + pred) & 255
        out[y], prev = cur, cur
    pixels = out.reshape(h, w, channels)
    if channels <= 2:
        return np.repeat(pixels[..., :1], 3, axis=2)
    return np.ascontiguousarray(pixels[..., :3])
